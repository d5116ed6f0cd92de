import { TemplateDiff } from '@aws-cdk/cloudformation-diff';
import { IamWidening } from './iam';
import { MigrationChanges } from './migrations';
import { physicalName, shortType, subjectOf } from './physical-names';
import { alarmsInvoking, identifySubjects, SubjectNames } from './subjects';
import type { ResourceRemoval, SecurityGroupWidening, StackChanges } from './summary';
import { brief, CfnResource, CfnTemplate, jsonEqual, referencedIds, refersToAny } from './template';

/** How serious a finding is: `block` fails the check unless its label overrides it. */
export type Severity = 'block' | 'warn' | 'info';

/** Severities from most to least serious. */
export const SEVERITIES: readonly Severity[] = ['block', 'warn', 'info'];

/**
 * Pull-request labels that let a blocking finding pass. Each names what the reviewer accepts, so a
 * label added for one kind of block does not wave through another kind.
 */
export const LABELS = {
  /** A planned replacement or deletion of data: a restore, an engine or network migration. */
  destructive: 'allow-destructive',
  /**
   * Louder: a change to what keeps live trading safe (the emergency stop, one bot at a time, the
   * Betfair and database credentials). Meant to be rare and discussed before it is added.
   */
  tradingSafety: 'override-trading-safety',
  /** A migration below the base's highest version, known to be applied by hand (issue 13). */
  outOfOrderMigration: 'allow-out-of-order-migration',
} as const;

export type OverrideLabel = (typeof LABELS)[keyof typeof LABELS];

/** What a rule found, before the rule's id and severity are attached. */
export interface FindingDraft {
  /** Logical ids the finding is about; generic rules leave these to the specific finding. */
  readonly resources: readonly string[];
  /** One line for the summary: the subject by physical name, what happens and why it matters. */
  readonly message: string;
  /** Short form for the first line of the comment. */
  readonly headline: string;
}

/** One finding of one rule on one stack. */
export interface Finding extends FindingDraft {
  readonly rule: string;
  readonly severity: Severity;
  readonly stackName: string;
  /** The label that lets this block pass; undefined when nothing can (or it does not block). */
  readonly override?: OverrideLabel;
}

/** Everything a rule may look at for one stack. */
export interface RuleContext extends StackChanges {
  readonly stackName: string;
  /** Production stack: losing a standby or a backup matters more. */
  readonly production: boolean;
  readonly before: CfnTemplate;
  readonly after: CfnTemplate;
  readonly oldRes: Record<string, CfnResource>;
  readonly newRes: Record<string, CfnResource>;
  readonly diff: TemplateDiff;
  readonly names: SubjectNames;
  /** Resources whose only change is their tags, with the tag keys that changed. */
  readonly tagOnly: ReadonlyMap<string, readonly string[]>;
  readonly migrations?: MigrationChanges;
  /** Logical ids a specific (non-generic) finding already names; generic rules skip them. */
  readonly claimed: ReadonlySet<string>;
}

/** One row of the rules table. */
export interface Rule {
  readonly id: string;
  readonly severity: Severity;
  /** What the rule catches, for docs/deployment.md. */
  readonly title: string;
  /** Why it matters. */
  readonly reason: string;
  /** The AWS document, issue or project file the rule follows. */
  readonly source: string;
  /** For `block` rules: the label that lets it pass; absent when no label can (the deploy would fail). */
  readonly override?: OverrideLabel;
  /** Runs after the specific rules and skips resources they named (dedupe per resource). */
  readonly generic?: boolean;
  detect(ctx: RuleContext): FindingDraft[];
}

const code = (s: string) => `\`${s.replace(/`/g, "'")}\``;
const subject = (ctx: RuleContext, id: string) => subjectOf(id, ctx.newRes[id] ?? ctx.oldRes[id]);
const RETAINED = new Set(['Retain', 'RetainExceptOnCreate']);

// ---------------------------------------------------------------------------------------------
// Secrets

/** Keys of two objects whose values differ, with from → to when short. */
function changedKeys(a: unknown, b: unknown): string[] {
  const [oa, ob] = [(a ?? {}) as Record<string, unknown>, (b ?? {}) as Record<string, unknown>];
  return [...new Set([...Object.keys(oa), ...Object.keys(ob)])]
    .filter((k) => !jsonEqual(oa[k], ob[k]))
    .map((k) => `${k} ${brief(oa[k] ?? '(none)', 60)} → ${brief(ob[k] ?? '(none)', 60)}`);
}

