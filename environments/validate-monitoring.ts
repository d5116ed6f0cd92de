import { EnvironmentConfig, MonitoringConfig } from './types';
import type { ConfigProblem } from './problem';

type NumericField = {
  [K in keyof MonitoringConfig]: MonitoringConfig[K] extends number ? K : never;
}[keyof MonitoringConfig];

/**
 * Bounds of the numeric `monitoring` fields: [min, max, whole numbers only, what the range protects].
 * A threshold outside them either never fires or always does.
 */
const MONITORING_BOUNDS: Record<NumericField, readonly [number, number, boolean, string]> = {
  latencyP90Seconds: [0.05, 60, false, 'the ALB gives up on a request after 60 s'],
  noBetsWindowMinutes: [10, 720, true, 'the alarm sums bets in 5-minute periods over at most 12 hours'],
  silentBotMinutes: [2, 60, true, 'one late data point must not page, an hour of silence must'],
  botErrorLinesPer5Minutes: [1, 100000, true, 'a threshold of 0 would alarm on every quiet period'],
  betfairAuthFailuresPer5Minutes: [1, 1000, true, 'a threshold of 0 would alarm on every quiet period'],
  betfairRateLimitsPer5Minutes: [1, 1000, true, 'a threshold of 0 would alarm on every quiet period'],
  mlTimeoutsPer5Minutes: [1, 100000, true, 'a threshold of 0 would alarm on every quiet period'],
  serviceCpuPercent: [1, 100, false, 'utilisation is a percentage'],
  serviceMemoryPercent: [1, 100, false, 'utilisation is a percentage'],
  databaseCpuPercent: [1, 100, false, 'utilisation is a percentage'],
  partitionHorizonDays: [
    7,
    84,
    true,
    'upkeep keeps at least 3 months (84+ days) of partitions; under a week leaves no time to act',
  ],
  databaseFreeStorageGiB: [1, 65536, false, 'RDS gp3 storage is at most 65536 GiB'],
  databaseConnectionsPercent: [1, 100, false, 'a share of max_connections'],
  databaseFreeableMemoryPercent: [1, 90, false, 'a share of the instance memory'],
  databaseDiskQueueDepth: [1, 10000, false, 'a queue depth of 0 is every idle moment'],
  databaseMaxUsedTransactionIds: [
    100_000_000,
    2_000_000_000,
    true,
    'autovacuum freezes from 200 million; writes stop near 2 billion',
  ],
  latencyMinRequestsPerMinute: [1, 100000, true, 'a percentile needs requests to be judged'],
  http5xxPercent: [0.1, 100, false, 'a share of requests'],
  minRequestsPer5Minutes: [1, 1000000, true, 'a rate of zero requests is not a rate'],
  stopEffectMinutes: [
    2,
    30,
    true,
    'the stop needs a few minutes to drain the bot; a stop not in effect after 30 is an emergency',
  ],
  marketDataMaxAgeSeconds: [5, 3600, true, 'prices older than an hour are no prices'],
  haltedReminderHourUtc: [0, 23, true, 'an hour of the day, UTC'],
  databaseLatencyMs: [1, 10000, false, 'the value is in milliseconds'],
  tasksBelowDesiredMinutes: [1, 60, true, 'a deployment legitimately runs below desired for a few minutes'],
  failedTasksPer5Minutes: [1, 100, true, 'a threshold of 0 would alarm on every quiet period'],
  unhealthyTargetMinutes: [1, 60, true, 'one failed health check must not page, an hour of them must'],
};

/** Problems in the `monitoring` section of one environment, empty when it is valid. */
export function monitoringProblems(env: EnvironmentConfig): ConfigProblem[] {
  const problems: ConfigProblem[] = [];
  const file = `environments/${env.name}.ts`;
  const m = env.monitoring;
  for (const [field, [min, max, whole, why]] of Object.entries(MONITORING_BOUNDS)) {
    const value = m[field as NumericField];
    if (typeof value !== 'number' || !(value >= min && value <= max) || (whole && !Number.isInteger(value))) {
      problems.push({
        field: `${env.name}.monitoring.${field}`,
        value,
        problem: `must be ${whole ? 'a whole number' : 'a number'} from ${min} to ${max} (${why})`,
        fix: `use ${min}–${max} in ${file}`,
      });
    }
  }
  if (Number.isInteger(m.noBetsWindowMinutes) && m.noBetsWindowMinutes % 5 !== 0) {
    problems.push({
      field: `${env.name}.monitoring.noBetsWindowMinutes`,
      value: m.noBetsWindowMinutes,
      problem: 'the "no bets" alarm sums bets in 5-minute periods, so the window must be a multiple of 5',
      fix: `use ${Math.max(10, Math.round(m.noBetsWindowMinutes / 5) * 5)} in ${file}`,
    });
  }

  const autoscalingFloor = env.database.allocatedStorageGiB * 0.1;
  if (m.databaseFreeStorageGiB >= autoscalingFloor) {
    problems.push({
      field: `${env.name}.monitoring.databaseFreeStorageGiB`,
      value: m.databaseFreeStorageGiB,
      problem: `storage autoscaling only acts below 10% free (${autoscalingFloor} GiB of ${env.database.allocatedStorageGiB}), so this would page during normal growth`,
      fix: `use less than ${autoscalingFloor} in ${file}`,
    });
  }

  const hours = m.racingHours;
  const f = `${env.name}.monitoring.racingHours`;
  if (!Number.isInteger(hours.startHourUtc) || hours.startHourUtc < 0 || hours.startHourUtc > 23) {
    problems.push({
      field: `${f}.startHourUtc`,
      value: hours.startHourUtc,
      problem: 'an hour of the day is a whole number from 0 to 23 (UTC)',
      fix: `use 0–23 in ${file}`,
    });
  }
  if (
    !Number.isInteger(hours.endHourUtc) ||
    hours.endHourUtc < 1 ||
    hours.endHourUtc > 24 ||
    hours.endHourUtc <= hours.startHourUtc
  ) {
    problems.push({
      field: `${f}.endHourUtc`,
      value: hours.endHourUtc,
      problem: `must be a whole hour from 1 to 24 after startHourUtc (${hours.startHourUtc}); windows across midnight are not supported`,
      fix: `use ${Math.min(24, hours.startHourUtc + 1)}–24 in ${file}`,
    });
  }
  const badDays = hours.daysOfWeek.filter((d) => !Number.isInteger(d) || d < 1 || d > 7);
  if (badDays.length > 0 || new Set(hours.daysOfWeek).size !== hours.daysOfWeek.length) {
    problems.push({
      field: `${f}.daysOfWeek`,
      value: hours.daysOfWeek,
      problem:
        badDays.length > 0
          ? `days are numbered 1 (Monday) to 7 (Sunday); ${badDays.join(', ')} is not a day`
          : 'a day is listed twice',
      fix: `list distinct days 1–7, or [] when no bets are expected, in ${file}`,
    });
  }
  return problems;
}
