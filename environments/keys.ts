import { ConfigProblem } from './problem';
import { EnvironmentConfig, ServiceConfig } from './types';

/**
 * The shape of a configuration type as data: every key of `T`, each marked `true` (a value: a
 * scalar, a union of literals, or a list of scalars), a nested schema (an object) or a one-element
 * tuple holding the schema of a list's items (a list of objects).
 *
 * Synth runs without type-checking, so a misspelled key (`deletionProtecton: true`) would otherwise
 * be silently ignored while the default applies. The schema is what run time checks keys against.
 * Because the mapped type requires every key and an object literal may name no other, `tsc` fails
 * when a field is added to `types.ts` and not here, or listed here and not in `types.ts`.
 */
export type KeySchema<T> = {
  readonly [K in keyof T]-?: SchemaOf<NonNullable<T[K]>>;
};

type SchemaOf<V> = V extends readonly (infer U)[]
  ? U extends object
    ? readonly [KeySchema<U>]
    : true
  : V extends object
    ? KeySchema<V>
    : true;

const service: KeySchema<ServiceConfig> = {
  cpu: true,
  memoryMiB: true,
  desiredCount: true,
  imageTag: true,
  imageDigest: true,
  containerPort: true,
  healthCheckGracePeriodSeconds: true,
};

/** Every key an environment's configuration may hold. Add a field here when you add it to `types.ts`. */
export const ENVIRONMENT_KEYS: KeySchema<EnvironmentConfig> = {
  name: true,
  stackName: true,
  account: true,
  region: true,
  access: {
    operatorPrincipals: true,
    viewerPrincipals: true,
    crossAccountPrincipalAccounts: true,
    acknowledgeAccountRootTrust: true,
  },
  terminationProtection: true,
  stackCreated: true,
  liveTradingEnabled: true,
  betfairHeartbeatTimeoutSeconds: true,
  acknowledgeLiveTradingOutsideProduction: true,
  allowMutableImageTags: true,
  requireImageDigests: true,
  promoteImagesTo: true,
  logRetentionDays: true,
  retainLogsOnDelete: true,
  alarmEmail: true,
  sandbox: true,
  alerting: {
    pages: true,
    pager: { urlSecretName: true, urlSecretField: true, urlSecretVersionId: true },
    repositoryUrl: true,
    runbookRef: true,
    fallbackEmail: true,
  },
  ecrImagesToKeep: true,
  releaseTagPatterns: true,
  loadBalancerDeletionProtection: true,
  network: { cidr: true, availabilityZones: true, natGateways: true, flowLogRetentionDays: true },
  bot: service,
  ml: { ...service, maxCount: true, targetCpuUtilizationPercent: true },
  database: {
    instanceClass: true,
    allocatedStorageGiB: true,
    maxAllocatedStorageGiB: true,
    multiAz: true,
    backupRetentionDays: true,
    deletionProtection: true,
    removalPolicy: true,
    monitoringIntervalSeconds: true,
  },
  emergencyStop: {
    lossLimit: true,
    lossWindowMinutes: true,
    errorStormPerMinute: true,
    errorStormMinutes: true,
    maxOpenLiability: true,
    dailyLossLimit: true,
    maxBetsPerMinute: true,
  },
  rollback: {
    alarmActionEnabled: true,
    alarmWindowHours: true,
    target5xxPerMinute: true,
    deploymentAlarmMinutes: true,
    waitForStableMinutes: true,
  },
  monitoring: {
    latencyP90Seconds: true,
    noBetsWindowMinutes: true,
    racingHours: { startHourUtc: true, endHourUtc: true, daysOfWeek: true },
    silentBotMinutes: true,
    botErrorLinesPer5Minutes: true,
    betfairAuthFailuresPer5Minutes: true,
    betfairRateLimitsPer5Minutes: true,
    mlTimeoutsPer5Minutes: true,
    serviceCpuPercent: true,
    serviceMemoryPercent: true,
    databaseCpuPercent: true,
    partitionHorizonDays: true,
    databaseFreeStorageGiB: true,
    databaseConnectionsPercent: true,
    databaseFreeableMemoryPercent: true,
    databaseDiskQueueDepth: true,
    databaseMaxUsedTransactionIds: true,
    latencyMinRequestsPerMinute: true,
    http5xxPercent: true,
    minRequestsPer5Minutes: true,
    stopEffectMinutes: true,
    marketDataMaxAgeSeconds: true,
    haltedReminderHourUtc: true,
    databaseLatencyMs: true,
    tasksBelowDesiredMinutes: true,
    failedTasksPer5Minutes: true,
    unhealthyTargetMinutes: true,
    tradingSignalMinutes: true,
    marketDataStaleMinutes: true,
    crashLoopWindowMinutes: true,
    databaseConnectionsDroppedMinutes: true,
  },
  cost: {
    warnAboveUsdPerMonth: true,
    usage: {
      botLogGbPerDay: true,
      mlLogGbPerDay: true,
      otherLogGbPerLogGroupPerDay: true,
      flowLogGbPerDay: true,
      natProcessedGbPerMonth: true,
      albLcuPerHour: true,
      lambdaInvocationsPerFunctionPerMonth: true,
      lambdaAverageDurationMs: true,
      snsPublishesPerMonth: true,
      secretsApiCallsPerMonth: true,
      ecrStoredGbPerRepository: true,
      s3StoredGbPerBucket: true,
      containerInsightsMetrics: true,
      containerInsightsLogGbPerDay: true,
      applicationCustomMetrics: true,
      databaseBackupGbBeyondFree: true,
    },
  },
};

