/**
 * The time-to-page model: for each incident class (lib/monitoring/incidents.ts), the worst-case
 * minutes from the fault to the first notification on its route, computed from a synthesized
 * template alone. It follows each path of a class from the alarm that sees the fault:
 * - the metric alarm: period, evaluation periods, datapoints to alarm, `TreatMissingData`, plus the
 *   publishing lag and evaluation interval stated below;
 * - up through every composite alarm whose rule reads it (`ALARM(...)`, `AND`, `OR`, `NOT`), adding
 *   the composite's `ActionsSuppressorWaitPeriod`, and refusing a composite whose suppressor reads a
 *   metric the fault itself moves (the suppressor would be in ALARM during the incident);
 * - to the first alarm whose `AlarmActions` reach the route's topic (stack outputs `OnCallTopicArn`,
 *   `TicketTopicArn`, `FallbackTopicArn`);
 * - or along an event path (RDS event subscriptions, EventBridge rules) to a topic.
 * It also says whether the notification stays open until a person acts: the notifying alarm has no
 * OK action, so no automatic "resolved" reaches the pager.
 *
 * AWS behaviour it rests on (CloudWatch User Guide: "Using Amazon CloudWatch alarms", "Alarm evaluation
 * windows", "Configuring how CloudWatch alarms treat missing data"; CloudWatch API Reference
 * "CompositeAlarm": actions wait `ActionsSuppressorWaitPeriod` for the suppressor, and are performed
 * after it when the suppressor did not go to ALARM).
 */

/** Assumption: a data point is visible to its alarm within one minute of its timestamp (custom metrics, AWS service metrics, metric filters). */
export const PUBLISHING_LAG_MINUTES = 1;
/** CloudWatch evaluates an alarm with a period of a minute or more every minute, over a sliding window (the default `EvaluationWindow`). */
export const EVALUATION_INTERVAL_MINUTES = 1;
/** Assumption: an EventBridge rule or RDS event subscription delivers to SNS within one minute. RDS events are best effort. */
export const EVENT_DELIVERY_MINUTES = 1;

type Json = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any

/** What the fault does to the metric an alarm reads. */
export type Signal =
  /** One data point beyond the threshold is the fault itself (a loss reaching the limit). */
  | { readonly kind: 'crossing' }
  /**
   * A condition that holds from the onset on; `delayMinutes` when the metric needs time to cross the
   * threshold (prices age one second per second): a function of the alarm's template properties.
   */
  | { readonly kind: 'level'; readonly delayMinutes?: (alarm: Json) => number }
  /** The metric stops (a crashed or halted bot publishes nothing). */
  | { readonly kind: 'missing' }
  /** One event every `everyMinutes` (a task that crashes after living that long). */
  | { readonly kind: 'events'; readonly everyMinutes: number }
  /** A Lambda run that fails: `Errors` is stamped at the run's start and published when it ends. */
  | { readonly kind: 'function-error' };

/** The topic a notification is expected on. */
export type RouteName = 'page' | 'ticket' | 'fallback';

/** One way an incident reaches a person. */
export type IncidentPath =
  | {
      /** The alarm that sees the fault, by symptom (`<prefix>-<symptom>`). */
      readonly alarm: string;
      readonly signal: Signal;
      /** The route the notification must take. @default the class's */
      readonly route?: RouteName;
    }
  | {
      /** RDS event categories that must reach the route (a subscription of the DB instance). */
      readonly rdsEvents: readonly string[];
      readonly route?: RouteName;
    }
  | {
      /** An EventBridge rule matching this ECS `detail.eventName`, with a `FailedInvocations` alarm. */
      readonly ecsEvent: string;
      readonly route?: RouteName;
    };

/** An incident class and its bound in production. */
export interface IncidentClass {
  /** Short kebab-case id. */
  readonly id: string;
  /** What happens, as the on-call person would say it. */
  readonly title: string;
  /** Worst-case minutes from fault to the first notification on `route`, in production. */
  readonly boundMinutes: number;
  /** Why this bound. */
  readonly why: string;
  /** Where the first notification must go. */
  readonly route: RouteName;
  /**
   * `any`: the paths are redundant detectors of one fault, the first one counts (best-effort event
   * paths never count toward the bound but must exist). `each`: every path is its own fault (one per
   * trigger), and each must meet the bound.
   */
  readonly combine: 'any' | 'each';
  /** The notification must stay open until a person acts (no OK action on the notifying alarm). */
  readonly mustStayOpen?: boolean;
  readonly paths: readonly IncidentPath[];
}