function secretRegenerated(ctx: RuleContext): FindingDraft[] {
  const out: FindingDraft[] = [];
  for (const [id, after] of Object.entries(ctx.newRes)) {
    const before = ctx.oldRes[id];
    if (after.Type !== 'AWS::SecretsManager::Secret' || before?.Type !== after.Type) continue;
    const [g0, g1] = [before.Properties?.GenerateSecretString, after.Properties?.GenerateSecretString];
    if (jsonEqual(g0, g1) || (g0 === undefined && g1 === undefined)) continue;
    const what =
      g0 && g1
        ? `GenerateSecretString changes (${changedKeys(g0, g1).join('; ')})`
        : g1
          ? 'GenerateSecretString is added'
          : 'GenerateSecretString is removed';
    const name = physicalName(after) ?? id;
    const attached = Object.values(ctx.newRes).some(
      (r) =>
        r.Type === 'AWS::SecretsManager::SecretTargetAttachment' &&
        refersToAny(r.Properties?.SecretId, new Set([id])),
    );
    const consequence = /betfair/i.test(name)
      ? 'the Betfair credentials set by hand are overwritten: the emergency stop’s cancel-all fails at once and the bot at its next start'
      : attached
        ? 'the user and password in the secret change but not in the database: every service loses the database'
        : 'the value set by hand or generated before is overwritten';
    out.push({
      resources: [id],
      message: `Secret ${subject(ctx, id)} would be **regenerated**: ${what}. CloudFormation generates a new value, so ${consequence}.`,
      headline: `secret ${code(name)} would be regenerated`,
    });
  }
  return out;
}

// ---------------------------------------------------------------------------------------------
// Emergency stop

function stopFunctions(resources: Record<string, CfnResource>, template: CfnTemplate, names: SubjectNames) {
  const parts = identifySubjects(template, names).emergencyStop;
  return new Set(
    [...parts]
      .filter(([id, part]) => part === 'function' || resources[id]?.Type.startsWith('AWS::Lambda::'))
      .map(([id]) => id),
  );
}

function emergencyStopDisconnected(ctx: RuleContext): FindingDraft[] {
  const out: FindingDraft[] = [];
  const oldFns = stopFunctions(ctx.oldRes, ctx.before, ctx.names);
  const newFns = stopFunctions(ctx.newRes, ctx.after, ctx.names);
  const oldTriggers = alarmsInvoking(ctx.oldRes, oldFns);
  const newTriggers = alarmsInvoking(ctx.newRes, newFns);
  const enabled = (r: CfnResource | undefined) => r?.Properties?.ActionsEnabled !== false;
  const newByName = new Map([...newTriggers].map((id) => [physicalName(ctx.newRes[id]) ?? id, id] as const));
  for (const id of [...oldTriggers].sort()) {
    const name = physicalName(ctx.oldRes[id]) ?? id;
    // A renamed construct keeps the alarm name: still a trigger if the new one invokes and is enabled.
    const now = newTriggers.has(id) ? id : newByName.get(name);
    let what: string | undefined;
    if (!ctx.newRes[id] && now === undefined) what = 'the trigger alarm is deleted';
    else if (now === undefined) what = 'the alarm no longer invokes the emergency-stop function';
    else if (!enabled(ctx.newRes[now]) && enabled(ctx.oldRes[id]))
      what = 'its actions are disabled (`ActionsEnabled: false`), so it no longer invokes the emergency stop';
    if (!what) continue;
    out.push({
      resources: [id],
      message: `Emergency stop **disconnected** from ${code(name)}: ${what}. The condition it guards then only pages; nothing stops trading.`,
      headline: `emergency stop disconnected from ${code(name)}`,
    });
  }
  // The function itself, or the permission that lets CloudWatch alarms invoke it.
  for (const id of oldFns) {
    const r = ctx.oldRes[id];
    if (r.Type === 'AWS::Lambda::Function' && !ctx.newRes[id] && newFns.size === 0) {
      out.push({
        resources: [id],
        message: `Emergency-stop function ${subject(ctx, id)} is **removed**: no alarm and no operator can stop trading with it.`,
        headline: 'emergency-stop function removed',
      });
    }
  }
  const alarmPermission = (res: Record<string, CfnResource>, fns: ReadonlySet<string>) =>
    Object.entries(res)
      .filter(
        ([, r]) =>
          r.Type === 'AWS::Lambda::Permission' &&
          String(r.Properties?.Principal ?? '') === 'lambda.alarms.cloudwatch.amazonaws.com' &&
          refersToAny(r.Properties?.FunctionName, fns),
      )
      .map(([id]) => id);
  const before = alarmPermission(ctx.oldRes, oldFns);
  if (before.length > 0 && newTriggers.size > 0 && alarmPermission(ctx.newRes, newFns).length === 0) {
    out.push({
      resources: before,
      message:
        'The permission that lets CloudWatch alarms invoke the emergency stop (`lambda.alarms.cloudwatch.amazonaws.com`) is **removed**: its trigger alarms fire but cannot invoke it.',
      headline: 'emergency stop can no longer be invoked by its alarms',
    });
  }
  return out;
}

