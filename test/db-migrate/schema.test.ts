import * as path from 'node:path';
import { Client } from 'pg';
import { MigrationSet } from '../../lambda/db-migrate/files';
import { useFreshDatabase, usePostgres } from '../helpers/postgres';
import { openMigrator, versionRows } from './fixtures';

/** The repository's baseline schema, applied with the runner the deploy uses. */
const MIGRATIONS = path.join(__dirname, '..', '..', 'migrations');
const source = MigrationSet.fromDirectory(MIGRATIONS);
const TIME_SERIES = ['price_history', 'strategy_performance', 'ml_predictions'];

jest.setTimeout(60_000);
const postgres = usePostgres();

let database: string;
let admin: Client;

const fresh = useFreshDatabase(postgres, 'schema');
beforeEach(() => ({ database, admin } = fresh()));

async function migrate(command: Parameters<Awaited<ReturnType<typeof openMigrator>>['migrator']['run']>[0]) {
  const session = await openMigrator(postgres(), database, MIGRATIONS);
  try {
    return await session.migrator.run(command);
  } finally {
    await session.close();
  }
}

/**
 * Every object in the public schema (except the runner's tables: schema_migrations and the attempts
 * record) and every extension, as text; functions with a hash of their body, so a down that restores
 * an older body is checked too.
 */
async function catalog(): Promise<string[]> {
  const { rows } = await admin.query<{ object: string }>(`
    SELECT 'relation ' || c.relname || ' ' || c.relkind::text AS object
      FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
     WHERE n.nspname = 'public' AND c.relname NOT IN ('schema_migrations', 'schema_migrations_pkey')
       AND c.relname NOT LIKE 'cb\\_migration\\_attempts%'
    UNION ALL
    SELECT 'constraint ' || conrelid::regclass || ' ' || conname || ' ' || pg_get_constraintdef(oid)
      FROM pg_constraint WHERE connamespace = 'public'::regnamespace
       AND conname NOT IN ('schema_migrations_pkey', 'cb_migration_attempts_pkey')
    UNION ALL
    SELECT 'function ' || p.oid::regprocedure || ' ' || md5(p.prosrc) FROM pg_proc p WHERE p.pronamespace = 'public'::regnamespace
    UNION ALL
    SELECT 'type ' || t.typname FROM pg_type t
     WHERE t.typnamespace = 'public'::regnamespace AND t.typname NOT LIKE '%schema_migrations'
       AND t.typname NOT LIKE '%cb\\_migration\\_attempts'
    UNION ALL
    SELECT 'extension ' || extname FROM pg_extension
    ORDER BY 1`);
  return rows.map((r) => r.object);
}

const relkind = async (name: string) =>
  (await admin.query('SELECT relkind FROM pg_class WHERE oid = to_regclass($1)', [name])).rows[0]?.relkind;

describe('the baseline schema on plain PostgreSQL (as on RDS)', () => {
  test('applies every up, partitions the time series, and records the last version', async () => {
    await migrate({ command: 'up' });
    expect(await versionRows(admin)).toEqual([{ version: String(source.last), dirty: false }]);
    for (const table of ['markets', 'runners', 'bets', 'bet_events', 'strategies', 'strategy_runs']) {
      expect([table, await relkind(table)]).toEqual([table, 'r']);
    }
    for (const table of TIME_SERIES) {
      expect([table, await relkind(table)]).toEqual([table, 'p']);
      expect([table, await relkind(`${table}_default`)]).toEqual([table, 'r']);
    }
    const { rows } = await admin.query(
      `SELECT value FROM cb_schema_settings WHERE name = 'timeseries_backend'`,
    );
    expect(rows).toEqual([{ value: 'partitioned' }]);
  });

  test('routes rows to monthly partitions, the far future to the default partition', async () => {
    await migrate({ command: 'up' });
    await admin.query(`
      INSERT INTO markets (market_id, event_id, event_name, market_type, market_name, start_time)
        VALUES ('1.1', 'e1', 'Ascot', 'WIN', '2m Hcap', now());
      INSERT INTO runners (market_id, selection_id, runner_name) VALUES ('1.1', 7, 'Fast Horse');
      INSERT INTO price_history (market_id, selection_id, observed_at, back_price)
        VALUES ('1.1', 7, now(), 3.5), ('1.1', 7, now() + interval '5 years', 4.0);`);
    const { rows } = await admin.query(
      `SELECT tableoid::regclass::text AS partition FROM price_history ORDER BY observed_at`,
    );
    const month = new Date().toISOString().slice(0, 7).replace('-', '');
    expect(rows).toEqual([{ partition: `price_history_${month}` }, { partition: 'price_history_default' }]);
    // Four months exist already (this one and three ahead); a year ahead adds nine more per table.
    expect((await admin.query('SELECT cb_ensure_all_partitions(12) AS n')).rows).toEqual([{ n: 27 }]);
    expect((await admin.query('SELECT cb_ensure_all_partitions(12) AS n')).rows).toEqual([{ n: 0 }]);
  });

  test('every down undoes its up exactly, down to an empty schema, and every up applies again', async () => {
    const snapshots = [await catalog()];
    for (let i = 0; i < source.versions.length; i++) {
      await migrate({ command: 'up', limit: 1 });
      snapshots.push(await catalog());
    }
    for (let i = source.versions.length; i > 0; i--) {
      await migrate({ command: 'down', steps: 1 });
      expect(await catalog()).toEqual(snapshots[i - 1]);
    }
    expect(await versionRows(admin)).toEqual([]);
    expect(await catalog()).toEqual(['extension plpgsql']);

    await migrate({ command: 'up' });
    expect(await catalog()).toEqual(snapshots[snapshots.length - 1]);
  });
});

