import { production } from './production';
import { staging } from './staging';
import { validateEnvironments } from './validate';

export * from './types';
export {
  ConfigValidationError,
  validateEnvironments,
  environmentProblems,
  crossEnvironmentProblems,
} from './validate';
export { staging, production };

/** Every environment the app synthesizes, validated: `cdk synth` fails on the first bad value. */
export const environments = validateEnvironments([staging, production] as const);
