import { WORST_CASE_RUN_MS } from '../../lambda/emergency-stop/budget';
import { physicalName } from './physical-names';
import {
  alarmUrgency,
  missingSubscriptions,
  moreUrgent,
  okReachesPager,
  subscriptionsOf,
  topicUrgency,
  Urgency,
} from './routing';
import { code, nameOf, subject } from './rule-text';
import { principalsAllowed, SECRET_READ_ACTIONS, SECRET_WRITE_ACTIONS } from './secret-access';
import { alarmsInvoking, identifySubjects } from './subjects';
import { asList, brief, CfnResource, CfnTemplate, jsonEqual, resourcesOf } from './template';
import { Finding, FindingProvider, LABELS, OverrideLabel, RuleContext } from './types';

// The protections table: every setting that keeps trading, paging or data safe, with the direction
// that weakens it. Findings come from this table, not from one rule per incident: weakening a
// protection blocks in production (with the row's label) and warns elsewhere; strengthening it is
// info. docs/deployment.md shows the same table, generated from this one (`npm run diff --
// --protections-table`), and test/diff/protections.test.ts walks every row.

/**
 * How a row's property weakens; the property-based test generates its examples from this.
 * - `higher` / `lower`: a number moving that way is weaker (the other way stronger);
 * - `away-from-alarm`: an alarm threshold moving away from its comparison (higher for `Greater…`);
 * - `leaves`: leaving `strong` is weaker, reaching it stronger (`fallback` when unset);
 * - `members-removed`: a list losing a member is weaker, gaining one stronger;
 * - `changed`: any change is weaker (a replacement), nothing is stronger;
 * - `custom`: the row compares itself (routing, grants, budgets); its test says how to generate.
 */
export type Direction =
  | { readonly kind: 'higher' | 'lower' | 'away-from-alarm' | 'members-removed' | 'changed' | 'custom' }
  | { readonly kind: 'leaves'; readonly strong: unknown };

/** What one comparison of a row found. */
export interface Verdict {
  readonly weaker: boolean;
  /** The logical id the finding is about. */
  readonly id: string;
  /** `from → to` and why, in words, after the subject. */
  readonly what: string;
}

/** One row of the protections table. */
export interface Protection {
  /** Stable id; the finding's rule id is `protection:<id>`. */
  readonly id: string;
  /** Property path: resource type and property, e.g. `AWS::CloudWatch::Alarm Threshold`. */
  readonly path: string;
  /** Which resources of that type the row covers. */
  readonly covers: string;
  /** What the protection keeps safe. */
  readonly protects: string;
  /** Which direction weakens it, in words. */
  readonly weakens: string;
  readonly direction: Direction;
  /** The label that lets a production weakening pass. */
  readonly label: OverrideLabel;
  /** The AWS document or project file the row follows. */
  readonly source: string;
  /** The resource type the row reads (the test finds its examples by it). */
  readonly type: string;
  /** The top-level property the row reads; its finding claims it, so a generic line does not repeat it. */
  readonly property: string;
  /** Whether a resource of `type` in a template is covered. */
  applies(template: CfnTemplate, id: string): boolean;
  /** Reads the protected value (with the default CloudFormation applies when unset). */
  read(r: CfnResource | undefined): unknown;
  /**
   * Where the value lives when it is not `Properties[property]` (a metric-math alarm's periods).
   * Used by the tests that generate weakenings of every row. @default Properties[property]
   */
  write?(r: CfnResource, value: unknown): void;
  /** Compares the row over a template pair; the default compares `read` of each covered resource. */
  compare?(ctx: RuleContext): Verdict[];
}

const ALARM = 'AWS::CloudWatch::Alarm';
const DB = 'AWS::RDS::DBInstance';
const STOP_SOURCE = 'docs/emergency-stop.md; lib/emergency-stop.ts';
const ALARM_SOURCE = 'AWS::CloudWatch::Alarm reference; CloudWatch "Evaluating an alarm"';

/** Per template: the emergency-stop functions and their trigger alarms (read once, asked per resource). */
const stopCache = new WeakMap<CfnTemplate, { functions: Set<string>; triggers: Set<string> }>();

/** The emergency-stop functions and trigger alarms of a template (recognised as lib/diff/subjects.ts does). */
function stopWiring(template: CfnTemplate): { functions: Set<string>; triggers: Set<string> } {
  let hit = stopCache.get(template);
  if (!hit) {
    const resources = resourcesOf(template);
    const functions = new Set(
      [...identifySubjects(template).emergencyStop]
        .filter(([id, part]) => part === 'function' || resources[id]?.Type.startsWith('AWS::Lambda::'))
        .map(([id]) => id),
    );
    hit = { functions, triggers: alarmsInvoking(resources, functions) };
    stopCache.set(template, hit);
  }
  return hit;
}

const isStopTrigger = (template: CfnTemplate, id: string) => stopWiring(template).triggers.has(id);

const isStopFunction = (template: CfnTemplate, id: string) =>
  resourcesOf(template)[id]?.Type === 'AWS::Lambda::Function' && stopWiring(template).functions.has(id);

const num = (v: unknown) => (v === undefined || v === null || v === '' ? undefined : Number(v));

