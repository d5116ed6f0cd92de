import { Logger } from '@aws-lambda-powertools/logger';
import { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import * as path from 'node:path';
import { clientConfig, connect, fetchCredentials, settingsFromEnvironment } from './connection';
import { MigrationSet } from './files';
import { createHandler } from './handler';
import { Migrator } from './runner';

/** The migrations/ directory, copied next to the bundle by lib/migrations.ts. */
const MIGRATIONS_DIR = path.join(__dirname, 'migrations');

const logger = new Logger({ serviceName: 'db-migrate' });
const secrets = new SecretsManagerClient({});

export const handler = createHandler({
  environmentName: process.env.CLEVER_BETTER_ENV ?? '<env>',
  logInfo: (message, extra) => logger.info(message, extra ?? {}),
  open: async ({ deadline, log }) => {
    const settings = settingsFromEnvironment(process.env);
    const source = MigrationSet.fromDirectory(MIGRATIONS_DIR);
    if (source.ignored.length > 0) logger.warn('files golang-migrate ignores', { files: source.ignored });
    const credentials = await fetchCredentials(secrets, settings.secretId);
    const client = await connect(clientConfig(settings, credentials));
    try {
      const migrator = await Migrator.open(client, source, {
        database: settings.database,
        lockTimeoutMs: settings.lockTimeoutMs,
        deadline,
        log,
      });
      return { migrator, close: () => client.end() };
    } catch (err) {
      await client.end().catch(() => undefined);
      throw err;
    }
  },
});
