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
});