describe('the baseline schema where create_hypertable exists (TimescaleDB)', () => {
  // No TimescaleDB build installs offline here, so a stand-in create_hypertable records its calls.
  // It proves the hypertable branch's SQL and its downs; TimescaleDB's own rules (the time column
  // in every unique index) are met by the same primary keys the partitioned tables need.
  beforeEach(async () => {
    await admin.query(`
      CREATE SCHEMA tsdb_stub;
      CREATE TABLE tsdb_stub.calls (relation text, time_column_name text, chunk_time_interval interval);
      CREATE FUNCTION tsdb_stub.create_hypertable(relation regclass, time_column_name name, chunk_time_interval interval)
        RETURNS void LANGUAGE sql AS $$ INSERT INTO tsdb_stub.calls VALUES (relation::text, time_column_name, chunk_time_interval) $$;
      ALTER DATABASE ${admin.escapeIdentifier(database)} SET search_path = public, tsdb_stub;`);
  });

  test('makes the time series plain tables turned into hypertables, without partitions', async () => {
    await migrate({ command: 'up' });
    expect((await admin.query('SELECT * FROM tsdb_stub.calls ORDER BY relation')).rows).toEqual([
      { relation: 'ml_predictions', time_column_name: 'predicted_at', chunk_time_interval: { days: 7 } },
      { relation: 'price_history', time_column_name: 'observed_at', chunk_time_interval: { days: 1 } },
      { relation: 'strategy_performance', time_column_name: 'measured_at', chunk_time_interval: { days: 7 } },
    ]);
    for (const table of TIME_SERIES) expect([table, await relkind(table)]).toEqual([table, 'r']);
    expect(await relkind('price_history_default')).toBeUndefined();
    expect((await admin.query('SELECT cb_ensure_all_partitions() AS n')).rows).toEqual([{ n: 0 }]);
  });

  test('downs back to an empty schema and ups again', async () => {
    const empty = await catalog();
    await migrate({ command: 'up' });
    const full = await catalog();
    await migrate({ command: 'down', steps: source.versions.length });
    expect(await catalog()).toEqual(empty);
    await migrate({ command: 'up' });
    expect(await catalog()).toEqual(full);
  });

  test('partitions anyway when clever_better.timeseries = partitioned', async () => {
    await admin.query(
      `ALTER DATABASE ${admin.escapeIdentifier(database)} SET clever_better.timeseries = 'partitioned'`,
    );
    await migrate({ command: 'up' });
    expect(await relkind('price_history')).toBe('p');
    expect((await admin.query('SELECT count(*)::int AS n FROM tsdb_stub.calls')).rows).toEqual([{ n: 0 }]);
  });

  test('fails the first migration for an unknown clever_better.timeseries value', async () => {
    await admin.query(
      `ALTER DATABASE ${admin.escapeIdentifier(database)} SET clever_better.timeseries = 'influx'`,
    );
    await expect(migrate({ command: 'up' })).rejects.toThrow(
      'migration failed: clever_better.timeseries = "influx" is not a time-series backend in line 0: ' +
        '20240110090000_timeseries_support.up.sql',
    );
  });
});