/** An alarm's period: its own, or the longest of its metric-math metrics. */
function alarmPeriod(r: CfnResource | undefined): number | undefined {
  const own = num(r?.Properties?.Period);
  if (own !== undefined) return own;
  const periods = asList(r?.Properties?.Metrics)
    .map((m) => num((m as { MetricStat?: { Period?: unknown } }).MetricStat?.Period))
    .filter((p): p is number => p !== undefined);
  return periods.length ? Math.max(...periods) : undefined;
}

/** Whether a higher threshold makes an alarm fire later (`GreaterThan…`) or sooner (`LessThan…`). */
const higherIsWeaker = (r: CfnResource | undefined) =>
  !/^LessThan/.test(String(r?.Properties?.ComparisonOperator ?? 'GreaterThanThreshold'));

const MAJOR = (v: unknown) => {
  const m = /^(\d+)/.exec(String(v ?? ''));
  return m ? Number(m[1]) : undefined;
};

function scalar(v: unknown): string {
  return v === undefined ? '(unset)' : brief(v, 60);
}

/** The default comparison: `read` on both sides of every covered resource present on both. */
function compareByRead(row: Protection, ctx: RuleContext): Verdict[] {
  const out: Verdict[] = [];
  for (const [id, after] of Object.entries(ctx.newRes)) {
    const before = ctx.oldRes[id];
    if (after.Type !== row.type || before?.Type !== row.type) continue;
    if (!row.applies(ctx.after, id) && !row.applies(ctx.before, id)) continue;
    const [a, b] = [row.read(before), row.read(after)];
    if (jsonEqual(a, b)) continue;
    const weaker = directionOf(row, a, b, before, after);
    if (weaker === undefined) continue;
    out.push({ id, weaker, what: `${row.property} ${scalar(a)} → ${scalar(b)}` });
  }
  return out;
}

/** Whether a → b is weaker (true), stronger (false) or neither (undefined), per the row's direction. */
function directionOf(
  row: Protection,
  a: unknown,
  b: unknown,
  before: CfnResource | undefined,
  after: CfnResource | undefined,
): boolean | undefined {
  const d = row.direction;
  switch (d.kind) {
    case 'higher':
    case 'lower': {
      const [x, y] = [num(a), num(b)];
      if (x === undefined || y === undefined || Number.isNaN(x) || Number.isNaN(y)) return true;
      return d.kind === 'higher' ? y > x : y < x;
    }
    case 'away-from-alarm': {
      const [x, y] = [num(a), num(b)];
      if (x === undefined || y === undefined) return true;
      // An operator that changes too is judged by the new one.
      return higherIsWeaker(after ?? before) ? y > x : y < x;
    }
    case 'leaves':
      if (jsonEqual(a, d.strong)) return true;
      if (jsonEqual(b, d.strong)) return false;
      return undefined;
    case 'members-removed': {
      const [x, y] = [asList(a), asList(b)];
      if (x.some((m) => !y.some((n) => jsonEqual(m, n)))) return true;
      return y.some((n) => !x.some((m) => jsonEqual(m, n))) ? false : undefined;
    }
    case 'changed':
      return true;
    default:
      return undefined;
  }
}

// ---------------------------------------------------------------------------------------------
// Rows that compare themselves

/** The stop's timeout against its step budgets (lambda/emergency-stop/budget.ts). */
function compareStopTimeout(ctx: RuleContext): Verdict[] {
  const budget = Math.ceil(WORST_CASE_RUN_MS / 1000);
  const out: Verdict[] = [];
  for (const [id, after] of Object.entries(ctx.newRes)) {
    const before = ctx.oldRes[id];
    if (!before || !isStopFunction(ctx.after, id)) continue;
    // Lambda's default timeout is 3 s.
    const [a, b] = [num(before.Properties?.Timeout) ?? 3, num(after.Properties?.Timeout) ?? 3];
    if (a === b) continue;
    const what = `Timeout ${a} s → ${b} s`;
    const why = `its steps need ${budget} s (the slowest step plus the notification, lambda/emergency-stop/budget.ts)`;
    if (b < budget && (a >= budget || b < a)) {
      out.push({
        id,
        weaker: true,
        what: `${what}, below the ${budget} s its steps need: the stop is cut off before its steps finish; ${why}`,
      });
    } else if (a < budget && b >= budget) out.push({ id, weaker: false, what: `${what}: ${why}` });
  }
  return out;
}

/** Reserved concurrency 1: the stop always has capacity, and never two cancel-alls at once. */
function compareStopConcurrency(ctx: RuleContext): Verdict[] {
  const out: Verdict[] = [];
  for (const [id, after] of Object.entries(ctx.newRes)) {
    const before = ctx.oldRes[id];
    if (!before || !isStopFunction(ctx.after, id)) continue;
    const [a, b] = [
      num(before.Properties?.ReservedConcurrentExecutions),
      num(after.Properties?.ReservedConcurrentExecutions),
    ];
    if (a === b) continue;
    const what = `ReservedConcurrentExecutions ${scalar(a)} → ${scalar(b)}`;
    const why =
      b === undefined
        ? ': no capacity is kept for it (other functions can take the account’s concurrency)'
        : b === 0
          ? ': the function is throttled and never runs'
          : b > 1
            ? ': two cancel-alls can run at once (Betfair refuses the second with ERROR_IN_MATCHER)'
            : '';
    if (a === 1 || (b !== 1 && (b === 0 || b === undefined)))
      out.push({ id, weaker: true, what: what + why });
    else if (b === 1) out.push({ id, weaker: false, what });
  }
  return out;
}

