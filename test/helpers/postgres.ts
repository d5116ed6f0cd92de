import * as path from 'node:path';
import { Client } from 'pg';
import { PostgresOptions, startPostgres, TestPostgres } from '../../lib/local/postgres';

export type { PostgresOptions, TestPostgres } from '../../lib/local/postgres';
export { startPostgres } from '../../lib/local/postgres';

/**
 * Registers beforeAll/afterAll that start one PostgreSQL for the calling test file and stop it.
 * Returns an accessor, valid inside tests.
 */
export function usePostgres(options: PostgresOptions = {}): () => TestPostgres {
  let pg: TestPostgres | undefined;
  // One initdb per jest run: every later file's server starts from a copy of that cluster. The run's
  // temporary directory (test/helpers/run-tmpdir.ts) holds it and goes at the end of the run.
  const runDir = process.env.CLEVER_BETTER_RUN_TMPDIR;
  const clusterCache = runDir ? path.join(runDir, 'pg-cluster') : undefined;
  beforeAll(async () => {
    pg = await startPostgres({ clusterCache, ...options });
  }, 120_000);
  afterAll(async () => {
    await pg?.stop();
  }, 60_000);
  return () => {
    if (!pg) throw new Error('PostgreSQL is not running: call usePostgres() at the top of the test file');
    return pg;
  };
}

/**
 * Registers beforeEach/afterEach that give every test its own new database (`<prefix>_<n>`) and an
 * open admin connection to it. Returns an accessor, valid inside tests.
 */
export function useFreshDatabase(
  postgres: () => TestPostgres,
  prefix: string,
): () => { database: string; admin: Client } {
  let counter = 0;
  let current: { database: string; admin: Client } | undefined;
  beforeEach(async () => {
    const database = `${prefix}_${++counter}`;
    await postgres().createDatabase(database);
    current = { database, admin: await postgres().connect(database) };
  });
  afterEach(async () => {
    await current?.admin.end();
    current = undefined;
  });
  return () => {
    if (!current) throw new Error('no database: call useFreshDatabase() at the top of the test file');
    return current;
  };
}
