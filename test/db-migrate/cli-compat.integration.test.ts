import { ChildProcess, spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { Client } from 'pg';
import { advisoryLockId, migrationLockId } from '../../lambda/db-migrate/lock';
import { MigrationSet } from '../../lambda/db-migrate/files';
import { parseOperatorRequest, runOperatorRequest } from '../../lambda/db-migrate/operations';
import { Migrator, RunnerCommand } from '../../lambda/db-migrate/runner';
import { usePostgres } from '../helpers/postgres';
import { migrationsDir, openMigrator, tableExists, versionRows } from './fixtures';

/**
 * The runner and the real golang-migrate CLI (v4.19.1+, built with `-tags postgres`, path in
 * MIGRATE_BIN) on the same database: same table, same versions, and the same advisory lock, so
 * neither migrates while the other does. The database is `clever_better`, as in the guide's URL.
 */

const MIGRATE_BIN = process.env.MIGRATE_BIN ?? '';
const DATABASE = 'clever_better';
const BASELINE = path.join(__dirname, '..', '..', 'migrations');

jest.setTimeout(60_000);
const postgres = usePostgres();
let admin: Client;

beforeAll(() => {
  if (!MIGRATE_BIN || !fs.existsSync(MIGRATE_BIN)) {
    throw new Error(
      `MIGRATE_BIN = "${MIGRATE_BIN}" is not the golang-migrate CLI. Fix: GOBIN=$PWD/.tools/bin go install -tags postgres ` +
        'github.com/golang-migrate/migrate/v4/cmd/migrate@v4.19.1 && export MIGRATE_BIN=$PWD/.tools/bin/migrate',
    );
  }
});
beforeEach(async () => {
  await postgres().createDatabase(DATABASE);
  admin = await postgres().connect(DATABASE);
});
afterEach(() => admin.end());

interface CliRun {
  readonly process: ChildProcess;
  readonly done: Promise<{ code: number | null; stderr: string; stdout: string; endedAt: number }>;
}

/** Starts `migrate -path <dir> -database <url> <args>`, as the guide runs it. */
function startCli(dir: string, ...args: string[]): CliRun {
  const child = spawn(MIGRATE_BIN, ['-path', dir, '-database', postgres().url(DATABASE), ...args]);
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (c) => (stdout += c));
  child.stderr.on('data', (c) => (stderr += c));
  const done = new Promise<{ code: number | null; stderr: string; stdout: string; endedAt: number }>(
    (resolve) => child.on('close', (code) => resolve({ code, stderr, stdout, endedAt: Date.now() })),
  );
  return { process: child, done };
}

const cli = (dir: string, ...args: string[]) => startCli(dir, ...args).done;

async function runner(dir: string, command: RunnerCommand, lockTimeoutMs = 15_000) {
  const session = await openMigrator(postgres(), DATABASE, dir, { lockTimeoutMs });
  try {
    return await session.migrator.run(command);
  } finally {
    await session.close();
  }
}

async function runnerVersion(dir: string) {
  const session = await openMigrator(postgres(), DATABASE, dir);
  try {
    return await session.migrator.version();
  } finally {
    await session.close();
  }
}

const cliVersion = async (dir: string) => (await cli(dir, 'version')).stderr.trim();

/** Sessions waiting for (granted=false) or holding (true) the advisory lock `id`. */
async function lockState(id: string): Promise<boolean[]> {
  const { rows } = await admin.query(
    `SELECT granted FROM pg_locks WHERE locktype = 'advisory' AND classid = 0 AND objid = $1::bigint::oid AND objsubid = 1`,
    [id],
  );
  return rows.map((r) => r.granted);
}

async function waitFor(check: () => Promise<boolean>, what: string): Promise<void> {
  for (const started = Date.now(); Date.now() - started < 20_000;) {
    if (await check()) return;
    await new Promise((r) => setTimeout(r, 25));
  }
  throw new Error(`timed out waiting for ${what}`);
}

const LOCK_ID = migrationLockId(DATABASE, 'public', 'schema_migrations');

const FILES = {
  '1_a.up.sql': 'CREATE TABLE a (id int);',
  '1_a.down.sql': 'DROP TABLE a;',
  '2_b.up.sql': 'CREATE TABLE b (id int);',
  '2_b.down.sql': 'DROP TABLE b;',
  '3_c.up.sql': 'CREATE TABLE c (id int);',
  '3_c.down.sql': 'DROP TABLE c;',
};