const URGENCY_WORDS: Readonly<Record<Urgency, string>> = { page: 'page', ticket: 'ticket', none: 'nobody' };

/** Every alarm's ALARM route: page → ticket or nobody is weaker. */
function compareAlarmRouting(ctx: RuleContext): Verdict[] {
  const [oldTopics, newTopics] = [topicUrgency(ctx.oldRes), topicUrgency(ctx.newRes)];
  const out: Verdict[] = [];
  for (const [id, after] of Object.entries(ctx.newRes)) {
    const before = ctx.oldRes[id];
    if (!before || !isAlarm(after) || before.Type !== after.Type) continue;
    const [a, b] = [alarmUrgency(before, oldTopics), alarmUrgency(after, newTopics)];
    if (a === b) continue;
    const disabled = after.Properties?.ActionsEnabled === false ? ' (ActionsEnabled: false)' : '';
    out.push({
      id,
      weaker: moreUrgent(a, b),
      what: `ALARM now goes to ${URGENCY_WORDS[b]}${disabled}, was ${URGENCY_WORDS[a]}`,
    });
  }
  return out;
}

/** A paging alarm's OK action to the pager (it closes the page when the alarm recovers). */
function compareOkToPager(ctx: RuleContext): Verdict[] {
  const [oldTopics, newTopics] = [topicUrgency(ctx.oldRes), topicUrgency(ctx.newRes)];
  const out: Verdict[] = [];
  for (const [id, after] of Object.entries(ctx.newRes)) {
    const before = ctx.oldRes[id];
    if (!before || !isAlarm(after) || before.Type !== after.Type) continue;
    // Judged only while the alarm still pages: a demoted alarm is the routing row's finding.
    if (alarmUrgency(after, newTopics) !== 'page') continue;
    const [a, b] = [okReachesPager(before, oldTopics), okReachesPager(after, newTopics)];
    if (a === b) continue;
    out.push({
      id,
      weaker: a,
      what: a
        ? 'its OK action to the pager is removed: the page stays open after the alarm recovers, and nobody is told it did'
        : 'OK now reaches the pager',
    });
  }
  return out;
}

const isAlarm = (r: CfnResource | undefined) =>
  r?.Type === ALARM || r?.Type === 'AWS::CloudWatch::CompositeAlarm';

/** SNS subscriptions: a removed one reaches nobody any more. */
function compareSubscriptions(ctx: RuleContext): Verdict[] {
  const [a, b] = [subscriptionsOf(ctx.oldRes), subscriptionsOf(ctx.newRes)];
  const topics = topicUrgency(ctx.oldRes);
  const describe = (s: { topic: string; protocol: string; endpoint: string }) =>
    `${s.protocol} ${/resolve:secretsmanager/.test(s.endpoint) ? 'endpoint from a secret' : code(s.endpoint)} of the ${topics.get(s.topic) ?? 'unknown'} topic`;
  return [
    ...missingSubscriptions(a, b).map((s) => ({
      id: s.topic,
      weaker: true,
      what: `subscription removed: ${describe(s)}`,
    })),
    ...missingSubscriptions(b, a).map((s) => ({
      id: s.topic,
      weaker: false,
      what: `subscription added: ${describe(s)}`,
    })),
  ];
}

/** The engine's major version: an upgrade is downtime and cannot be undone; a downgrade fails. */
function compareEngineMajor(ctx: RuleContext): Verdict[] {
  const out: Verdict[] = [];
  for (const [id, after] of Object.entries(ctx.newRes)) {
    const before = ctx.oldRes[id];
    if (after.Type !== DB || before?.Type !== DB) continue;
    const [a, b] = [MAJOR(before.Properties?.EngineVersion), MAJOR(after.Properties?.EngineVersion)];
    if (a === undefined || b === undefined || a === b) continue;
    const allowed = after.Properties?.AllowMajorVersionUpgrade === true;
    out.push({
      id,
      weaker: true,
      what:
        b > a
          ? `EngineVersion ${scalar(before.Properties?.EngineVersion)} → ${scalar(after.Properties?.EngineVersion)}: a major upgrade${allowed ? '' : ' without AllowMajorVersionUpgrade (the deploy fails)'}; the database is down while it runs and cannot be downgraded afterwards (restore from a snapshot)`
          : `EngineVersion ${scalar(before.Properties?.EngineVersion)} → ${scalar(after.Properties?.EngineVersion)}: RDS cannot downgrade a major version (the deploy fails)`,
    });
  }
  return out;
}

