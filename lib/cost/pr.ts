import type { EnvironmentConfig } from '../../environments/types';
import type { Finding } from '../diff/types';
import type { RiskSummary } from '../diff/summary';
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

/** `summary` with the cost finding of its change added after the findings at least as serious. */
export function withCostFinding(
  summary: RiskSummary,
  base: CfnTemplate | undefined,
  head: CfnTemplate | undefined,
  configs: readonly EnvironmentConfig[],
): RiskSummary {
  const finding = costFinding(summary.stackName, base, head, configs);
  if (!finding) return summary;
  const findings = [...summary.findings];
  const at = finding.severity === 'warn' ? findings.findIndex((f) => f.severity === 'info') : -1;
  findings.splice(at === -1 ? findings.length : at, 0, finding);
  return { ...summary, findings };
}
