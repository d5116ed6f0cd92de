/**
 * Jest globalSetup of the `integration` project: finds the tools `npm run tools` installs and
 * starts the AWS emulator, so `npm run test:integration` needs no hand-set variables. A missing tool
 * fails the whole run once, here, with the command that installs it, instead of every test file
 * failing with its own noise.
 *
 * - MIGRATE_BIN: the golang-migrate CLI; default `.tools/bin/migrate`.
 * - MOTO_ENDPOINT: an emulator already running (e.g. `npm run local`'s); otherwise this starts
 *   `.venv-moto/bin/moto_server` on a free loopback port and globalTeardown stops it.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { motoServerPath, PROJECT_ROOT, startMoto, TOOLS_FIX } from '../../lib/local/moto';
import { enterRunTmpdir, leaveRunTmpdir } from './run-tmpdir';

/** Read by globalTeardown: jest shares globals, not modules, between the two. */
export const MOTO_GLOBAL = '__cleverBetterMoto';

export function missingTools(env: NodeJS.ProcessEnv = process.env): string[] {
  const missing: string[] = [];
  const migrate = env.MIGRATE_BIN ?? path.join(PROJECT_ROOT, '.tools', 'bin', 'migrate');
  if (!fs.existsSync(migrate)) missing.push(`golang-migrate CLI (looked for MIGRATE_BIN = ${migrate})`);
  if (!env.MOTO_ENDPOINT && !fs.existsSync(motoServerPath()))
    missing.push('moto (no MOTO_ENDPOINT, and no .venv-moto/bin/moto_server)');
  return missing;
}

/**
 * `globalConfig` is set when jest calls this (a test calls it without). Jest runs no globalTeardown
 * after a globalSetup that failed, so then this removes the run's temporary directory itself
 * (also when the `unit` project's setup made it, in a plain `npx jest`).
 */
export default async function setup(globalConfig?: unknown): Promise<void> {
  enterRunTmpdir();
  try {
    const missing = missingTools();
    if (missing.length > 0)
      throw new Error(
        `Integration tests need tools that are not installed: ${missing.join('; ')}. ${TOOLS_FIX}`,
      );
    process.env.MIGRATE_BIN ??= path.join(PROJECT_ROOT, '.tools', 'bin', 'migrate');
    if (process.env.MOTO_ENDPOINT) return;
    const moto = await startMoto();
    (globalThis as Record<string, unknown>)[MOTO_GLOBAL] = moto;
    process.env.MOTO_ENDPOINT = moto.endpoint;
  } catch (err) {
    if (globalConfig !== undefined) leaveRunTmpdir();
    throw err;
  }
}