/** Log retention: fewer days deletes the older logs on deploy; unset is "never expire". */
function compareLogRetention(ctx: RuleContext): Verdict[] {
  const out: Verdict[] = [];
  const days = (r: CfnResource) => num(r.Properties?.RetentionInDays) ?? Infinity;
  const show = (d: number) => (d === Infinity ? 'never expire' : `${d} day${d === 1 ? '' : 's'}`);
  for (const [id, after] of Object.entries(ctx.newRes)) {
    const before = ctx.oldRes[id];
    if (after.Type !== 'AWS::Logs::LogGroup' || before?.Type !== after.Type) continue;
    const [a, b] = [days(before), days(after)];
    if (a === b) continue;
    out.push({
      id,
      weaker: b < a,
      what: `RetentionInDays ${show(a)} → ${show(b)}${b < a ? ': logs older than that are deleted on deploy' : ''}`,
    });
  }
  return out;
}

/** New security-group ingress from the whole internet (and such ingress removed). */
function compareWorldIngress(ctx: RuleContext): Verdict[] {
  const added = ctx.securityGroupWidening.filter((g) => g.direction === 'ingress' && g.world);
  const removed = ctx.diff.securityGroupChanges.ingress.removals.filter((r) => {
    const ip = r.peer?.kind === 'cidr-ip' ? r.peer.ip : undefined;
    return ip === '0.0.0.0/0' || ip === '::/0';
  });
  const group = (g: string) => g.replace(/^\$\{([A-Za-z0-9]+)(?:\.[A-Za-z]+)?\}$/, '$1');
  return [
    ...added.map((g) => ({
      id: group(g.group),
      weaker: true,
      what: `new ingress ${g.protocol} from **${g.peer}**`,
    })),
    ...removed.map((r) => ({
      id: group(r.groupId),
      weaker: false,
      what: `ingress ${r.describeProtocol()} from ${r.describePeer()} removed`,
    })),
  ];
}

/** Roles that may write the live-trading flag by design: the emergency stop's and the operators'. */
function flagWritersByDesign(template: CfnTemplate): Set<string> {
  // Required when needed: lib/operator-access.ts loads aws-cdk-lib, which `npm run diff` does not
  // otherwise need before it synthesizes (argument errors must stay fast).
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const { OPERATOR_ROLE_NAME } = require('../operator-access') as typeof import('../operator-access');
  const resources = resourcesOf(template);
  const stop = [...identifySubjects(template).emergencyStop]
    .filter(([, p]) => p === 'role')
    .map(([id]) => id);
  const operators = Object.entries(resources)
    .filter(([, r]) => r.Type === 'AWS::IAM::Role' && r.Properties?.RoleName === OPERATOR_ROLE_NAME)
    .map(([id]) => id);
  return new Set([...stop, ...operators]);
}

function compareSecretAccess(
  ctx: RuleContext,
  secretsOf: (template: CfnTemplate) => Set<string>,
  actions: readonly string[],
  allowed: (template: CfnTemplate) => Set<string>,
  verb: string,
): Verdict[] {
  const out: Verdict[] = [];
  const [oldSecrets, newSecrets] = [secretsOf(ctx.before), secretsOf(ctx.after)];
  const byName = (res: Record<string, CfnResource>, ids: Set<string>) =>
    new Map([...ids].map((id) => [physicalName(res[id]) ?? id, id] as const));
  const [oldByName, newByName] = [byName(ctx.oldRes, oldSecrets), byName(ctx.newRes, newSecrets)];
  const exempt = new Set([...allowed(ctx.before), ...allowed(ctx.after)]);
  const who = (id: string, res: Record<string, CfnResource>, template: CfnTemplate) =>
    res[id] ? subject({ ...ctx, newRes: res, after: template } as RuleContext, id) : code(id);
  for (const [name, newId] of newByName) {
    const oldId = oldByName.get(name);
    const had = oldId ? principalsAllowed(ctx.oldRes, oldId, actions) : new Set<string>();
    const has = principalsAllowed(ctx.newRes, newId, actions);
    for (const p of [...has].filter((x) => !had.has(x) && !exempt.has(x)).sort()) {
      out.push({
        id: newId,
        weaker: true,
        what: `${who(p, ctx.newRes, ctx.after)} may now ${verb} ${code(name)}`,
      });
    }
    for (const p of [...had].filter((x) => !has.has(x) && !exempt.has(x)).sort()) {
      out.push({
        id: newId,
        weaker: false,
        what: `${who(p, ctx.oldRes, ctx.before)} may no longer ${verb} ${code(name)}`,
      });
    }
  }
  return out;
}

const secretsCache = new WeakMap<CfnTemplate, Set<string>>();
const configSecrets = (template: CfnTemplate) => {
  let hit = secretsCache.get(template);
  if (!hit) secretsCache.set(template, (hit = identifySubjects(template).configSecrets));
  return hit;
};

/** Betfair credential secrets: named `…/betfair` (lib/names.ts). */
function betfairSecrets(template: CfnTemplate): Set<string> {
  return new Set(
    Object.entries(resourcesOf(template))
      .filter(
        ([, r]) =>
          r.Type === 'AWS::SecretsManager::Secret' && /(^|\/)betfair$/.test(String(r.Properties?.Name ?? '')),
      )
      .map(([id]) => id),
  );
}

/**
 * What a stop trigger reads: which metric (or metric math), of which series, how aggregated and
 * compared. Any change can make it read a metric nobody publishes, which with missing data not
 * breaching never fires; no direction can be judged, so every change is a weakening. Periods and
 * labels inside `Metrics` are left out (the period row judges those; a label is only a name).
 */
