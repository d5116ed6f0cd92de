import type { Client, DatabaseError } from 'pg';

/**
 * Partition upkeep of the time-series tables (RDS: native monthly partitions plus a DEFAULT one),
 * table by table: each table is one call of `cb_ensure_partitions(table, months)`, its own
 * transaction, so one table's failure neither stops nor undoes the others. From migration
 * 20261201030000 that function also moves rows that fell into the DEFAULT partition into the month's
 * partition it creates (detach, create, move, attach, in that one transaction).
 *
 * After upkeep every table is measured, for the alarms (lib/migrations.ts): how many rows its
 * DEFAULT partition holds, and the partition horizon, the days from now to the end of the last
 * monthly partition in an unbroken run from the current month.
 */

/** What upkeep did to one table and what it found. */
export interface TablePartitions {
  readonly table: string;
  /** Partitions created by this run. */
  readonly created: number;
  /** Rows moved out of the DEFAULT partition by this run. */
  readonly moved: number;
  /** Rows in the DEFAULT partition afterwards (rows no monthly partition covers). */
  readonly defaultRows: number;
  /** Days from now until the covered months end; 0 when the current month has no partition. */
  readonly horizonDays: number;
  /** Attempts made (a lock timeout is retried). */
  readonly attempts: number;
  /** The last error, when upkeep of this table failed. */
  readonly error?: string;
  /** What to do about `error`. */
  readonly fix?: string;
}

/** One upkeep run. */
export interface PartitionReport {
  readonly monthsAhead: number;
  readonly tables: readonly TablePartitions[];
  /** Set where TimescaleDB makes the chunks (as rows arrive): there is nothing to create. */
  readonly managedBy?: 'timescaledb';
}

/**
 * The horizon reported for a hypertable: TimescaleDB creates a chunk when a row for it arrives, so
 * no horizon runs out. Published as `PartitionHorizonDays` (ten years), the explicit "managed by
 * TimescaleDB" value: far above any threshold the partition-horizon-low alarm may have (at most 84
 * days, environments/validate-monitoring.ts), and a daily data point, so the alarm, which treats
 * missing data as breaching, stays OK.
 */
export const MANAGED_HORIZON_DAYS = 3650;

/** Tables whose upkeep failed, after the others were done. */
export class PartitionUpkeepError extends Error {
  constructor(readonly report: PartitionReport) {
    const failed = report.tables.filter((t) => t.error !== undefined);
    super(
      `partition upkeep failed for ${failed.length} of ${report.tables.length} table(s); the others were done. ` +
        failed.map((t) => `${t.table}: ${t.error} (${t.attempts} attempt(s)). Fix: ${t.fix}`).join(' '),
    );
  }
}

/** How upkeep treats a table that is busy. */
export interface UpkeepRetry {
  /** Milliseconds one attempt waits for the table's lock (a transient failure). @default 10000 */
  readonly lockTimeoutMs?: number;
  /** Attempts per table. @default 3 */
  readonly attempts?: number;
  /** Milliseconds before the second attempt, doubling after. @default 1000 */
  readonly backoffMs?: number;
}
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** The fix for an upkeep error, by SQLSTATE. */
function fixFor(table: string, err: DatabaseError): string {
  if (err.code === '23514') {
    // check_violation: the DEFAULT partition holds rows of the month being created.
    return (
      `rows of a month without a partition sit in ${table}'s DEFAULT partition. Deploy migration ` +
      '20261201030000 (it makes upkeep move them), or move them by hand in one transaction: ALTER TABLE ' +
      `${table} DETACH PARTITION ${table}_default; CREATE TABLE <month partition> PARTITION OF ${table} FOR VALUES ` +
      `FROM (…) TO (…); move the rows; ALTER TABLE ${table} ATTACH PARTITION ${table}_default DEFAULT`
    );
  }
  if (err.code === '55P03' || err.code === '40P01') {
    return `a long transaction holds a lock on ${table}: find it in pg_stat_activity; the next daily run retries`;
  }
  return `see the PostgreSQL error; run "npm run ops -- migrate ensure-partitions --env <env>" again once fixed (docs/migrations.md, "Partition upkeep")`;
}

/** The partition horizon of `table` in days, from its monthly partitions' names (`<table>_YYYYMM`). */
async function horizonDays(client: Client, table: string, now: Date): Promise<number> {
  const { rows } = await client.query<{ name: string }>(
    `SELECT c.relname AS name FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid
      WHERE i.inhparent = to_regclass(quote_ident($1))`,
    [table],
  );
  const names = new Set(rows.map((r) => r.name));
  let year = now.getUTCFullYear();
  let month = now.getUTCMonth();
  while (names.has(`${table}_${year}${String(month + 1).padStart(2, '0')}`)) {
    [year, month] = month === 11 ? [year + 1, 0] : [year, month + 1];
  }
  return Math.max(0, (Date.UTC(year, month, 1) - now.getTime()) / 86_400_000);
}

/** Rows in the DEFAULT partition of `table` (0 when it has none). */
async function defaultRows(client: Client, table: string): Promise<number> {
  const { rows } = await client.query<{ name: string | null }>(
    `SELECT d.relname AS name FROM pg_partitioned_table pt JOIN pg_class d ON d.oid = pt.partdefid
      WHERE pt.partrelid = to_regclass(quote_ident($1))`,
    [table],
  );
  const name = rows[0]?.name;
  if (!name) return 0;
  const count = await client.query<{ n: string }>(
    `SELECT count(*) AS n FROM ${client.escapeIdentifier(name)}`,
  );
  return Number(count.rows[0].n);
}

