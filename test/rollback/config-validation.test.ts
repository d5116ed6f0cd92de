import { production, staging } from '../../environments';
import { deepMerge } from '../../environments/define';
import { EnvironmentConfig } from '../../environments/types';
import { validateEnvironments } from '../../environments/validate';

function withRollback(
  env: EnvironmentConfig,
  rollback: Partial<EnvironmentConfig['rollback']>,
): EnvironmentConfig {
  return deepMerge(env, { rollback });
}

test('the committed rollback settings: automatic alarm rollback on in staging, off in production', () => {
  expect(staging.rollback).toEqual({
    alarmActionEnabled: true,
    alarmWindowHours: 24,
    target5xxPerMinute: 5,
    deploymentAlarmMinutes: 2,
    waitForStableMinutes: 10,
  });
  expect(production.rollback.alarmActionEnabled).toBe(false);
});

test.each([
  [{ alarmWindowHours: 0 }, 'staging.rollback.alarmWindowHours = 0: must be a whole number from 1 to 168'],
  [
    { target5xxPerMinute: 0 },
    'staging.rollback.target5xxPerMinute = 0: must be a whole number from 1 to 1000',
  ],
  [
    { deploymentAlarmMinutes: 10 },
    'staging.rollback.deploymentAlarmMinutes = 10: must be a whole number from 1 to 5',
  ],
  [
    { waitForStableMinutes: 14 },
    'staging.rollback.waitForStableMinutes = 14: must be a whole number from 1 to 13',
  ],
  [{ waitForStableMinutes: 2.5 }, 'staging.rollback.waitForStableMinutes = 2.5'],
])('fails synth on rollback %j, naming field, value and fix', (bad, message) => {
  expect(() => validateEnvironments([withRollback(staging, bad), production])).toThrow(message);
  expect(() => validateEnvironments([withRollback(staging, bad), production])).toThrow(
    /Fix: use \d+–\d+ in environments\/staging\.ts/,
  );
});
