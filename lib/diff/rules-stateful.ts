import { physicalName, shortType } from './physical-names';
import { code, RETAINED, subject } from './rule-text';
import { ResourceImpact } from '@aws-cdk/cloudformation-diff';
import { brief, CfnResource, referencedIds, refersToAny } from './template';
import { FindingDraft, ResourceRemoval, RuleContext } from './types';

// Rules about stateful resources: storage, replacements and deletions, the network they sit in,
// fixed names, and in-place updates (every changed property, each on its own).

// ---------------------------------------------------------------------------------------------
// Database

const storage = (r: CfnResource | undefined) => {
  const v = r?.Properties?.AllocatedStorage;
  return v === undefined || Number.isNaN(Number(v)) ? undefined : Number(v);
};

export function rdsStorageShrinks(ctx: RuleContext): FindingDraft[] {
  const out: FindingDraft[] = [];
  for (const [id, after] of Object.entries(ctx.newRes)) {
    if (after.Type !== 'AWS::RDS::DBInstance' || ctx.oldRes[id]?.Type !== after.Type) continue;
    const [from, to] = [storage(ctx.oldRes[id]), storage(after)];
    if (from === undefined || to === undefined || to >= from) continue;
    out.push({
      resources: [id],
      properties: ['AllocatedStorage'],
      message: `Database ${subject(ctx, id)} storage **shrinks** ${from} → ${to} GiB. RDS cannot reduce allocated storage, so the deploy fails and rolls back. Keep ${from} GiB (or migrate to a new, smaller instance deliberately).`,
      headline: `database storage would shrink ${from} → ${to} GiB (RDS cannot do that)`,
    });
  }
  return out;
}

// ---------------------------------------------------------------------------------------------
// Replacements and deletions

/**
 * Properties the CloudFormation spec marks "may replace" that, per the resource's reference page,
 * update in place (some with a reboot): the diff would otherwise call them a replacement.
 */
export const IN_PLACE_DESPITE_MAYBE: Readonly<Record<string, readonly string[]>> = {
  'AWS::RDS::DBInstance': [
    'MultiAZ',
    'BackupRetentionPeriod',
    'PreferredMaintenanceWindow',
    'AutoMinorVersionUpgrade',
    'DBParameterGroupName',
    'StorageType',
  ],
};

/** Whether a stateful "may replace" change is really an in-place update. */
export function inPlaceDespiteMaybe(r: ResourceRemoval): boolean {
  const inPlace = IN_PLACE_DESPITE_MAYBE[r.type] ?? [];
  return r.impact === 'may-replace' && r.causes.length > 0 && r.causes.every((c) => inPlace.includes(c));
}

const NETWORK_TYPES = new Set(['AWS::EC2::VPC', 'AWS::EC2::Subnet', 'AWS::RDS::DBSubnetGroup']);
const NETWORK_FOLLOWERS = new Set([
  'AWS::EC2::RouteTable',
  'AWS::EC2::SubnetRouteTableAssociation',
  'AWS::EC2::Route',
  'AWS::EC2::NatGateway',
  'AWS::EC2::EIP',
  'AWS::EC2::InternetGateway',
  'AWS::EC2::VPCGatewayAttachment',
  'AWS::EC2::SecurityGroup',
  'AWS::EC2::SecurityGroupIngress',
  'AWS::EC2::SecurityGroupEgress',
  'AWS::EC2::FlowLog',
  'AWS::EC2::VPCEndpoint',
  'AWS::ElasticLoadBalancingV2::TargetGroup',
]);
/** Where a resource says which subnets (or subnet group) it runs in. */
const PLACEMENT_KEYS = [
  'Subnets',
  'SubnetIds',
  'VpcConfig',
  'NetworkConfiguration',
  'DBSubnetGroupName',
  'VpcId',
];

