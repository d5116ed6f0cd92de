import { BetfairEndpoints, endpointsFromEnv } from './betfair';

/** What the function acts on; the EmergencyStop construct sets each as an environment variable (names and ARNs only). */
export interface StopSettings {
  /** `staging` or `production`, for messages. Env `CLEVER_BETTER_ENV`. */
  readonly environment: string;
  /** ARN of `clever-better/<env>/config`. Env `CONFIG_SECRET_ID`. */
  readonly configSecretId: string;
  /** ARN of `clever-better/<env>/betfair`. Env `BETFAIR_SECRET_ID`. */
  readonly betfairSecretId: string;
  /** ECS cluster `clever-better-<env>`. Env `CLUSTER_NAME`. */
  readonly clusterName: string;
  /** ECS service `bot`. Env `BOT_SERVICE_NAME`. */
  readonly botServiceName: string;
  /** On-call SNS topic. Env `TOPIC_ARN`. */
  readonly topicArn: string;
  readonly betfairEndpoints: BetfairEndpoints;
}

const REQUIRED = {
  environment: 'CLEVER_BETTER_ENV',
  configSecretId: 'CONFIG_SECRET_ID',
  betfairSecretId: 'BETFAIR_SECRET_ID',
  clusterName: 'CLUSTER_NAME',
  botServiceName: 'BOT_SERVICE_NAME',
  topicArn: 'TOPIC_ARN',
} as const;

/** Reads the settings, naming every missing variable and the fix. */
export function settingsFromEnv(env: NodeJS.ProcessEnv = process.env): StopSettings {
  const missing = Object.values(REQUIRED).filter((name) => !env[name]);
  if (missing.length > 0)
    throw new Error(
      `Environment variable${missing.length > 1 ? 's' : ''} ${missing.join(', ')} missing: the EmergencyStop construct sets them; deploy the stack again`,
    );
  const values = Object.fromEntries(
    Object.entries(REQUIRED).map(([key, name]) => [key, env[name]!]),
  ) as Record<keyof typeof REQUIRED, string>;
  return { ...values, betfairEndpoints: endpointsFromEnv(env) };
}

/** `clever-better/production/config` out of its ARN, for messages. */
export function secretLabel(secretId: string): string {
  const m = /:secret:(.+?)(-[A-Za-z0-9]{6})?$/.exec(secretId);
  return m ? m[1] : secretId;
}
