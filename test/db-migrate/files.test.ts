import * as fs from 'node:fs';
import * as path from 'node:path';
import {
  decodeMigration,
  invalidUtf8Offset,
  MAX_VERSION,
  MigrationSet,
  MigrationSourceError,
  parseMigrationFileName,
} from '../../lambda/db-migrate/files';
import {
  checkFileRules,
  concurrentIndexName,
  MigrationRuleError,
  transactionBlocks,
  whyNotWrappable,
} from '../../lambda/db-migrate/transaction';
import { advisoryLockId, cliDatabaseName, migrationLockId } from '../../lambda/db-migrate/lock';
import {
  describeStep,
  NIL_VERSION,
  NoMigrationFoundError,
  NothingToMigrateError,
  planDown,
  planGoto,
  planUp,
  ShortLimitError,
} from '../../lambda/db-migrate/plan';
import { goDuration, lineAndColumn } from '../../lambda/db-migrate/runner';

const set = (...names: string[]) => new MigrationSet(names, () => '');

describe('file names, parsed by golang-migrate rules', () => {
  test.each([
    ['20240115120000_price_history.up.sql', 20240115120000n, 'price_history', 'up'],
    ['1_.down.sql', 1n, '', 'down'],
    ['007_leading_zeros.up.sql', 7n, 'leading_zeros', 'up'],
    ['3_any_extension.up.txt', 3n, 'any_extension', 'up'],
    // Greedy like Go's regexp: the last ".up." / ".down." before the extension is the direction.
    ['4_a.up.b.down.sql', 4n, 'a.up.b', 'down'],
  ])('accepts %s', (name, version, identifier, direction) => {
    expect(parseMigrationFileName(name)).toEqual({ version, identifier, direction, name });
  });

  test.each([
    'README.md',
    'v1_missing_digits.up.sql',
    '1-dash.up.sql',
    '1_no_direction.sql',
    '1_sideways.left.sql',
    '1_newline\n.up.sql',
    '18446744073709551616_above_uint64.up.sql',
  ])('ignores %j, as golang-migrate does', (name) => {
    expect(parseMigrationFileName(name)).toBeUndefined();
  });

  test('fails for a version golang-migrate parses but schema_migrations.version (bigint) cannot hold', () => {
    expect(() => parseMigrationFileName(`${MAX_VERSION + 1n}_too_big.up.sql`)).toThrow(
      /is above 9223372036854775807.*Fix: rename the file/,
    );
    expect(parseMigrationFileName(`${MAX_VERSION}_largest.up.sql`)?.version).toBe(MAX_VERSION);
  });

  test('orders versions numerically and lists what it ignores', () => {
    const source = set('10_ten.up.sql', '2_two.up.sql', 'notes.txt', '2_two.down.sql', '1_one.down.sql');
    expect(source.versions).toEqual([1n, 2n, 10n]);
    expect(source.ignored).toEqual(['notes.txt']);
    expect([source.first, source.last, source.next(2n), source.prev(2n), source.prev(1n)]).toEqual([
      1n,
      10n,
      10n,
      1n,
      undefined,
    ]);
    expect(source.file(1n, 'up')).toBeUndefined();
  });

  test('fails on the same version and direction twice, naming the later file as Go sorts them', () => {
    expect(() => set('1_a.up.sql', '01_b.up.sql')).toThrow(
      new MigrationSourceError('duplicate migration file: 1_a.up.sql'),
    );
  });

  test("every file in the repository's migrations/ is a golang-migrate migration with both directions", () => {
    const dir = path.join(__dirname, '..', '..', 'migrations');
    const source = MigrationSet.fromDirectory(dir);
    expect(source.ignored.filter((name) => !/\.md$/.test(name))).toEqual([]);
    for (const version of source.versions) {
      expect([version, !!source.file(version, 'up'), !!source.file(version, 'down')]).toEqual([
        version,
        true,
        true,
      ]);
    }
    expect(fs.readdirSync(dir).length).toBeGreaterThan(0);
  });
});

describe('the advisory lock id', () => {
  test.each([
    [['database_name'], '1764327054'],
    [['database_name', 'schema_name_1'], '2453313553'],
    [['database_name', 'schema_name_2'], '235207038'],
    [['database_name', 'schema_name_1', 'schema_name_2'], '3743845847'],
    [['trading', 'public', 'schema_migrations'], '1454822133'],
  ])('reproduces golang-migrate for %j', (args, id) => {
    const [name, ...more] = args;
    expect(advisoryLockId(name, ...more)).toBe(id);
  });

  test("uses the CLI's databaseName: the URL path with its leading slash", () => {
    expect(cliDatabaseName('trading')).toBe('/trading');
    expect(migrationLockId('trading', 'public', 'schema_migrations')).toBe('3121547234');
    // The guide's postgresql://…:5432/clever_better?sslmode=require
    expect(migrationLockId('clever_better', 'public', 'schema_migrations')).toBe('1610816712');
    expect(advisoryLockId('clever_better', 'public', 'schema_migrations')).not.toBe('1610816712');
  });
});