/** What the model found for one path. */
export interface PathResult {
  readonly path: string;
  /** What sees the fault: an alarm's symptom, or the event source. */
  readonly detector: string;
  /** The route it reaches. */
  readonly route: RouteName;
  /** Minutes to the notification, `Infinity` when it never comes. */
  readonly minutes: number;
  /** The alarm (or event source) that notifies, and how. */
  readonly via: string;
  readonly bestEffort: boolean;
  /** The notifying alarm has no OK action. */
  readonly staysOpen: boolean;
  /** Why the path does not work, when it does not. */
  readonly problem?: string;
}

/** What the model found for one incident class. */
export interface IncidentResult {
  readonly incident: IncidentClass;
  /** The class's worst case: min (any) or max (each) over paths that count. */
  readonly minutes: number;
  readonly staysOpen: boolean;
  readonly paths: readonly PathResult[];
  /** Everything that fails the class: bound exceeded, a path missing, a page that resolves itself. */
  readonly problems: readonly string[];
}

interface AlarmNode {
  readonly id: string;
  readonly symptom: string;
  readonly props: Json;
  readonly composite: boolean;
}

/** The template's alarms, topics and event sources, indexed for the walk. */
class TemplateIndex {
  readonly alarms = new Map<string, AlarmNode>();
  readonly bySymptom = new Map<string, AlarmNode>();
  /** Composite alarm ids whose rule reads each alarm id. */
  readonly parents = new Map<string, string[]>();
  readonly topics: Partial<Record<RouteName, string>> = {};
  readonly resources: Json;

  constructor(
    template: Json,
    readonly alarmPrefix: string,
  ) {
    this.resources = template.Resources ?? {};
    for (const [id, r] of Object.entries(this.resources as Record<string, Json>)) {
      if (r.Type !== 'AWS::CloudWatch::Alarm' && r.Type !== 'AWS::CloudWatch::CompositeAlarm') continue;
      const name = String(r.Properties.AlarmName ?? '');
      const node: AlarmNode = {
        id,
        symptom: name.startsWith(`${alarmPrefix}-`) ? name.slice(alarmPrefix.length + 1) : name,
        props: r.Properties,
        composite: r.Type === 'AWS::CloudWatch::CompositeAlarm',
      };
      this.alarms.set(id, node);
      this.bySymptom.set(node.symptom, node);
    }
    for (const node of this.alarms.values()) {
      if (!node.composite) continue;
      for (const child of ruleChildren(node.props.AlarmRule)) {
        this.parents.set(child, [...(this.parents.get(child) ?? []), node.id]);
      }
    }
    const outputs = (template.Outputs ?? {}) as Record<string, Json>;
    const ref = (key: string) => outputs[key]?.Value?.Ref as string | undefined;
    const ticket = ref('TicketTopicArn');
    const onCall = ref('OnCallTopicArn');
    this.topics.ticket = ticket;
    // Where nobody is paged, the on-call output is the ticket topic: there is no page route.
    this.topics.page = onCall !== ticket ? onCall : undefined;
    this.topics.fallback = ref('FallbackTopicArn');
  }

  /** Topic logical ids among an action list. */
  static topicRefs(actions: unknown): string[] {
    return ((actions as Json[] | undefined) ?? [])
      .map((a) => (a && typeof a === 'object' ? a.Ref : undefined))
      .filter((r): r is string => typeof r === 'string');
  }

  notifies(node: AlarmNode, route: RouteName): boolean {
    const topic = this.topics[route];
    return !!topic && TemplateIndex.topicRefs(node.props.AlarmActions).includes(topic);
  }

  /** Namespace/metric of every metric an alarm reads. */
  metricsOf(node: AlarmNode): string[] {
    const p = node.props;
    if (p.MetricName) return [`${p.Namespace}/${p.MetricName}`];
    return ((p.Metrics as Json[] | undefined) ?? [])
      .filter((m) => m.MetricStat)
      .map((m) => `${m.MetricStat.Metric.Namespace}/${m.MetricStat.Metric.MetricName}`);
  }
}

/** The logical ids an `AlarmRule` reads (`Fn::GetAtt [id, Arn]` inside `ALARM(...)`). */
function ruleChildren(rule: unknown): string[] {
  return [...ruleText(rule).matchAll(/\{\{([A-Za-z0-9]+)\}\}/g)].map((m) => m[1]);
}

