import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { PROJECT_ROOT } from './moto';

/** Where `npm run local` keeps its runtime file: ignored by git, inside the clone. */
export const LOCAL_DIR = path.join(PROJECT_ROOT, '.local');

/**
 * Where `npm run local` keeps PostgreSQL's data, kept across runs (docs/local-development.md).
 * As root, PostgreSQL runs as the `postgres` user, which must reach the directory; a clone under a
 * mode-700 home (/root) hides it, so then the data lives under /var/lib/clever-better-local, one
 * directory per clone (by its path). `CLEVER_BETTER_LOCAL_DATA` names another directory.
 */
export function localDataDir(
  options: {
    readonly env?: NodeJS.ProcessEnv;
    readonly root?: string;
    readonly isRoot?: boolean;
    /** The first directory on the way the server user cannot enter, if any. */
    readonly unreachable?: (dir: string) => string | undefined;
  } = {},
): string {
  const env = options.env ?? process.env;
  if (env.CLEVER_BETTER_LOCAL_DATA) return path.resolve(env.CLEVER_BETTER_LOCAL_DATA);
  const root = options.root ?? PROJECT_ROOT;
  const inClone = path.join(root, '.local', 'postgres');
  const isRoot = options.isRoot ?? process.getuid?.() === 0;
  if (!isRoot || !(options.unreachable ?? unreachableForServerUser)(inClone)) return inClone;
  const id = createHash('sha256').update(path.resolve(root)).digest('hex').slice(0, 12);
  return path.join(SYSTEM_DATA_ROOT, `${path.basename(root)}-${id}`, 'postgres');
}

/** Parent of the per-clone data directories when the clone is out of the server user's reach. */
export const SYSTEM_DATA_ROOT = '/var/lib/clever-better-local';

/**
 * As root, PostgreSQL runs as the `postgres` user, which must be able to enter the data directory.
 * Returns the first directory on the way that it cannot enter (no execute bit for others), if any.
 */
export function unreachableForServerUser(dir: string): string | undefined {
  if (process.getuid?.() !== 0) return undefined;
  for (let d = path.dirname(path.resolve(dir)); ; d = path.dirname(d)) {
    if (fs.existsSync(d) && (fs.statSync(d).mode & 0o001) === 0) return d;
    if (d === path.dirname(d)) return undefined;
  }
}
/** Written while `npm run local` runs; removed when it stops. */
export const RUNTIME_FILE = path.join(LOCAL_DIR, 'runtime.json');
/** The runtime contract as an env file (`docker run --env-file .env`, `set -a; . ./.env`). */
export const ENV_FILE = path.join(PROJECT_ROOT, '.env');

/**
 * Where the local contract keeps the emulator's settings: names only the local stand-in and its
 * contract client read. Under the SDK's own names (`AWS_ENDPOINT_URL`, `AWS_ACCESS_KEY_ID`, …) a
 * shell that sources `.env` would send every later `ops --env staging` to the emulator.
 */
export const LOCAL_AWS_VARIABLES = {
  region: 'CLEVER_BETTER_LOCAL_AWS_REGION',
  endpoint: 'CLEVER_BETTER_LOCAL_AWS_ENDPOINT_URL',
  accessKeyId: 'CLEVER_BETTER_LOCAL_AWS_ACCESS_KEY_ID',
  secretAccessKey: 'CLEVER_BETTER_LOCAL_AWS_SECRET_ACCESS_KEY',
} as const;

/** What a running `npm run local` tells `ops --env local`. */
export interface LocalRuntime {
  readonly pid: number;
  /** The AWS emulator (every service but Lambda). */
  readonly awsEndpoint: string;
  /** The local Lambda Invoke endpoint running the operations functions. */
  readonly lambdaEndpoint: string;
}

export function writeRuntime(runtime: LocalRuntime): void {
  fs.mkdirSync(LOCAL_DIR, { recursive: true });
  fs.writeFileSync(RUNTIME_FILE, `${JSON.stringify(runtime, null, 2)}\n`);
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** The stand-in a live `npm run local` recorded in `file`, or undefined when none runs. */
export function runningStandIn(file = RUNTIME_FILE): LocalRuntime | undefined {
  try {
    const runtime = JSON.parse(fs.readFileSync(file, 'utf8')) as LocalRuntime;
    return typeof runtime.pid === 'number' && runtime.pid !== process.pid && alive(runtime.pid)
      ? runtime
      : undefined;
  } catch {
    return undefined;
  }
}

/**
 * The running stand-in's endpoints, or an error that says to start it. CLEVER_BETTER_LOCAL_RUNTIME
 * names another runtime file (the drill's, so it never touches a developer's running stand-in).
 */
export function readRuntime(file = process.env.CLEVER_BETTER_LOCAL_RUNTIME || RUNTIME_FILE): LocalRuntime {
  const notRunning =
    'npm run local is not running: start it in another terminal, then run this command again';
  let runtime: LocalRuntime;
  try {
    runtime = JSON.parse(fs.readFileSync(file, 'utf8')) as LocalRuntime;
  } catch {
    throw new Error(notRunning);
  }
  if (!alive(runtime.pid)) throw new Error(`${notRunning} (process ${runtime.pid} of ${file} has ended)`);
  return runtime;
}

/**
 * Points this process's AWS SDK clients at the stand-in: the SDK reads AWS_ENDPOINT_URL and the
 * service-specific AWS_ENDPOINT_URL_LAMBDA when a client is created, so `ops` needs no other change.
 */
export function useLocalEndpoints(runtime: LocalRuntime, env: NodeJS.ProcessEnv = process.env): void {
  Object.assign(env, {
    AWS_ENDPOINT_URL: runtime.awsEndpoint,
    AWS_ENDPOINT_URL_LAMBDA: runtime.lambdaEndpoint,
    AWS_ACCESS_KEY_ID: 'local',
    AWS_SECRET_ACCESS_KEY: 'local',
  });
  delete env.AWS_PROFILE;
  delete env.AWS_SESSION_TOKEN;
}

/** `KEY=value` lines; values are plain (no spaces or quotes in what the stand-in writes). */
export function envFileText(contract: Readonly<Record<string, string>>): string {
  return [
    '# Clever Better local runtime contract, written by `npm run local` (docs/local-development.md "Local development").',
    '# The same names the stacks give the bot and ml-service; values point at the local stand-in.',
    ...Object.entries(contract).map(([k, v]) => `${k}=${v}`),
    '',
  ].join('\n');
}

/** Reads an env file written by {@link envFileText}. */
export function parseEnvFile(text: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const line of text.split('\n')) {
    const m = /^([A-Z_][A-Z0-9_]*)=(.*)$/.exec(line.trim());
    if (m) out[m[1]] = m[2];
  }
  return out;
}