function emergencyStopWeakened(ctx: RuleContext): FindingDraft[] {
  return ctx.emergencyStop
    .filter((e) => e.part === 'role' && e.details.some((d) => d.startsWith('loses: ')))
    .map((e) => ({
      resources: [e.logicalId],
      message: `Emergency-stop role ${subject(ctx, e.logicalId)} ${e.details.filter((d) => d.startsWith('loses: ')).join('; ')}: a step of the stop may fail with AccessDenied.`,
      headline: 'the emergency-stop role loses a permission',
    }));
}

function emergencyStopChanged(ctx: RuleContext): FindingDraft[] {
  return ctx.emergencyStop
    .filter((e) => !ctx.claimed.has(e.logicalId))
    .map((e) => {
      const details = e.details.length ? `: ${e.details.join('; ')}` : '';
      return {
        resources: [e.logicalId],
        message: `Emergency stop ${e.part} ${subject(ctx, e.logicalId)} ${e.change}${details}`,
        headline: `emergency stop ${e.part} ${e.change}`,
      };
    });
}

// ---------------------------------------------------------------------------------------------
// The bot: one at a time, its count owned by the operators

const BOT_SERVICE_TYPES = new Set(['AWS::ECS::Service']);

function deploymentShape(r: CfnResource | undefined) {
  const dc = (r?.Properties?.DeploymentConfiguration ?? {}) as Record<string, unknown>;
  const controller = (r?.Properties?.DeploymentController as Record<string, unknown> | undefined)?.Type;
  // ECS defaults for a REPLICA service without a deployment configuration: 200 / 100.
  return {
    max: Number(dc.MaximumPercent ?? 200),
    min: Number(dc.MinimumHealthyPercent ?? 100),
    controller: typeof controller === 'string' ? controller : 'ECS',
  };
}

function botNotStopFirst(ctx: RuleContext): FindingDraft[] {
  const [oldIds, newIds] = [
    identifySubjects(ctx.before, ctx.names).botServices,
    identifySubjects(ctx.after, ctx.names).botServices,
  ];
  const out: FindingDraft[] = [];
  for (const id of newIds) {
    if (!BOT_SERVICE_TYPES.has(ctx.newRes[id].Type)) continue;
    const now = deploymentShape(ctx.newRes[id]);
    const stopFirst = now.max <= 100 && now.min === 0 && now.controller === 'ECS';
    if (stopFirst) continue;
    const oldId = oldIds.has(id) ? id : [...oldIds][0];
    if (oldId && jsonEqual(deploymentShape(ctx.oldRes[oldId]), now)) continue;
    const overlap = now.max > 100 || now.controller !== 'ECS';
    out.push({
      resources: [id],
      message:
        `Bot service ${subject(ctx, id)} is no longer deployed stop-first: ` +
        `minimum ${now.min}% / maximum ${now.max}%${now.controller !== 'ECS' ? `, controller ${now.controller}` : ''}. ` +
        (overlap
          ? 'A deploy starts the new bot before the old one stops: **two bots trading at once**.'
          : 'A deploy cannot stop the running bot first, so it waits for a task it will never get.') +
        ' It must be minimum 0% / maximum 100% with the ECS controller.',
      headline: overlap
        ? 'the bot would deploy with two bots trading at once'
        : 'the bot would no longer deploy stop-first',
    });
  }
  return out;
}

function botDesiredCount(ctx: RuleContext): FindingDraft[] {
  return ctx.counts
    .filter((c) => c.service === 'bot' && c.property === 'DesiredCount' && c.to !== undefined)
    .map((c) => ({
      resources: [c.logicalId],
      message: `Bot service ${subject(ctx, c.logicalId)} gains \`DesiredCount: ${JSON.stringify(c.to)}\`: CloudFormation then sets the running count on every deploy, restarting a bot the emergency stop scaled to zero.`,
      headline: 'the bot service would get a DesiredCount (undoes an emergency stop)',
    }));
}

function mlDesiredCount(ctx: RuleContext): FindingDraft[] {
  return ctx.counts
    .filter((c) => c.service === 'ml-service' && c.property === 'DesiredCount' && c.to !== undefined)
    .map((c) => ({
      resources: [c.logicalId],
      message: `ML service ${subject(ctx, c.logicalId)} gains \`DesiredCount: ${JSON.stringify(c.to)}\`: autoscaling owns the count, and each deploy would reset it.`,
      headline: 'the ML service would get a DesiredCount',
    }));
}

