import * as path from 'node:path';
import { Client } from 'pg';
import { staging } from '../../environments';
import { monitoringProblems } from '../../environments/validate-monitoring';
import { MigrationSet } from '../../lambda/db-migrate/files';
import { partitionMetricValues } from '../../lambda/db-migrate/metrics';
import { MANAGED_HORIZON_DAYS } from '../../lambda/db-migrate/partitions';
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
  // in every unique index) are met by the same primary keys the partitioned tables need. Its
  // parameters carry TimescaleDB's names, and like TimescaleDB (API reference, create_hypertable:
  // create_default_indexes defaults to TRUE) it adds "<table>_<time column>_idx" on the time column,
  // descending, unless told not to.
  beforeEach(async () => {
    await admin.query(`
      CREATE SCHEMA tsdb_stub;
      CREATE TABLE tsdb_stub.calls (relation text, time_column_name text, chunk_time_interval interval,
                                    create_default_indexes boolean);
      CREATE FUNCTION tsdb_stub.create_hypertable(relation regclass, time_column_name name,
                                                  chunk_time_interval interval DEFAULT NULL,
                                                  create_default_indexes boolean DEFAULT true)
        RETURNS void LANGUAGE plpgsql AS $$
        BEGIN
          INSERT INTO tsdb_stub.calls VALUES (relation::text, time_column_name, chunk_time_interval, create_default_indexes);
          IF create_default_indexes THEN
            EXECUTE format('CREATE INDEX %I ON %s (%I DESC)', relation::text || '_' || time_column_name || '_idx',
                           relation, time_column_name);
          END IF;
        END $$;
      ALTER DATABASE ${admin.escapeIdentifier(database)} SET search_path = public, tsdb_stub;`);
  });

  /** Every index of every time-series table, as "table: definition" with the index's own name left out. */
  async function timeseriesIndexes(client: Client): Promise<string[]> {
    const { rows } = await client.query<{ entry: string }>(`
      SELECT i.tablename || ': ' || regexp_replace(replace(i.indexdef, ' ON ONLY ', ' ON '), '^CREATE (UNIQUE )?INDEX \\S+', 'CREATE \\1INDEX') AS entry
        FROM pg_indexes i JOIN cb_timeseries_tables t ON t.table_name = i.tablename
       WHERE i.schemaname = 'public' ORDER BY 1`);
    return rows.map((r) => r.entry);
  }

  test('hypertables get exactly the indexes of the partitioned tables: the SQL asks for no default indexes', async () => {
    await migrate({ command: 'up' });
    const calls = await admin.query(
      'SELECT relation, create_default_indexes FROM tsdb_stub.calls ORDER BY 1',
    );
    expect(calls.rows.length).toBeGreaterThan(0);
    for (const call of calls.rows)
      expect(call).toEqual({ relation: call.relation, create_default_indexes: false });

    // The same files on the partition path, in a database of their own.
    const other = `${database}_partitioned`;
    await postgres().createDatabase(other);
    const session = await openMigrator(postgres(), other, MIGRATIONS);
    try {
      await session.migrator.run({ command: 'up' });
      const partitioned = await timeseriesIndexes(session.client);
      expect(partitioned.length).toBeGreaterThanOrEqual(
        (await admin.query('SELECT 1 FROM cb_timeseries_tables')).rows.length,
      );
      expect(await timeseriesIndexes(admin)).toEqual(partitioned);
    } finally {
      await session.close();
    }
  });

  test('upkeep reports the "managed by TimescaleDB" horizon, which no allowed alarm threshold reaches', async () => {
    await migrate({ command: 'up' });
    const session = await openMigrator(postgres(), database, MIGRATIONS);
    try {
      for (const report of [
        await session.migrator.measurePartitions(3),
        await session.migrator.ensurePartitions(3),
      ]) {
        expect(report?.managedBy).toBe('timescaledb');
        expect(report?.tables.map((t) => t.table).sort()).toEqual([...TIME_SERIES].sort());
        const published = partitionMetricValues(report!).horizonDays;
        expect(published).toBe(MANAGED_HORIZON_DAYS);
        // partition-horizon-low fires below its threshold; the threshold the config validation
        // allows never reaches the managed value.
        const problems = monitoringProblems({
          ...staging,
          monitoring: { ...staging.monitoring, partitionHorizonDays: published! },
        });
        expect(problems.map((p) => p.field)).toContain('staging.monitoring.partitionHorizonDays');
      }
    } finally {
      await session.close();
    }
  });

  test('makes the time series plain tables turned into hypertables, without partitions', async () => {
    await migrate({ command: 'up' });
    expect(
      (
        await admin.query(
          'SELECT relation, time_column_name, chunk_time_interval FROM tsdb_stub.calls ORDER BY relation',
        )
      ).rows,
    ).toEqual([
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

describe('the migrations read no setting a non-superuser owner may not read', () => {
  // current_setting(name) raises "permission denied" for GUC_SUPERUSER_ONLY settings
  // (shared_preload_libraries, …) unless the user is a superuser or in pg_read_all_settings
  // (PostgreSQL "System Administration Functions"); RDS's master user is neither.
  test('every current_setting() in migrations/ answers a plain database owner', async () => {
    const names = new Set<string>();
    for (const version of source.versions) {
      for (const direction of ['up', 'down'] as const) {
        const file = source.file(version, direction);
        if (!file) continue;
        for (const m of source.body(file).matchAll(/current_setting\(\s*'([^']+)'/gi)) names.add(m[1]);
      }
    }
    expect(names.size).toBeGreaterThan(0);
    const owner = `owner_${database}`;
    await admin.query(`CREATE ROLE ${owner} LOGIN PASSWORD 'owner-pw'`);
    const client = new Client({ ...postgres().config(database), user: owner, password: 'owner-pw' });
    await client.connect();
    try {
      for (const name of names) {
        await expect(client.query('SELECT current_setting($1, true)', [name]).then(() => name)).resolves.toBe(
          name,
        );
      }
    } finally {
      await client.end();
      await admin.query(`DROP ROLE ${owner}`);
    }
  });
});