describe('the CLI and the runner agree on every step', () => {
  test("the CLI's version matches the runner after each step, whoever made it", async () => {
    const dir = migrationsDir(FILES);
    expect(await cliVersion(dir)).toBe('error: no migration');

    await runner(dir, { command: 'up', limit: 1 });
    expect(await cliVersion(dir)).toBe('1');

    expect((await cli(dir, 'up', '1')).code).toBe(0);
    expect(await runnerVersion(dir)).toEqual({ version: 2n, dirty: false });

    await runner(dir, { command: 'down', steps: 1 });
    expect(await cliVersion(dir)).toBe('1');

    expect((await cli(dir, 'goto', '3')).code).toBe(0);
    expect(await runnerVersion(dir)).toEqual({ version: 3n, dirty: false });

    await runner(dir, { command: 'force', version: 2n });
    expect(await cliVersion(dir)).toBe('2');

    expect((await cli(dir, 'force', '3')).code).toBe(0);
    expect(await runnerVersion(dir)).toEqual({ version: 3n, dirty: false });
    expect(await versionRows(admin)).toEqual([{ version: '3', dirty: false }]);
  });

  test('a file failing under the runner leaves a state the CLI reads as dirty, and refuses alike', async () => {
    const dir = migrationsDir({ ...FILES, '2_b.up.sql': 'CREATE TABLE b (id int); SELECT 1/0;' });
    await expect(runner(dir, { command: 'up' })).rejects.toThrow(/division by zero/);
    expect(await cliVersion(dir)).toBe('2 (dirty)');

    const refused = await cli(dir, 'up');
    expect(refused.code).toBe(1);
    expect(refused.stderr.trim()).toBe('error: Dirty database version 2. Fix and force version.');

    expect((await cli(dir, 'force', '1')).code).toBe(0);
    expect(await runnerVersion(dir)).toEqual({ version: 1n, dirty: false });
    expect(await tableExists(admin, 'b')).toBe(false);
  });

  test('a file failing under the CLI leaves a state the runner reads as dirty, and refuses alike', async () => {
    const dir = migrationsDir({ ...FILES, '3_c.up.sql': 'CREATE TABLE c (id int); SELECT 1/0;' });
    expect((await cli(dir, 'up')).code).toBe(1);
    expect(await runnerVersion(dir)).toEqual({ version: 3n, dirty: true });
    await expect(runner(dir, { command: 'up' })).rejects.toThrow(
      'Dirty database version 3. Fix and force version.',
    );
    expect(await tableExists(admin, 'c')).toBe(false);
  });
});

describe('what the CLI prints, the runner prints (docs/migrations.md lists the rest)', () => {
  const operator = async (dir: string, event: Record<string, unknown>) => {
    const session = await openMigrator(postgres(), DATABASE, dir);
    const lines: string[] = [];
    try {
      const migrator = await Migrator.open(session.client, MigrationSet.fromDirectory(dir), {
        database: DATABASE,
        log: (line) => lines.push(line),
      });
      return await runOperatorRequest(parseOperatorRequest(event), migrator, lines);
    } finally {
      await session.close();
    }
  };
  const withoutTimes = (text: string) => text.replace(/ \([0-9.]+(ns|µs|ms|s)\)/g, '').trim();

  test('"<empty>" for a version without a file in that direction, nothing for an empty title', async () => {
    const dir = migrationsDir({
      '1_.up.sql': 'SELECT 1;',
      '1_.down.sql': 'SELECT 1;',
      '2_two.up.sql': 'SELECT 1;',
    });
    const cliUp = await cli(dir, 'up', '1');
    expect((await cli(dir, 'down', '1')).code).toBe(0); // back to no version
    const runnerUp = await operator(dir, { command: 'up', limit: 1 });
    expect(runnerUp.output.map(withoutTimes)).toEqual([withoutTimes(cliUp.stderr)]); // "1/u"

    await cli(dir, 'up');
    const cliDown = await cli(dir, 'down', '1');
    await cli(dir, 'up');
    const runnerDown = await operator(dir, { command: 'down', steps: 1 });
    expect(withoutTimes(cliDown.stderr)).toBe('2/d <empty>');
    expect(runnerDown.output.map(withoutTimes)).toEqual(['2/d <empty>']);
  });

  test('version on (-1, dirty): "error: no migration", exit 1', async () => {
    const dir = migrationsDir({ '1_a.up.sql': 'SELECT 1;', '1_a.down.sql': 'SELECT 1/0;' });
    await cli(dir, 'up');
    expect((await cli(dir, 'down', '1')).code).toBe(1);
    const cliVersionRun = await cli(dir, 'version');
    const runnerVersionRun = await operator(dir, { command: 'version' });
    expect([runnerVersionRun.output.join('\n'), runnerVersionRun.exitCode]).toEqual([
      cliVersionRun.stderr.trim(),
      cliVersionRun.code,
    ]);
  });

  test('a database at a version the files lack: the same words (the CLI prints them twice)', async () => {
    const dir = migrationsDir({ '1_a.up.sql': 'SELECT 1;' });
    await admin.query(
      'CREATE TABLE schema_migrations (version bigint not null primary key, dirty boolean not null)',
    );
    await admin.query('INSERT INTO schema_migrations VALUES (7, false)');
    const cliUp = await cli(dir, 'up');
    const error: Error = await runner(dir, { command: 'up' }).catch((e) => e);
    expect(cliUp.stderr.trim()).toBe(`error: ${error.message}error: ${error.message}`);
  });
});