describe('plans, decided as golang-migrate decides them', () => {
  const three = set('1_a.up.sql', '1_a.down.sql', '2_b.up.sql', '2_b.down.sql', '3_c.up.sql', '3_c.down.sql');
  const route = (plan: ReturnType<typeof planUp>) => plan.steps.map((s) => `${s.version}>${s.target}`);

  test('up from no version applies every file', () => {
    expect(route(planUp(three, NIL_VERSION, -1))).toEqual(['1>1', '2>2', '3>3']);
  });

  test('up at the last version is no change', () => {
    expect(planUp(three, 3n, -1)).toMatchObject({ noChange: true, steps: [] });
  });

  test('up N beyond the files applies what exists, then fails short', () => {
    const plan = planUp(three, 2n, 3);
    expect(route(plan)).toEqual(['3>3']);
    expect(plan.error).toEqual(new ShortLimitError(2));
  });

  test('up N at the last version fails with nothing to apply', () => {
    expect(planUp(three, 3n, 1).error).toBeInstanceOf(NothingToMigrateError);
  });

  test('down 1 from the first version removes the row (target -1)', () => {
    expect(route(planDown(three, 1n, 1))).toEqual(['1>-1']);
  });

  test('down from no version fails', () => {
    expect(planDown(three, NIL_VERSION, 1).error).toBeInstanceOf(NothingToMigrateError);
  });

  test('goto walks down and up, and fails for an unknown version or an unknown current version', () => {
    expect(route(planGoto(three, 3n, 1n))).toEqual(['3>2', '2>1']);
    expect(route(planGoto(three, NIL_VERSION, 2n))).toEqual(['1>1', '2>2']);
    expect(planGoto(three, 3n, 3n).noChange).toBe(true);
    expect(planGoto(three, 1n, 9n).error).toEqual(new NoMigrationFoundError(9n));
    expect(planGoto(three, 9n, 1n).error).toEqual(new NoMigrationFoundError(9n));
  });
});

describe('what the CLI prints', () => {
  test.each([
    [0n, '0s'],
    [999n, '999ns'],
    [1_500n, '1.5µs'],
    [12_345_678n, '12.345678ms'],
    [1_000_000_000n, '1s'],
    [61_500_000_000n, '1m1.5s'],
    [3_600_000_000_000n, '1h0m0s'],
  ])('formats %s ns as Go does: %s', (ns, text) => {
    expect(goDuration(ns)).toBe(text);
  });

  test('a version without a file in that direction is "<empty>", a file with an empty title prints nothing', () => {
    const source = set('1_.up.sql', '2_two.up.sql');
    expect(describeStep(planDown(source, 2n, 1).steps[0])).toBe('2/d <empty>');
    expect(describeStep(planUp(source, NIL_VERSION, 1).steps[0])).toBe('1/u ');
  });

  test('a missing version is worded as the CLI words it', () => {
    expect(new NoMigrationFoundError(7n).message).toBe(
      'no migration found for version 7: read down for version 7 .: file does not exist',
    );
  });

  test('locates an error position in lines and columns as golang-migrate does', () => {
    expect(lineAndColumn('SELECT 1;\r\nSELEC 2;', 11)).toEqual({ line: 2, column: 1 });
    expect(lineAndColumn('SELECT 1;', 99)).toBeUndefined();
  });
});

describe('bytes, not text', () => {
  test.each([
    ['ASCII', [0x53, 0x45, 0x4c], -1],
    ['two-, three- and four-byte characters', [...Buffer.from('é€😀')], -1],
    ['a Latin-1 é', [0x63, 0x61, 0x66, 0xe9], 3],
    ['a lone continuation byte', [0x41, 0x80], 1],
    ['an overlong encoding of "/"', [0xc0, 0xaf], 0],
    ['a UTF-16 surrogate', [0x41, 0xed, 0xa0, 0x80], 1],
    ['above U+10FFFF', [0xf4, 0x90, 0x80, 0x80], 0],
    ['a truncated sequence at the end', [0x41, 0xe2, 0x82], 1],
  ])('%s: first invalid byte offset %s', (_what, bytes, offset) => {
    expect(invalidUtf8Offset(Uint8Array.from(bytes))).toBe(offset);
  });

  test('a valid file is decoded unchanged (a byte-order mark included); an invalid one is refused, not altered', () => {
    const text = "\ufeffSELECT 'café';";
    expect(decodeMigration('1_a.up.sql', Buffer.from(text))).toBe(text);
    expect(() => decodeMigration('1_a.up.sql', Buffer.from([0x27, 0xff, 0x27]))).toThrow(
      /^migration file 1_a\.up\.sql is not valid UTF-8 at byte offset 1 \(bytes 0xff 0x27\)/,
    );
  });
});

