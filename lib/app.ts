import { App, Stack } from 'aws-cdk-lib';
import { environments } from '../environments';
import { EnvironmentConfig } from '../environments/types';
import { protections } from './deletion-protection';
import { CleverBetterStack } from './clever-better-stack';
import { runbookNames } from './names';
import { RegistryStack } from './registry-stack';
import { registryStackName } from './stack-names';

/**
 * Every stack `bin/app.ts` deploys, added to `app`. Kept apart from `bin/app.ts` so tests that must
 * cover every stack the app synthesizes (test/deployability/) build exactly the same set: add a new
 * stack here, never only in `bin/app.ts`.
 */
export function defineStacks(app: App): Stack[] {
  const { registries, stacks } = addEnvironmentStacks(app, environments);
  return [...registries, ...stacks];
}

export { registryStackName } from './stack-names';

/** The stacks of some environments: per environment, its registry stack and the stack that depends on it. */
export interface EnvironmentStacks {
  readonly registries: RegistryStack[];
  readonly stacks: CleverBetterStack[];
}

/**
 * Adds both stacks of each environment to `app`. The environment stack depends on its registry
 * stack, so a plain `cdk deploy StagingStack` deploys `StagingRegistry` first (the CLI includes
 * dependencies unless `--exclusively`), while neither template both creates a repository and runs
 * a task from it.
 */
export function addEnvironmentStacks(app: App, configs: readonly EnvironmentConfig[]): EnvironmentStacks {
  const registries: RegistryStack[] = [];
  const stacks: CleverBetterStack[] = [];
  for (const config of configs) {
    const names = runbookNames(config.name);
    const target = configs.find((c) => c.name === config.promoteImagesTo);
    const sources = configs.filter((c) => c.promoteImagesTo === config.name).map((c) => c.account);
    const registry = new RegistryStack(app, registryStackName(config), {
      stackName: registryStackName(config),
      account: config.account,
      region: config.region,
      botRepositoryName: names.botRepository,
      mlRepositoryName: names.mlRepository,
      imagesToKeep: config.ecrImagesToKeep,
      releaseTagPatterns: config.releaseTagPatterns,
      // What this environment runs: its registry must never expire it.
      pinnedImages: (['bot', 'ml'] as const).map((key) => ({
        field: `${config.name}.${key}`,
        repositoryName: key === 'bot' ? names.botRepository : names.mlRepository,
        tag: config[key].imageTag,
        digest: config[key].imageDigest,
      })),
      terminationProtection: protections(config).termination,
      replicateTo: target ? [{ account: target.account, region: target.region }] : [],
      acceptReplicationFrom: sources,
    });
    const stack = new CleverBetterStack(app, config.stackName, { config, stackName: config.stackName });
    stack.addStackDependency(registry, 'its services pull images from the registry stack');
    registries.push(registry);
    stacks.push(stack);
  }
  return { registries, stacks };
}
