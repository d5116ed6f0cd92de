import { Duration, Validations } from 'aws-cdk-lib';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import * as ecs from 'aws-cdk-lib/aws-ecs';
import * as elbv2 from 'aws-cdk-lib/aws-elasticloadbalancingv2';
import { Construct } from 'constructs';
import { BOT_METRICS } from './metrics';

/** One service whose deployments roll back on alarm. */
export interface GuardedService {
  /** The ECS service; its deployments get the alarms as ROLLBACK_ON_ALARM deployment alarms. */
  readonly service: ecs.FargateService;
  /** ECS service name, for alarm descriptions. */
  readonly serviceName: string;
  /** Its ALB target group (5xx and unhealthy-host metrics). */
  readonly targetGroup: elbv2.ApplicationTargetGroup;
  /** Short kebab-case name in alarm names, e.g. `bot`, `ml`. */
  readonly key: string;
  /**
   * Count of the service's tasks that failed by themselves (never started, or the essential
   * container exited), as monitoring derives it from ECS task state changes
   * (lib/monitoring/failed-tasks.ts). Read here as one-minute sums.
   */
  readonly taskFailures: cloudwatch.Metric;
}

/** An alarm and its literal name. */
export interface NamedAlarm {
  readonly alarm: cloudwatch.Alarm;
  /** The alarm's name as a literal (`alarm.alarmName` is a Ref to the alarm). */
  readonly name: string;
}

/** Props of {@link DeploymentSafety}. */
export interface DeploymentSafetyProps {
  /** Prefix of every alarm name, `clever-better-<env>`: ECS finds deployment alarms by name. */
  readonly namePrefix: string;
  /** The trading bot; it also rolls back on its own error storm. */
  readonly bot: GuardedService;
  /** The ML service. */
  readonly ml: GuardedService;
  /** ALB target 5xx per minute, per service, that mark a version as bad. */
  readonly target5xxPerMinute: number;
  /** Bot `Errors` per minute that count as an error storm (the emergency stop's definition). */
  readonly botErrorsPerMinute: number;
  /** Consecutive one-minute periods an alarm must breach before it fires. */
  readonly evaluationMinutes: number;
}

/**
 * Deployments that detect a bad version and roll back on their own. Both services keep the
 * deployment circuit breaker (lib/services.ts: tasks that never become healthy) and get
 * ROLLBACK_ON_ALARM deployment alarms on the signals that mean "this version is bad":
 * - target 5xx responses (`HTTPCode_Target_5XX_Count` of its target group);
 * - unhealthy targets (`UnHealthyHostCount`);
 * - tasks failing by themselves: ECS "Task State Change" events with stop code `TaskFailedToStart`
 *   or `EssentialContainerExited`. Not exit codes and not "running below desired": a stop-first bot
 *   deployment SIGTERMs the old task (exit 143) and runs no task for a while, and an emergency stop
 *   scales the bot to zero; none of that says the new version is bad;
 * - for the bot, its error storm (`CleverBetter/Errors`).
 *
 * ECS watches these alarms only while a deployment runs (and a bake period after it), and ignores an
 * alarm that is already in ALARM when the deployment starts: docs/operations.md "Rollback".
 */
export class DeploymentSafety extends Construct {
  /** Deployment alarms per service key (`bot`, `ml`), with the literal names the services list. */
  readonly alarms: Readonly<Record<string, readonly NamedAlarm[]>>;
  /** The bot's error-storm deployment alarm: also the post-deployment rollback trigger. */
  readonly botErrorAlarm: NamedAlarm;

  constructor(scope: Construct, id: string, props: DeploymentSafetyProps) {
    super(scope, id);
    const period = Duration.minutes(1);
    const alarm = (symptom: string, metric: cloudwatch.IMetric, threshold: number, description: string) => {
      // A literal name: ECS looks deployment alarms up by name, and a literal (unlike `alarm.alarmName`,
      // a Ref) lets others name the alarm without depending on it.
      const name = `${props.namePrefix}-${symptom}`;
      const pascal = symptom.replace(/(^|-)(\w)/g, (_, __, c: string) => c.toUpperCase());
      const created = new cloudwatch.Alarm(this, pascal, {
        alarmName: name,
        alarmDescription: `${description} ECS rolls a deployment back when this fires during it.`,
        metric,
        threshold,
        comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
        evaluationPeriods: props.evaluationMinutes,
        datapointsToAlarm: props.evaluationMinutes,
        // No requests, no tasks stopping, no errors: nothing is wrong.
        treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
      });
      Validations.of(created).acknowledge({
        id: 'NIST.800.53.R5-CloudWatchAlarmAction',
        reason:
          'A deployment alarm: ECS reads it (deploymentConfiguration.alarms) and rolls the deployment back; ' +
          'the monitoring alarms page people for the same symptoms',
      });
      return { alarm: created, name };
    };

    const alarms: Record<string, NamedAlarm[]> = {};
    for (const svc of [props.bot, props.ml]) {
      alarms[svc.key] = [
        alarm(
          `${svc.key}-deployment-5xx`,
          svc.targetGroup.metrics.httpCodeTarget(elbv2.HttpCodeTarget.TARGET_5XX_COUNT, {
            statistic: cloudwatch.Stats.SUM,
            period,
          }),
          props.target5xxPerMinute,
          `${svc.serviceName} answers ${props.target5xxPerMinute}+ 5xx a minute.`,
        ),
        alarm(
          `${svc.key}-deployment-unhealthy-targets`,
          svc.targetGroup.metrics.unhealthyHostCount({ statistic: cloudwatch.Stats.MAXIMUM, period }),
          1,
          `${svc.serviceName} has unhealthy targets.`,
        ),
        alarm(
          `${svc.key}-deployment-failed-tasks`,
          svc.taskFailures.with({ statistic: cloudwatch.Stats.SUM, period }),
          1,
          `${svc.serviceName} tasks fail to start or exit by themselves.`,
        ),
      ];
    }
    this.botErrorAlarm = alarm(
      'bot-deployment-errors',
      new cloudwatch.Metric({
        namespace: BOT_METRICS.namespace,
        metricName: BOT_METRICS.errors,
        statistic: cloudwatch.Stats.SUM,
        period,
      }),
      props.botErrorsPerMinute,
      `The bot reports ${props.botErrorsPerMinute}+ errors a minute (error storm).`,
    );
    alarms[props.bot.key].push(this.botErrorAlarm);
    this.alarms = alarms;

    for (const svc of [props.bot, props.ml]) {
      const own = alarms[svc.key];
      // One call per service: a second enableDeploymentAlarms call would not add its names.
      svc.service.enableDeploymentAlarms(
        own.map((a) => a.name),
        { behavior: ecs.AlarmBehavior.ROLLBACK_ON_ALARM },
      );
      // The names are literals, so CloudFormation would not otherwise create the alarms before the
      // service. On the service resource only: its security group must not wait for the alarms.
      (svc.service.node.defaultChild as ecs.CfnService).node.addDependency(...own.map((a) => a.alarm));
    }
  }
}
