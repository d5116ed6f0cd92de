/**
 * `npm run local`: the Development environment on a developer's machine, no AWS and no Docker
 * (README "Local development"). Starts PostgreSQL 17 (data in .local/postgres, kept), moto seeded
 * as the stack leaves an account, a Betfair stand-in and the operations functions; writes the
 * runtime contract to .env and prints it. Ctrl-C stops everything; committed data stays.
 */
import '../bin/cli-setup';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { ENV_FILE, envFileText, LOCAL_DIR, RUNTIME_FILE, writeRuntime } from '../lib/local/runtime';
import { startStandIn } from '../lib/local/stand-in';
import { parseScriptArgs } from '../lib/cli/script-args';

/** Fixed ports, so .env stays valid across restarts. */
export const LOCAL_PORTS = { postgres: 54329, moto: 54330, lambda: 54331, betfair: 54332 } as const;

/**
 * As root, PostgreSQL runs as the `postgres` user, which must be able to enter the data directory.
 * Returns the first directory on the way that it cannot enter, if any.
 */
export function unreachableForServerUser(dir: string): string | undefined {
  if (process.getuid?.() !== 0) return undefined;
  for (let d = path.dirname(path.resolve(dir)); ; d = path.dirname(d)) {
    if (fs.existsSync(d) && (fs.statSync(d).mode & 0o001) === 0) return d;
    if (d === path.dirname(d)) return undefined;
  }
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
  const dataDir = path.join(LOCAL_DIR, 'postgres');
  const blocked = unreachableForServerUser(dataDir);
  if (blocked) {
    process.stderr.write(
      `As root, PostgreSQL runs as the "postgres" user, which cannot enter ${blocked} (no execute bit for others), ` +
        'so it cannot keep its data in this clone. Fix: run npm run local as your own user, or clone into a ' +
        'directory other users can enter.\n',
    );
    return 1;
  }
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
