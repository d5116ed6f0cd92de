import { Client } from 'pg';
import { MigrationSourceError } from '../../lambda/db-migrate/files';
import { NoMigrationFoundError, ShortLimitError } from '../../lambda/db-migrate/plan';
import {
  DirtyDatabaseError,
  InvalidVersionError,
  LockTimeoutError,
  MigrationFailedError,
  TimeBudgetError,
} from '../../lambda/db-migrate/runner';
import { useFreshDatabase, usePostgres } from '../helpers/postgres';
import { migrationsDir, openMigrator, tableExists, versionRows } from './fixtures';

jest.setTimeout(30_000);
const postgres = usePostgres();

let admin: Client;
let database: string;

const fresh = useFreshDatabase(postgres, 'runner');
beforeEach(() => ({ database, admin } = fresh()));

const THREE = {
  '1_create_a.up.sql': 'CREATE TABLE a (id int);',
  '1_create_a.down.sql': 'DROP TABLE a;',
  '2_create_b.up.sql': 'CREATE TABLE b (id int);',
  '2_create_b.down.sql': 'DROP TABLE b;',
  '3_create_c.up.sql': 'CREATE TABLE c (id int);',
  '3_create_c.down.sql': 'DROP TABLE c;',
};

async function run(files: Record<string, string>, command: Parameters<typeof runOn>[1], options = {}) {
  return runOn(migrationsDir(files), command, options);
}

async function runOn(
  dir: string,
  command: Parameters<Awaited<ReturnType<typeof openMigrator>>['migrator']['run']>[0],
  options: Parameters<typeof openMigrator>[3] = {},
) {
  const session = await openMigrator(postgres(), database, dir, options);
  try {
    return await session.migrator.run(command);
  } finally {
    await session.close();
  }
}

describe('schema_migrations', () => {
  test('is created exactly as golang-migrate creates it', async () => {
    await run(THREE, { command: 'up' });
    const { rows: columns } = await admin.query(
      `SELECT column_name, data_type, is_nullable FROM information_schema.columns
       WHERE table_schema = 'public' AND table_name = 'schema_migrations' ORDER BY ordinal_position`,
    );
    expect(columns).toEqual([
      { column_name: 'version', data_type: 'bigint', is_nullable: 'NO' },
      { column_name: 'dirty', data_type: 'boolean', is_nullable: 'NO' },
    ]);
    const { rows: pk } = await admin.query(
      `SELECT a.attname FROM pg_index i JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = ANY(i.indkey)
       WHERE i.indrelid = 'public.schema_migrations'::regclass AND i.indisprimary`,
    );
    expect(pk).toEqual([{ attname: 'version' }]);
  });

  test('holds one clean row with the last version after up', async () => {
    const result = await run(THREE, { command: 'up' });
    expect(await versionRows(admin)).toEqual([{ version: '3', dirty: false }]);
    expect(result.applied.map((s) => s.version)).toEqual([1n, 2n, 3n]);
    expect(result.state).toEqual({ version: 3n, dirty: false });
  });

  test('is marked dirty, in a committed transaction, before a file runs', async () => {
    const files = {
      '1_seen.up.sql': 'CREATE TABLE seen AS SELECT version, dirty FROM schema_migrations;',
    };
    await run(files, { command: 'up' });
    expect((await admin.query('SELECT version::text, dirty FROM seen')).rows).toEqual([
      { version: '1', dirty: true },
    ]);
  });
});