export function networkReplaced(ctx: RuleContext): FindingDraft[] {
  const replaced = ctx.removals.filter(
    (r) => NETWORK_TYPES.has(r.type) && (r.impact === 'replace' || r.impact === 'may-replace'),
  );
  if (replaced.length === 0) return [];
  const ids = new Set(replaced.map((r) => r.logicalId));
  // What runs in the replaced network: everything placed in a replaced subnet, and (transitively)
  // in what is placed there: the DB subnet group's database moves with the subnets.
  const placed = new Set(ids);
  for (let grew = true; grew;) {
    grew = false;
    for (const [id, r] of Object.entries(ctx.newRes)) {
      if (placed.has(id) || NETWORK_FOLLOWERS.has(r.Type)) continue;
      if (PLACEMENT_KEYS.some((k) => refersToAny(r.Properties?.[k], placed))) {
        placed.add(id);
        grew = true;
      }
    }
  }
  const movers = [...placed]
    .filter((id) => !ids.has(id))
    .map((id) => `${shortType(ctx.newRes[id].Type)} ${subject(ctx, id)}`)
    .sort();
  const followers = ctx.removals.filter((r) => NETWORK_FOLLOWERS.has(r.type)).map((r) => r.logicalId);
  const vpc = replaced.find((r) => r.type === 'AWS::EC2::VPC');
  const cidr = (res: Record<string, CfnResource>, id: string) => brief(res[id]?.Properties?.CidrBlock);
  const what = vpc
    ? `the VPC (${cidr(ctx.oldRes, vpc.logicalId)} → ${cidr(ctx.newRes, vpc.logicalId)})`
    : 'network resources';
  const counts = (type: string) => replaced.filter((r) => r.type === type).length;
  return [
    {
      resources: [...ids, ...followers],
      message:
        `**Network replaced**: ${[
          what,
          counts('AWS::EC2::Subnet') && `${counts('AWS::EC2::Subnet')} subnet(s)`,
          counts('AWS::RDS::DBSubnetGroup') && `${counts('AWS::RDS::DBSubnetGroup')} DB subnet group(s)`,
        ]
          .filter(Boolean)
          .join(', ')}` +
        (followers.length ? ` and ${followers.length} dependent network resource(s)` : '') +
        `. Moves with it: ${movers.join(', ') || 'nothing else in this stack'}. ` +
        'A database cannot move to another VPC in place: CloudFormation replaces it or the update fails; the services and load balancer are recreated.',
      headline: `${what} would be replaced${movers.length ? `, moving ${movers.length} resource(s) with it` : ''}`,
    },
  ];
}

const NAME_NOT_UNIQUE = new Set(['AWS::ECS::TaskDefinition']);

export function fixedNameCollision(ctx: RuleContext): FindingDraft[] {
  const out: FindingDraft[] = [];
  const added = Object.entries(ctx.newRes).filter(([id]) => !ctx.oldRes[id]);
  for (const [id, old] of Object.entries(ctx.oldRes)) {
    const name = physicalName(old);
    // A task-definition family is not unique: each replacement is a new revision of it.
    if (!name || NAME_NOT_UNIQUE.has(old.Type)) continue;
    const after = ctx.newRes[id];
    if (!after) {
      // A renamed construct: the old logical id goes, a new one with the same name comes.
      const twin = added.find(([, r]) => r.Type === old.Type && physicalName(r) === name);
      if (!twin || !RETAINED.has(String(old.DeletionPolicy ?? 'Delete'))) continue;
      out.push({
        resources: [id, twin[0]],
        message: `${shortType(old.Type)} ${code(name)} is re-created under a new logical id (${code(id)} → ${code(twin[0])}, a renamed construct) while the old one is retained (DeletionPolicy ${String(old.DeletionPolicy)}): the create **fails because the name is taken**. Keep the construct id, or move the resource with \`cdk refactor\` / a resource import.`,
        headline: `${code(name)} would be re-created while the retained old one still holds its name`,
      });
      continue;
    }
    const removal = ctx.removals.find((r) => r.logicalId === id && r.impact === 'replace');
    if (removal && physicalName(after) === name) {
      out.push({
        resources: [id],
        message: `${shortType(old.Type)} ${code(name)} needs replacement (${removal.causes.join(', ')}) but has a fixed name: CloudFormation cannot replace a custom-named resource, so the update **fails**. Change the name too, or avoid the replacing change.`,
        headline: `${code(name)} needs a replacement its fixed name forbids`,
      });
    }
  }
  return out;
}