describe('each continues where the other stopped, on the baseline schema', () => {
  test('runner first, then the CLI, then back down with the CLI and up with the runner', async () => {
    await runner(BASELINE, { command: 'up', limit: 2 });
    const cliUp = await cli(BASELINE, 'up');
    expect(cliUp.code).toBe(0);
    // golang-migrate prints "<version>/u <title> (<duration>)" per file, as the runner logs.
    expect(cliUp.stderr).toMatch(/^20240115120000\/u price_history \(/m);
    expect(await runnerVersion(BASELINE)).toEqual({ version: 20261201040000n, dirty: false });
    expect(await tableExists(admin, 'ml_predictions')).toBe(true);

    expect((await cli(BASELINE, 'down', '5')).code).toBe(0);
    expect(await runnerVersion(BASELINE)).toEqual({ version: 20240115120000n, dirty: false });

    const result = await runner(BASELINE, { command: 'up' });
    expect(result.applied.map((s) => String(s.version))).toEqual([
      '20240120090000',
      '20240125090000',
      '20240201090000',
      '20261201030000',
      '20261201040000',
    ]);
    expect(await cli(BASELINE, 'up')).toMatchObject({ code: 0, stderr: 'no change\n' });
  });
});

describe('the advisory lock excludes the CLI and the runner from each other', () => {
  // File 2 waits for a gate the test holds (an advisory lock of its own) rather than sleeping 2 s:
  // it runs exactly until the test has seen the other side wait, whatever the machine's load.
  const GATE = 4242;
  const SLOW = {
    ...FILES,
    '2_b.up.sql': `CREATE TABLE b (id int); SELECT pg_advisory_xact_lock(${GATE});`,
  };
  let gate: Client | undefined;
  beforeEach(async () => {
    gate = await postgres().connect(DATABASE);
    await gate.query('SELECT pg_advisory_lock($1)', [GATE]);
  });
  /** Lets file 2 finish. */
  async function openGate(): Promise<void> {
    await gate?.end();
    gate = undefined;
  }
  afterEach(openGate);

  test('while the runner migrates, the CLI waits for the lock, then finds nothing left to do', async () => {
    const dir = migrationsDir(SLOW);
    const running = runner(dir, { command: 'up' });
    await waitFor(async () => (await lockState(LOCK_ID)).includes(true), 'the runner to hold the lock');
    const waiting = startCli(dir, 'up');
    await waitFor(async () => (await lockState(LOCK_ID)).includes(false), 'the CLI to wait for the lock');
    expect(await versionRows(admin)).toEqual([{ version: '2', dirty: true }]);

    await openGate();
    const [byRunner, byCli] = await Promise.all([running, waiting.done]);
    expect(byRunner.applied).toHaveLength(3);
    // The order, from the database rather than from when each side's completion reached this
    // process (a race of one event-loop turn): the CLI waited while the runner held the lock at
    // file 2, and then found every file applied.
    expect(byCli).toMatchObject({ code: 0, stderr: 'no change\n' });
    expect(await versionRows(admin)).toEqual([{ version: '3', dirty: false }]);
  });

  test('while the CLI migrates, the runner waits for the lock, then finds nothing left to do', async () => {
    const dir = migrationsDir(SLOW);
    const migrating = startCli(dir, 'up');
    await waitFor(
      async () => (await versionRows(admin).catch(() => [])).some((r) => r.dirty),
      'the CLI to start file 2',
    );
    expect(await lockState(LOCK_ID)).toEqual([true]);
    const waiting = runner(dir, { command: 'up' }, 20_000);
    await waitFor(async () => (await lockState(LOCK_ID)).includes(false), 'the runner to wait for the lock');

    await openGate();
    const [byCli, byRunner] = await Promise.all([migrating.done, waiting]);
    expect(byCli.code).toBe(0);
    // As above, the order from the database: the runner waited while the CLI held the lock at
    // file 2, and then found nothing left to do.
    expect(byRunner).toMatchObject({ noChange: true, applied: [] });
    expect(await versionRows(admin)).toEqual([{ version: '3', dirty: false }]);
  });

  test('the CLI locks on "/clever_better" (its URL path), not on current_database()', async () => {
    const dir = migrationsDir(FILES);
    const holder = await postgres().connect(DATABASE);
    try {
      // The id a library user without a database name would take: the CLI does not wait for it.
      await holder.query('SELECT pg_advisory_lock($1)', [
        advisoryLockId(DATABASE, 'public', 'schema_migrations'),
      ]);
      expect(await cli(dir, 'version')).toMatchObject({ code: 1, stderr: 'error: no migration\n' });
      await holder.query('SELECT pg_advisory_unlock_all()');

      // The runner's id: the CLI waits until it is released.
      await holder.query('SELECT pg_advisory_lock($1)', [LOCK_ID]);
      const blocked = startCli(dir, 'version');
      await waitFor(async () => (await lockState(LOCK_ID)).includes(false), 'the CLI to wait for the lock');
      expect(blocked.process.exitCode).toBeNull();
      await holder.query('SELECT pg_advisory_unlock($1)', [LOCK_ID]);
      expect(await blocked.done).toMatchObject({ code: 1, stderr: 'error: no migration\n' });
    } finally {
      await holder.end();
    }
  });
});