/** A key schema of any type, as `unknownKeys` walks it. */
export type Schema = true | { readonly [key: string]: Schema } | readonly [Schema];

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** Optimal string alignment distance: a swap of two neighbours counts as one edit, as typos do. */
export function editDistance(a: string, b: string): number {
  const x = a.toLowerCase();
  const y = b.toLowerCase();
  const d: number[][] = Array.from({ length: x.length + 1 }, (_, i) =>
    Array.from({ length: y.length + 1 }, (_, j) => (i === 0 ? j : j === 0 ? i : 0)),
  );
  for (let i = 1; i <= x.length; i++) {
    for (let j = 1; j <= y.length; j++) {
      const cost = x[i - 1] === y[j - 1] ? 0 : 1;
      d[i][j] = Math.min(d[i - 1][j] + 1, d[i][j - 1] + 1, d[i - 1][j - 1] + cost);
      if (i > 1 && j > 1 && x[i - 1] === y[j - 2] && x[i - 2] === y[j - 1]) {
        d[i][j] = Math.min(d[i][j], d[i - 2][j - 2] + 1);
      }
    }
  }
  return d[x.length][y.length];
}

/** The known key closest to `key`, when it is close enough to be a typo of it. */
export function closestKey(key: string, known: readonly string[]): string | undefined {
  let best: string | undefined;
  let bestDistance = Infinity;
  for (const candidate of known) {
    const distance = editDistance(key, candidate);
    if (distance < bestDistance) {
      best = candidate;
      bestDistance = distance;
    }
  }
  // A third of the key's length: catches dropped, doubled and swapped letters, not unrelated words.
  return bestDistance <= Math.max(2, Math.floor(key.length / 3)) ? best : undefined;
}

/** Problems for every key of `value` (at any depth) that `schema` does not list; `path` prefixes fields. */
export function unknownKeys(
  value: unknown,
  schema: Schema,
  path: string,
  file: string,
  add: (p: ConfigProblem) => void,
): void {
  if (schema === true) return;
  if (Array.isArray(schema)) {
    if (Array.isArray(value))
      value.forEach((item, i) => unknownKeys(item, schema[0], `${path}[${i}]`, file, add));
    return;
  }
  if (!isPlainObject(value)) return;
  const known = Object.keys(schema);
  for (const [key, child] of Object.entries(value)) {
    const field = `${path}.${key}`;
    const childSchema = (schema as { readonly [key: string]: Schema })[key];
    if (childSchema === undefined) {
      const suggestion = closestKey(key, known);
      add({
        field,
        value: child,
        problem: suggestion
          ? `unknown configuration key; did you mean "${suggestion}"?`
          : 'unknown configuration key',
        fix: suggestion
          ? `rename it to "${suggestion}" in ${file} (or environments/base.ts, wherever it is written)`
          : `remove it, or use one of ${known.join(', ')} in ${file} (a new field also goes into environments/types.ts and environments/keys.ts)`,
      });
      continue;
    }
    unknownKeys(child, childSchema, field, file, add);
  }
}

/**
 * Keys of `env` that the configuration types do not know, at any depth, each with the closest known
 * key. Checked on the merged configuration, so a typo in the base and in an override are both found.
 */
export function unknownKeyProblems(env: EnvironmentConfig): ConfigProblem[] {
  const problems: ConfigProblem[] = [];
  const name = typeof env.name === 'string' ? env.name : 'environment';
  unknownKeys(env, ENVIRONMENT_KEYS as Schema, name, `environments/${name}.ts`, (p) => problems.push(p));
  return problems;
}
