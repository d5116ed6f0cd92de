import { local } from './local';
import { production } from './production';
import { staging } from './staging';
import { environmentProblems, ConfigValidationError, validateEnvironments } from './validate';

export * from './types';
import { EnvironmentConfig } from './types';
export {
  ConfigValidationError,
  validateEnvironments,
  environmentProblems,
  crossEnvironmentProblems,
} from './validate';
export { staging, production, local };

/** Every environment the app synthesizes, validated: `cdk synth` fails on the first bad value. */
export const environments = validateEnvironments([staging, production] as const);

/**
 * Every environment `npm run ops -- … --env <name>` can act on: the deployed ones plus `local`, the
 * stand-in `npm run local` runs (environments/local.ts). `local` is validated on its own: it shares
 * the emulator's account with nothing deployed.
 */
export const operableEnvironments = [
  ...environments,
  (() => {
    // The checks read `name` only to label fields, so the wider name is safe here.
    const problems = environmentProblems(local as unknown as EnvironmentConfig);
    if (problems.length > 0) throw new ConfigValidationError(problems);
    return local;
  })(),
] as const;
