import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { Client } from 'pg';
import { MigrationSet } from '../../lambda/db-migrate/files';
import { Migrator, MigratorOptions } from '../../lambda/db-migrate/runner';
import { MigratorSession, OpenSession } from '../../lambda/db-migrate/session';
import { TestPostgres } from '../helpers/postgres';

const created: string[] = [];
afterAll(() => {
  for (const dir of created.splice(0)) fs.rmSync(dir, { recursive: true, force: true });
});

/** A temporary migrations directory holding `files` (name → SQL); removed after the test file. */
export function migrationsDir(files: Record<string, string>): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'cb-migrations-'));
  created.push(dir);
  for (const [name, body] of Object.entries(files)) fs.writeFileSync(path.join(dir, name), body);
  return dir;
}

/** A migrator on its own connection to `database`, reading `dir`. */
export async function openMigrator(
  pg: TestPostgres,
  database: string,
  dir: string,
  options: Partial<MigratorOptions> = {},
): Promise<MigratorSession & { client: Client }> {
  const client = await pg.connect(database);
  // A test may terminate this session on purpose; the pending query reports it.
  client.on('error', () => undefined);
  try {
    const migrator = await Migrator.open(client, MigrationSet.fromDirectory(dir), {
      database,
      openWatchdog: () => pg.connect(database),
      ...options,
    });
    return { migrator, client, close: () => client.end() };
  } catch (err) {
    await client.end();
    throw err;
  }
}

/** An OpenSession for the handler and custom-resource code, against the test server without TLS. */
export function sessionFactory(pg: TestPostgres, database: string, dir: () => string): OpenSession {
  return ({ deadline, log }) => openMigrator(pg, database, dir(), { deadline, log, lockTimeoutMs: 500 });
}

/** schema_migrations rows, as golang-migrate would see them. */
export async function versionRows(client: Client): Promise<{ version: string; dirty: boolean }[]> {
  return (await client.query('SELECT version::text AS version, dirty FROM schema_migrations')).rows;
}

/** Whether a table exists in the current schema. */
export async function tableExists(client: Client, name: string): Promise<boolean> {
  const { rows } = await client.query('SELECT to_regclass($1) IS NOT NULL AS present', [name]);
  return rows[0].present;
}
