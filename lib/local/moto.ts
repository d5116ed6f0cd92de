import { ChildProcess, spawn } from 'node:child_process';
import * as fs from 'node:fs';
import { createServer } from 'node:net';
import * as path from 'node:path';

/** The project root (this file is lib/local/moto.ts). */
export const PROJECT_ROOT = path.join(__dirname, '..', '..');

/** What installs the Python and Go tools, for error messages. */
export const TOOLS_FIX =
  'Fix: npm run tools (installs .venv and .tools/bin from the project files; docs/testing.md "Tests and benchmarks")';

/** Where `npm run tools` puts the AWS emulator (moto in server mode). */
export function motoServerPath(root = PROJECT_ROOT): string {
  return path.join(root, '.venv-moto', 'bin', 'moto_server');
}

/** A port the kernel just handed out on loopback; free unless someone races us for it. */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() => resolve(typeof address === 'object' && address ? address.port : 0));
    });
  });
}

/** A running moto server on loopback. */
export interface Moto {
  readonly endpoint: string;
  readonly process: ChildProcess;
  stop(): Promise<void>;
}

/**
 * Starts moto (the AWS API emulator) in server mode on 127.0.0.1 and waits until it answers. Its
 * state lives in memory: every start is an empty account.
 */
export async function startMoto(
  options: {
    port?: number;
    root?: string;
    /** The account moto's empty account has (`MOTO_ACCOUNT_ID`). @default moto's, 123456789012 */
    accountId?: string;
  } = {},
): Promise<Moto> {
  const bin = motoServerPath(options.root);
  if (!fs.existsSync(bin)) throw new Error(`moto is not installed (no ${bin}). ${TOOLS_FIX}`);
  const port = options.port ?? (await freePort());
  let log = '';
  const child = spawn(bin, ['-H', '127.0.0.1', '-p', String(port)], {
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, ...(options.accountId ? { MOTO_ACCOUNT_ID: options.accountId } : {}) },
  });
  const keep = (c: Buffer) => (log = (log + String(c)).slice(-2000));
  child.stdout?.on('data', keep);
  child.stderr?.on('data', keep);
  const endpoint = `http://127.0.0.1:${port}`;
  const stop = async () => {
    if (child.exitCode !== null || child.signalCode !== null) return;
    const exited = new Promise((resolve) => child.once('exit', resolve));
    child.kill('SIGTERM');
    await exited;
  };
  const deadline = Date.now() + 30_000;
  while (Date.now() < deadline) {
    if (child.exitCode !== null) throw new Error(`moto_server exited with ${child.exitCode}: ${log}`);
    const up = await fetch(`${endpoint}/moto-api/`).then(
      (r) => r.ok,
      () => false,
    );
    if (up) return { endpoint, process: child, stop };
    await new Promise((r) => setTimeout(r, 200));
  }
  await stop();
  throw new Error(`moto_server did not answer on ${endpoint} within 30 s: ${log}`);
}