describe('up', () => {
  test('orders versions numerically, not by name', async () => {
    const lines: string[] = [];
    await run(
      {
        '10_ten.up.sql': 'INSERT INTO log VALUES (10);',
        '2_two.up.sql': 'INSERT INTO log VALUES (2);',
        '1_log.up.sql': 'CREATE TABLE log (v int, at serial);',
      },
      { command: 'up' },
      { log: (line: string) => lines.push(line) },
    );
    expect((await admin.query('SELECT v FROM log ORDER BY at')).rows).toEqual([{ v: 2 }, { v: 10 }]);
    expect(lines.map((l) => l.replace(/ \(.*\)$/, ''))).toEqual(['1/u log', '2/u two', '10/u ten']);
  });

  test('reports no change when the database is at the last version', async () => {
    const dir = migrationsDir(THREE);
    await runOn(dir, { command: 'up' });
    const again = await runOn(dir, { command: 'up' });
    expect(again).toMatchObject({ noChange: true, applied: [] });
  });

  test('up N applies N files, then fails with "limit N short" after applying what exists', async () => {
    const dir = migrationsDir(THREE);
    await runOn(dir, { command: 'up', limit: 2 });
    expect(await versionRows(admin)).toEqual([{ version: '2', dirty: false }]);
    await expect(runOn(dir, { command: 'up', limit: 3 })).rejects.toThrow(new ShortLimitError(2));
    expect(await versionRows(admin)).toEqual([{ version: '3', dirty: false }]);
  });

  test('records a version that has only a down file, running nothing', async () => {
    const result = await run({ '1_only_down.down.sql': 'DROP TABLE nothing;' }, { command: 'up' });
    expect(result.applied).toHaveLength(1);
    expect(await versionRows(admin)).toEqual([{ version: '1', dirty: false }]);
  });

  test('accepts whitespace-only and comment-only files', async () => {
    await run(
      { '1_blank.up.sql': '  \n\t\n', '2_comment.up.sql': '-- intentionally empty\n' },
      { command: 'up' },
    );
    expect(await versionRows(admin)).toEqual([{ version: '2', dirty: false }]);
  });

  test('runs a file with its own BEGIN/COMMIT', async () => {
    await run({ '1_tx.up.sql': 'BEGIN; CREATE TABLE t (id int); COMMIT;' }, { command: 'up' });
    expect(await tableExists(admin, 't')).toBe(true);
  });

  test('runs CREATE INDEX CONCURRENTLY only as the single statement of a file, refusing it beside others before anything runs', async () => {
    const base = { '1_t.up.sql': 'CREATE TABLE t (id int);' };
    await expect(
      run(
        { ...base, '2_idx.up.sql': 'CREATE INDEX CONCURRENTLY t_id ON t (id); SELECT 1;' },
        { command: 'up' },
      ),
    ).rejects.toThrow(/^migration file 2_idx\.up\.sql breaks the one-CONCURRENTLY-per-file rule/);
    // Refused before the first file ran, not after it.
    expect(await tableExists(admin, 't')).toBe(false);

    await run({ ...base, '2_idx.up.sql': 'CREATE INDEX CONCURRENTLY t_id ON t (id);' }, { command: 'up' });
    expect(await tableExists(admin, 't_id')).toBe(true);
  });

  test('fails when the database is at a version the files do not have', async () => {
    await admin.query(
      'CREATE TABLE schema_migrations (version bigint not null primary key, dirty boolean not null)',
    );
    await admin.query('INSERT INTO schema_migrations VALUES (2, false)');
    await expect(
      run({ '1_a.up.sql': 'SELECT 1;', '3_c.up.sql': 'SELECT 1;' }, { command: 'up' }),
    ).rejects.toThrow(new NoMigrationFoundError(2n));
  });

  test('fails on a duplicate migration file before touching the database', async () => {
    const dir = migrationsDir({ '1_a.up.sql': 'SELECT 1;', '01_b.up.sql': 'SELECT 1;' });
    await expect(openMigrator(postgres(), database, dir)).rejects.toThrow(
      new MigrationSourceError('duplicate migration file: 1_a.up.sql'),
    );
    expect(await tableExists(admin, 'schema_migrations')).toBe(false);
  });
});