function scalingChanged(ctx: RuleContext): FindingDraft[] {
  return ctx.counts
    .filter((c) => c.property !== 'DesiredCount')
    .map((c) => ({
      resources: [c.logicalId],
      message: `${c.service} ${c.property}: ${brief(c.from)} → ${brief(c.to)}`,
      headline: `${c.service} ${c.property} ${brief(c.from)} → ${brief(c.to)}`,
    }));
}

// ---------------------------------------------------------------------------------------------
// Database

const storage = (r: CfnResource | undefined) => {
  const v = r?.Properties?.AllocatedStorage;
  return v === undefined || Number.isNaN(Number(v)) ? undefined : Number(v);
};

function rdsStorageShrinks(ctx: RuleContext): FindingDraft[] {
  const out: FindingDraft[] = [];
  for (const [id, after] of Object.entries(ctx.newRes)) {
    if (after.Type !== 'AWS::RDS::DBInstance' || ctx.oldRes[id]?.Type !== after.Type) continue;
    const [from, to] = [storage(ctx.oldRes[id]), storage(after)];
    if (from === undefined || to === undefined || to >= from) continue;
    out.push({
      resources: [id],
      message: `Database ${subject(ctx, id)} storage **shrinks** ${from} → ${to} GiB. RDS cannot reduce allocated storage, so the deploy fails and rolls back. Keep ${from} GiB (or migrate to a new, smaller instance deliberately).`,
      headline: `database storage would shrink ${from} → ${to} GiB (RDS cannot do that)`,
    });
  }
  return out;
}

