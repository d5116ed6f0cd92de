import { InputError } from './errors';
import { PlanRef, RollbackRequest, SERVICE_KEYS, ServiceKey } from './types';

/** What the handler was asked: a request to run, or an event to ignore (an alarm going back to OK). */
export type ParsedEvent =
  | { readonly kind: 'request'; readonly request: RollbackRequest }
  | { readonly kind: 'ignore'; readonly reason: string };

const TASK_DEFINITION_ARN =
  /^arn:aws[a-z-]*:ecs:[a-z0-9-]+:\d{12}:task-definition\/[A-Za-z0-9_-]{1,255}:\d+$/;

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function optionalString(
  event: Record<string, unknown>,
  field: string,
  maxLength: number,
): string | undefined {
  const value = event[field];
  if (value === undefined || value === null) return undefined;
  if (typeof value !== 'string' || value.length > maxLength)
    throw new InputError(field, value, `send a string of at most ${maxLength} characters, or leave it out`);
  return value;
}

function taskDefinitionArn(event: Record<string, unknown>, field: string, label = field): string | undefined {
  const value = optionalString(event, field, 2048);
  if (value !== undefined && !TASK_DEFINITION_ARN.test(value))
    throw new InputError(
      label,
      value,
      'send a full task-definition ARN (arn:aws:ecs:<region>:<account>:task-definition/<family>:<revision>) as a dry run reported it',
    );
  return value;
}

function serviceKey(value: unknown, field: string): ServiceKey {
  if (!SERVICE_KEYS.includes(value as ServiceKey))
    throw new InputError(field, value, `send one of ${SERVICE_KEYS.map((s) => `"${s}"`).join(', ')}`);
  return value as ServiceKey;
}

/** The fields a direct invocation may carry; anything else is a mistake worth stopping for. */
const DIRECT_FIELDS = ['service', 'dryRun', 'requestedBy', 'reason', 'plan', 'to'] as const;
const PLAN_FIELDS = ['action', 'from', 'to', 'deployment'] as const;
const DEPLOYMENT_ARN = /^arn:aws[a-z-]*:ecs:[a-z0-9-]+:\d{12}:service-deployment\/[A-Za-z0-9_/-]{1,512}$/;

function unknownFields(value: Record<string, unknown>, known: readonly string[], where: string): void {
  for (const key of Object.keys(value))
    if (!known.includes(key))
      throw new InputError(
        `${where}${key}`,
        value[key],
        `leave it out: ${where || 'a direct invocation'} accepts only ${known.join(', ')}`,
      );
}

function parsePlan(value: unknown): PlanRef | undefined {
  if (value === undefined || value === null) return undefined;
  if (!isObject(value))
    throw new InputError('plan', value, 'send the plan object a dry run returned, unchanged');
  unknownFields(value, PLAN_FIELDS, 'plan.');
  if (value.action !== 'update-service' && value.action !== 'stop-deployment')
    throw new InputError(
      'plan.action',
      value.action,
      'send "update-service" or "stop-deployment" as the dry run returned it',
    );
  const from = taskDefinitionArn(value, 'from', 'plan.from');
  const to = taskDefinitionArn(value, 'to', 'plan.to');
  if (!from || !to)
    throw new InputError(
      `plan.${from ? 'to' : 'from'}`,
      value[from ? 'to' : 'from'],
      'send the plan a dry run returned, unchanged',
    );
  const deployment = optionalString(value, 'deployment', 2048);
  if (value.action === 'stop-deployment' && !(deployment && DEPLOYMENT_ARN.test(deployment)))
    throw new InputError(
      'plan.deployment',
      deployment,
      'a stop plan names the deployment ARN it stops; send the plan a dry run returned',
    );
  return { action: value.action, from, to, deployment };
}

function parseDirect(event: Record<string, unknown>): RollbackRequest {
  unknownFields(event, DIRECT_FIELDS, '');
  const dryRun = event.dryRun;
  if (dryRun !== undefined && typeof dryRun !== 'boolean')
    throw new InputError('dryRun', dryRun, 'send true (plan only) or false (act), or leave it out (false)');
  const to = optionalString(event, 'to', 2048);
  if (to !== undefined && !(TASK_DEFINITION_ARN.test(to) || /^([A-Za-z0-9_-]{1,255}:)?\d{1,9}$/.test(to)))
    throw new InputError(
      'to',
      to,
      'name a revision as a task-definition ARN, <family>:<revision> or a revision number (e.g. clever-better-bot:11)',
    );
  return {
    service: serviceKey(event.service, 'service'),
    dryRun: dryRun ?? false,
    requestedBy: optionalString(event, 'requestedBy', 200) ?? 'unknown (direct invocation)',
    reason: optionalString(event, 'reason', 1000),
    plan: parsePlan(event.plan),
    to,
    trigger: { kind: 'manual' },
  };
}

function fromAlarm(
  alarmName: unknown,
  state: unknown,
  changedAt: unknown,
  reason: unknown,
  alarmServices: Readonly<Record<string, ServiceKey>>,
): ParsedEvent {
  if (typeof alarmName !== 'string' || !alarmName)
    throw new InputError('alarm name', alarmName, 'invoke with a CloudWatch alarm event');
  if (state !== 'ALARM')
    return { kind: 'ignore', reason: `alarm ${alarmName} is ${String(state)}, not ALARM` };
  const service = alarmServices[alarmName];
  if (!service)
    throw new InputError(
      `alarm ${alarmName}`,
      alarmName,
      'the alarm is not mapped to a service in ALARM_SERVICES; remove the alarm action or map it in lib/rollback.ts',
    );
  const stateChangedAt = new Date(String(changedAt));
  if (Number.isNaN(stateChangedAt.getTime()))
    throw new InputError(
      `alarm ${alarmName} state timestamp`,
      changedAt,
      'invoke with the event CloudWatch sends',
    );
  return {
    kind: 'request',
    request: {
      service,
      dryRun: false,
      requestedBy: `CloudWatch alarm ${alarmName}`,
      reason: typeof reason === 'string' ? reason : undefined,
      trigger: { kind: 'alarm', alarmName, stateChangedAt },
    },
  };
}

/**
 * Accepts a direct invocation ({@link RollbackInput}), the payload a CloudWatch alarm sends to a
 * Lambda action, or an SNS message carrying an alarm notification.
 */
export function parseEvent(event: unknown, alarmServices: Readonly<Record<string, ServiceKey>>): ParsedEvent {
  if (!isObject(event))
    throw new InputError('event', event, 'invoke with {"service": "bot"} or an alarm event');
  if (event.source === 'aws.cloudwatch' && isObject(event.alarmData)) {
    const state = isObject(event.alarmData.state) ? event.alarmData.state : {};
    return fromAlarm(
      event.alarmData.alarmName,
      state.value,
      state.timestamp ?? event.time,
      state.reason,
      alarmServices,
    );
  }
  if (Array.isArray(event.Records)) {
    const record = event.Records[0] as unknown;
    const raw = isObject(record) && isObject(record.Sns) ? record.Sns.Message : undefined;
    let message: unknown;
    try {
      message = typeof raw === 'string' ? JSON.parse(raw) : undefined;
    } catch {
      message = undefined;
    }
    if (!isObject(message))
      throw new InputError(
        'Records[0].Sns.Message',
        raw,
        'subscribe the function to a topic that carries alarm notifications',
      );
    return fromAlarm(
      message.AlarmName,
      message.NewStateValue,
      message.StateChangeTime,
      message.NewStateReason,
      alarmServices,
    );
  }
  return { kind: 'request', request: parseDirect(event) };
}
