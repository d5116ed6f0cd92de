/**
 * What the pager sees, simulated over a synthesized template: the drill (scripts/drill.ts) sets the
 * states of metric alarms as an incident unfolds on the local stand-in, and this replays the
 * template's own alarm actions and composite rules on them, as CloudWatch would (CloudWatch API
 * Reference "CompositeAlarm": actions wait `ActionsSuppressorWaitPeriod` for the suppressor, are
 * suppressed while it is in ALARM and `ActionsSuppressorExtensionPeriod` after, and are performed
 * after that when the composite is still in ALARM). The local emulator evaluates no alarms itself.
 */
import { ruleMinutes } from './time-to-page';

type Json = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any
type State = 'OK' | 'ALARM';

/** A metric alarm changing state at `at` minutes. */
export interface AlarmChange {
  readonly at: number;
  /** Symptom: the alarm name after `<prefix>-`. */
  readonly alarm: string;
  readonly state: State;
  /**
   * `missing`: the metric went quiet (a halted bot, a failed run's errors ageing out); the alarm then
   * does what its `TreatMissingData` says (ignore: keeps its state; breaching: ALARM), not `state`.
   * @default 'data'
   */
  readonly cause?: 'data' | 'missing';
}

/** What reached the pager: a page opened, or resolved by an OK notification. */
export interface PagerEvent {
  readonly at: number;
  readonly alarm: string;
  readonly event: 'page' | 'resolve';
}

const STEP = 0.25;

/** Replays `changes` for `minutes` and returns the pager's log; pages still open are those never resolved. */
export function simulatePaging(
  template: Json,
  prefix: string,
  changes: readonly AlarmChange[],
  minutes: number,
): { events: PagerEvent[]; open: string[] } {
  const resources = (template.Resources ?? {}) as Record<string, Json>;
  const outputs = (template.Outputs ?? {}) as Record<string, Json>;
  const page = outputs.OnCallTopicArn?.Value?.Ref as string;
  const resolved = outputs.ResolvedTopicArn?.Value?.Ref as string | undefined;
  const refs = (list: unknown) => ((list as Json[] | undefined) ?? []).map((a) => a?.Ref as string);
  const alarms = Object.entries(resources)
    .filter(([, r]) => r.Type === 'AWS::CloudWatch::Alarm' || r.Type === 'AWS::CloudWatch::CompositeAlarm')
    .map(([id, r]) => ({
      id,
      symptom: String(r.Properties.AlarmName).slice(prefix.length + 1),
      props: r.Properties as Json,
      composite: r.Type === 'AWS::CloudWatch::CompositeAlarm',
    }));
  const byId = new Map(alarms.map((a) => [a.id, a]));
  const state = new Map<string, State>(alarms.map((a) => [a.id, 'OK']));
  const events: PagerEvent[] = [];
  const open = new Set<string>();
  const notify = (a: (typeof alarms)[number], to: State, at: number) => {
    if (to === 'ALARM' && refs(a.props.AlarmActions).includes(page)) {
      events.push({ at, alarm: a.symptom, event: 'page' });
      open.add(a.symptom);
    }
    if (to === 'OK' && resolved && refs(a.props.OKActions).includes(resolved) && open.has(a.symptom)) {
      events.push({ at, alarm: a.symptom, event: 'resolve' });
      open.delete(a.symptom);
    }
  };
  // Composite action bookkeeping: since when actions wait, and when the suppressor last left ALARM.
  const pending = new Map<string, { since: number; suppressed: boolean }>();
  const suppressorLeft = new Map<string, number>();
  const queue = [...changes].sort((a, b) => a.at - b.at);
  for (let t = 0; t <= minutes + 1e-9; t += STEP) {
    while (queue.length > 0 && queue[0].at <= t + 1e-9) {
      const c = queue.shift()!;
      const a = alarms.find((x) => x.symptom === c.alarm && !x.composite);
      if (!a) throw new Error(`no metric alarm ${prefix}-${c.alarm} in the template`);
      const treat = String(a.props.TreatMissingData ?? 'missing');
      const next: State | undefined =
        c.cause !== 'missing'
          ? c.state
          : treat === 'ignore'
            ? undefined
            : treat === 'breaching'
              ? 'ALARM'
              : 'OK';
      if (next && state.get(a.id) !== next) {
        state.set(a.id, next);
        notify(a, next, t);
      }
    }
    // Composites, until their states settle (a composite may read another).
    for (let pass = 0; pass < 5; pass++) {
      for (const a of alarms.filter((x) => x.composite)) {
        const now: State =
          ruleMinutes(a.props.AlarmRule, (child) => (state.get(child) === 'ALARM' ? 0 : Infinity)) === 0
            ? 'ALARM'
            : 'OK';
        const before = state.get(a.id);
        if (now === before) continue;
        state.set(a.id, now);
        if (now === 'ALARM') {
          if (a.props.ActionsSuppressor) pending.set(a.id, { since: t, suppressed: false });
          else notify(a, now, t);
        } else {
          pending.delete(a.id);
          notify(a, now, t);
        }
      }
    }
    for (const [id, p] of [...pending]) {
      const a = byId.get(id)!;
      const suppressor = a.props.ActionsSuppressor?.['Fn::GetAtt']?.[0] as string;
      const wait = Number(a.props.ActionsSuppressorWaitPeriod ?? 60) / 60;
      const extension = Number(a.props.ActionsSuppressorExtensionPeriod ?? 60) / 60;
      if (state.get(suppressor) === 'ALARM') {
        p.suppressed = true;
        suppressorLeft.delete(id);
        continue;
      }
      if (p.suppressed) {
        if (!suppressorLeft.has(id)) suppressorLeft.set(id, t);
        if (t - suppressorLeft.get(id)! < extension - 1e-9) continue;
      } else if (t - p.since < wait - 1e-9) {
        continue;
      }
      pending.delete(id);
      notify(a, 'ALARM', t);
    }
  }
  return { events, open: [...open].sort() };
}
