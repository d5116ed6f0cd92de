import { createHash, createHmac, pbkdf2Sync, randomBytes } from 'node:crypto';
import type { CloudFormationCustomResourceEvent } from 'aws-lambda';
import type { Client } from 'pg';
import { ConfigurationError, Credentials } from './connection';
import type { PostMigrationStep, StepOutcome } from './post-migration';

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
 * Role attributes the design never grants a service role (docs/database-users.md): `pg_roles`
 * column → the ALTER ROLE word that removes it. A role created by hand before the migration keeps
 * whatever it was created with (`CREATE ROLE` is skipped when the role exists), so the login step
 * removes them.
 */
export const UNDESIGNED_ATTRIBUTES = {
  rolsuper: 'NOSUPERUSER',
  rolcreatedb: 'NOCREATEDB',
  rolcreaterole: 'NOCREATEROLE',
  rolbypassrls: 'NOBYPASSRLS',
  rolreplication: 'NOREPLICATION',
} as const;

/**
 * Removes from `role` every attribute in {@link UNDESIGNED_ATTRIBUTES} and every role membership
 * (the design grants a service role none: its rights are grants on tables). Only what is present
 * is altered: changing REPLICATION or SUPERUSER at all needs a superuser, which the RDS master user
 * is not. Returns what was removed, e.g. ["SUPERUSER", "member of pg_read_all_data"].
 */
export async function removeUndesignedRights(
  client: Pick<Client, 'query' | 'escapeIdentifier'>,
  role: string,
): Promise<string[]> {
  const { rows } = await client.query<
    Record<keyof typeof UNDESIGNED_ATTRIBUTES, boolean> & { groups: string[] }
  >(
    `SELECT r.rolsuper, r.rolcreatedb, r.rolcreaterole, r.rolbypassrls, r.rolreplication,
            ARRAY(SELECT g.rolname FROM pg_auth_members m JOIN pg_roles g ON g.oid = m.roleid
                   WHERE m.member = r.oid ORDER BY 1)::text[] AS groups
       FROM pg_roles r WHERE r.rolname = $1`,
    [role],
  );
  const found = rows[0];
  if (!found) return [];
  const attributes = (Object.keys(UNDESIGNED_ATTRIBUTES) as (keyof typeof UNDESIGNED_ATTRIBUTES)[]).filter(
    (column) => found[column] === true,
  );
  const removed: string[] = [];
  const quoted = client.escapeIdentifier(role);
  if (attributes.length > 0) {
    await client.query(
      `ALTER ROLE ${quoted} WITH ${attributes.map((a) => UNDESIGNED_ATTRIBUTES[a]).join(' ')}`,
    );
    removed.push(...attributes.map((a) => UNDESIGNED_ATTRIBUTES[a].slice(2)));
  }
  for (const group of found.groups ?? []) {
    await client.query(`REVOKE ${client.escapeIdentifier(group)} FROM ${quoted}`);
    removed.push(`member of ${group}`);
  }
  return removed;
}

/** What {@link setServiceLogins} did: a line per role, and per role the rights it removed. */
export interface ServiceLoginReport {
  readonly lines: string[];
  readonly removed: { readonly role: string; readonly rights: readonly string[] }[];
}

/**
 * Gives every role LOGIN and the password of its secret, and takes away any right the design does
 * not grant ({@link removeUndesignedRights}). Fails, naming the secret and the fix, when a secret
 * names another user or a role does not exist (the migration that creates it has not run).
 * Returns one line per role for the log; never a password.
 */
export async function setServiceLogins(
  client: Pick<Client, 'query' | 'escapeIdentifier' | 'escapeLiteral'>,
  logins: readonly ServiceLogin[],
  fetchCredentials: (secretId: string) => Promise<Credentials>,
): Promise<string[]> {
  return (await setServiceLoginsReport(client, logins, fetchCredentials)).lines;
}

