import { production, staging } from '../environments';
import { EnvironmentConfig } from '../environments/types';
import { validateEnvironments } from '../environments/validate';
import { rejection, variant } from './helpers/environments';

/** A copy of `env` with `monitoring` overridden, to feed the validator bad values. */
const withMonitoring = (env: EnvironmentConfig, monitoring: Record<string, unknown>): EnvironmentConfig =>
  variant(env, { monitoring });

describe('monitoring thresholds', () => {
  test('both committed environments are valid', () => {
    expect(() => validateEnvironments([staging, production])).not.toThrow();
  });

  test('production pages sooner than staging where money is at stake', () => {
    const s = staging.monitoring;
    const p = production.monitoring;
    expect(p.noBetsWindowMinutes).toBeLessThan(s.noBetsWindowMinutes);
    expect(p.silentBotMinutes).toBeLessThan(s.silentBotMinutes);
    expect(p.botErrorLinesPer5Minutes).toBeLessThan(s.botErrorLinesPer5Minutes);
    expect(p.betfairAuthFailuresPer5Minutes).toBeLessThan(s.betfairAuthFailuresPer5Minutes);
    expect(p.betfairRateLimitsPer5Minutes).toBeLessThan(s.betfairRateLimitsPer5Minutes);
    expect(p.mlTimeoutsPer5Minutes).toBeLessThan(s.mlTimeoutsPer5Minutes);
    expect(p.tasksBelowDesiredMinutes).toBeLessThan(s.tasksBelowDesiredMinutes);
    expect(p.unhealthyTargetMinutes).toBeLessThan(s.unhealthyTargetMinutes);
  });

  test("both keep the guide's 1 s latency limit", () => {
    expect(staging.monitoring.latencyP90Seconds).toBe(1);
    expect(production.monitoring.latencyP90Seconds).toBe(1);
  });

  test('production expects bets every day; staging, with live trading off, on none', () => {
    expect(production.monitoring.racingHours.daysOfWeek).toEqual([1, 2, 3, 4, 5, 6, 7]);
    expect(staging.monitoring.racingHours.daysOfWeek).toEqual([]);
  });

  test.each([
    [
      'serviceCpuPercent',
      150,
      /production\.monitoring\.serviceCpuPercent = 150: must be a number from 1 to 100/,
    ],
    [
      'latencyP90Seconds',
      0,
      /production\.monitoring\.latencyP90Seconds = 0: must be a number from 0\.05 to 60/,
    ],
    [
      'silentBotMinutes',
      1.5,
      /production\.monitoring\.silentBotMinutes = 1\.5: must be a whole number from 2 to 60/,
    ],
    ['failedTasksPer5Minutes', 0, /failedTasksPer5Minutes = 0: .*a threshold of 0 would alarm/],
    ['tradingSignalMinutes', 0, /tradingSignalMinutes = 0: must be a whole number from 1 to 30/],
    ['marketDataStaleMinutes', 31, /marketDataStaleMinutes = 31: must be a whole number from 1 to 30/],
    [
      'crashLoopWindowMinutes',
      1,
      /crashLoopWindowMinutes = 1: must be a whole number from 2 to 60 \(two crashes/,
    ],
    [
      'databaseConnectionsDroppedMinutes',
      2.5,
      /databaseConnectionsDroppedMinutes = 2\.5: must be a whole number from 1 to 30/,
    ],
    ['databaseFreeStorageGiB', -1, /databaseFreeStorageGiB = -1: must be a number from 1 to 65536/],
    [
      'partitionHorizonDays',
      90,
      /partitionHorizonDays = 90: must be a whole number from 7 to 84 \(upkeep keeps/,
    ],
  ])('fails on %s = %p, naming field, value and fix', (field, value, message) => {
    const msg = rejection(withMonitoring(production, { [field]: value }));
    expect(msg).toMatch(message);
    expect(msg).toMatch(/Fix: use .* in environments\/production\.ts/);
  });

  test('fails on a "no bets" window that is not a multiple of 5 minutes, suggesting the nearest', () => {
    expect(rejection(withMonitoring(production, { noBetsWindowMinutes: 33 }))).toMatch(
      /noBetsWindowMinutes = 33: .*multiple of 5\. Fix: use 35 in environments\/production\.ts/,
    );
  });

  test('fails on racing hours that end before they start', () => {
    expect(
      rejection(withMonitoring(production, { racingHours: { startHourUtc: 18, endHourUtc: 11 } })),
    ).toMatch(/racingHours\.endHourUtc = 11: .*after startHourUtc \(18\).*Fix: use 19–24/);
  });

  test('fails on a start hour outside the day', () => {
    expect(
      rejection(withMonitoring(production, { racingHours: { startHourUtc: 24, endHourUtc: 24 } })),
    ).toMatch(/racingHours\.startHourUtc = 24: an hour of the day is a whole number from 0 to 23/);
  });

  test('fails on a day that is not 1 (Monday) to 7 (Sunday)', () => {
    expect(rejection(withMonitoring(production, { racingHours: { daysOfWeek: [0, 1, 8] } }))).toMatch(
      /racingHours\.daysOfWeek = \[0,1,8\]: days are numbered 1 \(Monday\) to 7 \(Sunday\); 0, 8 is not a day/,
    );
  });

  test('fails on a day listed twice', () => {
    expect(rejection(withMonitoring(production, { racingHours: { daysOfWeek: [6, 6] } }))).toMatch(
      /racingHours\.daysOfWeek = \[6,6\]: a day is listed twice/,
    );
  });
});
