import type { EnvironmentConfig } from '../../environments/types';
import type { CfnTemplate } from '../diff/template';
import { runbookNames } from '../names';
import { registryStackName } from '../stack-names';
import { EstimateInputs, StackEstimate, estimateTemplate } from './estimate';

/** The estimator's inputs for one environment: region, usage profile and the counts the template omits. */
export function inputsFor(config: EnvironmentConfig): EstimateInputs {
  const names = runbookNames(config.name);
  const u = config.cost.usage;
  return {
    region: config.region,
    usage: u,
    serviceTaskCounts: {
      [names.botService]: config.bot.desiredCount,
      [names.mlService]: config.ml.desiredCount,
    },
    logGroupGbPerDay: {
      [names.botLogGroup]: { gbPerDay: u.botLogGbPerDay, field: 'botLogGbPerDay' },
      [names.mlLogGroup]: { gbPerDay: u.mlLogGbPerDay, field: 'mlLogGbPerDay' },
    },
  };
}

/** The estimate of one environment: its registry stack and its stack. */
export interface EnvironmentEstimate {
  readonly environment: string;
  readonly stacks: readonly StackEstimate[];
}

/**
 * Estimates the stacks of `config` found in `templates` (by stack name). A stack missing from the
 * assembly is an error: an estimate without it would look cheaper than the environment is.
 */
export function estimateEnvironment(
  config: EnvironmentConfig,
  templates: ReadonlyMap<string, CfnTemplate>,
): EnvironmentEstimate {
  const inputs = inputsFor(config);
  const stacks = [registryStackName(config), config.stackName].map((name) => {
    const template = templates.get(name);
    if (!template) {
      throw new Error(
        `No template for stack ${name} (environment ${config.name}). Fix: synthesize the app (npm run cost without --dir), or point --dir at a cloud assembly that holds it.`,
      );
    }
    return estimateTemplate(name, template, inputs);
  });
  return { environment: config.name, stacks };
}