/** An `AlarmRule` as text, each referenced alarm written `{{logicalId}}`. */
function ruleText(rule: unknown): string {
  if (typeof rule === 'string') return rule;
  if (rule && typeof rule === 'object') {
    const r = rule as Json;
    if (r['Fn::GetAtt']) return `{{${r['Fn::GetAtt'][0]}}}`;
    if (r['Fn::Join']) return (r['Fn::Join'][1] as unknown[]).map(ruleText).join(r['Fn::Join'][0]);
    if (r.Ref) return `{{${r.Ref}}}`;
  }
  return '';
}

/**
 * Minutes until a composite rule is true, given when each child alarm goes to ALARM. `ALARM(x)` is x's
 * time; `OR` the earliest; `AND` the latest; `NOT ALARM(x)` and `OK(x)` are true from the start (the
 * fault does not raise them); `TRUE`/`FALSE` are constants.
 */
export function ruleMinutes(rule: unknown, childMinutes: (id: string) => number): number {
  const tokens = ruleText(rule).match(/\{\{[A-Za-z0-9]+\}\}|\(|\)|\bAND\b|\bOR\b|\bNOT\b|\b[A-Z_]+\b/g) ?? [];
  let i = 0;
  const peek = () => tokens[i];
  const next = () => tokens[i++];
  const primary = (): number => {
    const t = next();
    if (t === '(') {
      const v = orExpr();
      next(); // ')'
      return v;
    }
    if (t === 'NOT') return primary() === Infinity ? 0 : Infinity;
    if (t === 'TRUE') return 0;
    if (t === 'FALSE') return Infinity;
    if (t === 'ALARM' || t === 'OK' || t === 'INSUFFICIENT_DATA') {
      next(); // '('
      const ref = next();
      next(); // ')'
      const id = /\{\{([A-Za-z0-9]+)\}\}/.exec(ref ?? '')?.[1] ?? '';
      return t === 'ALARM' ? childMinutes(id) : 0;
    }
    return Infinity;
  };
  const andExpr = (): number => {
    let v = primary();
    while (peek() === 'AND') {
      next();
      v = Math.max(v, primary());
    }
    return v;
  };
  const orExpr = (): number => {
    let v = andExpr();
    while (peek() === 'OR') {
      next();
      v = Math.min(v, andExpr());
    }
    return v;
  };
  return orExpr();
}

/** Period (minutes), evaluation periods and datapoints to alarm of a metric alarm. */
function evaluation(p: Json): { period: number; n: number; m: number } {
  const periods: number[] = p.Period
    ? [p.Period]
    : ((p.Metrics as Json[] | undefined) ?? []).flatMap((m) =>
        m.MetricStat ? [m.MetricStat.Period] : m.Period ? [m.Period] : [],
      );
  const period = Math.max(60, ...periods) / 60;
  const n = Number(p.EvaluationPeriods ?? 1);
  return { period, n, m: Number(p.DatapointsToAlarm ?? n) };
}

