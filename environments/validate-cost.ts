import { ConfigProblem } from './problem';
import { EnvironmentConfig } from './types';

/** Problems in the `cost` section of one environment, empty when it is valid. */
export function costProblems(env: EnvironmentConfig): ConfigProblem[] {
  const problems: ConfigProblem[] = [];
  const file = `environments/${env.name}.ts`;
  const threshold = env.cost.warnAboveUsdPerMonth;
  if (typeof threshold !== 'number' || !Number.isFinite(threshold) || threshold <= 0) {
    problems.push({
      field: `${env.name}.cost.warnAboveUsdPerMonth`,
      value: threshold,
      problem: 'must be a positive amount in USD a month',
      fix: `set e.g. 50 in ${file} (cost never blocks; this only turns the pull-request line into a warning)`,
    });
  }
  for (const [field, value] of Object.entries(env.cost.usage)) {
    if (typeof value !== 'number' || !Number.isFinite(value) || value < 0) {
      problems.push({
        field: `${env.name}.cost.usage.${field}`,
        value,
        problem: 'a usage assumption is a number of 0 or more',
        fix: `set a measured or estimated figure (0 when unused) in ${file}; units are in environments/types.ts`,
      });
    }
  }
  return problems;
}