describe('a file failing halfway', () => {
  const FAILING = {
    '1_a.up.sql': 'CREATE TABLE a (id int);',
    '2_broken.up.sql': 'CREATE TABLE half (id int);\nSELECT 1/0;',
    '3_c.up.sql': 'CREATE TABLE c (id int);',
  };

  test('rolls the whole file back, leaves (N, dirty) and does not attempt later files', async () => {
    const error = await run(FAILING, { command: 'up' }).catch((e) => e);
    expect(error).toBeInstanceOf(MigrationFailedError);
    expect(error.message).toBe('migration failed: division by zero in line 0: 2_broken.up.sql');
    expect(await versionRows(admin)).toEqual([{ version: '2', dirty: true }]);
    expect(await tableExists(admin, 'a')).toBe(true);
    expect(await tableExists(admin, 'half')).toBe(false);
    expect(await tableExists(admin, 'c')).toBe(false);
  });

  test("makes the next run refuse with golang-migrate's dirty message", async () => {
    const dir = migrationsDir(FAILING);
    await runOn(dir, { command: 'up' }).catch(() => undefined);
    await expect(runOn(dir, { command: 'up' })).rejects.toThrow(
      new DirtyDatabaseError(2n).message, // "Dirty database version 2. Fix and force version."
    );
    await expect(runOn(dir, { command: 'down', steps: 1 })).rejects.toThrow(/^Dirty database version 2\./);
  });

  test('reports the line and column of a syntax error', async () => {
    const error = await run(
      { '1_typo.up.sql': 'SELECT 1;\nCREATE TABLEE x (id int);' },
      { command: 'up' },
    ).catch((e) => e);
    // golang-migrate's words, then what the runner knows: the server ran none of it.
    expect(error.message).toBe(
      'migration failed: syntax error at or near "TABLEE" (column 8) in line 2: 1_typo.up.sql' +
        ' (nothing of the file ran: PostgreSQL refused it before running any statement)',
    );
  });
});

describe('force', () => {
  test('clears dirty, runs no file, and a later up continues from the next version', async () => {
    const dir = migrationsDir({
      '1_a.up.sql': 'CREATE TABLE a (id int);',
      '2_broken.up.sql': 'SELECT 1/0;',
    });
    await runOn(dir, { command: 'up' }).catch(() => undefined);
    await runOn(dir, { command: 'force', version: 1n });
    expect(await versionRows(admin)).toEqual([{ version: '1', dirty: false }]);

    const fixed = migrationsDir({
      '1_a.up.sql': 'SELECT 1/0;',
      '2_fixed.up.sql': 'CREATE TABLE b (id int);',
    });
    await runOn(fixed, { command: 'up' });
    expect(await versionRows(admin)).toEqual([{ version: '2', dirty: false }]);
    expect(await tableExists(admin, 'b')).toBe(true);
  });

  test('force -1 empties the table', async () => {
    const dir = migrationsDir(THREE);
    await runOn(dir, { command: 'up' });
    await runOn(dir, { command: 'force', version: -1n });
    expect(await versionRows(admin)).toEqual([]);
    expect(await tableExists(admin, 'c')).toBe(true);
  });

  test('fails for versions below -1', async () => {
    await expect(run(THREE, { command: 'force', version: -2n })).rejects.toThrow(new InvalidVersionError());
  });
});

