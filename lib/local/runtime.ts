import * as fs from 'node:fs';
import * as path from 'node:path';
import { PROJECT_ROOT } from './moto';

/** Where `npm run local` keeps its state: ignored by git, inside the clone. */
export const LOCAL_DIR = path.join(PROJECT_ROOT, '.local');
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
    '# Clever Better local runtime contract, written by `npm run local` (README "Local development").',
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
