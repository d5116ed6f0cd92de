import { GetSecretValueCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { Client, ClientConfig } from 'pg';

/**
 * How the migration function reaches PostgreSQL: TLS with full certificate and host-name
 * verification (RDS's CA bundle reaches Node through `NODE_EXTRA_CA_CERTS=/var/runtime/ca-cert.pem`),
 * credentials read from the database secret on every invocation (so a rotated password is picked
 * up), and a connect timeout far below the function's timeout so an unreachable database fails
 * the deploy in seconds.
 */

/** Where the database is and how long to try. */
export interface DatabaseSettings {
  readonly host: string;
  readonly port: number;
  readonly database: string;
  /** ARN or name of the secret with `username` and `password`. */
  readonly secretId: string;
  /** Milliseconds to wait for TCP + TLS + authentication. */
  readonly connectTimeoutMs: number;
  /** Milliseconds to wait for the migration lock. */
  readonly lockTimeoutMs: number;
  /** Milliseconds a migration statement waits for a table lock (`lock_timeout`). @default 5000 */
  readonly tableLockTimeoutMs?: number;
}

/** User name and password from the database secret. */
export interface Credentials {
  readonly username: string;
  readonly password: string;
}

/** Bad configuration or secret content: the message names the field, the value and the fix. */
export class ConfigurationError extends Error {}

/** The database could not be reached or refused us. */
export class ConnectionError extends Error {}

function positiveInteger(env: NodeJS.ProcessEnv, name: string, fallback: number): number {
  const raw = env[name];
  if (raw === undefined || raw === '') return fallback;
  const value = Number(raw);
  if (!Number.isInteger(value) || value <= 0) {
    throw new ConfigurationError(
      `${name} = "${raw}" is not a positive whole number. Fix: set it in lib/migrations.ts`,
    );
  }
  return value;
}

/** Reads the function's environment (set by lib/migrations.ts). */
export function settingsFromEnvironment(env: NodeJS.ProcessEnv): DatabaseSettings {
  const required = (name: string): string => {
    const value = env[name];
    if (!value) {
      throw new ConfigurationError(
        `${name} is ${value === undefined ? 'not set' : 'empty'}. Fix: the DatabaseMigrations construct sets it; deploy it`,
      );
    }
    return value;
  };
  const port = Number(required('DB_PORT'));
  if (!Number.isInteger(port) || port < 1 || port > 65535) {
    throw new ConfigurationError(
      `DB_PORT = "${env.DB_PORT}" is not a TCP port. Fix: a number from 1 to 65535`,
    );
  }
  return {
    host: required('DB_HOST'),
    port,
    database: required('DB_NAME'),
    secretId: required('DB_SECRET_ARN'),
    connectTimeoutMs: positiveInteger(env, 'DB_CONNECT_TIMEOUT_MS', 10_000),
    lockTimeoutMs: positiveInteger(env, 'DB_LOCK_TIMEOUT_MS', 60_000),
    tableLockTimeoutMs: positiveInteger(env, 'DB_TABLE_LOCK_TIMEOUT_MS', 5_000),
  };
}

/** Parses the secret's JSON; never puts the secret's text into an error. */
export function parseCredentials(secretString: string | undefined, secretId: string): Credentials {
  let parsed: unknown;
  try {
    parsed = JSON.parse(secretString ?? '');
  } catch {
    throw new ConfigurationError(
      `secret ${secretId} is not JSON. Fix: store {"username": "...", "password": "..."} as its value`,
    );
  }
  const record = (parsed ?? {}) as Record<string, unknown>;
  for (const field of ['username', 'password'] as const) {
    if (typeof record[field] !== 'string' || record[field] === '') {
      throw new ConfigurationError(
        `secret ${secretId} has no string "${field}". Fix: store {"username": "...", "password": "..."} as its value`,
      );
    }
  }
  return { username: record.username as string, password: record.password as string };
}

/** Reads the database credentials from Secrets Manager. */
export async function fetchCredentials(
  secrets: SecretsManagerClient,
  secretId: string,
): Promise<Credentials> {
  const res = await secrets.send(new GetSecretValueCommand({ SecretId: secretId }));
  return parseCredentials(res.SecretString, secretId);
}

/** node-postgres settings: TLS verified against the trusted CAs and the host name, bounded connect. */
export function clientConfig(settings: DatabaseSettings, credentials: Credentials): ClientConfig {
  return {
    host: settings.host,
    port: settings.port,
    database: settings.database,
    user: credentials.username,
    password: credentials.password,
    // Verifies the chain against Node's CAs plus NODE_EXTRA_CA_CERTS, and the host name (pg passes
    // `host` to tls.connect, also for IP addresses).
    ssl: { rejectUnauthorized: true },
    connectionTimeoutMillis: settings.connectTimeoutMs,
    application_name: 'clever-better-db-migrate',
    keepAlive: true,
  };
}

/** Connects, turning every failure into one message that says where and what to check. */
export async function connect(config: ClientConfig): Promise<Client> {
  const client = new Client(config);
  // An idle-connection error after connect must not crash the process; the next query reports it.
  client.on('error', () => undefined);
  try {
    await client.connect();
  } catch (err) {
    await client.end().catch(() => undefined);
    const seconds = (config.connectionTimeoutMillis ?? 0) / 1000;
    throw new ConnectionError(
      `cannot connect to PostgreSQL at ${config.host}:${config.port}/${config.database}` +
        `${seconds ? ` (connect timeout ${seconds} s)` : ''}: ${(err as Error).message}. Check that the instance ` +
        'is available, that its security group admits the migration function, and the database secret',
    );
  }
  return client;
}
