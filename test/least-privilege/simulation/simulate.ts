import {
  getDenialReasons,
  getGrantReasons,
  runSimulation,
  type Simulation,
} from '@cloud-copilot/iam-simulate';
import { Policies, PolicyDocument } from './world';

/** Who makes a request: a role of a template, a service principal, or a principal outside the templates. */
export interface Actor {
  /** A readable name for failures, e.g. `production operator`. */
  readonly name: string;
  /** The principal ARN (role, user, account root) or a service principal (`cloudwatch.amazonaws.com`). */
  readonly principal: string;
  /** The principal's identity policies (none for a service principal). */
  readonly identityPolicies: readonly { name: string; policy: PolicyDocument }[];
}

/** One request an actor makes. */
export interface Request {
  readonly action: string;
  /** The exact resource ARN, or `*` for an action that has no resource-level permissions. */
  readonly resource: string;
  /** Request context (aws:SecureTransport is always true: every SDK call here is over TLS). */
  readonly context?: Readonly<Record<string, string | string[]>>;
  /** Where the request was derived from (source file, template resource, stack output). */
  readonly from: string;
}

export type Decision = 'Allowed' | 'ExplicitlyDenied' | 'ImplicitlyDenied';

/** The result of one simulated request, with the statement (or missing statement) that decided it. */
export interface Outcome {
  readonly actor: string;
  readonly request: string;
  readonly decision: Decision;
  /** e.g. `allowed by identity policy Role/Ops statement InvokeOperationsFunctions`. */
  readonly decidedBy: string;
}

/**
 * iam-simulate 0.1.173 ignores two kinds of context keys these policies use, and a condition on an
 * ignored key fails as "missing":
 * - a key with a variable part after a `:` (`kms:EncryptionContext:SecretARN`): it matches variable
 *   parts only after a `/` (`aws:PrincipalTag/x`);
 * - the GitHub OIDC claims (`token.actions.githubusercontent.com:sub`) on AssumeRoleWithWebIdentity.
 * Both sides (policies and request) are renamed to a slash-variable global key, `aws:RequestTag/…`,
 * which no policy here uses otherwise: operator, values and comparison stay exactly the same.
 */
const RENAMED: readonly [RegExp, string][] = [
  [/^kms:EncryptionContext:(.+)$/i, 'aws:RequestTag/kms-encryption-context-$1'],
  [/^token\.actions\.githubusercontent\.com:(.+)$/i, 'aws:RequestTag/github-oidc-$1'],
];
const renameKey = (key: string) => RENAMED.reduce((k, [pattern, to]) => k.replace(pattern, to), key);

function renameConditionKeys<T>(policy: T): T {
  if (Array.isArray(policy)) return policy.map(renameConditionKeys) as T;
  if (!policy || typeof policy !== 'object') return policy;
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(policy)) {
    out[k] =
      k === 'Condition' && v && typeof v === 'object'
        ? Object.fromEntries(
            Object.entries(v).map(([op, keys]) => [
              op,
              Object.fromEntries(Object.entries(keys as object).map(([ck, cv]) => [renameKey(ck), cv])),
            ]),
          )
        : renameConditionKeys(v);
  }
  return out as T;
}

/**
 * runSimulation's result per distinct input, for this test file: the simulator is a pure function of
 * its input, and the matrices ask the same question many times (simulation.test.ts's tests overlap;
 * each break of breaks.test.ts re-asks the whole matrix, of which the break changes a few policies).
 * Keyed by the whole input as JSON, so a changed policy, context or resource is simulated afresh.
 */
const results = new Map<string, ReturnType<typeof runSimulation>>();
function simulated(simulation: Simulation): ReturnType<typeof runSimulation> {
  const key = JSON.stringify(simulation);
  let hit = results.get(key);
  if (!hit) results.set(key, (hit = runSimulation(simulation, {})));
  return hit;
}

/** The account a resource ARN belongs to (`*` and service resources: the actor's own). */
function accountOf(arn: string, fallback: string): string {
  const account = arn.split(':')[4];
  return /^\d{12}$/.test(account ?? '') ? account : fallback;
}

function accountOfPrincipal(principal: string): string | undefined {
  return /^arn:aws[\w-]*:(iam|sts)::(\d{12}):/.exec(principal)?.[2];
}