describe('which files carry their commit record in their own transaction', () => {
  test.each([
    ['plain DDL and data', 'CREATE TABLE a (id int); INSERT INTO a VALUES (1);', undefined],
    [
      'BEGIN inside a function body or DO block',
      'DO $$ BEGIN PERFORM 1; END $$; CREATE FUNCTION f() RETURNS int LANGUAGE plpgsql AS $b$ BEGIN RETURN 1; END $b$;',
      undefined,
    ],
    [
      'keywords in comments and strings',
      "-- BEGIN;\n/* COMMIT; /* nested */ */ SELECT 'BEGIN; VACUUM';",
      undefined,
    ],
    ['its own BEGIN/COMMIT', 'BEGIN; CREATE TABLE a (id int); COMMIT;', 'its own BEGIN/COMMIT'],
    ['START TRANSACTION', 'start transaction; select 1; end;', 'its own BEGIN/COMMIT'],
    [
      'CREATE INDEX CONCURRENTLY',
      'CREATE INDEX CONCURRENTLY a_idx ON a (id);',
      'CONCURRENTLY (not allowed in a transaction block)',
    ],
    ['VACUUM', 'VACUUM ANALYZE a;', 'VACUUM (not allowed in a transaction block)'],
    ['an unterminated comment', 'SELECT 1; /* oops', 'an unterminated comment, string or dollar-quoted body'],
  ])('%s', (_what, sql, reason) => {
    expect(whyNotWrappable(sql)).toBe(reason);
  });

  test('names the index a CONCURRENTLY file builds', () => {
    expect(
      concurrentIndexName('CREATE UNIQUE INDEX CONCURRENTLY IF NOT EXISTS Bets_Ref ON bets (ref);'),
    ).toBe('bets_ref');
    expect(concurrentIndexName('CREATE INDEX CONCURRENTLY "Mixed Case" ON bets (ref);')).toBe('Mixed Case');
    expect(concurrentIndexName('CREATE INDEX a_idx ON a (id);')).toBeUndefined();
  });
});

describe('the one-CONCURRENTLY-per-file rule (checked before anything runs)', () => {
  test.each([
    [
      'a lone CONCURRENTLY statement',
      'CREATE INDEX CONCURRENTLY a_idx ON a (id);\n-- trailing comment\n',
      true,
    ],
    [
      'CONCURRENTLY in a comment or a string beside others',
      "-- CONCURRENTLY\nSELECT 'CONCURRENTLY'; SELECT 1;",
      true,
    ],
    ['a file without CONCURRENTLY', 'CREATE TABLE a (id int); CREATE INDEX a_idx ON a (id);', true],
    ['CONCURRENTLY beside another statement', 'CREATE INDEX CONCURRENTLY a_idx ON a (id); SELECT 1;', false],
    [
      'two CONCURRENTLY statements',
      'DROP INDEX CONCURRENTLY a; CREATE INDEX CONCURRENTLY b ON t (id);',
      false,
    ],
    [
      'CONCURRENTLY after a BEGIN … COMMIT block',
      'BEGIN; CREATE TABLE t (id int); COMMIT; CREATE INDEX CONCURRENTLY t_id ON t (id);',
      false,
    ],
  ])('%s: allowed = %s', (_what, sql, allowed) => {
    const check = () => checkFileRules('2_x.up.sql', sql);
    if (allowed) expect(check).not.toThrow();
    else expect(check).toThrow(MigrationRuleError);
  });

  test('the refusal names the file, the rule and the fix', () => {
    expect(() =>
      checkFileRules('2_x.up.sql', 'BEGIN; SELECT 1; COMMIT; CREATE INDEX CONCURRENTLY i ON t (id);'),
    ).toThrow(
      /^migration file 2_x\.up\.sql breaks the one-CONCURRENTLY-per-file rule: it has 1 CONCURRENTLY statement\(s\) beside 3 other statement\(s\), including a BEGIN … COMMIT block\..*Nothing ran\. Fix: move each CONCURRENTLY statement into a migration file of its own/s,
    );
  });
});

describe('transaction blocks of a file (where the runner records each commit)', () => {
  test.each([
    ['two committing blocks', 'BEGIN; SELECT 1; COMMIT;\nBEGIN; SELECT 2; END;', [true, true]],
    ['a block that rolls back', 'START TRANSACTION; SELECT 1; ROLLBACK; SELECT 2;', [false]],
    ['BEGIN inside a DO body is no block', 'DO $$ BEGIN PERFORM 1; END $$; BEGIN; SELECT 1; COMMIT;', [true]],
  ])('%s', (_what, sql, commits) => {
    expect(transactionBlocks(sql)?.map((b) => b.commits)).toEqual(commits);
  });

  test.each([
    ['a block left open', 'BEGIN; SELECT 1;'],
    ['a COMMIT without BEGIN', 'SELECT 1; COMMIT;'],
    ['a savepoint', 'BEGIN; SAVEPOINT s; SELECT 1; COMMIT;'],
    ['VACUUM beside a block', 'BEGIN; SELECT 1; COMMIT; VACUUM a;'],
  ])('%s: not instrumented (sent as it is)', (_what, sql) => {
    expect(transactionBlocks(sql)).toBeUndefined();
  });

  test('a block closes where its COMMIT starts, after comments', () => {
    const sql = 'BEGIN;\nSELECT 1;\n-- done\nCOMMIT;';
    expect(transactionBlocks(sql)).toEqual([{ closeAt: sql.indexOf('COMMIT'), commits: true }]);
  });
});
