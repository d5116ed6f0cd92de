import { EnvironmentConfig } from './types';
import type { ConfigProblem } from './problem';

/** Problems in the `emergencyStop` section of one environment, empty when it is valid. */
export function emergencyStopProblems(env: EnvironmentConfig): ConfigProblem[] {
  const problems: ConfigProblem[] = [];
  const es = env.emergencyStop;
  const at = (field: string) => `${env.name}.emergencyStop.${field}`;
  const file = `environments/${env.name}.ts`;
  if (typeof es.lossLimit !== 'number' || !Number.isFinite(es.lossLimit) || es.lossLimit <= 0) {
    problems.push({
      field: at('lossLimit'),
      value: es.lossLimit,
      problem:
        'must be a positive amount of account currency (the alarm compares NetProfit with minus this value; ' +
        'zero or less would stop trading on the first loss or on a profit)',
      fix: `set the loss, as a positive number, that must stop trading (e.g. 500) in ${file}`,
    });
  }
  const amounts = [
    ['maxOpenLiability', es.maxOpenLiability, 'the alarm compares OpenLiability with it'],
    [
      'dailyLossLimit',
      es.dailyLossLimit,
      "the alarm compares the day's P&L minus open liability with minus this value",
    ],
  ] as const;
  for (const [field, value, why] of amounts) {
    if (typeof value !== 'number' || !Number.isFinite(value) || value <= 0) {
      problems.push({
        field: at(field),
        value,
        problem: `must be a positive amount of account currency (${why}; zero or less would stop trading at once)`,
        fix: `set a positive amount (e.g. 1000) in ${file}`,
      });
    }
  }
  // An alarm period is whole minutes, and period × evaluation periods may not exceed one day.
  const bounds = [
    [
      'lossWindowMinutes',
      es.lossWindowMinutes,
      1,
      1440,
      'a CloudWatch alarm period is whole minutes, at most a day',
    ],
    [
      'errorStormPerMinute',
      es.errorStormPerMinute,
      1,
      100_000,
      'a threshold of 0 would stop trading on every minute',
    ],
    ['errorStormMinutes', es.errorStormMinutes, 1, 60, 'it counts consecutive one-minute periods'],
    [
      'maxBetsPerMinute',
      es.maxBetsPerMinute,
      1,
      100_000,
      'bets are counted per minute; 0 would stop trading on the first bet',
    ],
  ] as const;
  for (const [field, value, min, max, why] of bounds) {
    if (!Number.isInteger(value) || value < min || value > max) {
      problems.push({
        field: at(field),
        value,
        problem: `must be a whole number from ${min} to ${max} (${why})`,
        fix: `use ${min}–${max} in ${file}`,
      });
    }
  }
  return problems;
}