describe('down and goto', () => {
  test('down 1 runs the last down file and records the previous version', async () => {
    const dir = migrationsDir(THREE);
    await runOn(dir, { command: 'up' });
    const result = await runOn(dir, { command: 'down', steps: 1 });
    expect(result.applied.map((s) => [s.version, s.target])).toEqual([[3n, 2n]]);
    expect(await versionRows(admin)).toEqual([{ version: '2', dirty: false }]);
    expect(await tableExists(admin, 'c')).toBe(false);
  });

  test('down past the first file removes the row, then fails with "limit N short"', async () => {
    const dir = migrationsDir(THREE);
    await runOn(dir, { command: 'up', limit: 1 });
    await expect(runOn(dir, { command: 'down', steps: 2 })).rejects.toThrow(new ShortLimitError(1));
    expect(await versionRows(admin)).toEqual([]);
    expect(await tableExists(admin, 'a')).toBe(false);
  });

  test('goto moves down and up through every version between', async () => {
    const dir = migrationsDir(THREE);
    await runOn(dir, { command: 'up' });
    const down = await runOn(dir, { command: 'goto', version: 1n });
    expect(down.applied.map((s) => `${s.version}/${s.direction}`)).toEqual(['3/down', '2/down']);
    expect(await versionRows(admin)).toEqual([{ version: '1', dirty: false }]);
    const up = await runOn(dir, { command: 'goto', version: 3n });
    expect(up.applied.map((s) => `${s.version}/${s.direction}`)).toEqual(['2/up', '3/up']);
  });

  test('goto to a version without files fails before running anything', async () => {
    await expect(run(THREE, { command: 'goto', version: 7n })).rejects.toThrow(new NoMigrationFoundError(7n));
    expect(await tableExists(admin, 'a')).toBe(false);
  });
});

describe('the migration lock', () => {
  const lockHolders = (lockId: string) =>
    admin.query(
      `SELECT granted FROM pg_locks WHERE locktype = 'advisory' AND classid = 0 AND objid = $1::bigint::oid AND objsubid = 1`,
      [lockId],
    );

  async function waitFor(check: () => Promise<boolean>, what: string): Promise<void> {
    for (const started = Date.now(); Date.now() - started < 10_000;) {
      if (await check()) return;
      await new Promise((r) => setTimeout(r, 20));
    }
    throw new Error(`timed out waiting for ${what}`);
  }

  // The slow file waits for a gate the test holds (an advisory lock of its own), not for a fixed
  // time: it runs exactly as long as the test needs to look, and ends as soon as the test opens it.
  const GATE = 4242;
  const SLOW = {
    '1_slow.up.sql': `CREATE TABLE slow (id int); SELECT pg_advisory_xact_lock(${GATE});`,
    '2_next.up.sql': 'CREATE TABLE next (id int);',
  };
  let gate: Client | undefined;
  beforeEach(async () => {
    gate = await postgres().connect(database);
    await gate.query('SELECT pg_advisory_lock($1)', [GATE]);
  });
  /** Lets the slow file finish. */
  async function openGate(): Promise<void> {
    await gate?.end();
    gate = undefined;
  }
  afterEach(openGate);

  test('makes a second runner wait, untouched, until the first is done', async () => {
    const dir = migrationsDir(SLOW);
    const a = await openMigrator(postgres(), database, dir);
    const b = await openMigrator(postgres(), database, dir, { lockTimeoutMs: 20_000 });
    try {
      const first = a.migrator.run({ command: 'up', limit: 1 });
      await waitFor(
        async () => (await lockHolders(a.migrator.lockId)).rows.length === 1,
        'A to take the lock',
      );
      const second = b.migrator.run({ command: 'up' });
      await waitFor(
        async () => (await lockHolders(a.migrator.lockId)).rows.some((r) => !r.granted),
        'B to wait for the lock',
      );
      // A reaches its slow file (the dirty row) while B still waits.
      await waitFor(async () => (await versionRows(admin).catch(() => [])).length > 0, 'A to start its file');
      expect(await versionRows(admin)).toEqual([{ version: '1', dirty: true }]);
      expect((await lockHolders(a.migrator.lockId)).rows.map((r) => r.granted).sort()).toEqual([false, true]);
      await openGate();
      await first;
      const result = await second;
      expect(result.applied.map((s) => s.version)).toEqual([2n]);
      expect(await versionRows(admin)).toEqual([{ version: '2', dirty: false }]);
    } finally {
      await openGate();
      await a.close();
      await b.close();
    }
  });

  test("times out with golang-migrate's lock error without touching schema_migrations", async () => {
    const dir = migrationsDir(SLOW);
    const a = await openMigrator(postgres(), database, dir);
    const b = await openMigrator(postgres(), database, dir, { lockTimeoutMs: 200 });
    try {
      const first = a.migrator.run({ command: 'up', limit: 1 });
      await waitFor(
        async () => (await lockHolders(a.migrator.lockId)).rows.length === 1,
        'A to take the lock',
      );
      await waitFor(async () => (await versionRows(admin).catch(() => [])).length > 0, 'A to start its file');
      await expect(b.migrator.run({ command: 'force', version: 2n })).rejects.toThrow(
        new LockTimeoutError(a.migrator.lockId),
      );
      expect(await versionRows(admin)).toEqual([{ version: '1', dirty: true }]);
      await openGate();
      await first;
    } finally {
      await openGate();
      await a.close();
      await b.close();
    }
  });

  test("is released when the holder's session dies, and the waiter proceeds", async () => {
    const dir = migrationsDir({ '1_forever.up.sql': 'SELECT pg_sleep(60);' });
    const a = await openMigrator(postgres(), database, dir);
    const b = await openMigrator(postgres(), database, dir, { lockTimeoutMs: 20_000 });
    const holderPid = (await a.client.query('SELECT pg_backend_pid() AS pid')).rows[0].pid;
    try {
      const first = a.migrator.run({ command: 'up' }).catch((e) => e);
      await waitFor(
        async () => (await lockHolders(a.migrator.lockId)).rows.length === 1,
        'A to take the lock',
      );
      const second = b.migrator.run({ command: 'force', version: -1n });
      await waitFor(
        async () => (await lockHolders(a.migrator.lockId)).rows.some((r) => !r.granted),
        'B to wait for the lock',
      );
      await admin.query('SELECT pg_terminate_backend($1)', [holderPid]);
      await second;
      expect(await versionRows(admin)).toEqual([]);
      expect(await first).toBeInstanceOf(Error);
    } finally {
      await a.close().catch(() => undefined);
      await b.close();
    }
  });

  test('lets version be read while a migration runs', async () => {
    const dir = migrationsDir(SLOW);
    const a = await openMigrator(postgres(), database, dir);
    const reader = await openMigrator(postgres(), database, dir);
    try {
      const first = a.migrator.run({ command: 'up', limit: 1 });
      await waitFor(
        async () => (await lockHolders(a.migrator.lockId)).rows.length === 1,
        'A to take the lock',
      );
      await waitFor(async () => (await reader.migrator.version()).dirty, 'the dirty row');
      expect(await reader.migrator.version()).toEqual({ version: 1n, dirty: true });
      await openGate();
      await first;
    } finally {
      await openGate();
      await a.close();
      await reader.close();
    }
  });
});

