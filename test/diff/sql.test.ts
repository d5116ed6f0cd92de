import { analyzeSql, loadSqlParser, serviceTablesOf, SqlFinding } from '../../lib/diff';

// Migration SQL read with PostgreSQL's own grammar (libpg-query): each destructive form blocks,
// lock-heavy forms warn, harmless DDL passes, and a file that does not parse is reported as such.

const ROLES = ['clever_better_bot', 'clever_better_ml'];
const GRANTS = `
  GRANT SELECT, INSERT ON bet_events, bets TO clever_better_bot;
  GRANT SELECT ON markets TO clever_better_ml;
  GRANT SELECT ON reports TO clever_better_ml;`;

beforeAll(() => loadSqlParser());

const tables = () => serviceTablesOf([{ sql: GRANTS }], ROLES);
const analyze = (sql: string) => analyzeSql('20270101000000_x.up.sql', sql, tables());
const risks = (sql: string) => analyze(sql).map((f: SqlFinding) => f.risk);

describe('migration SQL', () => {
  test.each([
    ['DROP TABLE bet_events;', /drops a table/],
    ['drop   table\n  "bet_events" cascade;', /drops a table/],
    ['DROP SCHEMA archive CASCADE;', /drops a schema/],
    ['ALTER TABLE bets DROP COLUMN profit;', /drops column profit of bets/],
    ['TRUNCATE bet_events;', /deletes every row/],
    ['DELETE FROM bets;', /DELETE without WHERE/],
    ['UPDATE bets SET status = 1;', /UPDATE without WHERE/],
    ['ALTER TABLE bets ALTER COLUMN profit TYPE numeric(12,4);', /changes the type of bets.profit/],
    ['ALTER TABLE bets RENAME TO wagers;', /renames table bets, which the services use/],
    ['ALTER TABLE markets RENAME COLUMN name TO title;', /renames column name of markets/],
  ])('%j is destructive', (sql, why) => {
    const [f] = analyze(sql);
    expect(f.risk).toBe('destructive');
    expect(f.why).toMatch(why);
    // The statement is quoted as written (one line).
    expect(f.statement).toBe(sql.replace(/\s+/g, ' ').replace(/;$/, '').trim());
  });

  test.each([
    ['CREATE INDEX bets_status ON bets (status);', /without CONCURRENTLY/],
    ['ALTER TABLE bets ADD COLUMN ref uuid DEFAULT gen_random_uuid();', /volatile default/],
    [
      'ALTER TABLE bets ADD COLUMN ref text DEFAULT my_function();',
      /my_function\(\) \(not known to be non-volatile\)/,
    ],
    ['ALTER TABLE bets ADD CONSTRAINT positive CHECK (stake > 0);', /validates every row/],
    ['ALTER TABLE bets ALTER COLUMN status SET NOT NULL;', /SET NOT NULL scans/],
    ['ALTER TABLE bets VALIDATE CONSTRAINT positive;', /validates a constraint/],
  ])('%j takes a blocking lock on a table the services write', (sql, why) => {
    const [f] = analyze(sql);
    expect(f.risk).toBe('locks');
    expect(f.why).toMatch(why);
  });

  test.each([
    'CREATE TABLE bet_limits (id bigint PRIMARY KEY, max_stake numeric NOT NULL);',
    'CREATE INDEX CONCURRENTLY bets_status ON bets (status);',
    'ALTER TABLE bets ADD COLUMN placed_at timestamptz DEFAULT now();',
    'ALTER TABLE bets ADD CONSTRAINT positive CHECK (stake > 0) NOT VALID;',
    'DELETE FROM bets WHERE status = 9;',
    'UPDATE bets SET status = 1 WHERE id = 3;',
    // reports is only read by the services: an index on it blocks no write of theirs.
    'CREATE INDEX reports_day ON reports (day);',
    'WITH g AS (SELECT 1) SELECT * FROM g;',
    'DELETE FROM bets WHERE 1 = 2;',
    'UPDATE bets SET status = 1 WHERE status = 1;',
    'VACUUM bets;',
    'REVOKE ALL ON bets FROM analyst;',
    'GRANT SELECT ON bets TO clever_better_ml;',
  ])('%j is harmless', (sql) => {
    expect(risks(sql)).toEqual([]);
  });

  // Every node of the tree is read, not only the top statement.
  test.each([
    ['WITH g AS (DELETE FROM bets RETURNING 1) SELECT 1;', /DELETE without WHERE/],
    ['WITH g AS (UPDATE bets SET status = 1 RETURNING 1) SELECT * FROM g;', /UPDATE without WHERE/],
    ['INSERT INTO reports WITH g AS (DELETE FROM bets RETURNING *) SELECT * FROM g;', /DELETE without WHERE/],
  ])('%j is destructive (data-modifying CTE)', (sql, why) => {
    const found = analyze(sql);
    expect(found.map((f) => f.risk)).toEqual(['destructive']);
    expect(found[0].why).toMatch(why);
  });

  // A WHERE that is always true is no WHERE.
  test.each([
    'DELETE FROM bets WHERE true;',
    'DELETE FROM bets WHERE 1=1;',
    "DELETE FROM bets WHERE 'a' = 'a';",
    'DELETE FROM bets WHERE 2 >= 2;',
    "UPDATE bets SET status = 1 WHERE 'x'::text = 'x'::text;",
    'UPDATE bets SET status = 1 WHERE 1 = 1 OR id = 3;',
    'UPDATE bets SET status = 1 WHERE true AND 1 = 1;',
  ])('%j has a constant-true WHERE: destructive', (sql) => {
    expect(risks(sql)).toEqual(['destructive']);
  });

  test.each([
    ['DROP INDEX IF EXISTS old_idx;', /drops an index/],
    ['DROP VIEW open_bets;', /drops a view/],
    ['DROP MATERIALIZED VIEW daily_pnl;', /drops a materialized view/],
    ['DROP FUNCTION settle(bigint);', /drops a function/],
    ['DROP SEQUENCE bets_id_seq;', /drops a sequence/],
    ['DROP TYPE bet_status;', /drops a type/],
    ['DROP TRIGGER audit ON bets;', /drops a trigger/],
    ['DROP EXTENSION timescaledb;', /drops an extension/],
  ])('%j (DROP of any object) is destructive', (sql, why) => {
    const [f] = analyze(sql);
    expect(f.risk).toBe('destructive');
    expect(f.why).toMatch(why);
  });

  test.each([
    'REVOKE INSERT ON bets FROM clever_better_bot;',
    'REVOKE ALL ON ALL TABLES IN SCHEMA public FROM clever_better_ml;',
    'REVOKE SELECT ON markets FROM PUBLIC;',
    'REVOKE USAGE ON SCHEMA public FROM clever_better_bot;',
    'ALTER DEFAULT PRIVILEGES REVOKE SELECT ON TABLES FROM clever_better_ml;',
    'REVOKE some_group FROM clever_better_bot;',
  ])('%j (REVOKE from a service role) is destructive', (sql) => {
    const found = analyze(sql);
    expect(found.map((f) => f.risk)).toEqual(['destructive']);
    expect(found[0].why).toMatch(/revokes privileges from (clever_better_\w+|PUBLIC)/);
  });

  test.each(['VACUUM FULL bets;', 'VACUUM (FULL, ANALYZE) bets;'])(
    '%j warns of an ACCESS EXCLUSIVE lock',
    (sql) => {
      const [f] = analyze(sql);
      expect(f.risk).toBe('locks');
      expect(f.why).toMatch(/ACCESS EXCLUSIVE/);
    },
  );

  test('a DO block cannot be analysed: it warns, review by hand', () => {
    const found = analyze("DO $$ BEGIN EXECUTE 'DROP TABLE bets'; END $$;");
    expect(found.map((f) => f.risk)).toEqual(['opaque']);
    expect(found[0].why).toMatch(/cannot be analysed, review by hand/);
  });

  test('a file that does not parse is reported with the parser message and the line', () => {
    const [f] = analyze('CREATE TABLE a (id int);\nDROP TABL bet_events;');
    expect(f.risk).toBe('unparsable');
    expect(f.why).toMatch(/syntax error at or near "TABL" \(line 2\)/);
    expect(f.why).toMatch(/none of it would run/);
  });

  test('statements are classified each on its own, with the comments before them left out', () => {
    const found = analyze(
      '-- tidy up\nCREATE TABLE t (a int);\n/* gone */ DROP TABLE bets;\nCREATE INDEX i ON bet_events (id);',
    );
    expect(found.map((f) => [f.risk, f.statement])).toEqual([
      ['destructive', 'DROP TABLE bets'],
      ['locks', 'CREATE INDEX i ON bet_events (id)'],
    ]);
  });

  test('the tables the services use come from GRANT and REVOKE; without any grant every table counts', () => {
    const t = serviceTablesOf(
      [{ sql: GRANTS }, { sql: 'REVOKE ALL ON bet_events FROM clever_better_bot;' }],
      ROLES,
    );
    expect([...t.written].sort()).toEqual(['bets']);
    expect([...t.used].sort()).toEqual(['bets', 'markets', 'reports']);
    expect(serviceTablesOf([], ROLES).all).toBe(true);
    expect(
      analyzeSql('x.up.sql', 'ALTER TABLE anything RENAME TO other;', serviceTablesOf([], ROLES)),
    ).toHaveLength(1);
  });
});
