import { InputError } from './errors';
import { SERVICE_KEYS, ServiceKey } from './types';

/** The function's settings, from its environment variables (set by lib/rollback.ts). */
export interface RollbackConfig {
  /** `staging` or `production`: names the file the drift note points at. */
  readonly environmentName: string;
  /** ECS cluster (`clever-better-<env>`). */
  readonly cluster: string;
  /** On-call SNS topic ARN. */
  readonly topicArn: string;
  /** Alarm name → service it rolls back, for alarm-triggered runs. */
  readonly alarmServices: Readonly<Record<string, ServiceKey>>;
  /** How long after a deployment finished an alarm may still roll it back, in milliseconds. */
  readonly alarmWindowMs: number;
  /** Upper bound of the wait for a steady state, in milliseconds. */
  readonly waitTimeoutMs: number;
  /** Time between two DescribeServices polls while waiting, in milliseconds. */
  readonly pollIntervalMs: number;
  /**
   * `plan`: the planning function, which only answers dry runs (it has no right to change anything);
   * `act`: one service's own function, which acts on that service only. @default 'act'
   */
  readonly mode?: 'plan' | 'act';
  /** For `act`: the one service this function rolls back. @default any (tests) */
  readonly service?: ServiceKey;
}

/**
 * Each service's object in `environments/`: its image is pinned by `<key>.imageTag`, or by
 * `<key>.imageDigest` where the environment pins digests (production).
 */
export const IMAGE_CONFIG_KEY: Readonly<Record<ServiceKey, string>> = {
  bot: 'bot',
  'ml-service': 'ml',
};

function required(env: NodeJS.ProcessEnv, name: string): string {
  const value = env[name];
  if (!value)
    throw new InputError(`environment variable ${name}`, value, 'deploy the stack (lib/rollback.ts sets it)');
  return value;
}

function positiveNumber(env: NodeJS.ProcessEnv, name: string, fallback: number): number {
  const raw = env[name];
  if (raw === undefined || raw === '') return fallback;
  const value = Number(raw);
  if (!Number.isFinite(value) || value <= 0)
    throw new InputError(`environment variable ${name}`, raw, 'set a positive number of seconds or hours');
  return value;
}

/** Reads and validates the configuration; throws {@link InputError} naming the variable. */
export function loadConfig(env: NodeJS.ProcessEnv = process.env): RollbackConfig {
  const rawAlarms = env.ALARM_SERVICES ?? '{}';
  let alarmServices: unknown;
  try {
    alarmServices = JSON.parse(rawAlarms);
  } catch {
    throw new InputError(
      'environment variable ALARM_SERVICES',
      rawAlarms,
      'set a JSON object {"<alarm name>": "bot"}',
    );
  }
  if (typeof alarmServices !== 'object' || alarmServices === null || Array.isArray(alarmServices))
    throw new InputError(
      'environment variable ALARM_SERVICES',
      rawAlarms,
      'set a JSON object {"<alarm name>": "bot"}',
    );
  for (const [alarm, service] of Object.entries(alarmServices)) {
    if (!SERVICE_KEYS.includes(service as ServiceKey))
      throw new InputError(
        `ALARM_SERVICES["${alarm}"]`,
        service,
        `map the alarm to ${SERVICE_KEYS.join(' or ')}`,
      );
  }
  const mode = env.ROLLBACK_MODE ?? 'act';
  if (mode !== 'plan' && mode !== 'act')
    throw new InputError(
      'environment variable ROLLBACK_MODE',
      mode,
      'set "plan" or "act" (lib/rollback.ts sets it)',
    );
  const service = env.SERVICE_NAME;
  if (mode === 'act' && !SERVICE_KEYS.includes(service as ServiceKey))
    throw new InputError(
      'environment variable SERVICE_NAME',
      service,
      `set ${SERVICE_KEYS.join(' or ')}: an acting function rolls back one service (lib/rollback.ts sets it)`,
    );
  return {
    mode,
    service: service as ServiceKey | undefined,
    environmentName: required(env, 'ENVIRONMENT_NAME'),
    cluster: required(env, 'CLUSTER_NAME'),
    topicArn: required(env, 'TOPIC_ARN'),
    alarmServices: alarmServices as Record<string, ServiceKey>,
    alarmWindowMs: positiveNumber(env, 'ALARM_WINDOW_HOURS', 24) * 3_600_000,
    waitTimeoutMs: positiveNumber(env, 'WAIT_TIMEOUT_SECONDS', 600) * 1000,
    pollIntervalMs: positiveNumber(env, 'POLL_INTERVAL_SECONDS', 15) * 1000,
  };
}
