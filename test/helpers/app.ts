import type { App } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import { environments } from '../../environments';
import { EnvironmentConfig } from '../../environments/types';
import type { CleverBetterStack } from '../../lib/clever-better-stack';
import type { RegistryStack } from '../../lib/registry-stack';
import { registryStackName } from '../../lib/stack-names';
import { cdkJsonContext, templateOf } from './shared-assembly';

/**
 * Builds the real app (both environments from environments/) without bundling Lambda code, which
 * template assertions do not need and which would make every test file pay for esbuild. For tests
 * that need the construct tree (`stack.getLogicalId`, `stack.resolve`, changed configs); a test that
 * needs only templates uses {@link synthesized}, which reads the run's one synthesis.
 *
 * `cloudFormationValidation: false` leaves out aws-cdk-lib's CloudFormation validation at synth
 * (`Template.fromStack` synthesizes), whose engine takes seconds to build in each test file: for
 * tests that assert nothing about it (test/stack/checks.test.ts validates the real app). @default true
 */
export function buildApp(
  configs: readonly EnvironmentConfig[] = environments,
  outdir?: string,
  { cloudFormationValidation = true }: { cloudFormationValidation?: boolean } = {},
): { app: App; stacks: CleverBetterStack[]; registries: RegistryStack[] } {
  // Required here: files that only read templates never load the app's code.
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const { App: AppClass } = require('aws-cdk-lib') as typeof import('aws-cdk-lib');
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const { addEnvironmentStacks } = require('../../lib/app') as typeof import('../../lib/app');
  const app = new AppClass({
    outdir,
    builtinCloudFormationValidation: cloudFormationValidation,
    context: { ...cdkJsonContext(), 'aws:cdk:bundling-stacks': [] },
  });
  return { app, ...addEnvironmentStacks(app, configs) };
}

/** The real app's construct tree, built at most once per test file, and only when a test asks for a stack. */
let built: ReturnType<typeof buildApp> | undefined;
const tree = () => (built ??= buildApp());

const cache = new Map<string, { readonly stack: CleverBetterStack; readonly template: Template }>();
const registryCache = new Map<string, { readonly stack: RegistryStack; readonly template: Template }>();

/**
 * One environment's stack: `template` is its template from the run's one synthesis of the app
 * (test/helpers/shared-assembly.ts); `stack` (the construct) is built on first access, once per file.
 */
export function synthesized(name: EnvironmentConfig['name']): {
  readonly stack: CleverBetterStack;
  readonly template: Template;
} {
  let hit = cache.get(name);
  if (!hit) {
    const config = environments.find((e) => e.name === name);
    if (!config) throw new Error(`no environment ${name}: use one of ${ENVIRONMENT_NAMES.join(', ')}`);
    const template = Template.fromJSON(templateOf(config.stackName));
    hit = {
      template,
      get stack() {
        return tree().stacks.find((s) => s.config.name === name)!;
      },
    };
    cache.set(name, hit);
  }
  return hit;
}

/** The registry stack of one environment's account: template from the run's one synthesis, construct on demand. */
export function synthesizedRegistry(name: EnvironmentConfig['name']): {
  readonly stack: RegistryStack;
  readonly template: Template;
} {
  let hit = registryCache.get(name);
  if (!hit) {
    const config = environments.find((e) => e.name === name);
    if (!config) throw new Error(`no environment ${name}: use one of ${ENVIRONMENT_NAMES.join(', ')}`);
    const template = Template.fromJSON(templateOf(registryStackName(config)));
    const index = environments.indexOf(config);
    hit = {
      template,
      get stack() {
        return tree().registries[index];
      },
    };
    registryCache.set(name, hit);
  }
  return hit;
}

/** Both environments, for `describe.each`. */
export const ENVIRONMENT_NAMES = environments.map((e) => e.name);
