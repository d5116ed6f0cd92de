/**
 * `npm run local`: the Development environment on a developer's machine, no AWS and no Docker
 * (docs/local-development.md). Starts PostgreSQL 17 (data kept across runs, where localDataDir in
 * lib/local/runtime.ts says), moto seeded as the stack leaves an account, a Betfair stand-in, the
 * operations functions and an on-call inbox; writes the runtime contract to .env and prints it.
 * Ctrl-C stops everything; committed data stays.
 */
import '../bin/cli-setup';
import * as fs from 'node:fs';
import { createServer } from 'node:net';
import {
  ENV_FILE,
  envFileText,
  localDataDir,
  RUNTIME_FILE,
  runningStandIn,
  unreachableForServerUser,
  writeRuntime,
} from '../lib/local/runtime';
import { startStandIn } from '../lib/local/stand-in';
import { parseScriptArgs } from '../lib/cli/script-args';

/** Fixed ports, so .env stays valid across restarts. */
export const LOCAL_PORTS = {
  postgres: 54329,
  moto: 54330,
  lambda: 54331,
  betfair: 54332,
  inbox: 54333,
} as const;

/** The first of `ports` something already listens on (127.0.0.1), by name, if any. */
export async function portInUse(ports: Readonly<Record<string, number>>): Promise<string | undefined> {
  for (const [name, port] of Object.entries(ports)) {
    const free = await new Promise<boolean>((resolve) => {
      const server = createServer();
      server.once('error', () => resolve(false));
      server.listen(port, '127.0.0.1', () => server.close(() => resolve(true)));
    });
    if (!free) return `${port} (${name})`;
  }
  return undefined;
}

/** `npm run local`'s command line (lib/cli/script-args.ts). */
export const LOCAL_USAGE = {
  command: 'npm run local',
  description:
    'Runs the local stand-in until Ctrl-C: PostgreSQL 17, moto seeded as the stack leaves an account,\n' +
    'a Betfair stand-in, the operations functions and an on-call inbox; writes the runtime contract to\n' +
    '.env. `npm run ops -- <command> --env local` acts on it. Needs `npm run tools`.\n' +
    'Exit 0 after Ctrl-C, 1 when it cannot start (e.g. already running), 2 on a usage error.',
} as const;

async function main(argv: readonly string[]): Promise<number> {
  const { exit } = parseScriptArgs(argv, LOCAL_USAGE);
  if (exit !== undefined) return exit;
  const running = runningStandIn();
  if (running) {
    process.stderr.write(
      `npm run local is already running (process ${running.pid}, AWS emulator ${running.awsEndpoint}): ` +
        'use it (npm run ops -- status --env local), or stop it with Ctrl-C in its terminal first.\n',
    );
    return 1;
  }
  // Another clone's stand-in, or another program: PostgreSQL's own error would not say so.
  const busy = await portInUse(LOCAL_PORTS);
  if (busy) {
    process.stderr.write(
      `Port ${busy} is in use: npm run local seems to be running already (from another clone?), or another ` +
        'program holds the port. Stop it first (Ctrl-C in its terminal).\n',
    );
    return 1;
  }
  const dataDir = localDataDir();
  const blocked = unreachableForServerUser(dataDir);
  if (blocked) {
    process.stderr.write(
      `As root, PostgreSQL runs as the "postgres" user, which cannot enter ${blocked} (no execute bit for others). ` +
        'Fix: set CLEVER_BETTER_LOCAL_DATA to a directory it can reach, or run npm run local as your own user.\n',
    );
    return 1;
  }
  console.log(`PostgreSQL data: ${dataDir} (kept across runs; docs/local-development.md)`);
  const standIn = await startStandIn({ dataDir, ports: LOCAL_PORTS, log: (l) => console.log(l) });
  writeRuntime({
    pid: process.pid,
    awsEndpoint: standIn.endpoints.aws,
    lambdaEndpoint: standIn.endpoints.lambda,
  });
  fs.writeFileSync(ENV_FILE, envFileText(standIn.contract));
  console.log('\nThe runtime contract (also in .env: `docker run --env-file .env …` or `set -a; . ./.env`):');
  for (const [k, v] of Object.entries(standIn.contract)) console.log(`  ${k}=${v}`);
  console.log('\nops against it: npm run ops -- status --env local   (emergency-stop, resume, migrate too)');
  console.log('Ctrl-C stops everything; the database keeps what was committed.');

  await new Promise<void>((resolve) => {
    process.once('SIGINT', resolve);
    process.once('SIGTERM', resolve);
  });
  console.log('\nstopping…');
  await standIn.stop();
  fs.rmSync(RUNTIME_FILE, { force: true });
  return 0;
}

if (require.main === module) {
  main(process.argv.slice(2)).then(
    (code) => process.exit(code),
    (err) => {
      process.stderr.write(`npm run local failed: ${(err as Error).message}\n`);
      process.exit(1);
    },
  );
}
