import { production, staging } from '../../environments';
import { deepMerge } from '../../environments/define';
import { EmergencyStopConfig, EnvironmentConfig } from '../../environments/types';
import { ConfigValidationError, validateEnvironments } from '../../environments/validate';
import { emergencyStopProblems } from '../../environments/validate-emergency-stop';

const withStop = (env: EnvironmentConfig, emergencyStop: Partial<EmergencyStopConfig>) =>
  deepMerge(env, { emergencyStop });

describe('emergency-stop thresholds', () => {
  test('the committed environments have valid thresholds', () => {
    expect(emergencyStopProblems(staging)).toEqual([]);
    expect(emergencyStopProblems(production)).toEqual([]);
  });

  test.each([
    [
      'lossLimit',
      0,
      /production\.emergencyStop\.lossLimit = 0: must be a positive amount.*Fix: set the loss, as a positive number/,
    ],
    ['lossLimit', -500, /lossLimit = -500: must be a positive amount/],
    [
      'lossWindowMinutes',
      0,
      /lossWindowMinutes = 0: must be a whole number from 1 to 1440.*Fix: use 1–1440 in environments\/production.ts/,
    ],
    ['lossWindowMinutes', 1441, /lossWindowMinutes = 1441/],
    ['lossWindowMinutes', 7.5, /lossWindowMinutes = 7.5/],
    ['errorStormPerMinute', 0, /errorStormPerMinute = 0: must be a whole number from 1/],
    ['errorStormMinutes', 61, /errorStormMinutes = 61: must be a whole number from 1 to 60/],
    [
      'maxOpenLiability',
      0,
      /production\.emergencyStop\.maxOpenLiability = 0: must be a positive amount.*Fix: set a positive amount/,
    ],
    ['maxOpenLiability', '1000' as never, /maxOpenLiability = "1000": must be a positive amount/],
    ['dailyLossLimit', -1000, /dailyLossLimit = -1000: must be a positive amount/],
    ['maxBetsPerMinute', 0, /maxBetsPerMinute = 0: must be a whole number from 1 to 100000/],
    ['maxBetsPerMinute', 2.5, /maxBetsPerMinute = 2.5: must be a whole number/],
  ] as const)('fails synth on %s = %s, naming the field, the value and the fix', (field, value, message) => {
    const bad = withStop(production, { [field]: value });
    expect(() => validateEnvironments([staging, bad])).toThrow(ConfigValidationError);
    expect(() => validateEnvironments([staging, bad])).toThrow(message);
  });
});
