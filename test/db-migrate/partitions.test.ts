import * as fs from 'node:fs';
import * as path from 'node:path';
import { Client } from 'pg';
import {
  OperatorResponse,
  parseOperatorRequest,
  runOperatorRequest,
} from '../../lambda/db-migrate/operations';
import { partitionMetricValues } from '../../lambda/db-migrate/metrics';
import {
  ensurePartitionsTableByTable,
  PartitionReport,
  PartitionUpkeepError,
} from '../../lambda/db-migrate/partitions';
import { LockTimeoutError } from '../../lambda/db-migrate/runner';
import { DatabaseTemplate, useFreshDatabase, usePostgres } from '../helpers/postgres';
import { migrationsDir, openMigrator } from './fixtures';

/** The daily partition maintenance the stack schedules (`{ command: 'ensure-partitions' }`). */
const MIGRATIONS = path.join(__dirname, '..', '..', 'migrations');

jest.setTimeout(60_000);
const postgres = usePostgres();

let database: string;
let admin: Client;

/** Gives each test of the calling describe its own database; `database` and `admin` point at it. */
function databasePerTest(prefix: string, template?: DatabaseTemplate): void {
  const fresh = useFreshDatabase(postgres, prefix, { template });
  beforeEach(() => ({ database, admin } = fresh()));
}
/** Every migration applied (`up`, which publishes nothing), once per file; each test gets a copy. */
const MIGRATED: DatabaseTemplate = {
  name: 'partitions_migrated',
  prepare: async (db) => {
    const session = await openMigrator(postgres(), db, MIGRATIONS);
    try {
      await runOperatorRequest(
        parseOperatorRequest({ command: 'up' }),
        session.migrator,
        [],
        () => undefined,
      );
    } finally {
      await session.close();
    }
  },
};

/** Reports the metrics hook received (what index.ts publishes). */
let published: PartitionReport[];
beforeEach(() => (published = []));

async function operate(event: Record<string, unknown>, dir = MIGRATIONS): Promise<OperatorResponse> {
  const session = await openMigrator(postgres(), database, dir, { lockTimeoutMs: 200 });
  try {
    return await runOperatorRequest(parseOperatorRequest(event), session.migrator, [], (r) =>
      published.push(r),
    );
  } finally {
    await session.close();
  }
}

/** The first day of the month `offset` months from now, UTC, as an ISO timestamp. */
function monthStart(offset: number): string {
  const now = new Date();
  return new Date(Date.UTC(now.getUTCFullYear(), now.getUTCMonth() + offset, 1, 12)).toISOString();
}

/** `<table>_YYYYMM` of the month `offset` months from now. */
function partitionName(table: string, offset: number): string {
  const d = new Date(monthStart(offset));
  return `${table}_${d.getUTCFullYear()}${String(d.getUTCMonth() + 1).padStart(2, '0')}`;
}

/** Inserts one price_history row at `at` (a market and runner are created for it). */
async function priceRow(at: string, id = 1): Promise<void> {
  await admin.query(
    `INSERT INTO markets (market_id, event_id, event_name, market_type, market_name, start_time)
       VALUES ($1, 'e', 'Ascot', 'WIN', 'm', now())`,
    [`1.${id}`],
  );
  await admin.query(
    `INSERT INTO runners (market_id, selection_id, runner_name) VALUES ($1, 7, 'Fast Horse')`,
    [`1.${id}`],
  );
  await admin.query(
    `INSERT INTO price_history (market_id, selection_id, observed_at, back_price) VALUES ($1, 7, $2, 2.0)`,
    [`1.${id}`, at],
  );
}

/** The monthly partitions of price_history, newest last. */
async function priceHistoryPartitions(): Promise<string[]> {
  const { rows } = await admin.query<{ name: string }>(
    `SELECT c.relname AS name FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid
      WHERE i.inhparent = 'price_history'::regclass AND c.relname ~ '_[0-9]{6}$' ORDER BY 1`,
  );
  return rows.map((r) => r.name);
}

