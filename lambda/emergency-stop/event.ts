/** Why and by whom the stop was requested; written into the config secret and the notification. */
export interface Trigger {
  readonly kind: 'alarm' | 'manual';
  /** The alarm's state reason, or the reason a person gave. */
  readonly reason: string;
  /** `alarm <name>` or the person who asked. */
  readonly requestedBy: string;
  /** When the alarm changed state or the request was made (ISO 8601). */
  readonly at: string;
  readonly alarmName?: string;
  readonly alarmArn?: string;
}

/** What to do with an invocation: stop, or nothing (an alarm leaving ALARM). */
export type ParsedEvent =
  | { readonly action: 'stop'; readonly trigger: Trigger }
  | { readonly action: 'ignore'; readonly why: string };

/** An invocation the function does not understand; it names the field, the value and the fix. */
export class InvalidEventError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'InvalidEventError';
  }
}

/** Longest reason kept; the notification and the secret stay readable. */
const MAX_REASON = 500;

/**
 * Accepts the three invocations the function has:
 * - a CloudWatch alarm action (`source: "aws.cloudwatch"`, `alarmData.state.value`), acting only on `ALARM`;
 * - an alarm delivered through SNS (`Records[].Sns.Message` with `NewStateValue`), likewise;
 * - a person's request `{ source: "manual", reason, requestedBy }` (`npm run ops -- emergency-stop`).
 * Anything else is rejected: a stop of real trading is never started on a guess.
 */
export function parseEvent(event: unknown, now: () => Date = () => new Date()): ParsedEvent {
  if (!isObject(event)) throw new InvalidEventError(`event is ${JSON.stringify(event)}: ${EXPECTED}`);
  if (event.source === 'aws.cloudwatch') return directAlarm(event);
  if (Array.isArray(event.Records)) return snsAlarm(event.Records);
  if (event.source === 'manual') return manual(event, now);
  throw new InvalidEventError(
    `event has source ${JSON.stringify(event.source)} and keys [${Object.keys(event).join(', ')}]: ${EXPECTED}`,
  );
}

const EXPECTED =
  'expected a CloudWatch alarm action (source "aws.cloudwatch"), an SNS-delivered alarm (Records[].Sns.Message) ' +
  'or a manual request {"source":"manual","reason":"…","requestedBy":"…"}';

function directAlarm(event: Record<string, unknown>): ParsedEvent {
  const data = event.alarmData;
  const state = isObject(data) ? data.state : undefined;
  const value = isObject(state) ? state.value : undefined;
  if (typeof value !== 'string')
    throw new InvalidEventError(
      `alarmData.state.value is ${JSON.stringify(value)}: expected ALARM, OK or INSUFFICIENT_DATA`,
    );
  const alarmName = isObject(data) && typeof data.alarmName === 'string' ? data.alarmName : 'unknown alarm';
  if (value !== 'ALARM') return { action: 'ignore', why: `alarm ${alarmName} moved to ${value}` };
  const s = state as Record<string, unknown>;
  return {
    action: 'stop',
    trigger: {
      kind: 'alarm',
      reason: clip(typeof s.reason === 'string' ? s.reason : `alarm ${alarmName} is in ALARM`),
      requestedBy: `alarm ${alarmName}`,
      at: typeof s.timestamp === 'string' ? s.timestamp : typeof event.time === 'string' ? event.time : '',
      alarmName,
      alarmArn: typeof event.alarmArn === 'string' ? event.alarmArn : undefined,
    },
  };
}

function snsAlarm(records: unknown[]): ParsedEvent {
  const states: string[] = [];
  for (const [i, record] of records.entries()) {
    const message = isObject(record) && isObject(record.Sns) ? record.Sns.Message : undefined;
    let alarm: unknown;
    try {
      alarm = JSON.parse(String(message));
    } catch {
      throw new InvalidEventError(
        `Records[${i}].Sns.Message is not JSON (${JSON.stringify(String(message).slice(0, 80))}): subscribe the function only to alarm topics`,
      );
    }
    if (!isObject(alarm) || typeof alarm.NewStateValue !== 'string')
      throw new InvalidEventError(
        `Records[${i}].Sns.Message.NewStateValue is ${JSON.stringify(isObject(alarm) ? alarm.NewStateValue : alarm)}: expected a CloudWatch alarm notification`,
      );
    const alarmName = typeof alarm.AlarmName === 'string' ? alarm.AlarmName : 'unknown alarm';
    if (alarm.NewStateValue === 'ALARM') {
      return {
        action: 'stop',
        trigger: {
          kind: 'alarm',
          reason: clip(
            typeof alarm.NewStateReason === 'string'
              ? alarm.NewStateReason
              : `alarm ${alarmName} is in ALARM`,
          ),
          requestedBy: `alarm ${alarmName}`,
          at: typeof alarm.StateChangeTime === 'string' ? alarm.StateChangeTime : '',
          alarmName,
          alarmArn: typeof alarm.AlarmArn === 'string' ? alarm.AlarmArn : undefined,
        },
      };
    }
    states.push(`${alarmName} moved to ${alarm.NewStateValue}`);
  }
  if (states.length === 0) throw new InvalidEventError(`Records is empty: ${EXPECTED}`);
  return { action: 'ignore', why: states.join('; ') };
}

function manual(event: Record<string, unknown>, now: () => Date): ParsedEvent {
  for (const field of ['reason', 'requestedBy'] as const) {
    const v = event[field];
    if (typeof v !== 'string' || v.trim() === '')
      throw new InvalidEventError(
        `${field} is ${JSON.stringify(v)}: a manual stop needs a non-empty ${field} (npm run ops -- emergency-stop --env <env> --reason "…" [--by <name>])`,
      );
  }
  return {
    action: 'stop',
    trigger: {
      kind: 'manual',
      reason: clip((event.reason as string).trim()),
      requestedBy: clip((event.requestedBy as string).trim()),
      at: now().toISOString(),
    },
  };
}

function clip(text: string): string {
  return text.length > MAX_REASON ? `${text.slice(0, MAX_REASON - 1)}…` : text;
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}
