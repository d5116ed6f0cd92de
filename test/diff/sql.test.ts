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
    'DROP INDEX IF EXISTS old_idx;',
  ])('%j is harmless', (sql) => {
    expect(risks(sql)).toEqual([]);
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
