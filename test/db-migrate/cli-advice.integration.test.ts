import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import { Client } from 'pg';
import { renderAdvice } from '../../lambda/db-migrate/advice';
import { DirtyDatabaseError, MigrationFailedError, RunnerCommand } from '../../lambda/db-migrate/runner';
import { usePostgres } from '../helpers/postgres';
import { migrationsDir, openMigrator, tableExists, versionRows } from './fixtures';

/**
 * Issue 28, beside the real golang-migrate CLI (MIGRATE_BIN, as cli-compat.integration.test.ts):
 * a file that does not parse leaves the runner at the CLI's checkpoint, `(this version, dirty)`,
 * and the advice, followed with the CLI's own `force`, ends in the right schema; a file mixing a
 * BEGIN … COMMIT block with CREATE INDEX CONCURRENTLY is refused by the runner before anything runs,
 * where the CLI half-applies it.
 */

const MIGRATE_BIN = process.env.MIGRATE_BIN ?? '';
const DATABASE = 'clever_better';

jest.setTimeout(60_000);
const postgres = usePostgres();
let admin: Client;

beforeAll(() => {
  if (!MIGRATE_BIN || !fs.existsSync(MIGRATE_BIN)) {
    throw new Error(`MIGRATE_BIN = "${MIGRATE_BIN}" is not the golang-migrate CLI. Fix: npm run tools`);
  }
});
beforeEach(async () => {
  await postgres().createDatabase(DATABASE);
  admin = await postgres().connect(DATABASE);
});
afterEach(() => admin.end());

function cli(dir: string, ...args: string[]): Promise<{ code: number | null; stderr: string }> {
  const child = spawn(MIGRATE_BIN, ['-path', dir, '-database', postgres().url(DATABASE), ...args]);
  let stderr = '';
  child.stderr.on('data', (c) => (stderr += c));
  return new Promise((resolve) => child.on('close', (code) => resolve({ code, stderr })));
}

async function runner(dir: string, command: RunnerCommand) {
  const session = await openMigrator(postgres(), DATABASE, dir);
  try {
    return await session.migrator.run(command);
  } finally {
    await session.close();
  }
}

const BASE = { '1_a.up.sql': 'CREATE TABLE a (id int);', '1_a.down.sql': 'DROP TABLE a;' };
const TYPO = { ...BASE, '2_case.up.sql': 'CREATE TABLE case_b (id int);\nSELEC 1;\n' };

test('a file that does not parse: the runner leaves what the CLI leaves, (2, dirty)', async () => {
  const dir = migrationsDir(TYPO);
  expect((await cli(dir, 'up')).code).toBe(1);
  const byCli = await versionRows(admin);
  expect(byCli).toEqual([{ version: '2', dirty: true }]);

  await admin.query('DROP TABLE a; DROP TABLE schema_migrations');
  const failure = await runner(dir, { command: 'up' }).catch((e) => e);
  expect(failure).toBeInstanceOf(MigrationFailedError);
  expect(await versionRows(admin)).toEqual(byCli);
  expect((await cli(dir, 'version')).stderr.trim()).toBe('2 (dirty)');
});

test("the advice forces the previous version; following it with the CLI's force ends in the right schema", async () => {
  const dir = migrationsDir(TYPO);
  await runner(dir, { command: 'up' }).catch(() => undefined);
  const error: DirtyDatabaseError = await runner(dir, { command: 'up' }).catch((e) => e);
  const advice = renderAdvice(error.advice!, (v) => `migrate force ${v}`);
  const forced = /run "migrate force (-?\d+)"/.exec(advice)?.[1];
  expect(forced).toBe('1'); // never 2: the file never ran
  expect((await cli(dir, 'force', forced!)).code).toBe(0);

  const fixed = migrationsDir({ ...BASE, '2_case.up.sql': 'CREATE TABLE case_b (id int);' });
  expect((await cli(fixed, 'up')).code).toBe(0);
  expect(await tableExists(admin, 'case_b')).toBe(true);
  expect(await versionRows(admin)).toEqual([{ version: '2', dirty: false }]);
});

test('BEGIN … COMMIT beside CREATE INDEX CONCURRENTLY: the CLI half-applies it, the runner refuses it before anything runs', async () => {
  const dir = migrationsDir({
    ...BASE,
    '2_audit.up.sql':
      'BEGIN;\nCREATE TABLE audit (id int);\nCOMMIT;\nCREATE INDEX CONCURRENTLY audit_id ON audit (id);\n',
  });
  expect((await cli(dir, 'up')).code).toBe(1);
  expect(await tableExists(admin, 'audit')).toBe(true); // the block committed under the CLI
  expect(await versionRows(admin)).toEqual([{ version: '2', dirty: true }]);

  await admin.query('DROP TABLE audit; DROP TABLE a; DROP TABLE schema_migrations');
  await runner(dir, { command: 'up', limit: 1 });
  await expect(runner(dir, { command: 'up' })).rejects.toThrow(/breaks the one-CONCURRENTLY-per-file rule/);
  expect(await tableExists(admin, 'audit')).toBe(false);
  expect(await versionRows(admin)).toEqual([{ version: '1', dirty: false }]);
});
