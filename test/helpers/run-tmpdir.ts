/**
 * One temporary directory per jest run: globalSetup points TMPDIR at it (workers inherit the
 * environment, and `os.tmpdir()` reads TMPDIR on each call), globalTeardown deletes it. Whatever a
 * test, the CDK (`cdk.outXXXX` of an App without outdir) or a bundler writes to the temporary
 * directory goes with it, so a run leaves nothing in /tmp even when a test forgets to clean up.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

const KEY = 'CLEVER_BETTER_RUN_TMPDIR';

export function enterRunTmpdir(): void {
  if (process.env[KEY]) return;
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'cb-jest-'));
  // As root the test PostgreSQL runs as `postgres` and must reach its binaries and data in here.
  fs.chmodSync(dir, 0o755);
  process.env[KEY] = dir;
  process.env.TMPDIR = dir;
}

export function leaveRunTmpdir(): void {
  const dir = process.env[KEY];
  if (dir) fs.rmSync(dir, { recursive: true, force: true });
}
