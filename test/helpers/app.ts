import { App } from 'aws-cdk-lib';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { Template } from 'aws-cdk-lib/assertions';
import { environments } from '../../environments';
import { EnvironmentConfig } from '../../environments/types';
import { addEnvironmentStacks } from '../../lib/app';
import { CleverBetterStack } from '../../lib/clever-better-stack';
import { RegistryStack } from '../../lib/registry-stack';

/** cdk.json's feature flags: the CLI passes them to the app, so the tests must too. */
const CDK_JSON_CONTEXT: Record<string, unknown> = JSON.parse(
  fs.readFileSync(path.join(__dirname, '..', '..', 'cdk.json'), 'utf8'),
).context;

/**
 * Builds the real app (both environments from environments/) without bundling Lambda code, which
 * template assertions do not need and which would make every test file pay for esbuild.
 */
export function buildApp(
  configs: readonly EnvironmentConfig[] = environments,
  outdir?: string,
): { app: App; stacks: CleverBetterStack[]; registries: RegistryStack[] } {
  const app = new App({ outdir, context: { ...CDK_JSON_CONTEXT, 'aws:cdk:bundling-stacks': [] } });
  return { app, ...addEnvironmentStacks(app, configs) };
}

const cache = new Map<string, { stack: CleverBetterStack; template: Template }>();
const registryCache = new Map<string, { stack: RegistryStack; template: Template }>();

/** The synthesized template of one environment's stack, built once per test file. */
export function synthesized(name: EnvironmentConfig['name']): {
  stack: CleverBetterStack;
  template: Template;
} {
  let hit = cache.get(name);
  if (!hit) {
    const { stacks } = buildApp();
    for (const stack of stacks) cache.set(stack.config.name, { stack, template: Template.fromStack(stack) });
    hit = cache.get(name)!;
  }
  return hit;
}

/** The synthesized template of the registry stack of one environment's account, built once per test file. */
export function synthesizedRegistry(name: EnvironmentConfig['name']): {
  stack: RegistryStack;
  template: Template;
} {
  let hit = registryCache.get(name);
  if (!hit) {
    const { registries, stacks } = buildApp();
    registries.forEach((stack, i) =>
      registryCache.set(stacks[i].config.name, { stack, template: Template.fromStack(stack) }),
    );
    hit = registryCache.get(name)!;
  }
  return hit;
}

/** Both environments, for `describe.each`. */
export const ENVIRONMENT_NAMES = environments.map((e) => e.name);
