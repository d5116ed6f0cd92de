import { defineEnvironment } from '../../environments/define';
import { EnvironmentConfig } from '../../environments/types';
import { ConfigValidationError, validateEnvironments } from '../../environments/validate';

/** A copy of `env` with a deep override, bypassing freezing, to feed the validator bad values. */
export function variant(env: EnvironmentConfig, override: Record<string, unknown>): EnvironmentConfig {
  const { name, stackName, account, ...rest } = env;
  return defineEnvironment(rest, { name, stackName, account, ...override } as never);
}

/** The message the validator rejects `envs` with; fails the test when it accepts them. */
export function rejection(envs: EnvironmentConfig | EnvironmentConfig[]): string {
  try {
    validateEnvironments(Array.isArray(envs) ? envs : [envs]);
  } catch (err) {
    expect(err).toBeInstanceOf(ConfigValidationError);
    return (err as Error).message;
  }
  throw new Error('expected the configuration to be rejected');
}
