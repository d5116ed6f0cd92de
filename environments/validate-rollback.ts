import { EnvironmentConfig } from './types';
import type { ConfigProblem } from './problem';

/** Bounds of the numeric `rollback` fields: [min, max, what the range protects]. */
const ROLLBACK_BOUNDS = {
  alarmWindowHours: [1, 168, 'an automatic rollback long after a deploy would undo a proven version'],
  target5xxPerMinute: [1, 1000, 'a threshold of 0 would roll back on every deploy'],
  deploymentAlarmMinutes: [1, 5, 'ECS keeps a deployment open until its alarms have had time to fire'],
  waitForStableMinutes: [1, 13, 'the rollback function must report within its 15-minute limit'],
} as const;

/** Problems in the `rollback` section of one environment, empty when it is valid. */
export function rollbackProblems(env: EnvironmentConfig): ConfigProblem[] {
  const problems: ConfigProblem[] = [];
  for (const [field, [min, max, why]] of Object.entries(ROLLBACK_BOUNDS)) {
    const value = env.rollback[field as keyof typeof ROLLBACK_BOUNDS];
    if (!Number.isInteger(value) || value < min || value > max) {
      problems.push({
        field: `${env.name}.rollback.${field}`,
        value,
        problem: `must be a whole number from ${min} to ${max} (${why})`,
        fix: `use ${min}–${max} in environments/${env.name}.ts`,
      });
    }
  }
  return problems;
}