/** Who reads a secret: task definitions, roles' policies and functions that refer to it. */
function readersOf(ctx: RuleContext, id: string): string[] {
  return Object.entries(ctx.newRes)
    .filter(
      ([rid, r]) =>
        rid !== id &&
        [
          'AWS::ECS::TaskDefinition',
          'AWS::IAM::Policy',
          'AWS::Lambda::Function',
          'AWS::RDS::DBInstance',
        ].includes(r.Type) &&
        referencedIds(r.Properties).has(id),
    )
    .map(([rid, r]) =>
      r.Type === 'AWS::IAM::Policy'
        ? `roles ${[...referencedIds(r.Properties?.Roles)].map((x) => subject(ctx, x)).join(', ')}`
        : `${shortType(r.Type)} ${subject(ctx, rid)}`,
    )
    .sort();
}

export function statefulReplaced(ctx: RuleContext): FindingDraft[] {
  return ctx.removals
    .filter((r) => r.stateful && r.impact !== 'may-replace' && !ctx.claimed.has(r.logicalId))
    .map((r) => {
      const causes = r.causes.length ? ` (${r.causes.join(', ')})` : '';
      const verb = {
        replace: 'REPLACED',
        destroy: 'DELETED',
        orphan: 'REMOVED FROM THE STACK',
        'may-replace': '',
      }[r.impact];
      const readers =
        r.type === 'AWS::SecretsManager::Secret' && r.impact === 'replace' ? readersOf(ctx, r.logicalId) : [];
      const knock = readers.length
        ? ` The new secret starts with placeholder values, and these read it: ${readers.join('; ')}.`
        : '';
      return {
        resources: [r.logicalId],
        message: `**${verb}**: ${shortType(r.type)} ${subject(ctx, r.logicalId)}${causes}: stateful; ${r.fate}.${knock}`,
        headline: `${shortType(r.type)} ${subject(ctx, r.logicalId)} would be ${verb.toLowerCase()}`,
      };
    });
}

export function statefulMayReplace(ctx: RuleContext): FindingDraft[] {
  return ctx.removals
    .filter(
      (r) =>
        r.stateful && r.impact === 'may-replace' && !inPlaceDespiteMaybe(r) && !ctx.claimed.has(r.logicalId),
    )
    .map((r) => ({
      ...r,
      // Causes known to update in place are the stateful-updated line's, worded as such.
      causes: r.causes.filter((c) => !(IN_PLACE_DESPITE_MAYBE[r.type] ?? []).includes(c)),
    }))
    .map((r) => ({
      resources: [r.logicalId],
      properties: r.causes,
      message:
        `**MAY be replaced**: ${shortType(r.type)} ${subject(ctx, r.logicalId)}: ${r.causes.join(', ')} ` +
        'replaces the resource for some changes only (its CloudFormation reference says when, under "Update requires"). ' +
        `If it does: ${r.fate}.`,
      headline: `${shortType(r.type)} ${subject(ctx, r.logicalId)} may be replaced (${r.causes.join(', ')})`,
    }));
}

const UNITS: Readonly<Record<string, string>> = { AllocatedStorage: ' GiB' };

