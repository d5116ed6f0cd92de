import * as fs from 'node:fs';
import { Client } from 'pg';
import { MigrationSourceError } from '../../lambda/db-migrate/files';
import { DirtyDatabaseError, MigrationFailedError, RunnerCommand } from '../../lambda/db-migrate/runner';
import { renderAdvice } from '../../lambda/db-migrate/advice';
import { useFreshDatabase, usePostgres } from '../helpers/postgres';
import { migrationsDir, openMigrator, tableExists, versionRows } from './fixtures';

/**
 * Migrations that fail safely: the whole-file deadline, a killed client's file, and advice for a
 * dirty database taken from evidence, each case followed to a correct schema.
 */

jest.setTimeout(60_000);
const postgres = usePostgres();

let admin: Client;
let database: string;
const fresh = useFreshDatabase(postgres, 'failsafe');
beforeEach(() => ({ database, admin } = fresh()));

type Options = Parameters<typeof openMigrator>[3];

async function run(dir: string, command: RunnerCommand, options: Options = {}) {
  const session = await openMigrator(postgres(), database, dir, options);
  try {
    return await session.migrator.run(command);
  } finally {
    await session.close();
  }
}

/** The advice as a deploy shows it, with the CLI's force command. */
const adviceOf = (err: DirtyDatabaseError | MigrationFailedError) =>
  renderAdvice(err.advice!, (v) => `migrate force ${v}`);

