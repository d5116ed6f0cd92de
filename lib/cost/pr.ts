import type { EnvironmentConfig } from '../../environments/types';
import { environments } from '../../environments';
import type { Finding, FindingProvider } from '../diff/types';
import type { CfnTemplate } from '../diff/template';
import { CostDelta, costDelta, costDeltaSentence, isCostChange, signedUsd } from './delta';
import { inputsFor } from './environment';
import { usd } from './render';
import { registryStackName } from '../stack-names';

/** Rule id of the cost line in the pull-request comment (never blocks). */
export const COST_RULE = 'cost-delta';

/** The environment whose stack (or registry stack) is `stackName`, if any. */
export function environmentOfStack(
  stackName: string,
  configs: readonly EnvironmentConfig[],
): EnvironmentConfig | undefined {
  return configs.find((c) => c.stackName === stackName || registryStackName(c) === stackName);
}

/**
 * The cost finding of one stack's change: info, or a warning when the increase is above the
 * environment's `cost.warnAboveUsdPerMonth`. Never `block`: cost does not stop a pull request.
 * Undefined when the stack belongs to no environment or its estimate does not move.
 */
export function costFinding(
  stackName: string,
  base: CfnTemplate | undefined,
  head: CfnTemplate | undefined,
  configs: readonly EnvironmentConfig[],
): Finding | undefined {
  const config = environmentOfStack(stackName, configs);
  if (!config) return undefined;
  // Only the working tree's config is at hand: it gives the usage profile of both sides and the
  // counts no template gives (the bot's); every other task count comes from each side's own template,
  // and the sentence says which parts rest on the head's config.
  const delta: CostDelta = costDelta(base, head, inputsFor(config));
  if (!isCostChange(delta)) return undefined;
  const threshold = config.cost.warnAboveUsdPerMonth;
  const warn = delta.usd > threshold;
  const sentence = costDeltaSentence(config.name, delta);
  const message = warn
    ? `${sentence}: above the ${usd(threshold)} a month of cost.warnAboveUsdPerMonth (docs/cost.md)`
    : `${sentence} (estimate: docs/cost.md)`;
  return {
    rule: COST_RULE,
    severity: warn ? 'warn' : 'info',
    stackName,
    resources: [],
    message,
    headline: `${signedUsd(delta.usd)}/month in ${config.name}`,
  };
}

/**
 * The cost line as a finding provider of lib/diff (FINDING_PROVIDERS): each environment stack's
 * summary says what the change adds to its monthly estimate: task counts from each side's template,
 * the usage profile (and the bot's count, which no template gives) from the working tree's config. It claims no resource, so no other rule skips anything because of it.
 */
export const COST_PROVIDER: FindingProvider = {
  id: 'cost',
  ruleIds: [COST_RULE],
  overrides: {},
  detect: (ctx) => {
    const finding = costFinding(ctx.stackName, ctx.before, ctx.after, environments);
    return finding ? [finding] : [];
  },
};
