import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import setup, { missingTools } from './helpers/integration-setup';

describe('integration-test tools', () => {
  test('names each missing tool', () => {
    const missing = missingTools({ MIGRATE_BIN: '/nowhere/migrate' });
    expect(missing[0]).toBe('golang-migrate CLI (looked for MIGRATE_BIN = /nowhere/migrate)');
  });

  test('an emulator already running stands in for the local moto', () => {
    expect(missingTools({ MIGRATE_BIN: __filename, MOTO_ENDPOINT: 'http://127.0.0.1:1' })).toEqual([]);
  });

  test('fails the run once, naming the tool and the command that installs it', async () => {
    const saved = process.env.MIGRATE_BIN;
    process.env.MIGRATE_BIN = '/nowhere/migrate';
    try {
      await expect(setup()).rejects.toThrow(
        /^Integration tests need tools that are not installed: golang-migrate CLI .*Fix: npm run tools/,
      );
    } finally {
      if (saved === undefined) delete process.env.MIGRATE_BIN;
      else process.env.MIGRATE_BIN = saved;
    }
  });

  test('a run that fails there leaves nothing in the temporary directory (jest runs no teardown then)', () => {
    const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'cb-setup-'));
    try {
      const env: NodeJS.ProcessEnv = { ...process.env, TMPDIR: tmp, MIGRATE_BIN: '/nowhere/migrate' };
      delete env.CLEVER_BETTER_RUN_TMPDIR;
      delete env.JEST_WORKER_ID;
      // A test of each project, as a plain `npx jest` runs them: the unit setup makes the directory
      // first; the integration setup then fails, before any test runs.
      const run = spawnSync(
        process.execPath,
        [
          require.resolve('jest/bin/jest'),
          '--ci',
          '--testPathPatterns',
          'test/cli-setup\\.test\\.ts$|emergency-stop\\.integration\\.test\\.ts$',
        ],
        { cwd: path.join(__dirname, '..'), env, encoding: 'utf8' },
      );
      expect(run.status).toBe(1);
      expect(run.stderr).toContain('Integration tests need tools that are not installed');
      expect(fs.readdirSync(tmp)).toEqual([]);
    } finally {
      fs.rmSync(tmp, { recursive: true, force: true });
    }
  });
});
