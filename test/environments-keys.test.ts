import { base } from '../environments/base';
import { defineEnvironment } from '../environments/define';
import { closestKey, ENVIRONMENT_KEYS, Schema, unknownKeyProblems, unknownKeys } from '../environments/keys';
import { ConfigProblem } from '../environments/problem';
import { production, staging } from '../environments';
import { EnvironmentConfig } from '../environments/types';
import { ConfigValidationError, validateEnvironments } from '../environments/validate';

/** Production with a deep override, as a misspelled `environments/production.ts` would produce it. */
function productionWith(override: Record<string, unknown>): EnvironmentConfig {
  const { name, stackName, account, ...rest } = production;
  return defineEnvironment(rest, { name, stackName, account, ...override } as never);
}

function rejection(env: EnvironmentConfig): string {
  try {
    validateEnvironments([staging, env]);
  } catch (err) {
    expect(err).toBeInstanceOf(ConfigValidationError);
    return (err as Error).message;
  }
  throw new Error('expected the configuration to be rejected');
}

describe('a misspelled configuration key fails synth at any depth', () => {
  test('fails on a misspelled top-level key (liveTradingEnable)', () => {
    expect(rejection(productionWith({ liveTradingEnable: true }))).toContain(
      '- production.liveTradingEnable = true: unknown configuration key; did you mean "liveTradingEnabled"?. Fix: rename it to "liveTradingEnabled" in environments/production.ts',
    );
  });

  test('fails on a misspelled key one level down (database.deletionProtecton)', () => {
    expect(rejection(productionWith({ database: { deletionProtecton: true } }))).toContain(
      'production.database.deletionProtecton = true: unknown configuration key; did you mean "deletionProtection"?',
    );
  });

  test('fails on a misspelled key two levels down (monitoring.racingHours.startHourUTC)', () => {
    const message = rejection(productionWith({ monitoring: { racingHours: { statHourUtc: 9 } } }));
    expect(message).toContain(
      'production.monitoring.racingHours.statHourUtc = 9: unknown configuration key; did you mean "startHourUtc"?',
    );
  });

  test('fails on a swapped-letter key in a service (bot.imgaeTag)', () => {
    expect(rejection(productionWith({ bot: { imgaeTag: 'v9' } }))).toContain(
      'production.bot.imgaeTag = "v9": unknown configuration key; did you mean "imageTag"?',
    );
  });

  test('fails on an unrelated key, listing the known ones instead of guessing', () => {
    const message = rejection(productionWith({ network: { peering: 'vpc-1' } }));
    expect(message).toContain('production.network.peering = "vpc-1": unknown configuration key.');
    expect(message).toContain('Fix: remove it, or use one of cidr, availabilityZones, natGateways');
  });

  test('fails on a misspelled key written in the base, naming the environment it reaches', () => {
    const { name, stackName, account, alarmEmail } = staging;
    const typo = defineEnvironment({ ...base, retainLogsOnDelet: false } as never, {
      name,
      stackName,
      account,
      alarmEmail,
    });
    expect(() => validateEnvironments([typo, production])).toThrow(
      /staging\.retainLogsOnDelet = false: unknown configuration key; did you mean "retainLogsOnDelete"\?.*environments\/base\.ts/,
    );
  });

  test('the committed environments use only known keys', () => {
    expect(unknownKeyProblems(staging)).toEqual([]);
    expect(unknownKeyProblems(production)).toEqual([]);
  });

  test('items of a list of objects are checked against the item schema', () => {
    const problems: ConfigProblem[] = [];
    const schema: Schema = { topics: [{ name: true, email: true }] };
    unknownKeys({ topics: [{ name: 'a' }, { name: 'b', emial: 'x' }] }, schema, 'env', 'file.ts', (p) =>
      problems.push(p),
    );
    expect(problems).toEqual([
      expect.objectContaining({
        field: 'env.topics[1].emial',
        value: 'x',
        problem: expect.stringContaining('"email"'),
      }),
    ]);
  });
});

describe('closestKey', () => {
  test.each([
    ['deletionProtecton', 'deletionProtection'],
    ['liveTradingEnable', 'liveTradingEnabled'],
    ['memoryMib', 'memoryMiB'],
    ['cpuu', 'cpu'],
    ['imgaeTag', 'imageTag'],
  ])('suggests %s → %s', (typo, key) => {
    expect(
      closestKey(typo, [
        ...Object.keys(ENVIRONMENT_KEYS),
        ...Object.keys(ENVIRONMENT_KEYS.bot),
        ...Object.keys(ENVIRONMENT_KEYS.database),
      ]),
    ).toBe(key);
  });

  test('suggests nothing for an unrelated word', () => {
    expect(closestKey('peering', Object.keys(ENVIRONMENT_KEYS.network))).toBeUndefined();
  });
});