/** The time-series tables and how they are partitioned, or null where there are none (not migrated). */
async function timeseriesTables(
  client: Client,
): Promise<{ backend: 'partitioned' | 'timescaledb'; tables: string[] } | null> {
  const { rows: present } = await client
    .query<{ tables: boolean; backend: string | null }>(
      `SELECT to_regclass('cb_timeseries_tables') IS NOT NULL AND to_regprocedure('cb_ensure_partitions(text,integer)') IS NOT NULL AS tables,
            (SELECT value FROM cb_schema_settings WHERE name = 'timeseries_backend'
              AND to_regclass('cb_schema_settings') IS NOT NULL) AS backend`,
    )
    .catch(() => ({ rows: [{ tables: false, backend: null }] }));
  const backend = present[0]?.backend;
  if (!present[0]?.tables || (backend !== 'partitioned' && backend !== 'timescaledb')) return null;
  const { rows } = await client.query<{ table_name: string }>(
    'SELECT table_name FROM cb_timeseries_tables ORDER BY table_name',
  );
  return { backend, tables: rows.map((r) => r.table_name) };
}

/** The report for hypertables: nothing created, the managed horizon, no DEFAULT partition. */
function managedReport(monthsAhead: number, tables: string[]): PartitionReport {
  return {
    monthsAhead,
    managedBy: 'timescaledb',
    tables: tables.map((table) => ({
      table,
      created: 0,
      moved: 0,
      defaultRows: 0,
      horizonDays: MANAGED_HORIZON_DAYS,
      attempts: 0,
    })),
  };
}

/**
 * Measures every partitioned time-series table without changing anything (after a deploy's
 * migration, so the alarms have a data point before the first daily upkeep). Null as above.
 */
export async function measurePartitions(
  client: Client,
  monthsAhead: number,
): Promise<PartitionReport | null> {
  const found = await timeseriesTables(client);
  if (found === null) return null;
  if (found.backend === 'timescaledb') return managedReport(monthsAhead, found.tables);
  const measured: TablePartitions[] = [];
  for (const table of found.tables) {
    measured.push({
      table,
      created: 0,
      moved: 0,
      defaultRows: await defaultRows(client, table),
      horizonDays: await horizonDays(client, table, new Date()),
      attempts: 0,
    });
  }
  return { monthsAhead, tables: measured };
}

/**
 * Runs upkeep on every partitioned time-series table. Returns null where the schema has none yet
 * (not migrated, or TimescaleDB); throws {@link PartitionUpkeepError} after all tables when any
 * failed. `deadline` (epoch ms) stops retries.
 */
export async function ensurePartitionsTableByTable(
  client: Client,
  monthsAhead: number,
  deadline?: number,
  retry: UpkeepRetry = {},
): Promise<PartitionReport | null> {
  const lockTimeoutMs = retry.lockTimeoutMs ?? 10_000;
  const maxAttempts = retry.attempts ?? 3;
  const backoffMs = retry.backoffMs ?? 1000;
  const found = await timeseriesTables(client);
  if (found === null) return null;
  if (found.backend === 'timescaledb') return managedReport(monthsAhead, found.tables);
  const names = found.tables;
  // Each attempt sets its own lock_timeout; afterwards the session's (the migration's) applies again.
  const { rows: setting } = await client.query<{ value: string }>(
    "SELECT current_setting('lock_timeout') AS value",
  );
  const sessionLockTimeout = setting[0].value;
  const tables: TablePartitions[] = [];
  for (const table of names) {
    const before = await defaultRows(client, table);
    let created = 0;
    let attempts = 0;
    let failure: DatabaseError | undefined;
    for (;;) {
      attempts++;
      try {
        // One statement, one transaction; lock_timeout bounds the wait for this table's lock only.
        const result = await client.query<{ created: number }>(
          `SELECT set_config('lock_timeout', $3, false), cb_ensure_partitions($1, $2) AS created`,
          [table, monthsAhead, String(Math.max(1, Math.floor(lockTimeoutMs)))],
        );
        created = Number(result.rows[0].created);
        failure = undefined;
        break;
      } catch (err) {
        failure = err as DatabaseError;
        const transient = failure.code === '55P03' || failure.code === '40P01';
        const wait = backoffMs * 2 ** (attempts - 1);
        if (
          !transient ||
          attempts >= maxAttempts ||
          (deadline !== undefined && Date.now() + wait >= deadline)
        )
          break;
        await sleep(wait);
      }
    }
    await client.query("SELECT set_config('lock_timeout', $1, false)", [sessionLockTimeout]);
    const after = await defaultRows(client, table);
    tables.push({
      table,
      created,
      moved: failure ? 0 : Math.max(0, before - after),
      defaultRows: after,
      horizonDays: await horizonDays(client, table, new Date()),
      attempts,
      ...(failure ? { error: failure.message, fix: fixFor(table, failure) } : {}),
    });
  }
  const report = { monthsAhead, tables };
  if (tables.some((t) => t.error !== undefined)) throw new PartitionUpkeepError(report);
  return report;
}
