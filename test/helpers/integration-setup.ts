/**
 * Jest globalSetup of the `integration` project: finds the tools `npm run tools` installs and
 * starts the AWS emulator, so `npm run test:integration` needs no hand-set variables. A missing tool
 * fails the whole run once, here, with the command that installs it, instead of every test file
 * failing with its own noise.
 *
 * - MIGRATE_BIN: the golang-migrate CLI; default `.tools/bin/migrate`.
 * - MOTO_ENDPOINT: an emulator already running (e.g. `npm run local`'s); otherwise this starts
 *   `.venv/bin/moto_server` on a free loopback port and globalTeardown stops it.
 */
import { ChildProcess, spawn } from 'node:child_process';
import * as fs from 'node:fs';
import { createServer } from 'node:net';
import * as path from 'node:path';
import { enterRunTmpdir } from './run-tmpdir';

const ROOT = path.join(__dirname, '..', '..');
const FIX =
  'Fix: npm run tools (installs .venv and .tools/bin from the project files; README "Tests and benchmarks")';

/** Read by globalTeardown: jest shares globals, not modules, between the two. */
export const MOTO_GLOBAL = '__cleverBetterMoto';

export function missingTools(env: NodeJS.ProcessEnv = process.env): string[] {
  const missing: string[] = [];
  const migrate = env.MIGRATE_BIN ?? path.join(ROOT, '.tools', 'bin', 'migrate');
  if (!fs.existsSync(migrate)) missing.push(`golang-migrate CLI (looked for MIGRATE_BIN = ${migrate})`);
  if (!env.MOTO_ENDPOINT && !fs.existsSync(path.join(ROOT, '.venv', 'bin', 'moto_server')))
    missing.push('moto (no MOTO_ENDPOINT, and no .venv/bin/moto_server)');
  return missing;
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() => resolve(typeof address === 'object' && address ? address.port : 0));
    });
  });
}

async function waitUntilUp(endpoint: string, child: ChildProcess, log: () => string): Promise<void> {
  const deadline = Date.now() + 30_000;
  while (Date.now() < deadline) {
    if (child.exitCode !== null) throw new Error(`moto_server exited with ${child.exitCode}: ${log()}`);
    const ok = await fetch(`${endpoint}/moto-api/`).then(
      (r) => r.ok,
      () => false,
    );
    if (ok) return;
    await new Promise((r) => setTimeout(r, 200));
  }
  throw new Error(`moto_server did not answer on ${endpoint} within 30 s: ${log()}`);
}

export default async function setup(): Promise<void> {
  enterRunTmpdir();
  const missing = missingTools();
  if (missing.length > 0)
    throw new Error(`Integration tests need tools that are not installed: ${missing.join('; ')}. ${FIX}`);
  process.env.MIGRATE_BIN ??= path.join(ROOT, '.tools', 'bin', 'migrate');
  if (process.env.MOTO_ENDPOINT) return;
  const port = await freePort();
  let log = '';
  const moto = spawn(
    path.join(ROOT, '.venv', 'bin', 'moto_server'),
    ['-H', '127.0.0.1', '-p', String(port)],
    {
      stdio: ['ignore', 'pipe', 'pipe'],
    },
  );
  moto.stdout?.on('data', (c) => (log = (log + c).slice(-2000)));
  moto.stderr?.on('data', (c) => (log = (log + c).slice(-2000)));
  (globalThis as Record<string, unknown>)[MOTO_GLOBAL] = moto;
  process.env.MOTO_ENDPOINT = `http://127.0.0.1:${port}`;
  await waitUntilUp(process.env.MOTO_ENDPOINT, moto, () => log);
}
