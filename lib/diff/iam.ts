import { TemplateDiff } from '@aws-cdk/cloudformation-diff';
import { asList, CfnResource, referencedIds, refersToAny, renderValue } from './template';

/** A permission a change adds: what, on what, for whom. */
export interface IamWidening {
  /** Who gets it, e.g. `AWS:${ServicesBotTaskTaskRole673A571D}` or `Service:lambda.amazonaws.com`. */
  readonly principal: string;
  /** Actions that were not allowed before on these resources (`NotAction` rendered with a `NOT ` prefix). */
  readonly actions: readonly string[];
  /** Resources the new actions apply to. */
  readonly resources: readonly string[];
  /** The statement's condition, rendered; empty when none. */
  readonly condition: string;
  /** Any wildcard action, resource or principal, or a `NotAction` / `NotResource`. */
  readonly wildcard: boolean;
  /** `statement` for a policy statement, `managed-policy` for an attached AWS/customer managed policy. */
  readonly kind: 'statement' | 'managed-policy';
}

interface Targets {
  readonly values: string[];
  readonly not: boolean;
}
interface StatementLike {
  readonly effect: string;
  readonly actions: Targets;
  readonly resources: Targets;
  readonly principals: Targets;
  readonly condition?: unknown;
  render(): { condition: string };
}

function globToRegExp(pattern: string): RegExp {
  const escaped = pattern
    .replace(/[.+^${}()|[\]\\]/g, '\\$&')
    .replace(/\*/g, '.*')
    .replace(/\?/g, '.');
  return new RegExp(`^${escaped}$`, 'i');
}

/** Whether an IAM pattern (`s3:*`, `arn:…/*`) covers a value. */
function covers(pattern: string, value: string): boolean {
  return pattern === value || (/[*?]/.test(pattern) && globToRegExp(pattern).test(value));
}

function key(targets: Targets): string {
  return `${targets.not}:${[...targets.values].sort().join(',')}`;
}

function hasWildcard(s: StatementLike): boolean {
  return (
    s.actions.not ||
    s.resources.not ||
    [...s.actions.values, ...s.resources.values].some((v) => v.includes('*')) ||
    s.principals.values.some((p) => p === '*' || p.endsWith(':*'))
  );
}

/**
 * Permissions the change adds. A statement that is only rewritten (the CDK merges and splits
 * statements as grants change) is not reported: each of its action/resource pairs must be new, i.e.
 * not covered by a statement the change removes for the same principal and condition.
 */
export function iamWidening(diff: TemplateDiff): IamWidening[] {
  const { statements, managedPolicies } = diff.iamChanges;
  const removed = statements.removals as unknown as StatementLike[];
  const result: IamWidening[] = [];
  for (const s of statements.additions as unknown as StatementLike[]) {
    if (s.effect !== 'Allow') continue;
    const before = removed.filter(
      (r) =>
        r.effect === 'Allow' &&
        key(r.principals) === key(s.principals) &&
        JSON.stringify(r.condition ?? null) === JSON.stringify(s.condition ?? null) &&
        !r.actions.not &&
        !r.resources.not,
    );
    const resources = s.resources.values.length ? s.resources.values : ['*'];
    const newActions = new Set<string>();
    const newResources = new Set<string>();
    for (const action of s.actions.values) {
      for (const resource of resources) {
        const covered =
          !s.actions.not &&
          !s.resources.not &&
          before.some(
            (r) =>
              r.actions.values.some((p) => covers(p, action)) &&
              (r.resources.values.length ? r.resources.values : ['*']).some((p) => covers(p, resource)),
          );
        if (!covered) {
          newActions.add(action);
          newResources.add(resource);
        }
      }
    }
    if (newActions.size === 0) continue;
    result.push({
      principal: s.principals.values.join(', ') || '(resource policy)',
      actions: [...newActions].map((a) => (s.actions.not ? `NOT ${a}` : a)),
      resources: [...newResources].map((r) => (s.resources.not ? `NOT ${r}` : r)),
      condition: s.render().condition,
      wildcard: hasWildcard(s),
      kind: 'statement',
    });
  }
  for (const m of managedPolicies.additions) {
    result.push({
      principal: m.identityArn,
      actions: [`managed policy ${m.managedPolicyArn}`],
      resources: [],
      condition: '',
      wildcard: /AdministratorAccess|PowerUserAccess|FullAccess/.test(m.managedPolicyArn),
      kind: 'managed-policy',
    });
  }
  return result;
}

/** One allowed action on one resource, rendered (`ecs:UpdateService on ${ServicesBotService}`). */
export type Right = string;

function statementRights(document: unknown): Right[] {
  const doc = document as { Statement?: unknown } | undefined;
  const rights: Right[] = [];
  for (const raw of asList(doc?.Statement)) {
    const s = raw as Record<string, unknown>;
    if (s.Effect !== 'Allow') continue;
    const actions = asList(s.Action ?? s.NotAction).map((a) =>
      s.NotAction ? `NOT ${renderValue(a)}` : renderValue(a),
    );
    const resources = asList(s.Resource ?? s.NotResource).map((r) =>
      s.NotResource ? `NOT ${renderValue(r)}` : renderValue(r),
    );
    for (const a of actions)
      for (const r of resources.length ? resources : ['*']) rights.push(`${a} on ${r}`);
  }
  return rights;
}

/**
 * Everything a role may do in a template: its inline policies, the `AWS::IAM::Policy` and
 * `AWS::IAM::ManagedPolicy` resources attached to it, and the managed policies it lists.
 */
export function rightsOf(resources: Record<string, CfnResource>, roleId: string): Set<Right> {
  const rights = new Set<Right>();
  const role = resources[roleId];
  if (role?.Type === 'AWS::IAM::Role') {
    for (const p of asList(role.Properties?.Policies)) {
      for (const r of statementRights((p as { PolicyDocument?: unknown }).PolicyDocument)) rights.add(r);
    }
    for (const arn of asList(role.Properties?.ManagedPolicyArns)) {
      const local = [...referencedIds(arn)].filter((id) => resources[id]?.Type === 'AWS::IAM::ManagedPolicy');
      if (local.length === 0) rights.add(`managed policy ${renderValue(arn)}`);
      for (const id of local)
        for (const r of statementRights(resources[id].Properties?.PolicyDocument)) rights.add(r);
    }
  }
  const self = new Set([roleId]);
  for (const r of Object.values(resources)) {
    if (
      (r.Type === 'AWS::IAM::Policy' || r.Type === 'AWS::IAM::ManagedPolicy') &&
      refersToAny(r.Properties?.Roles, self)
    ) {
      for (const right of statementRights(r.Properties?.PolicyDocument)) rights.add(right);
    }
  }
  return rights;
}
