import { createHash, createHmac, pbkdf2Sync, randomBytes } from 'node:crypto';
import type { CloudFormationCustomResourceEvent } from 'aws-lambda';
import type { Client } from 'pg';
import { ConfigurationError, Credentials } from './connection';

/**
 * The services' own database logins (migration 20261201040000_service_roles creates the roles
 * without a password). After each deploy's migration, and on `{ "command": "set-service-logins" }`,
 * the migration function reads each service's secret and gives its role LOGIN and that password.
 * Kept apart from the migration runner: it runs after `up`, on its own connection.
 */

/** One service role and the secret holding its `username` (= the role) and `password`. */
export interface ServiceLogin {
  readonly role: string;
  readonly secretId: string;
}

/** The operator command that sets the passwords again, e.g. after `update-secret`. */
export const SET_SERVICE_LOGINS = 'set-service-logins';

const ROLE = /^[a-z_][a-z0-9_]{0,62}$/;

/**
 * Reads `DB_SERVICE_LOGINS` (set by lib/migrations.ts): `role=secretArn` pairs separated by commas.
 * Unset or empty: no service logins to manage.
 */
export function serviceLoginsFromEnvironment(env: NodeJS.ProcessEnv): ServiceLogin[] {
  const raw = env.DB_SERVICE_LOGINS?.trim();
  if (!raw) return [];
  return raw.split(',').map((pair) => {
    const [role, secretId, ...rest] = pair.split('=');
    if (!role || !ROLE.test(role) || !secretId || rest.length > 0) {
      throw new ConfigurationError(
        `DB_SERVICE_LOGINS entry "${pair}" is not role=secretArn with a lower-case role name. Fix: the DatabaseMigrations construct sets it; deploy it`,
      );
    }
    return { role, secretId };
  });
}

/**
 * A SCRAM-SHA-256 verifier for `password` (RFC 5802/7677, PostgreSQL's stored form). Sending the
 * verifier instead of the password keeps the clear password out of the server's statement logs.
 */
export function scramVerifier(password: string, salt = randomBytes(16), iterations = 4096): string {
  const salted = pbkdf2Sync(password.normalize('NFKC'), salt, iterations, 32, 'sha256');
  const clientKey = createHmac('sha256', salted).update('Client Key').digest();
  const storedKey = createHash('sha256').update(clientKey).digest();
  const serverKey = createHmac('sha256', salted).update('Server Key').digest();
  return `SCRAM-SHA-256$${iterations}:${salt.toString('base64')}$${storedKey.toString('base64')}:${serverKey.toString('base64')}`;
}

/**
 * Gives every role LOGIN and the password of its secret. Fails, naming the secret and the fix, when a
 * secret names another user or a role does not exist (the migration that creates it has not run).
 * Returns one line per role for the log; never a password.
 */
export async function setServiceLogins(
  client: Pick<Client, 'query' | 'escapeIdentifier' | 'escapeLiteral'>,
  logins: readonly ServiceLogin[],
  fetchCredentials: (secretId: string) => Promise<Credentials>,
): Promise<string[]> {
  const lines: string[] = [];
  for (const { role, secretId } of logins) {
    const { username, password } = await fetchCredentials(secretId);
    if (username !== role) {
      throw new ConfigurationError(
        `secret ${secretId} has username "${username}", but it is the login of role "${role}". Fix: store {"username": "${role}", "password": "..."} in it`,
      );
    }
    const { rowCount } = await client.query('SELECT 1 FROM pg_roles WHERE rolname = $1', [role]);
    if (!rowCount) {
      throw new ConfigurationError(
        `role "${role}" does not exist. Fix: apply migration 20261201040000_service_roles (deploy, or ops migrate up), then run ${SET_SERVICE_LOGINS}`,
      );
    }
    await client.query(
      `ALTER ROLE ${client.escapeIdentifier(role)} WITH LOGIN PASSWORD ${client.escapeLiteral(scramVerifier(password))}`,
    );
    lines.push(`${role}: LOGIN with the password of ${secretId}`);
  }
  return lines;
}

/** What {@link withServiceLogins} needs: the logins, a connection, the secrets and a log. */
export interface ServiceLoginDependencies {
  readonly logins: () => readonly ServiceLogin[];
  /** Opens an administrative connection; the caller ends it. */
  readonly connect: () => Promise<Pick<Client, 'query' | 'escapeIdentifier' | 'escapeLiteral' | 'end'>>;
  readonly fetchCredentials: (secretId: string) => Promise<Credentials>;
  readonly log: (line: string) => void;
}

function isCreateOrUpdate(event: unknown): event is CloudFormationCustomResourceEvent {
  if (typeof event !== 'object' || event === null || !('ResourceProperties' in event)) return false;
  const type = (event as { RequestType?: unknown }).RequestType;
  return type === 'Create' || type === 'Update';
}

/** Operator commands that can create the roles again (`down` then `up` drops and re-creates them NOLOGIN). */
const SCHEMA_FORWARD_COMMANDS: ReadonlySet<string> = new Set(['up', 'goto']);

/** An operator `up`/`goto` that really ran (not a dry run) and succeeded. */
function movedSchemaForward(event: unknown, result: unknown): boolean {
  const command = (event as { command?: unknown } | null)?.command;
  if (typeof command !== 'string' || !SCHEMA_FORWARD_COMMANDS.has(command)) return false;
  const r = result as { exitCode?: unknown; dryRun?: unknown } | null;
  return r?.exitCode === 0 && r.dryRun !== true;
}

/**
 * Wraps the migration handler: after a custom-resource Create or Update succeeded (the schema, and
 * so the roles, are current), sets the service logins; so does an operator `up` or `goto` that ran,
 * since a `down` across the roles' migration dropped them and the `up` re-created them without a
 * login. `{ command: "set-service-logins" }` does only that. A failure fails the deploy before any
 * new service version starts (they depend on it).
 */
export function withServiceLogins<C, R>(
  migrate: (event: unknown, context: C) => Promise<R>,
  deps: ServiceLoginDependencies,
): (event: unknown, context: C) => Promise<R | { readonly serviceLogins: string[] }> {
  const run = async (): Promise<string[]> => {
    const logins = deps.logins();
    if (logins.length === 0) return [];
    const client = await deps.connect();
    try {
      const lines = await setServiceLogins(client, logins, deps.fetchCredentials);
      lines.forEach(deps.log);
      return lines;
    } finally {
      await client.end().catch(() => undefined);
    }
  };
  return async (event, context) => {
    if ((event as { command?: unknown } | null)?.command === SET_SERVICE_LOGINS) {
      return { serviceLogins: await run() };
    }
    const result = await migrate(event, context);
    if (isCreateOrUpdate(event)) await run();
    else if (movedSchemaForward(event, result)) {
      const lines = await run();
      const output = (result as { output?: unknown }).output;
      // The operator sees what was set after the migration's own lines.
      if (Array.isArray(output))
        return { ...result, output: [...output, ...lines.map((l) => `service login: ${l}`)] };
    }
    return result;
  };
}
