import { CloudWatchClient, ListMetricsCommand, PutMetricDataCommand } from '@aws-sdk/client-cloudwatch';
import { GetSecretValueCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import * as fs from 'node:fs';
import { Client } from 'pg';
import { BOT_METRICS } from '../metrics';
import { LOCAL_AWS_VARIABLES, parseEnvFile } from './runtime';

/** What a process that knows only the runtime contract could do. */
export interface ContractCheck {
  readonly liveTradingEnabled: boolean;
  readonly databaseUser: string;
  /** Whether that login may create a table: a service's own role may not (docs/database-users.md). */
  readonly mayChangeSchema: boolean;
  readonly metricPublished: boolean;
}

/**
 * A stand-in for the bot's start-up, given nothing but the `.env` file `npm run local` writes:
 * reads `live_trading_enabled` from the config secret (unreadable counts as off, as the contract
 * says), connects to PostgreSQL with the contract's credentials and TLS mode, and publishes one
 * metric of docs/metrics.md to the emulator. Proves the printed contract is complete.
 */
export async function runContractClient(envFile: string): Promise<ContractCheck> {
  const env = parseEnvFile(fs.readFileSync(envFile, 'utf8'));
  const v = LOCAL_AWS_VARIABLES;
  const aws = {
    region: env[v.region],
    endpoint: env[v.endpoint],
    credentials: { accessKeyId: env[v.accessKeyId], secretAccessKey: env[v.secretAccessKey] },
  };
  let liveTradingEnabled = false;
  try {
    const secret = await new SecretsManagerClient(aws).send(
      new GetSecretValueCommand({ SecretId: env.CONFIG_SECRET_ID }),
    );
    liveTradingEnabled = JSON.parse(secret.SecretString ?? '{}').live_trading_enabled === true;
  } catch {
    liveTradingEnabled = false;
  }
  const db = new Client({
    host: env.DB_HOST,
    port: Number(env.DB_PORT),
    database: env.DB_NAME,
    user: env.DB_USERNAME,
    password: env.DB_PASSWORD,
    ssl: env.DB_SSLMODE === 'disable' ? false : { rejectUnauthorized: true },
  });
  await db.connect();
  let databaseUser: string;
  let mayChangeSchema = true;
  try {
    databaseUser = (await db.query<{ u: string }>('SELECT current_user AS u')).rows[0].u;
    // Tried inside a transaction that is always rolled back: the probe never stays.
    await db.query('BEGIN');
    await db.query('CREATE TABLE public.cb_contract_probe (x int)').catch(() => (mayChangeSchema = false));
    await db.query('ROLLBACK');
  } finally {
    await db.end();
  }
  const cloudwatch = new CloudWatchClient(aws);
  await cloudwatch.send(
    new PutMetricDataCommand({
      Namespace: env.METRIC_NAMESPACE,
      MetricData: [{ MetricName: BOT_METRICS.betsPlaced, Value: 2, Unit: 'Count' }],
    }),
  );
  const listed = await cloudwatch.send(
    new ListMetricsCommand({ Namespace: env.METRIC_NAMESPACE, MetricName: BOT_METRICS.betsPlaced }),
  );
  return {
    liveTradingEnabled,
    databaseUser,
    mayChangeSchema,
    metricPublished: (listed.Metrics ?? []).length > 0,
  };
}
