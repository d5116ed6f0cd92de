import * as path from 'node:path';
import { Client } from 'pg';
import { PostgresOptions, startPostgres, TestPostgres } from '../../lib/local/postgres';

export type { PostgresOptions, TestPostgres } from '../../lib/local/postgres';
export { startPostgres } from '../../lib/local/postgres';

/** Work started ahead for a later test (useFreshDatabase); the server stops only after it. */
const pending = new Set<Promise<unknown>>();

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
    await Promise.allSettled(pending);
    await pg?.stop();
  }, 60_000);
  return () => {
    if (!pg) throw new Error('PostgreSQL is not running: call usePostgres() at the top of the test file');
    return pg;
  };
}

/** A database prepared once per test file, which tests get copies of (see useFreshDatabase). */
export interface DatabaseTemplate {
  /** Its name, unique in the test file. */
  readonly name: string;
  /** Brings a new empty database `database` to the state every copy starts in; ends its sessions. */
  readonly prepare: (database: string) => Promise<unknown>;
}
const templates = new Map<string, Promise<string>>();

/**
 * Registers beforeEach/afterEach that give every test its own new database (`<prefix>_<n>`) and an
 * open admin connection to it. Returns an accessor, valid inside tests.
 *
 * The next test's database is created while this test runs (CREATE DATABASE takes 50-250 ms, mostly
 * server time the test leaves idle); it is as new as one created just before the test. A file whose
 * tests measure the server's latency passes `{ createAhead: false }`.
 *
 * With `template`, each database is a copy (CREATE DATABASE … TEMPLATE) of one prepared on first
 * use, for tests that all start from the same state, e.g. every migration applied: the preparation
 * runs once per file instead of before each test. Server-wide objects (roles) are not copied.
 */
export function useFreshDatabase(
  postgres: () => TestPostgres,
  prefix: string,
  { createAhead = true, template }: { createAhead?: boolean; template?: DatabaseTemplate } = {},
): () => { database: string; admin: Client } {
  let counter = 0;
  let current: { database: string; admin: Client } | undefined;
  let next: Promise<string> | undefined;
  const prepared = async (): Promise<string | undefined> => {
    if (!template) return undefined;
    let ready = templates.get(template.name);
    if (!ready) {
      ready = postgres()
        .createDatabase(template.name)
        .then(() => template.prepare(template.name))
        .then(() => template.name);
      templates.set(template.name, ready);
    }
    return ready;
  };
  const create = (): Promise<string> => {
    const database = `${prefix}_${++counter}`;
    const created = prepared()
      .then((from) => postgres().createDatabase(database, from))
      .then(() => database);
    pending.add(created);
    void created.catch(() => undefined).finally(() => pending.delete(created));
    return created;
  };
  beforeEach(async () => {
    const database = await (next ?? create());
    next = createAhead ? create() : undefined;
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