/** {@link setServiceLogins}, with what was removed from each role. */
export async function setServiceLoginsReport(
  client: Pick<Client, 'query' | 'escapeIdentifier' | 'escapeLiteral'>,
  logins: readonly ServiceLogin[],
  fetchCredentials: (secretId: string) => Promise<Credentials>,
): Promise<ServiceLoginReport> {
  const lines: string[] = [];
  const removed: { role: string; rights: string[] }[] = [];
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
    const rights = await removeUndesignedRights(client, role);
    await client.query(
      `ALTER ROLE ${client.escapeIdentifier(role)} WITH LOGIN PASSWORD ${client.escapeLiteral(scramVerifier(password))}`,
    );
    lines.push(`${role}: LOGIN with the password of ${secretId}`);
    if (rights.length > 0) {
      lines.push(`${role}: removed ${rights.join(', ')} (not in the design: docs/database-users.md)`);
      removed.push({ role, rights });
    }
  }
  return { lines, removed };
}

/** The rights removed, as the page says it; undefined when nothing was removed. */
function removedAttention(removed: ServiceLoginReport['removed']): string | undefined {
  if (removed.length === 0) return undefined;
  return (
    `removed rights the design does not grant: ${removed.map((r) => `${r.role}: ${r.rights.join(', ')}`).join('; ')}. ` +
    'Someone created or altered these roles by hand: find out who and why (they could have created tables or ' +
    'read everything until now); docs/database-users.md'
  );
}

/** What {@link withServiceLogins} needs: the logins, a connection, the secrets and a log. */
export interface ServiceLoginDependencies {
  readonly logins: () => readonly ServiceLogin[];
  /** Opens an administrative connection; the caller ends it. */
  readonly connect: () => Promise<Pick<Client, 'query' | 'escapeIdentifier' | 'escapeLiteral' | 'end'>>;
  readonly fetchCredentials: (secretId: string) => Promise<Credentials>;
  readonly log: (line: string) => void;
  /** Pages on-call when the step removed rights (operator commands; a deploy pages through its steps). @default nothing */
  readonly page?: (what: string) => void;
}

/**
 * The service logins as a post-migration step (post-migration.ts): run after every deploy's
 * migration, forward and rollback alike, under the one rule for such steps.
 */
export function serviceLoginStep(deps: Omit<ServiceLoginDependencies, 'log' | 'page'>): PostMigrationStep {
  return {
    name: 'service logins',
    async run(): Promise<StepOutcome> {
      const logins = deps.logins();
      if (logins.length === 0) return { lines: [] };
      const client = await deps.connect();
      try {
        const report = await setServiceLoginsReport(client, logins, deps.fetchCredentials);
        return { lines: report.lines, attention: removedAttention(report.removed) };
      } finally {
        await client.end().catch(() => undefined);
      }
    },
  };
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
 * Wraps the migration handler for operators: an operator `up` or `goto` that ran sets the service
 * logins again, since a `down` across the roles' migration dropped them and the `up` re-created
 * them without a login; `{ command: "set-service-logins" }` does only that. A deploy's Create or
 * Update sets them through {@link serviceLoginStep}, a post-migration step of the custom resource
 * (forward failures fail the deploy, rollback failures page).
 */
export function withServiceLogins<C, R>(
  migrate: (event: unknown, context: C) => Promise<R>,
  deps: ServiceLoginDependencies,
): (event: unknown, context: C) => Promise<R | { readonly serviceLogins: string[] }> {
  const step = serviceLoginStep(deps);
  const run = async (): Promise<string[]> => {
    const outcome = await step.run();
    outcome.lines.forEach(deps.log);
    if (outcome.attention) deps.page?.(`${step.name}: ${outcome.attention}`);
    return [...outcome.lines];
  };
  return async (event, context) => {
    if ((event as { command?: unknown } | null)?.command === SET_SERVICE_LOGINS) {
      return { serviceLogins: await run() };
    }
    const result = await migrate(event, context);
    // A deploy's Create/Update runs the logins as a post-migration step (custom-resource.ts).
    if (isCreateOrUpdate(event)) return result;
    if (movedSchemaForward(event, result)) {
      const lines = await run();
      const output = (result as { output?: unknown }).output;
      // The operator sees what was set after the migration's own lines.
      if (Array.isArray(output))
        return { ...result, output: [...output, ...lines.map((l) => `service login: ${l}`)] };
    }
    return result;
  };
}