export const STOP_METRIC_PROPERTIES = [
  'MetricName',
  'Namespace',
  'Dimensions',
  'Statistic',
  'ExtendedStatistic',
  'Unit',
  'Metrics',
  'ComparisonOperator',
] as const;

function metricIdentity(r: CfnResource | undefined, key: string): unknown {
  const v = r?.Properties?.[key];
  if (key !== 'Metrics' || v === undefined) return v;
  return asList(v).map((m) => {
    const { Label: _label, MetricStat, ...rest } = m as Record<string, unknown>;
    if (!MetricStat || typeof MetricStat !== 'object') return rest;
    const { Period: _period, ...stat } = MetricStat as Record<string, unknown>;
    return { ...rest, MetricStat: stat };
  });
}

function compareStopMetric(ctx: RuleContext): Verdict[] {
  const out: Verdict[] = [];
  for (const [id, after] of Object.entries(ctx.newRes)) {
    const before = ctx.oldRes[id];
    if (after.Type !== ALARM || before?.Type !== ALARM) continue;
    if (!isStopTrigger(ctx.after, id) && !isStopTrigger(ctx.before, id)) continue;
    const changes = STOP_METRIC_PROPERTIES.filter(
      (k) => !jsonEqual(metricIdentity(before, k), metricIdentity(after, k)),
    ).map((k) => `${k} ${scalar(before.Properties?.[k])} → ${scalar(after.Properties?.[k])}`);
    if (changes.length === 0) continue;
    out.push({
      id,
      weaker: true,
      what: `${changes.join(', ')}: the trigger reads a different metric, which may never breach (no direction can be judged)`,
    });
  }
  return out;
}

// ---------------------------------------------------------------------------------------------

const always = () => true;

