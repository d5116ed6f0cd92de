import * as path from 'node:path';
import { Client } from 'pg';
import {
  OperatorResponse,
  parseOperatorRequest,
  runOperatorRequest,
} from '../../lambda/db-migrate/operations';
import { LockTimeoutError } from '../../lambda/db-migrate/runner';
import { useFreshDatabase, usePostgres } from '../helpers/postgres';
import { migrationsDir, openMigrator } from './fixtures';

/** The daily partition maintenance the stack schedules (`{ command: 'ensure-partitions' }`). */
const MIGRATIONS = path.join(__dirname, '..', '..', 'migrations');

jest.setTimeout(60_000);
const postgres = usePostgres();

let database: string;
let admin: Client;

const fresh = useFreshDatabase(postgres, 'partitions');
beforeEach(() => ({ database, admin } = fresh()));

async function operate(event: Record<string, unknown>, dir = MIGRATIONS): Promise<OperatorResponse> {
  const session = await openMigrator(postgres(), database, dir, { lockTimeoutMs: 500 });
  try {
    return await runOperatorRequest(parseOperatorRequest(event), session.migrator, []);
  } finally {
    await session.close();
  }
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
  test('re-creates a missing future month and leaves existing partitions alone', async () => {
    await operate({ command: 'up' });
    const before = await priceHistoryPartitions();
    expect(before.length).toBe(4); // this month and three ahead
    const furthest = before[before.length - 1];
    await admin.query(`DROP TABLE ${furthest}`);

    const res = await operate({ command: 'ensure-partitions' });
    expect(res.output).toEqual(['created 1 partition (3 months ahead)']);
    expect(res.exitCode).toBe(0);
    expect(await priceHistoryPartitions()).toEqual(before);

    expect((await operate({ command: 'ensure-partitions' })).output).toEqual([
      'created 0 partitions (3 months ahead)',
    ]);
  });

  test('does nothing on a database the baseline has not reached yet', async () => {
    const res = await operate({ command: 'ensure-partitions' }, migrationsDir({ '1_x.up.sql': 'SELECT 1;' }));
    expect(res.output[0]).toMatch(/^no partition maintenance: the schema has no cb_ensure_all_partitions/);
    expect(res.exitCode).toBe(0);
  });

  test('a dry run creates nothing', async () => {
    await operate({ command: 'up' });
    const before = await priceHistoryPartitions();
    await admin.query(`DROP TABLE ${before[before.length - 1]}`);
    const res = await operate({ command: 'ensure-partitions', dryRun: true });
    expect(res.output).toEqual(['would create the missing partitions up to 3 months ahead']);
    expect(await priceHistoryPartitions()).toEqual(before.slice(0, -1));
  });

  test('fails with a lock timeout while a migration holds the lock, creating nothing', async () => {
    await operate({ command: 'up' });
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
