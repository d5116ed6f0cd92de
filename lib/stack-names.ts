import { EnvironmentConfig } from '../environments/types';

// Stack names without building any stack: `npm run diff` checks --stack against them before it
// synthesizes anything, so this file must stay free of aws-cdk-lib.

/** Name (and construct id) of the registry stack of an environment's account, e.g. `StagingRegistry`. */
export function registryStackName(config: Pick<EnvironmentConfig, 'stackName'>): string {
  return `${config.stackName.replace(/Stack$/, '')}Registry`;
}

/** Every stack name `lib/app.ts` defines for these environments: registry stack, then environment stack. */
export function appStackNames(configs: readonly Pick<EnvironmentConfig, 'stackName'>[]): string[] {
  return configs.flatMap((c) => [registryStackName(c), c.stackName]);
}
