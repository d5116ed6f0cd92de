import * as fs from 'node:fs';
import * as path from 'node:path';
import { commands } from '../../lib/ops/commands';
import '../../lib/ops';
import { OPS_COMMAND_ROLES, VIEWER_OMISSIONS } from '../../lib/operator-access';
import { ENVIRONMENT_NAMES, synthesized } from '../helpers/app';

const ROOT = path.join(__dirname, '..', '..');
const OPS_DIR = path.join(ROOT, 'lib', 'ops');

/** SDK v3 client package → IAM service prefix. A package missing here fails the test, naming it. */
const IAM_PREFIX: Record<string, string> = {
  'client-cloudformation': 'cloudformation',
  'client-cloudwatch': 'cloudwatch',
  'client-cloudwatch-logs': 'logs',
  'client-ecs': 'ecs',
  'client-lambda': 'lambda',
  'client-secrets-manager': 'secretsmanager',
  'client-sns': 'sns',
  'client-sts': 'sts',
  'client-iam': 'iam',
  'client-ec2': 'ec2',
  'client-ecr': 'ecr',
  'client-rds': 'rds',
  'client-service-quotas': 'servicequotas',
  'client-application-auto-scaling': 'application-autoscaling',
  'client-ssm': 'ssm',
  'client-s3': 's3',
};
/** SDK commands whose IAM action is not the command's name (IAM service authorization reference). */
const ACTION_OF_COMMAND: Record<string, string> = {
  'lambda:Invoke': 'lambda:InvokeFunction',
  'lambda:InvokeWithResponseStream': 'lambda:InvokeFunction',
  's3:ListObjectsV2': 's3:ListBucket',
  'sts:GetCallerIdentity': '', // needs no permission
};
/**
 * Rights a call needs besides its own action: the config secret is encrypted with the stack's
 * customer-managed key, and Secrets Manager uses it on the caller's behalf (Secrets Manager user
 * guide, "Secret encryption and decryption": GetSecretValue needs kms:Decrypt, PutSecretValue
 * kms:GenerateDataKey).
 */
const IMPLIED: Record<string, string[]> = {
  'secretsmanager:GetSecretValue': ['kms:Decrypt'],
  'secretsmanager:PutSecretValue': ['kms:GenerateDataKey'],
};

interface SourceFile {
  readonly actions: Set<string>;
  readonly imports: string[];
  readonly registers: string[];
}

