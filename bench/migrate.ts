/**
 * `npm run bench:migrate`: apply 200 generated migrations to an empty database with this runner
 * (lambda/db-migrate) and with the golang-migrate CLI, alternating, on the same embedded
 * PostgreSQL 17, and print both times and their ratio (runner / CLI); exits 1 when the ratio misses
 * the target (BENCH_TARGET, default 0.6).
 *
 * Each measurement starts from a freshly created database and covers everything a user waits for:
 * for the runner, connecting, reading the directory and `up` (armed with a deadline and its watchdog,
 * and writing its evidence record, as in the Lambda); for the CLI, starting the process,
 * connecting, reading the directory and `up`. Uses the golang-migrate CLI `npm run tools` installs
 * (`.tools/bin/migrate`), or MIGRATE_BIN when set. Rounds: BENCH_ROUNDS (default 5) per tool, after one warm-up each.
 */
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { MigrationSet } from '../lambda/db-migrate/files';
import { Migrator } from '../lambda/db-migrate/runner';
import { PROJECT_ROOT, TOOLS_FIX } from '../lib/local/moto';
import { startPostgres, TestPostgres } from '../test/helpers/postgres';
import { parseScriptArgs } from '../lib/cli/script-args';
import { scratchDir } from '../lib/cli/scratch-dir';

export const BENCH_MIGRATE_USAGE = {
  command: 'npm run bench:migrate',
  description:
    'Applies 200 generated migrations with the runner and with the golang-migrate CLI, alternating, and prints ' +
    'the ratio. Exit 0: ratio within BENCH_TARGET (default 0.6); 1: missed; 2: usage. Needs `npm run tools`.',
};

const MIGRATIONS = 200;
const rounds = Number(process.env.BENCH_ROUNDS ?? 5);
const MIGRATE_BIN = process.env.MIGRATE_BIN ?? path.join(PROJECT_ROOT, '.tools', 'bin', 'migrate');
const DATABASE = 'bench';
const TARGET = Number(process.env.BENCH_TARGET ?? 0.6);

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

/** 200 small but real migrations: a table, an index and a row each, with their downs. */
function generate(dir: string): void {
  for (let i = 1; i <= MIGRATIONS; i++) {
    const version = String(20240101000000 + i * 100);
    const table = `bench_${i}`;
    fs.writeFileSync(
      path.join(dir, `${version}_create_${table}.up.sql`),
      `CREATE TABLE ${table} (id bigint PRIMARY KEY, name text NOT NULL, at timestamptz DEFAULT now());\n` +
        `CREATE INDEX ${table}_name_idx ON ${table} (name);\n` +
        `INSERT INTO ${table} (id, name) VALUES (1, 'row ${i}');\n`,
    );
    fs.writeFileSync(path.join(dir, `${version}_create_${table}.down.sql`), `DROP TABLE ${table};\n`);
  }
}

async function runner(pg: TestPostgres, dir: string): Promise<number> {
  const started = process.hrtime.bigint();
  const client = await pg.connect(DATABASE);
  try {
    const migrator = await Migrator.open(client, MigrationSet.fromDirectory(dir), {
      database: DATABASE,
      // As the Lambda runs: a deadline (so statement_timeout and the watchdog are armed per file).
      deadline: Date.now() + 10 * 60_000,
      openWatchdog: () => pg.connect(DATABASE),
    });
    const result = await migrator.run({ command: 'up' });
    if (result.applied.length !== MIGRATIONS) throw new Error(`runner applied ${result.applied.length}`);
  } finally {
    await client.end();
  }
  return Number(process.hrtime.bigint() - started) / 1e6;
}

function cli(pg: TestPostgres, dir: string): number {
  const started = process.hrtime.bigint();
  const result = spawnSync(MIGRATE_BIN, ['-path', dir, '-database', pg.url(DATABASE), 'up'], {
    encoding: 'utf8',
  });
  const elapsed = Number(process.hrtime.bigint() - started) / 1e6;
  const applied = result.stderr.split('\n').filter((line) => /^\d+\/u /.test(line)).length;
  if (result.status !== 0 || applied !== MIGRATIONS) {
    throw new Error(
      `migrate up failed (exit ${result.status}, ${applied} applied): ${result.stderr.slice(-500)}`,
    );
  }
  return elapsed;
}

async function main(): Promise<void> {
  const { exit } = parseScriptArgs(process.argv.slice(2), BENCH_MIGRATE_USAGE);
  if (exit !== undefined) process.exit(exit);
  if (!MIGRATE_BIN || !fs.existsSync(MIGRATE_BIN)) {
    throw new Error(`no golang-migrate CLI at ${MIGRATE_BIN} (MIGRATE_BIN). ${TOOLS_FIX}`);
  }
  const dir = scratchDir('cb-bench-migrations-');
  generate(dir);
  const pg = await startPostgres();
  const times = { runner: [] as number[], cli: [] as number[] };
  try {
    for (let round = 0; round <= rounds; round++) {
      // Alternate which goes first, so neither always follows the other's cleanup.
      const order: ('runner' | 'cli')[] = round % 2 === 0 ? ['runner', 'cli'] : ['cli', 'runner'];
      for (const tool of order) {
        await pg.createDatabase(DATABASE);
        const ms = tool === 'runner' ? await runner(pg, dir) : cli(pg, dir);
        if (round > 0) times[tool].push(ms); // round 0 warms both up
      }
    }
  } finally {
    await pg.stop();
    fs.rmSync(dir, { recursive: true, force: true });
  }
  const runnerMs = median(times.runner);
  const cliMs = median(times.cli);
  const fmt = (xs: number[]) => xs.map((x) => x.toFixed(0)).join(', ');
  console.log(
    `${MIGRATIONS} migrations to an empty PostgreSQL 17 database, ${rounds} rounds each, alternating`,
  );
  console.log(`runner (lambda/db-migrate): median ${runnerMs.toFixed(0)} ms  [${fmt(times.runner)}]`);
  console.log(`golang-migrate CLI:         median ${cliMs.toFixed(0)} ms  [${fmt(times.cli)}]`);
  const ratio = runnerMs / cliMs;
  console.log(`ratio runner / CLI: ${ratio.toFixed(2)}x (target <= ${TARGET}x)`);
  if (!(ratio <= TARGET)) {
    console.error(`MISSED: ${ratio.toFixed(2)}x is above the target ${TARGET}x`);
    process.exitCode = 1;
  }
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