/** Whether missing data counts as breaching: `breaching`, or an expression that FILLs its metrics. */
function missingBreaches(p: Json): boolean {
  if (p.TreatMissingData === 'breaching') return true;
  const expression = ((p.Metrics as Json[] | undefined) ?? []).find(
    (m) => m.Expression && m.ReturnData !== false,
  );
  return !!expression && /FILL\(/.test(String(expression.Expression));
}

/**
 * Worst-case minutes from the fault to a metric alarm's ALARM state, or `Infinity` with the reason.
 * Sliding windows: each evaluation looks at the N periods ending now (minus the lag).
 */
export function metricAlarmMinutes(p: Json, signal: Signal): { minutes: number; problem?: string } {
  const { period, n, m } = evaluation(p);
  const tail = EVALUATION_INTERVAL_MINUTES + PUBLISHING_LAG_MINUTES;
  switch (signal.kind) {
    case 'crossing':
    case 'function-error':
      return { minutes: (m - 1) * period + tail };
    case 'level':
      return { minutes: (signal.delayMinutes?.(p) ?? 0) + m * period + tail };
    case 'missing':
      if (!missingBreaches(p)) {
        return {
          minutes: Infinity,
          problem: `missing data is "${p.TreatMissingData ?? 'missing'}", so a metric that stops never alarms`,
        };
      }
      return { minutes: m * period + tail };
    case 'events': {
      const k = signal.everyMinutes;
      if (k <= period) return { minutes: (m - 1) * period + tail };
      if ((m - 1) * k >= n * period) {
        return {
          minutes: Infinity,
          problem: `${m} events ${k} minutes apart never fit in its ${n * period}-minute range`,
        };
      }
      return { minutes: (m - 1) * k + tail };
    }
  }
}

/** Runs the model over one synthesized template. */
export function timeToPage(
  template: Json,
  alarmPrefix: string,
  incidents: readonly IncidentClass[],
): IncidentResult[] {
  const index = new TemplateIndex(template, alarmPrefix);
  return incidents.map((incident) => evaluateIncident(index, incident));
}

function evaluateIncident(index: TemplateIndex, incident: IncidentClass): IncidentResult {
  // The metrics the fault moves: a suppressor reading one of them would be in ALARM during the incident.
  const faultMetrics = new Set(
    incident.paths.flatMap((path) => {
      if (!('alarm' in path)) return [];
      const node = index.bySymptom.get(path.alarm);
      return node ? index.metricsOf(node) : [];
    }),
  );
  const paths = incident.paths.map((path) =>
    'alarm' in path
      ? alarmPath(index, path.alarm, path.signal, path.route ?? incident.route, faultMetrics)
      : 'rdsEvents' in path
        ? rdsPath(index, path.rdsEvents, path.route ?? incident.route)
        : ecsEventPath(index, path.ecsEvent, path.route ?? incident.route),
  );
  const counted = paths.filter((p) => !p.bestEffort && p.route === incident.route);
  const times = counted.map((p) => p.minutes);
  const minutes =
    times.length === 0 ? Infinity : incident.combine === 'any' ? Math.min(...times) : Math.max(...times);
  const notifying = counted.filter((p) => p.minutes !== Infinity);
  const staysOpen = notifying.length > 0 && notifying.every((p) => p.staysOpen);
  const problems: string[] = [];
  for (const p of paths) if (p.problem) problems.push(`${p.path}: ${p.problem}`);
  if (!(minutes <= incident.boundMinutes)) {
    problems.push(`worst case ${fmt(minutes)} min exceeds the bound of ${incident.boundMinutes} min`);
  }
  if (incident.mustStayOpen) {
    for (const p of notifying.filter((x) => !x.staysOpen)) {
      problems.push(`${p.path}: ${p.via} has an OK action, so the page resolves itself without a person`);
    }
  }
  return {
    incident,
    minutes,
    staysOpen,
    paths,
    problems,
  };
}

type RoutedPath = PathResult;

function alarmPath(
  index: TemplateIndex,
  symptom: string,
  signal: Signal,
  route: RouteName,
  faultMetrics: Set<string>,
): RoutedPath {
  const label = `${symptom} (${signal.kind})`;
  const detector = symptom;
  const start = index.bySymptom.get(symptom);
  if (!start) {
    return {
      path: label,
      detector,
      route,
      minutes: Infinity,
      via: '—',
      bestEffort: false,
      staysOpen: false,
      problem: 'no such alarm in the template',
    };
  }
  const base = metricAlarmMinutes(start.props, signal);
  // Walk up from the alarm through the composites that read it, to the first that notifies `route`.
  const memo = new Map<string, number>();
  const reasons: string[] = base.problem ? [base.problem] : [];
  const timeOf = (id: string, seen: Set<string>): number => {
    if (id === start.id) return base.minutes;
    if (memo.has(id)) return memo.get(id)!;
    const node = index.alarms.get(id);
    if (!node?.composite || seen.has(id)) return Infinity;
    const inner = new Set(seen).add(id);
    let t = ruleMinutes(node.props.AlarmRule, (child) => timeOf(child, inner));
    const suppressor = node.props.ActionsSuppressor?.['Fn::GetAtt']?.[0] as string | undefined;
    if (suppressor && t !== Infinity) {
      const s = index.alarms.get(suppressor);
      const moved = s ? index.metricsOf(s).filter((x) => faultMetrics.has(x)) : [];
      if (moved.length > 0) {
        reasons.push(
          `${node.symptom} is suppressed by ${s!.symptom}, which reads ${moved.join(', ')}: the fault itself raises the suppressor`,
        );
        t = Infinity;
      } else {
        t += Number(node.props.ActionsSuppressorWaitPeriod ?? 0) / 60;
      }
    }
    memo.set(id, t);
    return t;
  };
  let best: { minutes: number; node: AlarmNode } | undefined;
  const visit = (id: string, seen: Set<string>) => {
    if (seen.has(id)) return;
    seen.add(id);
    const node = index.alarms.get(id)!;
    if (index.notifies(node, route)) {
      const t = timeOf(id, new Set());
      if (!best || t < best.minutes) best = { minutes: t, node };
    }
    for (const parent of index.parents.get(id) ?? []) visit(parent, seen);
  };
  visit(start.id, new Set());
  if (!best) {
    return {
      path: label,
      detector,
      route,
      minutes: Infinity,
      via: '—',
      bestEffort: false,
      staysOpen: false,
      problem: [...reasons, `neither it nor a composite reading it notifies the ${route} route`].join('; '),
    };
  }
  const found = best as { minutes: number; node: AlarmNode };
  const staysOpen = TemplateIndex.topicRefs(found.node.props.OKActions).length === 0;
  return {
    path: label,
    detector,
    route,
    minutes: found.minutes,
    via: found.node.symptom,
    bestEffort: false,
    staysOpen,
    problem: found.minutes === Infinity ? reasons.join('; ') || 'never alarms' : undefined,
  };
}

function rdsPath(index: TemplateIndex, categories: readonly string[], route: RouteName): RoutedPath {
  const label = `RDS events ${categories.join(', ')}`;
  const topic = index.topics[route];
  const subscription = Object.values(index.resources as Record<string, Json>).find(
    (r) =>
      r.Type === 'AWS::RDS::EventSubscription' &&
      r.Properties.SnsTopicArn?.Ref === topic &&
      r.Properties.Enabled !== false &&
      categories.every((c) => (r.Properties.EventCategories as string[] | undefined)?.includes(c)),
  );
  return {
    path: label,
    detector: `RDS ${categories.join(', ')} event`,
    route,
    minutes: subscription ? EVENT_DELIVERY_MINUTES : Infinity,
    via: 'RDS event subscription → SNS',
    bestEffort: true,
    // An event is a message, not a state: nothing resolves it.
    staysOpen: true,
    problem: subscription
      ? undefined
      : `no enabled RDS event subscription sends ${categories.join(', ')} to the ${route} route`,
  };
}

function ecsEventPath(index: TemplateIndex, eventName: string, route: RouteName): RoutedPath {
  const label = `ECS event ${eventName}`;
  const topic = index.topics[route];
  const rules = Object.entries(index.resources as Record<string, Json>).filter(
    ([, r]) =>
      r.Type === 'AWS::Events::Rule' &&
      JSON.stringify(r.Properties.EventPattern ?? {}).includes(`"${eventName}"`) &&
      ((r.Properties.Targets as Json[] | undefined) ?? []).some((t) => t.Arn?.Ref === topic),
  );
  const watched = rules.filter(([id]) =>
    [...index.alarms.values()].some(
      (a) =>
        a.props.MetricName === 'FailedInvocations' &&
        JSON.stringify(a.props.Dimensions ?? []).includes(`"${id}"`),
    ),
  );
  const problem =
    rules.length === 0
      ? `no EventBridge rule sends ${eventName} to the ${route} route`
      : watched.length === 0
        ? 'its EventBridge rule has no FailedInvocations alarm'
        : undefined;
  return {
    path: label,
    detector: `ECS ${eventName}`,
    route,
    minutes: problem ? Infinity : EVENT_DELIVERY_MINUTES,
    via: 'EventBridge rule → SNS',
    bestEffort: false,
    staysOpen: true,
    problem,
  };
}

/** Minutes as the table prints them. */
export function fmt(minutes: number): string {
  return minutes === Infinity ? 'never' : String(Math.round(minutes * 10) / 10);
}

/** The incident table of docs/runbooks.md, generated from the model's results. */
export function renderIncidentTable(results: readonly IncidentResult[]): string {
  const rows = results.map((r) => {
    const paths = r.paths
      .map((p) => {
        const via = p.via === p.detector ? `\`${p.via}\`` : `\`${p.detector}\` → \`${p.via}\``;
        const tags = [p.route !== r.incident.route ? p.route : '', p.bestEffort ? 'best effort' : '']
          .filter(Boolean)
          .join(', ');
        return `${via} ${fmt(p.minutes)}${tags ? ` (${tags})` : ''}`;
      })
      .join('; ');
    return [
      r.incident.title,
      r.incident.route,
      `${fmt(r.minutes)} min`,
      `${r.incident.boundMinutes} min`,
      r.staysOpen ? 'yes' : 'no',
      paths,
      r.incident.why,
    ];
  });
  const header = [
    'Incident',
    'Route',
    'Worst case',
    'Bound',
    'Open until a person acts',
    'Paths (minutes)',
    'Why this bound',
  ];
  return [
    `| ${header.join(' | ')} |`,
    `| ${header.map(() => '---').join(' | ')} |`,
    ...rows.map((r) => `| ${r.join(' | ')} |`),
  ].join('\n');
}