describe('partition maintenance', () => {
  databasePerTest('partitions_up', MIGRATED);
  test('re-creates a missing future month and leaves existing partitions alone', async () => {
    const before = await priceHistoryPartitions();
    expect(before.length).toBe(4); // this month and three ahead
    const furthest = before[before.length - 1];
    await admin.query(`DROP TABLE ${furthest}`);

    const res = await operate({ command: 'ensure-partitions' });
    expect(res.output).toContainEqual(
      expect.stringMatching(
        /^price_history: created 1 partition; horizon \d+ days; 0 row\(s\) in the DEFAULT partition$/,
      ),
    );
    expect(res.output).toContainEqual(expect.stringMatching(/^ml_predictions: created 0 partitions;/));
    expect(res.exitCode).toBe(0);
    expect(await priceHistoryPartitions()).toEqual(before);

    expect((await operate({ command: 'ensure-partitions' })).output).toContainEqual(
      expect.stringMatching(/^price_history: created 0 partitions;/),
    );
  });

  test('a dry run creates nothing', async () => {
    const before = await priceHistoryPartitions();
    await admin.query(`DROP TABLE ${before[before.length - 1]}`);
    const res = await operate({ command: 'ensure-partitions', dryRun: true });
    expect(res.output).toEqual(['would create the missing partitions up to 3 months ahead']);
    expect(await priceHistoryPartitions()).toEqual(before.slice(0, -1));
  });

  test('fails with a lock timeout while a migration holds the lock, creating nothing', async () => {
    const before = await priceHistoryPartitions();
    await admin.query(`DROP TABLE ${before[before.length - 1]}`);
    const holder = await openMigrator(postgres(), database, MIGRATIONS);
    try {
      await holder.client.query('SELECT pg_advisory_lock($1)', [holder.migrator.lockId]);
      await expect(operate({ command: 'ensure-partitions' })).rejects.toBeInstanceOf(LockTimeoutError);
      expect(await priceHistoryPartitions()).toEqual(before.slice(0, -1));
    } finally {
      await holder.close();
    }
  });
});

describe('partition maintenance', () => {
  databasePerTest('partitions');
  test('does nothing on a database the baseline has not reached yet', async () => {
    const res = await operate({ command: 'ensure-partitions' }, migrationsDir({ '1_x.up.sql': 'SELECT 1;' }));
    expect(res.output[0]).toMatch(/^no partition maintenance: the schema has no time-series tables/);
    expect(published).toEqual([]);
    expect(res.exitCode).toBe(0);
  });
});