describe('the time budget', () => {
  test('starts no file after the deadline', async () => {
    await expect(run(THREE, { command: 'up' }, { deadline: Date.now() - 1 })).rejects.toThrow(
      TimeBudgetError,
    );
    expect(await versionRows(admin)).toEqual([]);
  });

  test('without a watchdog connection, statement_timeout still cancels a statement running at the deadline', async () => {
    const files = { '1_slow.up.sql': 'CREATE TABLE slow (id int); SELECT pg_sleep(5);' };
    const error = await run(
      files,
      { command: 'up' },
      // statement_timeout is the budget but at least 1 s: any deadline up to ~1 s ends the file at
      // the same moment, so 0.9 s leaves the session that long to open and start the file (0.5 s
      // was not always enough on a machine at load 25).
      { deadline: Date.now() + 900, openWatchdog: undefined },
    ).catch((e) => e);
    expect(error).toBeInstanceOf(MigrationFailedError);
    // The budget's own words, never the raw "canceling statement due to statement timeout".
    expect(error.cancelledAtDeadline).toBe(true);
    expect(error.message).toMatch(/^migration cancelled at the deadline: 1_slow\.up\.sql was still running/);
    expect(await versionRows(admin)).toEqual([{ version: '1', dirty: true }]);
    expect(await tableExists(admin, 'slow')).toBe(false);
  });
});