/** Follows the advice: the version it says to force. */
function forcedVersion(advice: string): bigint {
  const match = /run "migrate force (-?\d+)"/.exec(advice);
  if (!match) throw new Error(`the advice names no version to force: ${advice}`);
  return BigInt(match[1]);
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** Whether a backend still runs for `pid`. */
async function backendAlive(pid: number): Promise<boolean> {
  const { rows } = await admin.query('SELECT 1 FROM pg_stat_activity WHERE pid = $1', [pid]);
  return rows.length > 0;
}

/** Waits (polling) until backend `pid` has exited: from then on it can commit nothing. */
async function backendGone(pid: number, ms = 15_000): Promise<void> {
  const until = Date.now() + ms;
  while (await backendAlive(pid)) {
    if (Date.now() > until) throw new Error(`backend ${pid} still runs after ${ms} ms`);
    await sleep(50);
  }
}

describe('the deadline holds for the whole file', () => {
  test('a file of several long statements is cancelled as a whole at the deadline and rolled back', async () => {
    // statement_timeout (the budget, at least 1 s) would let each 0.3-second statement run: 1.5 s
    // in all against a 1-second budget. Only the whole-file watchdog stops it in time.
    const dir = migrationsDir({
      '1_slow.up.sql': `${'SELECT pg_sleep(0.3);\n'.repeat(5)}CREATE TABLE after_sleeps (id int);\n`,
    });
    const started = Date.now();
    const budget = 1_000;
    const error = await run(dir, { command: 'up' }, { deadline: started + budget }).catch((e) => e);
    const elapsed = Date.now() - started;

    expect(error).toBeInstanceOf(MigrationFailedError);
    expect(error.cancelledAtDeadline).toBe(true);
    expect(error.message).toMatch(/^migration cancelled at the deadline: 1_slow\.up\.sql was still running/);
    expect(elapsed).toBeLessThan(budget + 900);
    expect(await tableExists(admin, 'after_sleeps')).toBe(false);
    expect(adviceOf(error)).toContain('did not commit');
    // Nothing commits later either: look again after the file would have finished (1.5 s in).
    await sleep(started + 2_000 - Date.now());
    expect(await tableExists(admin, 'after_sleeps')).toBe(false);
  });

  test('a file that finishes just before the deadline is not harmed by the watchdog', async () => {
    const dir = migrationsDir({ '1_quick.up.sql': 'SELECT pg_sleep(0.3); CREATE TABLE quick (id int);' });
    await run(dir, { command: 'up' }, { deadline: Date.now() + 450 });
    expect(await versionRows(admin)).toEqual([{ version: '1', dirty: false }]);
    expect(await tableExists(admin, 'quick')).toBe(true);
  });
});

describe('a client killed mid-file (as Lambda kills a function at its timeout)', () => {
  // With the server's check (every 1 s, the runner's default), 2.5 s of file leave more than a
  // second to spare after the kill (0.3 s in); without it, 1 s of file is enough to see it commit.
  const slowFile = (ms: number) => ({
    '1_slow.up.sql': `CREATE TABLE killed (id int);\n${'SELECT pg_sleep(0.25);\n'.repeat(ms / 250)}`,
  });

  /** Starts `up` of a `fileMs` file and drops the connection 300 ms in, as a killed process's socket closes. */
  async function killMidFile(fileMs: number, options: Options): Promise<{ pid: number }> {
    const session = await openMigrator(postgres(), database, migrationsDir(slowFile(fileMs)), options);
    const { rows } = await session.client.query('SELECT pg_backend_pid() AS pid');
    const running = session.migrator.run({ command: 'up' }).catch(() => undefined);
    await sleep(300);
    (
      session.client as unknown as { connection: { stream: { destroy(): void } } }
    ).connection.stream.destroy();
    await running;
    return { pid: rows[0].pid };
  }

  test('leaves nothing from the file committed later: the server notices and rolls it back', async () => {
    // The backend exits when it notices (its transaction rolled back): from then on nothing of the
    // file can commit. Had it not noticed, it would run the file to the end and commit first.
    const { pid } = await killMidFile(2_500, {});
    await backendGone(pid);
    expect(await backendAlive(pid)).toBe(false);
    expect(await tableExists(admin, 'killed')).toBe(false);
    expect(await versionRows(admin)).toEqual([{ version: '1', dirty: true }]);
  });

  test('without client_connection_check_interval the server would commit it (why the runner sets it)', async () => {
    const { pid } = await killMidFile(1_000, { connectionCheckIntervalMs: 0 });
    await backendGone(pid); // it ends once the file is done and it finds its client gone
    expect(await tableExists(admin, 'killed')).toBe(true);
    // ...together with golang-migrate's clean row, which rides in the file's transaction.
    expect(await versionRows(admin)).toEqual([{ version: '1', dirty: false }]);
  });
});

describe('advice for a dirty database, from evidence; following it ends in the right schema', () => {
  test('the client died mid-file and the server committed it: the clean version committed with it, nothing to force', async () => {
    const dir = migrationsDir({
      '1_balances.up.sql':
        'CREATE TABLE balances (id int PRIMARY KEY, pence bigint); INSERT INTO balances VALUES (1, 1234);',
      '2_to_tenths.up.sql': 'UPDATE balances SET pence = pence * 10; SELECT pg_sleep(1.5);',
    });
    await run(dir, { command: 'up', limit: 1 });
    // Without the connection check (as with a client that vanished without closing), the server
    // finishes the file after the client is gone.
    const session = await openMigrator(postgres(), database, dir, { connectionCheckIntervalMs: 0 });
    const { rows: pids } = await session.client.query('SELECT pg_backend_pid() AS pid');
    const running = session.migrator.run({ command: 'up' }).catch((e) => e);
    await sleep(200);
    (
      session.client as unknown as { connection: { stream: { destroy(): void } } }
    ).connection.stream.destroy();
    await running;
    await backendGone(pids[0].pid); // the server finished the file, then found its client gone

    // golang-migrate's clean row was part of the file's transaction: no dirty database to advise on,
    // so the old advice ("force 1", then the file runs again: 123400) never comes up.
    expect(await versionRows(admin)).toEqual([{ version: '2', dirty: false }]);
    await expect(run(dir, { command: 'up' })).resolves.toMatchObject({ noChange: true });
    expect((await admin.query('SELECT pence FROM balances')).rows).toEqual([{ pence: '12340' }]);
  });

  test('the file committed but the clean write did not (a version without SQL): force that version', async () => {
    // A down-only version has no up file: the runner records it as committed at once.
    const dir = migrationsDir({
      '1_a.up.sql': 'CREATE TABLE a (id int);',
      '2_only_down.down.sql': 'SELECT 1;',
    });
    await run(dir, { command: 'up', limit: 1 });
    const session = await openMigrator(postgres(), database, dir);
    const query = session.client.query.bind(session.client) as (...a: unknown[]) => Promise<unknown>;
    jest.spyOn(session.client, 'query').mockImplementation(((text: unknown, ...rest: unknown[]) => {
      if (typeof text === 'string' && text.includes('VALUES (2, false)')) {
        return Promise.reject(new Error('Connection terminated unexpectedly'));
      }
      return query(text, ...rest);
    }) as never);
    await expect(session.migrator.run({ command: 'up' })).rejects.toThrow('Connection terminated');
    await session.close();
    expect(await versionRows(admin)).toEqual([{ version: '2', dirty: true }]);

    const error: DirtyDatabaseError = await run(dir, { command: 'up' }).catch((e) => e);
    const advice = adviceOf(error);
    expect(advice).toContain('do NOT run the file again');
    await run(dir, { command: 'force', version: forcedVersion(advice) });
    expect(await versionRows(admin)).toEqual([{ version: '2', dirty: false }]);
  });

  test('a failed CREATE INDEX CONCURRENTLY: drop the INVALID index it left, fix the data, force the version before', async () => {
    const dir = migrationsDir({
      '1_codes.up.sql': "CREATE TABLE codes (code text); INSERT INTO codes VALUES ('a'), ('a'), ('b');",
      '2_unique_code.up.sql': 'CREATE UNIQUE INDEX CONCURRENTLY codes_code_idx ON codes (code);',
    });
    const failure: MigrationFailedError = await run(dir, { command: 'up' }).catch((e) => e);
    expect(failure).toBeInstanceOf(MigrationFailedError);
    expect(failure.message).toMatch(/could not create unique index "codes_code_idx"/);

    // The next deploy shows the advice (the old one would say "force 1" and fail on "already exists").
    const error: DirtyDatabaseError = await run(dir, { command: 'up' }).catch((e) => e);
    const advice = adviceOf(error);
    expect(advice).toContain('left codes_code_idx INVALID');
    const drop = /run "(DROP INDEX CONCURRENTLY IF EXISTS codes_code_idx)" in the database/.exec(advice);
    expect(drop).not.toBeNull();

    await admin.query(drop![1]);
    await admin.query("DELETE FROM codes WHERE ctid = (SELECT max(ctid) FROM codes WHERE code = 'a')"); // the fix
    await run(dir, { command: 'force', version: forcedVersion(advice) });
    await run(dir, { command: 'up' });
    const { rows } = await admin.query(
      "SELECT i.indisvalid AS valid FROM pg_index i WHERE i.indexrelid = 'codes_code_idx'::regclass",
    );
    expect(rows).toEqual([{ valid: true }]);
    expect(await versionRows(admin)).toEqual([{ version: '2', dirty: false }]);
  });

  test('a failed down: the schema is still at the higher version, which the advice says to force', async () => {
    const files = {
      '1_a.up.sql': 'CREATE TABLE a (id int);',
      '1_a.down.sql': 'DROP TABLE a;',
      '2_b.up.sql': 'CREATE TABLE b (id int);',
      '2_b.down.sql': 'DROP TABLE b; SELECT 1/0;',
    };
    const dir = migrationsDir(files);
    await run(dir, { command: 'up' });
    await expect(run(dir, { command: 'down', steps: 1 })).rejects.toBeInstanceOf(MigrationFailedError);
    expect(await versionRows(admin)).toEqual([{ version: '1', dirty: true }]);

    const error: DirtyDatabaseError = await run(dir, { command: 'up' }).catch((e) => e);
    const advice = adviceOf(error);
    expect(advice).toContain('still at 2');
    await run(dir, { command: 'force', version: forcedVersion(advice) });
    expect(await versionRows(admin)).toEqual([{ version: '2', dirty: false }]);
    expect(await tableExists(admin, 'b')).toBe(true);

    // With the down fixed, it runs as intended.
    const fixed = migrationsDir({ ...files, '2_b.down.sql': 'DROP TABLE b;' });
    await run(fixed, { command: 'down', steps: 1 });
    expect(await tableExists(admin, 'b')).toBe(false);
    expect(await versionRows(admin)).toEqual([{ version: '1', dirty: false }]);
  });

  test("the first version's down failed: the advice names that version, not -1", async () => {
    const dir = migrationsDir({
      '1_a.up.sql': 'CREATE TABLE a (id int);',
      '1_a.down.sql': 'DROP TABLE a; SELECT 1/0;',
    });
    await run(dir, { command: 'up' });
    await expect(run(dir, { command: 'down', steps: 1 })).rejects.toBeInstanceOf(MigrationFailedError);
    expect(await versionRows(admin)).toEqual([{ version: '-1', dirty: true }]);

    const error: DirtyDatabaseError = await run(dir, { command: 'up' }).catch((e) => e);
    expect(error.message).toBe('Dirty database version -1. Fix and force version.'); // golang-migrate's words
    const advice = adviceOf(error);
    expect(forcedVersion(advice)).toBe(1n);
    await run(dir, { command: 'force', version: forcedVersion(advice) });
    await run(dir, { command: 'up' });
    expect(await versionRows(admin)).toEqual([{ version: '1', dirty: false }]);
    expect(await tableExists(admin, 'a')).toBe(true);
  });

  test('a failed up in one transaction: nothing committed, force the version before', async () => {
    const files = {
      '1_a.up.sql': 'CREATE TABLE a (id int);',
      '2_b.up.sql': 'CREATE TABLE b (id int); SELECT 1/0;',
    };
    const dir = migrationsDir(files);
    const failure: MigrationFailedError = await run(dir, { command: 'up' }).catch((e) => e);
    expect(adviceOf(failure)).toContain('did not commit');
    const error: DirtyDatabaseError = await run(dir, { command: 'up' }).catch((e) => e);
    const advice = adviceOf(error);
    expect(forcedVersion(advice)).toBe(1n);
    await run(dir, { command: 'force', version: forcedVersion(advice) });
    await run(migrationsDir({ ...files, '2_b.up.sql': 'CREATE TABLE b (id int);' }), { command: 'up' });
    expect(await tableExists(admin, 'b')).toBe(true);
    expect(await versionRows(admin)).toEqual([{ version: '2', dirty: false }]);
  });

  test('a file with its own BEGIN/COMMIT blocks, half applied: says which blocks committed and forces neither version', async () => {
    const dir = migrationsDir({
      '1_two_steps.up.sql':
        'BEGIN;\nCREATE TABLE first_half (id int);\nCOMMIT;\nBEGIN;\nSELECT 1/0;\nCOMMIT;\n',
    });
    await expect(run(dir, { command: 'up' })).rejects.toBeInstanceOf(MigrationFailedError);
    const error: DirtyDatabaseError = await run(dir, { command: 'up' }).catch((e) => e);
    expect(error.advice?.certain).toBe(false);
    const advice = adviceOf(error);
    expect(advice).toContain('1 of its 2 transaction block(s) committed');
    expect(advice).toContain('everything after line 3');
    expect(advice).toContain('present: table first_half');
    expect(advice).not.toMatch(/run "migrate force/);
    expect(await tableExists(admin, 'first_half')).toBe(true); // indeed half done
  });

  test('a dirty row the runner did not write (the golang-migrate CLI): says it cannot know', async () => {
    const dir = migrationsDir({ '1_a.up.sql': 'CREATE TABLE a (id int);' });
    await admin.query(
      'CREATE TABLE schema_migrations (version bigint not null primary key, dirty boolean not null)',
    );
    await admin.query('INSERT INTO schema_migrations VALUES (1, true)');
    const error: DirtyDatabaseError = await run(dir, { command: 'up' }).catch((e) => e);
    expect(error.advice?.certain).toBe(false);
    expect(adviceOf(error)).toMatch(/^No record of the run that left \(1, dirty\)/);
  });
});

describe('advice from what the server did, never from what the file was expected to do', () => {
  const base = { '1_a.up.sql': 'CREATE TABLE a (id int);' };

  test.each([
    ['a misspelt keyword', 'CREATE TABLE case_b (id int);\nSELEC 1;\n'],
    ['a byte-order mark', '\uFEFFCREATE TABLE case_b (id int);\n'],
    [
      'a syntax error after a BEGIN … COMMIT block',
      'BEGIN;\nCREATE TABLE case_b (id int);\nCOMMIT;\nSELEC 1;\n',
    ],
  ])(
    'a file that does not parse (%s): (2, dirty) as the CLI leaves it, "nothing ran", force 1',
    async (_case, sql) => {
      const dir = migrationsDir({ ...base, '2_case.up.sql': sql });
      const failure: MigrationFailedError = await run(dir, { command: 'up' }).catch((e) => e);
      expect(failure).toBeInstanceOf(MigrationFailedError);
      expect(failure.message).toContain('nothing of the file ran');
      expect(adviceOf(failure)).toMatch(/^Nothing of the up 2_case\.up\.sql ran/);
      // The CLI's checkpoint: golang-migrate writes (2, dirty) before it sends the file.
      expect(await versionRows(admin)).toEqual([{ version: '2', dirty: true }]);
      expect(await tableExists(admin, 'case_b')).toBe(false);

      const error: DirtyDatabaseError = await run(dir, { command: 'up' }).catch((e) => e);
      const advice = adviceOf(error);
      expect(advice).not.toContain('do NOT run the file again');
      expect(forcedVersion(advice)).toBe(1n); // never "force 2": the file never ran
      await run(dir, { command: 'force', version: forcedVersion(advice) });
      await run(migrationsDir({ ...base, '2_case.up.sql': 'CREATE TABLE case_b (id int);' }), {
        command: 'up',
      });
      expect(await tableExists(admin, 'case_b')).toBe(true);
      expect(await versionRows(admin)).toEqual([{ version: '2', dirty: false }]);
    },
  );

  test('a lone CONCURRENTLY statement that does not parse: nothing ran, force 1', async () => {
    const dir = migrationsDir({ ...base, '2_idx.up.sql': 'CREATE INDEX CONCURRENTLY a_id ON a (id' });
    await expect(run(dir, { command: 'up' })).rejects.toBeInstanceOf(MigrationFailedError);
    const error: DirtyDatabaseError = await run(dir, { command: 'up' }).catch((e) => e);
    expect(adviceOf(error)).toMatch(/^Nothing of the up 2_idx\.up\.sql ran/);
    expect(forcedVersion(adviceOf(error))).toBe(1n);
  });

  test('a BEGIN … COMMIT block beside CREATE INDEX CONCURRENTLY is refused before anything runs, naming the rule', async () => {
    const dir = migrationsDir({
      ...base,
      '2_audit.up.sql':
        'BEGIN;\nCREATE TABLE audit (id int);\nCOMMIT;\nCREATE INDEX CONCURRENTLY audit_id ON audit (id);\n',
    });
    await run(dir, { command: 'up', limit: 1 });
    const error = await run(dir, { command: 'up' }).catch((e) => e);
    expect(error.message).toMatch(
      /^migration file 2_audit\.up\.sql breaks the one-CONCURRENTLY-per-file rule/,
    );
    expect(error.message).toContain('including a BEGIN … COMMIT block');
    // The block did not run, so nobody is advised to force past it.
    expect(await tableExists(admin, 'audit')).toBe(false);
    expect(await versionRows(admin)).toEqual([{ version: '1', dirty: false }]);
  });

  test('blocks of which none committed: the record says so, force 1, and following it ends right', async () => {
    const files = {
      ...base,
      '2_blocks.up.sql':
        'BEGIN;\nCREATE TABLE ledger (id int);\nINSERT INTO ledger VALUES (1);\nSELECT 1/0;\nCOMMIT;\nBEGIN;\nUPDATE ledger SET id = id + 1;\nCOMMIT;\n',
    };
    const failure: MigrationFailedError = await run(migrationsDir(files), { command: 'up' }).catch((e) => e);
    expect(adviceOf(failure)).toContain('None of the 2 transaction block(s)');
    expect(adviceOf(failure)).toContain('absent: table ledger');
    const error: DirtyDatabaseError = await run(migrationsDir(files), { command: 'up' }).catch((e) => e);
    expect(error.advice?.certain).toBe(true);
    await run(migrationsDir(files), { command: 'force', version: forcedVersion(adviceOf(error)) });
    const fixed = { ...files, '2_blocks.up.sql': files['2_blocks.up.sql'].replace('SELECT 1/0;\n', '') };
    await run(migrationsDir(fixed), { command: 'up' });
    expect((await admin.query('SELECT id FROM ledger')).rows).toEqual([{ id: 2 }]); // each block once
    expect(await versionRows(admin)).toEqual([{ version: '2', dirty: false }]);
  });

  test('every block committed and a statement after them failed: half applied, neither version forced', async () => {
    const dir = migrationsDir({
      ...base,
      '2_tail.up.sql':
        'BEGIN;\nCREATE TABLE kept (id int);\nCOMMIT;\nCREATE TABLE lost (id int);\nSELECT 1/0;\n',
    });
    await expect(run(dir, { command: 'up' })).rejects.toBeInstanceOf(MigrationFailedError);
    const error: DirtyDatabaseError = await run(dir, { command: 'up' }).catch((e) => e);
    const advice = adviceOf(error);
    expect(advice).toContain('1 of its 1 transaction block(s) committed');
    expect(advice).toContain('present: table kept; absent: table lost');
    expect(advice).not.toMatch(/run "migrate force/);
  });

  test('an attempts table from an older runner gains the evidence columns, and the advice uses them', async () => {
    await admin.query(`CREATE TABLE cb_migration_attempts (id bigserial PRIMARY KEY, version bigint NOT NULL,
      direction text NOT NULL, from_version bigint NOT NULL, target bigint NOT NULL, file text,
      not_wrapped_reason text, started_at timestamptz NOT NULL DEFAULT clock_timestamp(), committed_at timestamptz)`);
    const dir = migrationsDir({ ...base, '2_case.up.sql': 'SELEC 1;' });
    await expect(run(dir, { command: 'up' })).rejects.toBeInstanceOf(MigrationFailedError);
    const error: DirtyDatabaseError = await run(dir, { command: 'up' }).catch((e) => e);
    expect(adviceOf(error)).toMatch(/^Nothing of the up 2_case\.up\.sql ran/);
  });

  test('a block file that succeeds is clean in the same query (the row turns clean with its last part)', async () => {
    const dir = migrationsDir({ ...base, '2_ok.up.sql': 'BEGIN;\nCREATE TABLE ok (id int);\nCOMMIT;\n' });
    await run(dir, { command: 'up' });
    expect(await versionRows(admin)).toEqual([{ version: '2', dirty: false }]);
    const { rows } = await admin.query(
      'SELECT blocks, committed_blocks, committed_at IS NOT NULL AS committed FROM cb_migration_attempts ORDER BY id DESC LIMIT 1',
    );
    expect(rows).toEqual([{ blocks: 1, committed_blocks: 1, committed: true }]);
  });
});

describe('bytes, not text', () => {
  test('a file that is not UTF-8 is refused with its name and byte offset before anything runs', async () => {
    const dir = migrationsDir({ '1_a.up.sql': 'CREATE TABLE a (id int);' });
    fs.writeFileSync(
      `${dir}/2_latin1.up.sql`,
      Buffer.from([...Buffer.from("SELECT 'caf"), 0xe9, 0x27, 0x3b]),
    );
    const error = await run(dir, { command: 'up' }).catch((e) => e);
    expect(error).toBeInstanceOf(MigrationSourceError);
    expect(error.message).toMatch(
      /^migration file 2_latin1\.up\.sql is not valid UTF-8 at byte offset 11 \(bytes 0xe9 0x27 0x3b\)/,
    );
    // Not even the good file before it ran: the database is untouched.
    expect(await tableExists(admin, 'a')).toBe(false);
  });
});