describe('partition upkeep, table by table', () => {
  databasePerTest('partitions_up2', MIGRATED);
  test('moves rows that fell into the DEFAULT partition into the month it creates, in one transaction', async () => {
    const furthest = partitionName('price_history', 3);
    await admin.query(`DROP TABLE ${furthest}`);
    await priceRow(monthStart(3)); // lands in price_history_default
    expect(Number((await admin.query('SELECT count(*) FROM price_history_default')).rows[0].count)).toBe(1);

    const res = await operate({ command: 'ensure-partitions' });
    expect(res.output).toContainEqual(
      expect.stringMatching(
        /^price_history: created 1 partition, moved 1 row\(s\) out of the DEFAULT partition;.* 0 row\(s\) in the DEFAULT partition$/,
      ),
    );
    expect(Number((await admin.query(`SELECT count(*) FROM ${furthest}`)).rows[0].count)).toBe(1);
    expect(Number((await admin.query('SELECT count(*) FROM price_history_default')).rows[0].count)).toBe(0);
    // The DEFAULT partition is attached again: a row outside every month still has a home.
    await priceRow('2199-01-01T00:00:00Z', 2);
    expect(Number((await admin.query('SELECT count(*) FROM price_history_default')).rows[0].count)).toBe(1);
  });

  test('one failing table does not stop the others; the error names the table and the fix', async () => {
    for (const table of ['price_history', 'ml_predictions'])
      await admin.query(`DROP TABLE ${partitionName(table, 3)}`);
    // The upkeep before migration 20261201030000, which cannot create a month with DEFAULT rows.
    await admin.query(
      fs.readFileSync(
        path.join(MIGRATIONS, '20261201030000_partition_upkeep_moves_default_rows.down.sql'),
        'utf8',
      ),
    );
    await priceRow(monthStart(3));

    const error = await operate({ command: 'ensure-partitions' }).catch((e) => e);
    expect(error).toBeInstanceOf(PartitionUpkeepError);
    expect(error.message).toMatch(
      /^partition upkeep failed for 1 of 3 table\(s\); the others were done\. price_history: updated partition constraint for default partition/,
    );
    expect(error.message).toContain(
      "Fix: rows of a month without a partition sit in price_history's DEFAULT partition",
    );
    // ml_predictions (before price_history) and strategy_performance (after it) were both done.
    expect(
      (await admin.query('SELECT to_regclass($1) AS t', [partitionName('ml_predictions', 3)])).rows[0].t,
    ).not.toBeNull();
    // Metrics were published for every table, the failed one included: its horizon now ends a month early.
    expect(published).toHaveLength(1);
    const values = partitionMetricValues(published[0]);
    expect(values.defaultRows).toBe(1);
    const horizon = (table: string) => values.perTable.find((t) => t.table === table)!.horizonDays;
    expect(horizon('price_history')).toBeLessThan(horizon('ml_predictions') - 27);
    expect(values.horizonDays).toBe(horizon('price_history'));
  });

  test('publishes the DEFAULT rows and the partition horizon the alarms watch', async () => {
    await priceRow('2199-01-01T00:00:00Z');
    await operate({ command: 'ensure-partitions' });
    const values = partitionMetricValues(published[0]);
    expect(values.defaultRows).toBe(1);
    expect(values.perTable.find((t) => t.table === 'price_history')?.defaultRows).toBe(1);
    // This month and three ahead exist: the horizon is the rest of this month plus three months.
    expect(values.horizonDays).toBeGreaterThan(3 * 28);
    expect(values.horizonDays).toBeLessThanOrEqual(4 * 31);

    // A dry run publishes nothing.
    await operate({ command: 'ensure-partitions', dryRun: true });
    expect(published).toHaveLength(1);
  });

  test('a busy table is retried with backoff, then reported with its attempts; the others are done', async () => {
    for (const table of ['price_history', 'ml_predictions'])
      await admin.query(`DROP TABLE ${partitionName(table, 3)}`);
    const holder = await postgres().connect(database);
    const client = await postgres().connect(database);
    try {
      // A long transaction holding a lock that creating a partition must wait for.
      await holder.query('BEGIN; LOCK TABLE price_history IN ACCESS SHARE MODE');
      const started = Date.now();
      const error = await ensurePartitionsTableByTable(client, 3, undefined, {
        lockTimeoutMs: 100,
        attempts: 3,
        backoffMs: 50,
      }).catch((e) => e);
      expect(error).toBeInstanceOf(PartitionUpkeepError);
      const busy = error.report.tables.find((t: { table: string }) => t.table === 'price_history');
      expect(busy).toMatchObject({ attempts: 3, error: 'canceling statement due to lock timeout' });
      expect(busy.fix).toMatch(
        /a long transaction holds a lock on price_history: find it in pg_stat_activity/,
      );
      expect(Date.now() - started).toBeGreaterThanOrEqual(3 * 100 + 50 + 100); // waited and backed off
      expect(
        (await admin.query('SELECT to_regclass($1) AS t', [partitionName('ml_predictions', 3)])).rows[0].t,
      ).not.toBeNull();

      await holder.query('COMMIT');
      await expect(ensurePartitionsTableByTable(client, 3)).resolves.toMatchObject({
        tables: expect.arrayContaining([
          expect.objectContaining({ table: 'price_history', created: 1, attempts: 1 }),
        ]),
      });
    } finally {
      await holder.end();
      await client.end();
    }
  });
});