/**
 * Evaluates one request with @cloud-copilot/iam-simulate against the actor's identity policies and
 * the resource's policy from whichever template holds the resource (`worlds`). Errors of the
 * simulator (an unknown action, a resource ARN of the wrong type for the action, a malformed policy)
 * fail the test instead of counting as a denial.
 */
export async function simulate(
  worlds: readonly Policies[],
  actor: Actor,
  request: Request,
): Promise<Outcome> {
  const callerAccount = accountOfPrincipal(actor.principal) ?? worlds[0].world.account;
  const resourceAccount = accountOf(request.resource, callerAccount);
  const owner =
    worlds.find((w) => w.world.account === resourceAccount && w.world.named(request.resource)) ??
    worlds.find((w) => w.world.account === resourceAccount);
  const resourcePolicy = request.resource === '*' ? undefined : owner?.resourcePolicy(request.resource);
  const simulation: Simulation = {
    request: {
      principal: actor.principal,
      action: request.action,
      resource: { resource: request.resource, accountId: resourceAccount },
      contextVariables: Object.fromEntries(
        Object.entries({ 'aws:SecureTransport': 'true', ...(request.context ?? {}) }).map(([k, v]) => [
          renameKey(k),
          v,
        ]),
      ),
    },
    identityPolicies: actor.identityPolicies.map((p) => ({
      name: p.name,
      policy: renameConditionKeys(p.policy),
    })),
    serviceControlPolicies: [],
    resourceControlPolicies: [],
    ...(resourcePolicy ? { resourcePolicy: renameConditionKeys(resourcePolicy) } : {}),
  };
  const label = `${request.action} on ${request.resource}${
    request.context && Object.keys(request.context).length ? ` with ${JSON.stringify(request.context)}` : ''
  } (from ${request.from})`;
  const result = await simulated(simulation);
  const ignored = result.resultType === 'single' ? (result.result.ignoredContextKeys ?? []) : [];
  if (ignored.length)
    throw new Error(
      `${actor.name}: ${label}: the simulator ignored context keys ${ignored.join(', ')}: the request would not be simulated as AWS sees it`,
    );
  if (result.resultType === 'error')
    throw new Error(
      `${actor.name}: ${label}: the simulator refused the request: ${JSON.stringify(result.errors)}`,
    );
  if (result.resultType !== 'single')
    throw new Error(`${actor.name}: ${label}: expected one resource, the simulator saw a wildcard`);
  const analysis = result.result.analysis;
  const decision = result.overallResult as Decision;
  let decidedBy: string;
  if (decision === 'Allowed') {
    decidedBy = `allowed by ${getGrantReasons(analysis)
      .map(
        (g) =>
          `${g.policyType === 'resource' ? 'resource policy' : `identity policy ${'policyIdentifier' in g ? g.policyIdentifier : ''}`} statement ${g.statementId ?? `#${g.statementIndex}`}`,
      )
      .join(' and ')}`;
  } else {
    const reasons = getDenialReasons(analysis).map((d) =>
      d.denialType === 'Explicit'
        ? `explicit Deny in ${d.policyType} policy ${d.policyIdentifier ?? ''} statement ${d.statementId ?? `#${d.statementIndex}`}`
        : `no statement of the ${d.policyType} policy${d.identifier ? ` ${d.identifier}` : ''} allows it`,
    );
    decidedBy = reasons.length ? reasons.join('; ') : 'no statement allows it';
    if (!resourcePolicy && decision === 'ImplicitlyDenied' && resourceAccount !== callerAccount)
      decidedBy += `; the resource (account ${resourceAccount}) has no resource policy for a caller of account ${callerAccount}`;
  }
  return { actor: actor.name, request: label, decision, decidedBy };
}

/** Simulates every request; returns the outcomes in order. */
export async function simulateAll(
  worlds: readonly Policies[],
  actor: Actor,
  requests: readonly Request[],
): Promise<Outcome[]> {
  return Promise.all(requests.map((r) => simulate(worlds, actor, r)));
}

/** Failure lines: `<actor>: <request> was <decision>: <decided by>`. */
export function unexpected(outcomes: readonly Outcome[], expected: 'Allowed' | 'Denied'): string[] {
  return outcomes
    .filter((o) => (expected === 'Allowed' ? o.decision !== 'Allowed' : o.decision === 'Allowed'))
    .map((o) => `${o.actor}: ${o.request} was ${o.decision}: ${o.decidedBy}`);
}
