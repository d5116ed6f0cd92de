import { asList, CfnResource, referencedIds, renderValue } from './template';

// Who may do what to one secret, read from every identity policy of a template (inline role
// policies, AWS::IAM::Policy and AWS::IAM::ManagedPolicy on roles, users and groups) and the
// secret's resource policies. Wildcards count: `secretsmanager:*` on `*` writes every secret.

/** Actions that change which value a secret serves (Secrets Manager API reference). */
export const SECRET_WRITE_ACTIONS = [
  'secretsmanager:PutSecretValue',
  'secretsmanager:UpdateSecret',
  'secretsmanager:UpdateSecretVersionStage',
  'secretsmanager:RotateSecret',
  'secretsmanager:RestoreSecret',
  'secretsmanager:DeleteSecret',
];

/** Actions that return a secret's value. */
export const SECRET_READ_ACTIONS = ['secretsmanager:GetSecretValue', 'secretsmanager:BatchGetSecretValue'];

function glob(pattern: string): RegExp {
  const escaped = pattern
    .replace(/[.+^${}()|[\]\\]/g, '\\$&')
    .replace(/\*/g, '.*')
    .replace(/\?/g, '.');
  return new RegExp(`^${escaped}$`, 'i');
}

/** Whether a statement's actions cover any of `wanted` (NotAction: anything it does not exclude). */
function coversAction(statement: Record<string, unknown>, wanted: readonly string[]): boolean {
  if (statement.NotAction !== undefined) {
    const excluded = asList(statement.NotAction).map((a) => glob(renderValue(a)));
    return wanted.some((w) => !excluded.some((e) => e.test(w)));
  }
  const actions = asList(statement.Action).map((a) => glob(renderValue(a)));
  return wanted.some((w) => actions.some((a) => a.test(w)));
}

/**
 * Whether a statement's resources cover the secret: a reference to its logical id, `*`, or an ARN
 * pattern whose secret part matches its name (Secrets Manager appends `-` and six characters).
 */
function coversSecret(statement: Record<string, unknown>, secretId: string, secretName?: string): boolean {
  const matches = (value: unknown) => {
    if (referencedIds(value).has(secretId)) return true;
    const text = renderValue(value);
    if (text === '*') return true;
    const at = text.indexOf(':secret:');
    if (at < 0 || !secretName || !/[*?]/.test(text)) return false;
    return glob(text.slice(at + ':secret:'.length)).test(`${secretName}-AbCdEf`);
  };
  if (statement.NotResource !== undefined) return !asList(statement.NotResource).some(matches);
  if (statement.Resource === undefined) return true; // resource policies: the secret itself
  return asList(statement.Resource).some(matches);
}

function statementsOf(document: unknown): Record<string, unknown>[] {
  return asList((document as { Statement?: unknown } | undefined)?.Statement).filter(
    (s): s is Record<string, unknown> =>
      typeof s === 'object' && s !== null && (s as { Effect?: unknown }).Effect === 'Allow',
  );
}

/** Identity documents of a template, each with the principals (logical ids or rendered names) it applies to. */
function identityDocuments(
  resources: Record<string, CfnResource>,
): { principals: string[]; document: unknown }[] {
  const out: { principals: string[]; document: unknown }[] = [];
  const attached = (r: CfnResource) =>
    ['Roles', 'Users', 'Groups'].flatMap((k) =>
      asList(r.Properties?.[k]).map((v) => [...referencedIds(v)][0] ?? renderValue(v)),
    );
  for (const [id, r] of Object.entries(resources)) {
    if (r.Type === 'AWS::IAM::Role' || r.Type === 'AWS::IAM::User' || r.Type === 'AWS::IAM::Group') {
      for (const p of asList(r.Properties?.Policies)) {
        out.push({ principals: [id], document: (p as { PolicyDocument?: unknown }).PolicyDocument });
      }
    }
    if (r.Type === 'AWS::IAM::Policy' || r.Type === 'AWS::IAM::ManagedPolicy') {
      out.push({ principals: attached(r), document: r.Properties?.PolicyDocument });
      // A managed policy can also be attached from the role's ManagedPolicyArns.
      if (r.Type === 'AWS::IAM::ManagedPolicy') {
        for (const [rid, role] of Object.entries(resources)) {
          if (referencedIds(role.Properties?.ManagedPolicyArns).has(id)) {
            out.push({ principals: [rid], document: r.Properties?.PolicyDocument });
          }
        }
      }
    }
  }
  return out;
}

/**
 * The principals that may perform any of `actions` on the secret `secretId`: logical ids of roles,
 * users and groups of the template, and rendered principals of its resource policies.
 */
export function principalsAllowed(
  resources: Record<string, CfnResource>,
  secretId: string,
  actions: readonly string[],
): Set<string> {
  const name = resources[secretId]?.Properties?.Name;
  const secretName = typeof name === 'string' ? name : undefined;
  const out = new Set<string>();
  for (const { principals, document } of identityDocuments(resources)) {
    if (
      statementsOf(document).some((s) => coversAction(s, actions) && coversSecret(s, secretId, secretName))
    ) {
      for (const p of principals) out.add(p);
    }
  }
  for (const r of Object.values(resources)) {
    if (r.Type !== 'AWS::SecretsManager::ResourcePolicy') continue;
    if (!referencedIds(r.Properties?.SecretId).has(secretId)) continue;
    for (const s of statementsOf(r.Properties?.ResourcePolicy)) {
      if (!coversAction(s, actions)) continue;
      const principal = s.Principal as Record<string, unknown> | string | undefined;
      const values =
        typeof principal === 'string'
          ? [principal]
          : Object.values(principal ?? {}).flatMap((v) => asList(v));
      for (const v of values) out.add([...referencedIds(v)][0] ?? `resource policy: ${renderValue(v)}`);
    }
  }
  return out;
}