/** The protections, in the order their findings are listed. */
export const PROTECTIONS: readonly Protection[] = [
  {
    id: 'stop-threshold',
    path: `${ALARM} Threshold`,
    covers: 'emergency-stop trigger alarms',
    protects: 'how much can be lost or exposed before trading stops',
    weakens: 'moving away from the alarm: up for `GreaterThan…`, down (more negative) for `LessThan…`',
    direction: { kind: 'away-from-alarm' },
    label: LABELS.tradingSafety,
    source: `${ALARM_SOURCE}; ${STOP_SOURCE}`,
    type: ALARM,
    property: 'Threshold',
    applies: isStopTrigger,
    read: (r) => num(r?.Properties?.Threshold),
  },
  {
    id: 'stop-metric',
    path: `${ALARM} ${STOP_METRIC_PROPERTIES.join(', ')}`,
    covers: 'emergency-stop trigger alarms',
    protects: 'the trigger reads the metric the stop is meant for (trigger reads a different metric)',
    weakens: 'any change: a metric nobody publishes never breaches, and no direction can be judged',
    direction: { kind: 'custom' },
    label: LABELS.tradingSafety,
    source: `${ALARM_SOURCE}; ${STOP_SOURCE}`,
    type: ALARM,
    property: 'MetricName',
    applies: isStopTrigger,
    read: (r) => Object.fromEntries(STOP_METRIC_PROPERTIES.map((k) => [k, metricIdentity(r, k)])),
    compare: compareStopMetric,
  },
  {
    id: 'stop-period',
    path: `${ALARM} Period (or Metrics[].MetricStat.Period)`,
    covers: 'emergency-stop trigger alarms',
    protects: 'how soon a breach is seen',
    weakens: 'longer',
    direction: { kind: 'higher' },
    label: LABELS.tradingSafety,
    source: ALARM_SOURCE,
    type: ALARM,
    property: 'Period',
    applies: isStopTrigger,
    read: alarmPeriod,
    write: (r, value) => {
      const p = r.Properties as Record<string, unknown>;
      if (p.Metrics === undefined) p.Period = value;
      for (const m of asList(p.Metrics) as { MetricStat?: Record<string, unknown> }[]) {
        if (m.MetricStat) m.MetricStat.Period = value;
      }
    },
  },
  {
    id: 'stop-evaluation-periods',
    path: `${ALARM} EvaluationPeriods`,
    covers: 'emergency-stop trigger alarms',
    protects: 'how many periods a breach must last before the stop',
    weakens: 'more',
    direction: { kind: 'higher' },
    label: LABELS.tradingSafety,
    source: ALARM_SOURCE,
    type: ALARM,
    property: 'EvaluationPeriods',
    applies: isStopTrigger,
    read: (r) => num(r?.Properties?.EvaluationPeriods),
  },
  {
    id: 'stop-datapoints',
    path: `${ALARM} DatapointsToAlarm`,
    covers: 'emergency-stop trigger alarms',
    protects: 'how many breaching data points trigger the stop (unset: EvaluationPeriods)',
    weakens: 'more',
    direction: { kind: 'higher' },
    label: LABELS.tradingSafety,
    source: ALARM_SOURCE,
    type: ALARM,
    property: 'DatapointsToAlarm',
    applies: isStopTrigger,
    read: (r) => num(r?.Properties?.DatapointsToAlarm) ?? num(r?.Properties?.EvaluationPeriods),
  },
  {
    id: 'stop-missing-data',
    path: `${ALARM} TreatMissingData`,
    covers: 'emergency-stop trigger alarms',
    protects: 'a trigger whose metric goes quiet still stops trading',
    weakens: '`breaching` → anything else',
    direction: { kind: 'leaves', strong: 'breaching' },
    label: LABELS.tradingSafety,
    source: `${ALARM_SOURCE} ("Configuring how CloudWatch alarms treat missing data")`,
    type: ALARM,
    property: 'TreatMissingData',
    applies: isStopTrigger,
    read: (r) => r?.Properties?.TreatMissingData ?? 'missing',
  },
  {
    id: 'stop-actions',
    path: `${ALARM} AlarmActions`,
    covers: 'emergency-stop trigger alarms',
    protects: 'the trigger invokes the stop and tells on-call',
    weakens: 'an action removed',
    direction: { kind: 'members-removed' },
    label: LABELS.tradingSafety,
    source: `${ALARM_SOURCE}; ${STOP_SOURCE}`,
    type: ALARM,
    property: 'AlarmActions',
    applies: isStopTrigger,
    read: (r) => r?.Properties?.AlarmActions ?? [],
  },
  {
    id: 'stop-actions-enabled',
    path: `${ALARM} ActionsEnabled`,
    covers: 'emergency-stop trigger alarms',
    protects: 'the trigger acts at all',
    weakens: '`true` (the default) → `false`',
    direction: { kind: 'leaves', strong: true },
    label: LABELS.tradingSafety,
    source: ALARM_SOURCE,
    type: ALARM,
    property: 'ActionsEnabled',
    applies: isStopTrigger,
    read: (r) => r?.Properties?.ActionsEnabled !== false,
  },
  {
    id: 'stop-timeout',
    path: 'AWS::Lambda::Function Timeout',
    covers: 'the emergency-stop function',
    protects: 'every step of the stop (live trading off, bot to zero, cancel-all, notify) gets its budget',
    weakens: 'below the sum of its step budgets (lambda/emergency-stop/budget.ts `WORST_CASE_RUN_MS`)',
    direction: { kind: 'custom' },
    label: LABELS.tradingSafety,
    source: 'lambda/emergency-stop/budget.ts; Lambda "Configuring function timeout"',
    type: 'AWS::Lambda::Function',
    property: 'Timeout',
    applies: isStopFunction,
    read: (r) => num(r?.Properties?.Timeout) ?? 3,
    compare: compareStopTimeout,
  },
  {
    id: 'stop-reserved-concurrency',
    path: 'AWS::Lambda::Function ReservedConcurrentExecutions',
    covers: 'the emergency-stop function',
    protects: 'capacity is always there, and never two cancel-alls at once',
    weakens: 'leaving 1: removed, 0 (never runs) or above 1',
    direction: { kind: 'custom' },
    label: LABELS.tradingSafety,
    source: 'Lambda "Reserved concurrency"; Betfair cancelOrders (ERROR_IN_MATCHER); lib/emergency-stop.ts',
    type: 'AWS::Lambda::Function',
    property: 'ReservedConcurrentExecutions',
    applies: isStopFunction,
    read: (r) => num(r?.Properties?.ReservedConcurrentExecutions),
    compare: compareStopConcurrency,
  },
  {
    id: 'alarm-routing',
    path: `${ALARM} / AWS::CloudWatch::CompositeAlarm AlarmActions`,
    covers: 'every alarm',
    protects: 'an alarm that pages keeps waking someone',
    weakens: 'page → ticket or nobody (a topic pages when a subscription reaches a pager: https, sms)',
    direction: { kind: 'custom' },
    label: LABELS.tradingSafety,
    source: 'lib/alerting.ts (page, ticket and resolved topics); docs/runbooks.md',
    type: ALARM,
    property: 'AlarmActions',
    applies: always,
    read: (r) => r?.Properties?.AlarmActions,
    compare: compareAlarmRouting,
  },
  {
    id: 'alarm-ok-to-pager',
    path: `${ALARM} / AWS::CloudWatch::CompositeAlarm OKActions`,
    covers: 'every alarm that pages',
    protects: 'the pager is told when the alarm recovers',
    weakens: 'its OK action to a paging topic removed',
    direction: { kind: 'custom' },
    label: LABELS.tradingSafety,
    source: 'lib/alerting.ts (`Resolved` topic); PagerDuty/Opsgenie CloudWatch integrations (OK resolves)',
    type: ALARM,
    property: 'OKActions',
    applies: always,
    read: (r) => r?.Properties?.OKActions,
    compare: compareOkToPager,
  },
  {
    id: 'sns-subscription',
    path: 'AWS::SNS::Subscription (or AWS::SNS::Topic Subscription)',
    covers: 'every alert topic',
    protects: 'pages and tickets reach a person',
    weakens: 'a subscription removed',
    direction: { kind: 'custom' },
    label: LABELS.tradingSafety,
    source: 'lib/alerting.ts; Amazon SNS "Subscribing to a topic"',
    type: 'AWS::SNS::Subscription',
    property: 'Endpoint',
    applies: always,
    read: (r) => r?.Properties?.Endpoint,
    compare: compareSubscriptions,
  },
  {
    id: 'rds-deletion-protection',
    path: `${DB} DeletionProtection`,
    covers: 'every DB instance',
    protects: 'the database cannot be deleted by a stack or by hand',
    weakens: '`true` → `false`',
    direction: { kind: 'leaves', strong: true },
    label: LABELS.destructive,
    source: 'AWS::RDS::DBInstance DeletionProtection reference',
    type: DB,
    property: 'DeletionProtection',
    applies: always,
    read: (r) => r?.Properties?.DeletionProtection === true,
  },
  {
    id: 'rds-backup-retention',
    path: `${DB} BackupRetentionPeriod`,
    covers: 'every DB instance',
    protects: 'point-in-time restore window (0 deletes the automated backups)',
    weakens: 'fewer days (unset is 1)',
    direction: { kind: 'lower' },
    label: LABELS.destructive,
    source: 'AWS::RDS::DBInstance BackupRetentionPeriod reference; Amazon RDS "Backup retention period"',
    type: DB,
    property: 'BackupRetentionPeriod',
    applies: always,
    read: (r) => num(r?.Properties?.BackupRetentionPeriod) ?? 1,
  },
  {
    id: 'rds-multi-az',
    path: `${DB} MultiAZ`,
    covers: 'every DB instance',
    protects:
      'a standby in another AZ: an AZ failure or a maintenance reboot does not stop the database (and trading)',
    weakens: '`true` → `false` (no replacement, no outage)',
    direction: { kind: 'leaves', strong: true },
    label: LABELS.destructive,
    source: 'Amazon RDS "Multi-AZ DB instance deployments"; AWS::RDS::DBInstance MultiAZ reference',
    type: DB,
    property: 'MultiAZ',
    applies: always,
    read: (r) => r?.Properties?.MultiAZ === true,
  },
  {
    id: 'rds-storage-encrypted',
    path: `${DB} StorageEncrypted`,
    covers: 'every DB instance',
    protects: 'data, snapshots and backups encrypted at rest',
    weakens: '`true` → `false` (also a replacement)',
    direction: { kind: 'leaves', strong: true },
    label: LABELS.destructive,
    source: 'AWS::RDS::DBInstance StorageEncrypted reference ("Update requires: Replacement")',
    type: DB,
    property: 'StorageEncrypted',
    applies: always,
    read: (r) => r?.Properties?.StorageEncrypted === true,
  },
  {
    id: 'rds-kms-key',
    path: `${DB} KmsKeyId`,
    covers: 'every DB instance',
    protects: 'the key the data is encrypted with',
    weakens: 'any change (a new instance from scratch)',
    direction: { kind: 'changed' },
    label: LABELS.destructive,
    source: 'AWS::RDS::DBInstance KmsKeyId reference ("Update requires: Replacement")',
    type: DB,
    property: 'KmsKeyId',
    applies: always,
    read: (r) => r?.Properties?.KmsKeyId,
  },
  {
    id: 'rds-engine-major',
    path: `${DB} EngineVersion (major) with AllowMajorVersionUpgrade`,
    covers: 'every DB instance',
    protects: 'the database stays up and can be rolled back',
    weakens: 'a major version change (downtime; no downgrade)',
    direction: { kind: 'custom' },
    label: LABELS.destructive,
    source:
      'Amazon RDS "Upgrading the PostgreSQL DB engine" (major upgrades); AWS::RDS::DBInstance AllowMajorVersionUpgrade',
    type: DB,
    property: 'EngineVersion',
    applies: always,
    read: (r) => r?.Properties?.EngineVersion,
    compare: compareEngineMajor,
  },
  {
    id: 'log-retention',
    path: 'AWS::Logs::LogGroup RetentionInDays',
    covers: 'every log group',
    protects: 'the logs an incident review needs',
    weakens: 'fewer days (unset: never expire); older logs are deleted on deploy',
    direction: { kind: 'custom' },
    label: LABELS.destructive,
    source: 'AWS::Logs::LogGroup RetentionInDays reference; CloudWatch Logs "Change log data retention"',
    type: 'AWS::Logs::LogGroup',
    property: 'RetentionInDays',
    applies: always,
    read: (r) => num(r?.Properties?.RetentionInDays),
    compare: compareLogRetention,
  },
  {
    id: 'sg-world-ingress',
    path: 'AWS::EC2::SecurityGroup SecurityGroupIngress (or AWS::EC2::SecurityGroupIngress)',
    covers: 'every security group',
    protects: 'the services are reachable only from inside the VPC',
    weakens: 'ingress from `0.0.0.0/0` or `::/0` added',
    direction: { kind: 'custom' },
    label: LABELS.publicIngress,
    source: 'Amazon VPC "Security group rules"',
    type: 'AWS::EC2::SecurityGroup',
    property: 'SecurityGroupIngress',
    applies: always,
    read: (r) => r?.Properties?.SecurityGroupIngress,
    compare: compareWorldIngress,
  },
  {
    id: 'config-secret-writers',
    path: 'IAM policies and secret resource policies on the config secret (`secretsmanager:PutSecretValue`, UpdateSecret, UpdateSecretVersionStage, RotateSecret, RestoreSecret, DeleteSecret)',
    covers: 'the config secret (`clever-better/<env>/config`, live_trading_enabled)',
    protects:
      'only the emergency stop and the operator role write the live-trading flag: a second writer can undo a stop',
    weakens: 'any other principal gains a write',
    direction: { kind: 'custom' },
    label: LABELS.tradingSafety,
    source: 'Secrets Manager API reference (actions); docs/emergency-stop.md; lib/operator-access.ts',
    type: 'AWS::SecretsManager::Secret',
    property: 'Policy',
    applies: (t, id) => configSecrets(t).has(id),
    read: () => undefined,
    compare: (ctx) =>
      compareSecretAccess(ctx, configSecrets, SECRET_WRITE_ACTIONS, flagWritersByDesign, 'write'),
  },
  {
    id: 'betfair-secret-readers',
    path: 'IAM policies and secret resource policies on the Betfair secret (`secretsmanager:GetSecretValue`, BatchGetSecretValue)',
    covers: 'the Betfair credentials (`clever-better/<env>/betfair`)',
    protects: 'the account credentials stay with the bot and the emergency stop',
    weakens: 'any principal gains a read',
    direction: { kind: 'custom' },
    label: LABELS.tradingSafety,
    source: 'Secrets Manager API reference (actions); docs/emergency-stop.md',
    type: 'AWS::SecretsManager::Secret',
    property: 'Policy',
    applies: (t, id) => betfairSecrets(t).has(id),
    read: () => undefined,
    compare: (ctx) => compareSecretAccess(ctx, betfairSecrets, SECRET_READ_ACTIONS, () => new Set(), 'read'),
  },
];

