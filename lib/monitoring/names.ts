import { EnvironmentName } from '../../environments/types';

/**
 * Physical names monitoring gives things operators look up by hand (runbooks, `ops status`). Alarm
 * names come from {@link alarmName} only, so `DescribeAlarms --alarm-name-prefix` finds them all.
 */
export interface MonitoringNames {
  /** Prefix of every alarm of the environment: `clever-better-<env>`. */
  readonly alarmPrefix: string;
  /** The environment's CloudWatch dashboard. */
  readonly dashboard: string;
  /**
   * Log group receiving the ECS "Task State Change" events of failed tasks. EventBridge log targets
   * are conventionally under `/aws/events/`.
   */
  readonly failedTaskEventsLogGroup: string;
}

export function monitoringNames(env: EnvironmentName | 'local'): MonitoringNames {
  return {
    alarmPrefix: `clever-better-${env}`,
    dashboard: `clever-better-${env}`,
    failedTaskEventsLogGroup: `/aws/events/clever-better-${env}/failed-tasks`,
  };
}

/** The one naming scheme of alarms: `<prefix>-<symptom>`, e.g. `clever-better-production-bot-no-bets`. */
export function alarmName(prefix: string, symptom: string): string {
  if (!/^[a-z0-9]+(-[a-z0-9]+)*$/.test(symptom)) {
    throw new Error(`Alarm symptom "${symptom}" must be kebab-case (a-z, 0-9, single hyphens)`);
  }
  return `${prefix}-${symptom}`;
}