/** One changed property of a stateful resource, with its direction where that matters. */
function describeStatefulProperty(name: string, a: unknown, b: unknown): string {
  const unit = UNITS[name] ?? '';
  if (name === 'AllocatedStorage' && Number(b) > Number(a)) {
    return `AllocatedStorage ${a} → ${b} GiB (grows; it can never shrink back)`;
  }
  if (name === 'MultiAZ') {
    return `MultiAZ ${brief(a)} → ${brief(b)} (standby ${b === true ? 'added' : 'removed'}; no replacement)`;
  }
  const scalar = (v: unknown) => v === undefined || v === null || typeof v !== 'object';
  return scalar(a) && scalar(b) ? `${name} ${brief(a)}${unit} → ${brief(b)}${unit}` : `${name} changed`;
}

/**
 * Every changed property of a stateful resource updated in place (or "may replace" only through
 * properties that in fact update in place), each on its own line, except those another finding
 * already reports: a "may replace" property never hides the others.
 */
export function statefulUpdated(ctx: RuleContext): FindingDraft[] {
  const out: FindingDraft[] = [];
  const candidates = [
    ...ctx.statefulUpdates.map((u) => ({ id: u.logicalId, type: u.type })),
    ...ctx.removals
      .filter((r) => r.stateful && r.impact === 'may-replace' && !ctx.tagOnly.has(r.logicalId))
      .map((r) => ({ id: r.logicalId, type: r.type })),
  ];
  for (const { id, type } of candidates) {
    if (ctx.claimedProperties.has(`${id}.*`)) continue;
    const change = ctx.diff.resources.get(id);
    const inPlace = IN_PLACE_DESPITE_MAYBE[type] ?? [];
    for (const [name, d] of Object.entries(change?.propertyUpdates ?? {})) {
      if (ctx.claimedProperties.has(`${id}.${name}`)) continue;
      const maybe = d.changeImpact === ResourceImpact.MAY_REPLACE && inPlace.includes(name);
      out.push({
        resources: [id],
        properties: [name],
        message: `Stateful, updated in place${maybe ? ' (no replacement; may reboot)' : ''}: ${shortType(type)} ${subject(ctx, id)}: ${describeStatefulProperty(name, d.oldValue, d.newValue)}`,
        headline: `${shortType(type)} ${subject(ctx, id)} updated in place (${name})`,
      });
    }
  }
  return out;
}

export function resourcesReplaced(ctx: RuleContext): FindingDraft[] {
  const rest = ctx.removals.filter((r) => !r.stateful && !ctx.claimed.has(r.logicalId));
  if (rest.length === 0) return [];
  const label = {
    replace: 'replaced',
    'may-replace': 'may be replaced',
    destroy: 'deleted',
    orphan: 'orphaned',
  } as const;
  const items = rest.map((r) => `${shortType(r.type)} ${subject(ctx, r.logicalId)} ${label[r.impact]}`);
  return [
    {
      resources: rest.map((r) => r.logicalId),
      message: `Not stateful, ${rest.length} resource(s) replaced or deleted: ${items.join(', ')}`,
      headline: `${rest.length} stateless resource(s) replaced or deleted`,
    },
  ];
}

export function tagsOnly(ctx: RuleContext): FindingDraft[] {
  if (ctx.tagOnly.size === 0) return [];
  const keys = [...new Set([...ctx.tagOnly.values()].flat())].sort();
  const replaced = ctx.removals.filter((r) => ctx.tagOnly.has(r.logicalId));
  const effect = replaced.length
    ? `; this replaces ${replaced.map((r) => `${shortType(r.type)} ${subject(ctx, r.logicalId)}`).join(', ')}` +
      (replaced.some((r) => r.type === 'AWS::ECS::TaskDefinition')
        ? ' (a new revision: the service redeploys)'
        : '')
    : ' (in place, no interruption)';
  return [
    {
      resources: [...ctx.tagOnly.keys()],
      message: `Tags only: ${keys.map(code).join(', ')} changed on ${ctx.tagOnly.size} resource(s)${effect}.`,
      headline: `tags changed on ${ctx.tagOnly.size} resource(s)`,
    },
  ];
}