function multiAzOff(ctx: RuleContext): FindingDraft[] {
  if (!ctx.production) return [];
  const out: FindingDraft[] = [];
  for (const [id, after] of Object.entries(ctx.newRes)) {
    const before = ctx.oldRes[id];
    if (after.Type !== 'AWS::RDS::DBInstance' || before?.Type !== after.Type) continue;
    if (before.Properties?.MultiAZ === true && after.Properties?.MultiAZ !== true) {
      out.push({
        resources: [id],
        message: `Database ${subject(ctx, id)} **loses its Multi-AZ standby** (MultiAZ true → ${brief(after.Properties?.MultiAZ)}). Not a replacement and no outage, but an AZ failure or a maintenance reboot then stops the database (and trading) until it is back.`,
        headline: 'production database would lose its Multi-AZ standby',
      });
    }
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

function networkReplaced(ctx: RuleContext): FindingDraft[] {
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

function fixedNameCollision(ctx: RuleContext): FindingDraft[] {
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

function statefulReplaced(ctx: RuleContext): FindingDraft[] {
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

function statefulMayReplace(ctx: RuleContext): FindingDraft[] {
  return ctx.removals
    .filter(
      (r) =>
        r.stateful && r.impact === 'may-replace' && !inPlaceDespiteMaybe(r) && !ctx.claimed.has(r.logicalId),
    )
    .map((r) => ({
      resources: [r.logicalId],
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

function statefulUpdated(ctx: RuleContext): FindingDraft[] {
  const out: FindingDraft[] = [];
  for (const u of ctx.statefulUpdates) {
    if (ctx.claimed.has(u.logicalId)) continue;
    const change = ctx.diff.resources.get(u.logicalId);
    const details = Object.entries(change?.propertyUpdates ?? {}).map(([name, d]) =>
      describeStatefulProperty(name, d.oldValue, d.newValue),
    );
    out.push({
      resources: [u.logicalId],
      message: `Stateful, updated in place: ${shortType(u.type)} ${subject(ctx, u.logicalId)}: ${details.join('; ')}`,
      headline: `${shortType(u.type)} ${subject(ctx, u.logicalId)} updated in place`,
    });
  }
  // "May replace" changes that in fact update in place, worded as such.
  for (const r of ctx.removals.filter((x) => x.stateful && inPlaceDespiteMaybe(x))) {
    if (ctx.claimed.has(r.logicalId)) continue;
    const d = ctx.diff.resources.get(r.logicalId)?.propertyUpdates ?? {};
    const details = r.causes.map((c) => describeStatefulProperty(c, d[c]?.oldValue, d[c]?.newValue));
    out.push({
      resources: [r.logicalId],
      message: `Stateful, updated in place (no replacement; may reboot): ${shortType(r.type)} ${subject(ctx, r.logicalId)}: ${details.join('; ')}`,
      headline: `${shortType(r.type)} ${subject(ctx, r.logicalId)} updated in place`,
    });
  }
  return out;
}

function resourcesReplaced(ctx: RuleContext): FindingDraft[] {
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

// ---------------------------------------------------------------------------------------------
// Migrations

function migrationOutOfOrder(ctx: RuleContext): FindingDraft[] {
  const m = ctx.migrations;
  if (!m || m.outOfOrder.length === 0) return [];
  return [
    {
      resources: [],
      message: `**Out-of-order migration**: ${m.outOfOrder.map((f) => code(f.name)).join(', ')} ${m.outOfOrder.length === 1 ? 'is' : 'are'} below the base's highest version ${code(m.baseLatest!)}. golang-migrate (and the runner) only apply versions above the database's, so ${m.outOfOrder.length === 1 ? 'it is' : 'they are'} silently skipped wherever the base already ran. Rename with a version above ${m.baseLatest}.`,
      headline: `migration ${m.outOfOrder.map((f) => code(f.name)).join(', ')} is out of order (below ${m.baseLatest})`,
    },
  ];
}

function migrationEdited(ctx: RuleContext): FindingDraft[] {
  const m = ctx.migrations;
  if (!m || m.edited.length === 0) return [];
  return [
    {
      resources: [],
      message: `Applied migration file(s) edited: ${m.edited.map((f) => code(f.name)).join(', ')}. A database at or past that version never re-runs it; write a new migration instead.`,
      headline: `migration ${m.edited.map((f) => code(f.name)).join(', ')} edited after it was applied`,
    },
  ];
}

function migrationAdded(ctx: RuleContext): FindingDraft[] {
  const m = ctx.migrations;
  const inOrder = (m?.added ?? []).filter((f) => !m!.outOfOrder.includes(f));
  if (inOrder.length === 0) return [];
  return [
    {
      resources: [],
      message: `New migration(s), applied to this stack's database on deploy: ${inOrder.map((f) => code(f.name)).join(', ')}`,
      headline: `new migration ${inOrder.map((f) => code(f.name)).join(', ')}`,
    },
  ];
}

// ---------------------------------------------------------------------------------------------
// Images, task definitions, live trading, IAM, security groups, tags

function imagesChanged(ctx: RuleContext): FindingDraft[] {
  return ctx.taskDefinitions.flatMap((t) =>
    t.imageTags.map((i) => ({
      resources: [t.logicalId],
      message: `${t.service === 'bot' ? 'Bot' : 'ML service'} image ${i.from ? code(i.from) : '(none)'} → ${i.to ? code(i.to) : '(none)'} (container ${i.container}${i.repository ? `, repository ${i.repository}` : ''})`,
      headline: `${t.service} image ${i.from ?? '(none)'} → ${i.to ?? '(none)'}`,
    })),
  );
}

function taskDefinitionChanged(ctx: RuleContext): FindingDraft[] {
  return ctx.taskDefinitions
    .filter((t) => t.details.length > 0 || (t.change !== 'updated' && t.imageTags.length === 0))
    .map((t) => ({
      resources: [t.logicalId],
      message: `${t.service === 'bot' ? "Bot's" : "ML service's"} task definition ${subject(ctx, t.logicalId)}${t.change === 'updated' ? '' : ` ${t.change}`}: ${t.details.join('; ') || 'changed'}`,
      headline: `${t.service} task definition changed`,
    }));
}

const flag = (v: unknown) => (v === undefined ? '(unset)' : code(String(v)));

function liveTradingOn(ctx: RuleContext): FindingDraft[] {
  return ctx.liveTrading
    .filter((l) => l.to === true && l.from !== true)
    .map((l) => ({
      resources: [l.logicalId],
      message: `**Live trading switched on** in ${code(l.secretName)}: \`live_trading_enabled\` ${flag(l.from)} → \`true\`. A deploy writes this over the live value, including an emergency stop’s \`false\`.`,
      headline: `live trading switched on (${code(l.secretName)})`,
    }));
}

function liveTradingChanged(ctx: RuleContext): FindingDraft[] {
  return ctx.liveTrading
    .filter((l) => !ctx.claimed.has(l.logicalId))
    .map((l) => ({
      resources: [l.logicalId],
      message:
        l.change === 'removed'
          ? `Config secret ${code(l.secretName)} leaves the template.`
          : `Config secret ${code(l.secretName)}: \`live_trading_enabled\` ${l.change === 'added' ? 'created as' : `${flag(l.from)} →`} ${flag(l.to)}. A deploy writes this over the live value.`,
      headline: `config secret ${code(l.secretName)} changed`,
    }));
}

function iamLine(ctx: RuleContext, w: IamWidening): string {
  const principal = w.principal.replace(/\$\{([A-Za-z0-9]+)(?:\.[A-Za-z]+)?\}/g, (m, id: string) =>
    ctx.newRes[id] ? subjectOf(id, ctx.newRes[id]).replace(/`/g, '') : m,
  );
  const on = w.resources.length ? ` on ${w.resources.map(code).join(', ')}` : '';
  const condition = w.condition ? ` when ${code(w.condition.replace(/\s+/g, ' '))}` : '';
  return `${code(principal)} may now ${w.actions.map(code).join(', ')}${on}${condition}`;
}

function iamWildcard(ctx: RuleContext): FindingDraft[] {
  return ctx.iamWidening
    .filter((w) => w.wildcard)
    .map((w) => ({
      resources: [],
      message: `**IAM widening (wildcard)**: ${iamLine(ctx, w)}`,
      headline: `wildcard IAM grant: ${w.actions.join(', ')}`,
    }));
}

function iamWidened(ctx: RuleContext): FindingDraft[] {
  return ctx.iamWidening
    .filter((w) => !w.wildcard)
    .map((w) => ({
      resources: [],
      message: `IAM widening: ${iamLine(ctx, w)}`,
      headline: `IAM widening: ${w.actions.join(', ')}`,
    }));
}

function sgLine(g: SecurityGroupWidening): string {
  return `new ${g.direction} ${g.protocol} ${g.direction === 'ingress' ? 'from' : 'to'} ${g.world ? `**${g.peer}**` : code(g.peer)} on ${code(g.group)}`;
}

function sgWorldOpen(ctx: RuleContext): FindingDraft[] {
  return ctx.securityGroupWidening
    .filter((g) => g.world)
    .map((g) => ({
      resources: [],
      message: `**Security group open to the internet**: ${sgLine(g)}`,
      headline: `security group open to the internet (${g.protocol})`,
    }));
}

function sgWidened(ctx: RuleContext): FindingDraft[] {
  return ctx.securityGroupWidening
    .filter((g) => !g.world)
    .map((g) => ({
      resources: [],
      message: `Security group widening: ${sgLine(g)}`,
      headline: 'security group widening',
    }));
}

function tagsOnly(ctx: RuleContext): FindingDraft[] {
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

// ---------------------------------------------------------------------------------------------

const CFN_UPDATE_BEHAVIORS =
  'https://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/using-cfn-updating-stacks-update-behaviors.html';

/**
 * The rules of the risk summary, most serious first (the first finding of the first rule is the
 * headline). docs/deployment.md lists the same table; a test keeps the two equal.
 */
export const RULES: readonly Rule[] = [
  {
    id: 'secret-regenerated',
    severity: 'block',
    override: LABELS.tradingSafety,
    title: "A secret's GenerateSecretString (or its SecretStringTemplate) changes, is added or removed",
    reason:
      'CloudFormation generates a new value: hand-set Betfair credentials are lost, the database password in the secret no longer matches the database.',
    source: 'AWS::SecretsManager::Secret GenerateSecretString reference; aws/aws-cdk#10800; issues 11 and 17',
    detect: secretRegenerated,
  },
  {
    id: 'emergency-stop-disconnected',
    severity: 'block',
    override: LABELS.tradingSafety,
    title:
      'An emergency-stop trigger alarm loses its Lambda action, has ActionsEnabled false or is deleted; the function or its alarm permission is removed',
    reason: 'The loss limit or error storm then only pages: nothing stops trading.',
    source:
      'AWS::CloudWatch::Alarm ActionsEnabled/AlarmActions reference; CloudWatch "Lambda alarm actions" (lambda.alarms.cloudwatch.amazonaws.com); docs/emergency-stop.md',
    detect: emergencyStopDisconnected,
  },
  {
    id: 'bot-not-stop-first',
    severity: 'block',
    override: LABELS.tradingSafety,
    title: "The bot service's deployment is not stop-first (minimum 0 %, maximum 100 %, ECS controller)",
    reason:
      'Maximum above 100 % (or a blue/green controller) starts the new bot before the old one stops: two bots trading at once.',
    source:
      'Amazon ECS "Deployment configuration" (maximumPercent, minimumHealthyPercent; defaults 200/100); DESIGN.md',
    detect: botNotStopFirst,
  },
  {
    id: 'bot-desired-count',
    severity: 'block',
    override: LABELS.tradingSafety,
    title: 'The bot service gains DesiredCount',
    reason: 'Every deploy would set the running count, restarting a bot the emergency stop scaled to zero.',
    source:
      'AWS::ECS::Service DesiredCount reference (omitted: CloudFormation keeps the current count); docs/emergency-stop.md',
    detect: botDesiredCount,
  },
  {
    id: 'rds-storage-shrink',
    severity: 'block',
    title: "A DB instance's AllocatedStorage decreases",
    reason:
      'RDS cannot reduce allocated storage: the deploy fails and rolls back. No label helps; change the pull request.',
    source:
      'Amazon RDS User Guide "Working with storage": you can\'t reduce the amount of storage after it has been allocated',
    detect: rdsStorageShrinks,
  },
  {
    id: 'network-replaced',
    severity: 'block',
    override: LABELS.destructive,
    title: 'The VPC, a subnet or the DB subnet group is replaced (one finding listing what moves with it)',
    reason: 'The database cannot move VPC in place; services, load balancer and VPC functions are recreated.',
    source: `${CFN_UPDATE_BEHAVIORS}; AWS::EC2::VPC/Subnet CidrBlock "Update requires: Replacement"; Amazon RDS "Working with a DB instance in a VPC"`,
    detect: networkReplaced,
  },
  {
    id: 'fixed-name-collision',
    severity: 'block',
    override: LABELS.destructive,
    title:
      'A renamed construct re-creates a fixed-name resource while the old one is retained, or a fixed-name resource needs replacement',
    reason:
      'The create fails because the name is taken; CloudFormation cannot replace a custom-named resource.',
    source: 'CloudFormation "Name type" (custom names and replacement); DeletionPolicy reference',
    detect: fixedNameCollision,
  },
  {
    id: 'stateful-replaced',
    severity: 'block',
    override: LABELS.destructive,
    title:
      'A stateful resource (database, secret, repository, log group, bucket, key, table, file system) is replaced, deleted or removed from the stack',
    reason:
      'Its data or identity is lost or left unmanaged; for a secret, its readers are listed (they get placeholder values).',
    source: `${CFN_UPDATE_BEHAVIORS}; DeletionPolicy and UpdateReplacePolicy reference`,
    detect: statefulReplaced,
  },
  {
    id: 'stateful-may-replace',
    severity: 'block',
    override: LABELS.destructive,
    title: 'A stateful resource may be replaced (a property that replaces for some values only)',
    reason:
      'Whether it does depends on the values; the reference page says when. Properties known to update in place (RDS MultiAZ, backup retention, maintenance window, minor upgrades, parameter group, storage type) are not reported here.',
    source: `${CFN_UPDATE_BEHAVIORS}; the resource's property reference ("Update requires")`,
    detect: statefulMayReplace,
  },
  {
    id: 'migration-out-of-order',
    severity: 'block',
    override: LABELS.outOfOrderMigration,
    title: "A new migration file's version is below the base's highest version",
    reason:
      'golang-migrate and the runner only apply versions above the database version: the file is skipped silently where the base ran.',
    source: 'golang-migrate "Migration files" (versions applied in order); docs/migrations.md; issue 13',
    detect: migrationOutOfOrder,
  },
  {
    id: 'emergency-stop-weakened',
    severity: 'warn',
    title: 'The emergency-stop role loses a permission',
    reason:
      'A step of the stop (scale to zero, live trading off, cancel-all, notify) may fail with AccessDenied.',
    source: 'docs/emergency-stop.md',
    detect: emergencyStopWeakened,
  },
  {
    id: 'rds-multi-az-off',
    severity: 'warn',
    title: 'The production database loses Multi-AZ',
    reason:
      'Not a replacement and no outage, but the standby is gone: an AZ failure or a reboot stops the database.',
    source:
      'Amazon RDS "Modifying a DB instance to be a Multi-AZ deployment"; AWS::RDS::DBInstance MultiAZ reference',
    detect: multiAzOff,
  },
  {
    id: 'live-trading-on',
    severity: 'warn',
    title: 'The config secret switches live_trading_enabled on',
    reason: 'A deploy writes the template value over the live one, including an emergency stop’s false.',
    source: 'AWS::SecretsManager::Secret SecretString reference; docs/emergency-stop.md',
    detect: liveTradingOn,
  },
  {
    id: 'migration-edited',
    severity: 'warn',
    title: 'A migration file the base already has changes its bytes',
    reason: 'A database at or past that version never re-runs it.',
    source: 'golang-migrate "Migration files"; docs/migrations.md',
    detect: migrationEdited,
  },
  {
    id: 'iam-wildcard',
    severity: 'warn',
    title:
      'A new IAM grant with a wildcard action, resource or principal, NotAction/NotResource, or a broad managed policy',
    reason: 'Least privilege: a wildcard is rarely needed and hard to review.',
    source: 'IAM User Guide "Security best practices: apply least-privilege permissions"',
    detect: iamWildcard,
  },
  {
    id: 'sg-world-open',
    severity: 'warn',
    title: 'A new security-group rule to or from 0.0.0.0/0 or ::/0',
    reason:
      'The services are internal; internet-open rules are rarely intended. A rule that only follows a VPC CIDR change is not reported.',
    source: 'Amazon VPC "Security group rules"',
    detect: sgWorldOpen,
  },
  {
    id: 'ml-desired-count',
    severity: 'warn',
    title: 'The ML service gains DesiredCount',
    reason: 'Autoscaling owns the count; a deploy would reset it.',
    source: 'AWS::ECS::Service DesiredCount reference; Application Auto Scaling for ECS',
    detect: mlDesiredCount,
  },
  {
    id: 'image-changed',
    severity: 'info',
    title: 'A container image changes (tag and/or digest, old → new)',
    reason: 'What will run after the deploy; production pins digests (repo@sha256:…).',
    source: 'Amazon ECS task definition "image" parameter (repository:tag, repository@digest)',
    detect: imagesChanged,
  },
  {
    id: 'task-definition-changed',
    severity: 'info',
    title: "Other changes to the bot's or ML service's task definition",
    reason: 'Variables, CPU/memory, roles.',
    source: 'Amazon ECS task definition parameters',
    detect: taskDefinitionChanged,
  },
  {
    id: 'migration-added',
    severity: 'info',
    title: 'New migration files (applied on deploy)',
    reason: 'They change the production schema when the stack deploys.',
    source: 'lib/migrations.ts; docs/migrations.md',
    detect: migrationAdded,
  },
  {
    id: 'iam-widening',
    severity: 'info',
    title: 'A new IAM permission without wildcards',
    reason: 'Worth a look; the CDK rewriting statements is not reported.',
    source: 'IAM User Guide "Policy evaluation logic"',
    detect: iamWidened,
  },
  {
    id: 'sg-widening',
    severity: 'info',
    title: 'A new security-group rule not open to the internet',
    reason: 'Worth a look.',
    source: 'Amazon VPC "Security group rules"',
    detect: sgWidened,
  },
  {
    id: 'scaling-changed',
    severity: 'info',
    title: 'ML autoscaling bounds or target change',
    reason: 'Capacity and cost.',
    source: 'Application Auto Scaling target tracking',
    detect: scalingChanged,
  },
  {
    id: 'tags-only',
    severity: 'info',
    title: 'Resources whose only change is their tags (one line per stack)',
    reason: 'Tags update in place; listing each resource would bury the findings.',
    source: 'Resource tag reference ("Update requires: No interruption")',
    detect: tagsOnly,
  },
  {
    id: 'live-trading-changed',
    severity: 'info',
    generic: true,
    title: 'Any other change of the config secret',
    reason: 'A deploy writes the template value over the live one.',
    source: 'docs/emergency-stop.md',
    detect: liveTradingChanged,
  },
  {
    id: 'emergency-stop-changed',
    severity: 'info',
    generic: true,
    title: 'Any other change to the emergency-stop wiring (function, role, alarms, permissions)',
    reason: 'The stop must keep working; read these.',
    source: 'docs/emergency-stop.md',
    detect: emergencyStopChanged,
  },
  {
    id: 'stateful-updated',
    severity: 'info',
    generic: true,
    title: 'A stateful resource updated in place (storage growth and Multi-AZ with their direction)',
    reason: 'Keeps the data; may interrupt or reboot.',
    source: CFN_UPDATE_BEHAVIORS,
    detect: statefulUpdated,
  },
  {
    id: 'resources-replaced',
    severity: 'info',
    generic: true,
    title: 'Stateless resources replaced or deleted (one line per stack)',
    reason: 'Usually harmless (task definitions, rules); listed so nothing is hidden.',
    source: CFN_UPDATE_BEHAVIORS,
    detect: resourcesReplaced,
  },
];

/** Runs every rule on one stack: specific rules first, then generic ones on what they left. */
export function runRules(ctx: Omit<RuleContext, 'claimed'>): Finding[] {
  const claimed = new Set<string>();
  const findings: Finding[] = [];
  for (const generic of [false, true]) {
    for (const rule of RULES.filter((r) => Boolean(r.generic) === generic)) {
      const drafts = rule.detect({ ...ctx, claimed });
      for (const draft of drafts) {
        findings.push({
          ...draft,
          rule: rule.id,
          severity: rule.severity,
          stackName: ctx.stackName,
          override: rule.severity === 'block' ? rule.override : undefined,
        });
      }
      // Later (less specific) rules leave these resources alone: one finding per resource.
      for (const d of drafts) for (const id of d.resources) claimed.add(id);
    }
  }
  return sortFindings(findings);
}

/** By severity, then by rule order (stable). */
export function sortFindings(findings: readonly Finding[]): Finding[] {
  const order = new Map(RULES.map((r, i) => [r.id, i]));
  return [...findings].sort(
    (a, b) =>
      SEVERITIES.indexOf(a.severity) - SEVERITIES.indexOf(b.severity) ||
      (order.get(a.rule) ?? 0) - (order.get(b.rule) ?? 0),
  );
}

/** Whether a finding fails the check given the pull request's labels. */
export function blocks(finding: Finding, labels: ReadonlySet<string>): boolean {
  return finding.severity === 'block' && !(finding.override && labels.has(finding.override));
}
