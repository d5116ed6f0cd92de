import { Logger } from '@aws-lambda-powertools/logger';
import { Metrics, MetricUnit } from '@aws-lambda-powertools/metrics';
import { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import * as path from 'node:path';
import { clientConfig, connect, fetchCredentials, settingsFromEnvironment } from './connection';
import { MigrationSet } from './files';
import { createHandler } from './handler';
import { MIGRATION_METRICS, partitionMetricValues } from './metrics';
import { Migrator } from './runner';
import { serviceLoginStep, serviceLoginsFromEnvironment, withServiceLogins } from './service-logins';

/** The migrations/ directory, copied next to the bundle by lib/migrations.ts. */
const MIGRATIONS_DIR = path.join(__dirname, 'migrations');

const logger = new Logger({ serviceName: 'db-migrate' });
const secrets = new SecretsManagerClient({});
const metrics = new Metrics({
  namespace: MIGRATION_METRICS.namespace,
  serviceName: MIGRATION_METRICS.service,
});

/** The services' own logins (lambda/db-migrate/service-logins.ts). */
const logins = {
  logins: () => serviceLoginsFromEnvironment(process.env),
  connect: async () => {
    const settings = settingsFromEnvironment(process.env);
    return connect(clientConfig(settings, await fetchCredentials(secrets, settings.secretId)));
  },
  fetchCredentials: (secretId: string) => fetchCredentials(secrets, secretId),
};

const needsAttention = (what: string) => {
  logger.error('needs a person', { what });
  metrics.addMetric(MIGRATION_METRICS.needsAttention, MetricUnit.Count, 1);
  metrics.publishStoredMetrics();
};

const migrate = createHandler({
  environmentName: process.env.CLEVER_BETTER_ENV ?? '<env>',
  logInfo: (message, extra) => logger.info(message, extra ?? {}),
  signals: {
    partitions: (report) => {
      const values = partitionMetricValues(report);
      for (const table of values.perTable) {
        const single = metrics.singleMetric();
        single.addDimension('Table', table.table);
        single.addMetric(MIGRATION_METRICS.defaultPartitionRows, MetricUnit.Count, table.defaultRows);
      }
      metrics.addMetric(MIGRATION_METRICS.defaultPartitionRows, MetricUnit.Count, values.defaultRows);
      if (values.horizonDays !== undefined) {
        metrics.addMetric(MIGRATION_METRICS.partitionHorizonDays, MetricUnit.Count, values.horizonDays);
      }
      metrics.publishStoredMetrics();
      logger.info('partition upkeep', { report });
    },
    needsAttention,
  },
  // After each deploy's migration, forward and rollback (post-migration.ts).
  afterMigration: [serviceLoginStep(logins)],
  open: async ({ deadline, log }) => {
    const settings = settingsFromEnvironment(process.env);
    const source = MigrationSet.fromDirectory(MIGRATIONS_DIR);
    if (source.ignored.length > 0) logger.warn('files golang-migrate ignores', { files: source.ignored });
    const credentials = await fetchCredentials(secrets, settings.secretId);
    const config = clientConfig(settings, credentials);
    const client = await connect(config);
    try {
      const migrator = await Migrator.open(client, source, {
        database: settings.database,
        lockTimeoutMs: settings.lockTimeoutMs,
        tableLockTimeoutMs: settings.tableLockTimeoutMs,
        deadline,
        // The deadline's watchdog: a second connection, opened only when the deadline arrives.
        openWatchdog: () => connect(config),
        log,
      });
      return { migrator, close: () => client.end() };
    } catch (err) {
      await client.end().catch(() => undefined);
      throw err;
    }
  },
});

// Operators' up/goto and set-service-logins set the logins too (a down+up re-creates the roles).
export const handler = withServiceLogins(migrate, {
  ...logins,
  log: (line) => logger.info('service login', { step: line }),
  page: needsAttention,
});