/** The rule id of a row's findings. */
export const protectionRuleId = (row: Protection) => `protection:${row.id}`;

/** What the subject of a verdict is called, by resource type. */
function kindOf(r: CfnResource | undefined): string {
  switch (r?.Type) {
    case ALARM:
    case 'AWS::CloudWatch::CompositeAlarm':
      return 'Alarm';
    case DB:
      return 'Database';
    case 'AWS::Logs::LogGroup':
      return 'Log group';
    case 'AWS::Lambda::Function':
      return 'Function';
    case 'AWS::SNS::Topic':
      return 'Topic';
    case 'AWS::SecretsManager::Secret':
      return 'Secret';
    case 'AWS::EC2::SecurityGroup':
      return 'Security group';
    default:
      return 'Resource';
  }
}

/**
 * The findings of the protections table on one stack: a weakening blocks in production (with the
 * row's label) and warns elsewhere; a strengthening is info. A property a specific rule already
 * reports (`emergency-stop-disconnected` on a trigger's actions) is not repeated.
 */
function detectProtections(ctx: RuleContext): Finding[] {
  const out: Finding[] = [];
  // One finding per property: a trigger's removed page is the stop row's, not also the routing row's.
  const reported = new Set(ctx.claimedProperties);
  for (const row of PROTECTIONS) {
    const verdicts = row.compare ? row.compare(ctx) : compareByRead(row, ctx);
    for (const v of verdicts) {
      const key = `${v.id}.${row.property}`;
      if (
        reported.has(key) &&
        !/^(sg-world-ingress|sns-subscription|config-secret-writers|betfair-secret-readers)$/.test(row.id)
      )
        continue;
      reported.add(key);
      const r = ctx.newRes[v.id] ?? ctx.oldRes[v.id];
      const who = `${kindOf(r)} ${subject(ctx, v.id)}`;
      const severity = v.weaker ? (ctx.production ? 'block' : 'warn') : 'info';
      out.push({
        rule: protectionRuleId(row),
        severity,
        stackName: ctx.stackName,
        override: severity === 'block' ? row.label : undefined,
        resources: [v.id],
        properties: [row.property],
        message: v.weaker
          ? `**Protection weakened** (${row.protects}): ${who}: ${v.what}.`
          : `Protection strengthened: ${who}: ${v.what}.`,
        headline: `${kindOf(r).toLowerCase()} ${code(nameOf(ctx, v.id))} ${v.weaker ? 'weakened' : 'strengthened'}: ${v.what.split(': ')[0].replace(/\*\*/g, '')}`,
      });
    }
  }
  return out;
}

/** The protections table as a finding provider (rules.ts runs it). */
export const PROTECTION_PROVIDER: FindingProvider = {
  id: 'protections',
  ruleIds: PROTECTIONS.map(protectionRuleId),
  overrides: Object.fromEntries(PROTECTIONS.map((p) => [protectionRuleId(p), p.label])),
  detect: detectProtections,
};

const SEVERITY_TEXT = 'production: block; elsewhere: warn; strengthened: info';

/** The protections table as markdown, for docs/deployment.md (generated, kept equal by a test). */
export function protectionsTable(): string {
  const esc = (s: string) => s.replace(/\|/g, '\\|');
  const lines = [
    '| Protection | Property | Covers | Protects | Weaker when | Severity | Label | Source |',
    '| --- | --- | --- | --- | --- | --- | --- | --- |',
    ...PROTECTIONS.map(
      (p) =>
        `| \`${protectionRuleId(p)}\` | ${esc(p.path)} | ${esc(p.covers)} | ${esc(p.protects)} | ${esc(p.weakens)} | ${SEVERITY_TEXT} | \`${p.label}\` | ${esc(p.source)} |`,
    ),
  ];
  return lines.join('\n');
}