/** The SDK calls one source file makes (`new XxxCommand(` of an `@aws-sdk/client-*` import) and its relative imports. */
function readSource(file: string): SourceFile {
  const text = fs.readFileSync(file, 'utf8');
  const packageOf = new Map<string, string>();
  for (const m of text.matchAll(/import\s+(type\s+)?\{([^}]*)\}\s+from\s+'@aws-sdk\/([^']+)'/g)) {
    if (m[1]) continue;
    for (const name of m[2]
      .split(',')
      .map((n) => n.trim().split(/\s+as\s+/)[0])
      .filter(Boolean)) {
      packageOf.set(name, m[3]);
    }
  }
  const actions = new Set<string>();
  for (const m of text.matchAll(/new\s+(\w+)Command\s*\(/g)) {
    const pkg = packageOf.get(`${m[1]}Command`);
    if (!pkg) throw new Error(`${file}: new ${m[1]}Command( is not imported from an @aws-sdk client package`);
    const prefix = IAM_PREFIX[pkg];
    if (!prefix)
      throw new Error(`${file}: @aws-sdk/${pkg} has no IAM prefix in this test's IAM_PREFIX. Fix: add it`);
    const raw = `${prefix}:${m[1]}`;
    const action = raw in ACTION_OF_COMMAND ? ACTION_OF_COMMAND[raw] : raw;
    if (action) actions.add(action);
  }
  const imports = [...text.matchAll(/^import\s+(?!type\b)[^;]*?from\s+'(\.[^']+)'/gms)].map((m) => m[1]);
  const registers = [...text.matchAll(/registerCommand\(\s*'([^']+)'/g)].map((m) => m[1]);
  return { actions, imports, registers };
}

function resolveImport(from: string, spec: string): string | undefined {
  const base = path.resolve(path.dirname(from), spec);
  return [`${base}.ts`, path.join(base, 'index.ts')].find((f) => fs.existsSync(f));
}

/** Every SDK action reachable from `file` through its (non-type) relative imports. */
function reachableActions(file: string, seen = new Set<string>()): Set<string> {
  const out = new Set<string>();
  if (seen.has(file)) return out;
  seen.add(file);
  const source = readSource(file);
  source.actions.forEach((a) => out.add(a));
  for (const spec of source.imports) {
    const target = resolveImport(file, spec);
    if (target && !target.endsWith(path.join('lib', 'ops', 'index.ts'))) {
      reachableActions(target, seen).forEach((a) => out.add(a));
    }
  }
  return out;
}

/** Command name → IAM actions it needs, found from the sources of lib/ops/. */
function commandActions(): Map<string, Set<string>> {
  // Every command reads the stack's outputs through the context the CLI builds for it.
  const context = reachableActions(path.join(OPS_DIR, 'context.ts'));
  const result = new Map<string, Set<string>>();
  for (const name of fs.readdirSync(OPS_DIR).filter((f) => f.endsWith('.ts'))) {
    const file = path.join(OPS_DIR, name);
    for (const command of readSource(file).registers) {
      const actions = new Set([...context, ...reachableActions(file)]);
      for (const action of [...actions]) (IMPLIED[action] ?? []).forEach((a) => actions.add(a));
      result.set(command, actions);
    }
  }
  return result;
}

/** Actions a role's inline policies allow (Allow statements only; the roles have no Deny). */
function allowedActions(roleProps: {
  Policies?: { PolicyDocument: { Statement: { Effect: string; Action: string | string[] }[] } }[];
}): string[] {
  return (roleProps.Policies ?? []).flatMap((p) =>
    p.PolicyDocument.Statement.filter((s) => s.Effect === 'Allow').flatMap((s) => [s.Action].flat()),
  );
}

const matches = (pattern: string, action: string) =>
  new RegExp(
    `^${pattern
      .split('*')
      .map((p) => p.replace(/[.*+?^${}()|[\]\\]/g, '\\$&'))
      .join('.*')}$`,
    'i',
  ).test(action);

const needed = commandActions();

describe('the SDK calls of each ops command, read from lib/ops/', () => {
  test('finds every registered command and at least one call in each', () => {
    expect([...needed.keys()].sort()).toEqual([...commands.keys()].sort());
    for (const [command, actions] of needed) {
      expect({ command, some: actions.size > 0 }).toEqual({ command, some: true });
    }
  });

  test('finds the calls a known command makes (the reader works)', () => {
    expect([...needed.get('resume')!].sort()).toEqual(
      expect.arrayContaining([
        'cloudformation:DescribeStacks',
        'cloudwatch:DescribeAlarms',
        'ecs:UpdateService',
        'kms:Decrypt',
        'kms:GenerateDataKey',
        'secretsmanager:GetSecretValue',
        'secretsmanager:PutSecretValue',
      ]),
    );
    expect(needed.get('emergency-stop')).toContain('lambda:InvokeFunction');
  });

  test('every registered command says which role it needs', () => {
    const undecided = [...commands.keys()].filter((c) => !(c in OPS_COMMAND_ROLES));
    expect(undecided).toEqual([]);
  });

  test('docs/pipeline.md says which role each command needs', () => {
    const doc = fs.readFileSync(path.join(ROOT, 'docs', 'pipeline.md'), 'utf8');
    const section = doc.slice(doc.indexOf('### Roles for people'));
    for (const [command, role] of Object.entries(OPS_COMMAND_ROLES)) {
      expect(section).toMatch(new RegExp(`\\| \`${command}\`[^|]*\\| ${role} `));
    }
  });
});

describe.each(ENVIRONMENT_NAMES)('%s: roles for people match what ops calls', (name) => {
  const { template } = synthesized(name);
  const roles = template.findResources('AWS::IAM::Role');
  const role = (roleName: string) => {
    const found = Object.values(roles).find((r) => r.Properties.RoleName === roleName);
    expect(found).toBeDefined();
    return found!.Properties;
  };
  const operator = allowedActions(role('clever-better-operator'));
  const viewer = allowedActions(role('clever-better-viewer'));
  const commandsFor = (r: 'viewer' | 'operator') =>
    Object.entries(OPS_COMMAND_ROLES)
      .filter(([, need]) => need === 'viewer' || (r === 'operator' && need === 'operator'))
      .map(([command]) => command);

  test.each(['operator', 'viewer'] as const)('the %s role allows every call of its commands', (r) => {
    const allowed = r === 'operator' ? operator : viewer;
    const missing: string[] = [];
    let checked = 0;
    for (const command of commandsFor(r)) {
      for (const action of needed.get(command) ?? []) {
        if (r === 'viewer' && action in VIEWER_OMISSIONS) continue;
        checked++;
        if (!allowed.some((p) => matches(p, action))) missing.push(`${command}: ${action}`);
      }
    }
    expect(checked).toBeGreaterThan(0);
    expect(missing).toEqual([]);
  });

  test.each(['operator', 'viewer'] as const)('the %s role allows nothing its commands do not call', (r) => {
    const allowed = r === 'operator' ? operator : viewer;
    const used = new Set(commandsFor(r).flatMap((c) => [...(needed.get(c) ?? [])]));
    const unused = allowed.filter((a) => a.includes('*') || !used.has(a));
    expect(unused).toEqual([]);
  });

  test('the viewer lacks exactly the documented omissions', () => {
    for (const action of Object.keys(VIEWER_OMISSIONS)) {
      expect(viewer.some((p) => matches(p, action))).toBe(false);
    }
  });

  test('both roles trust only the principals configured in environments/', () => {
    const { access, account } = synthesized(name).stack.config;
    const principalsOf = (props: { AssumeRolePolicyDocument: { Statement: { Principal: unknown }[] } }) =>
      JSON.stringify(
        props.AssumeRolePolicyDocument.Statement.map((s: { Principal: unknown }) => s.Principal),
      );
    for (const [roleName, list] of [
      ['clever-better-operator', access.operatorPrincipals],
      ['clever-better-viewer', access.viewerPrincipals],
    ] as const) {
      const text = principalsOf(role(roleName));
      for (const principal of list)
        expect(text).toContain(/^\d{12}$/.test(principal) ? `:iam::${principal}:root` : principal);
      expect(text).toContain(account);
    }
  });
});
