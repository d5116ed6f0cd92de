import { Duration, RemovalPolicy } from 'aws-cdk-lib';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import * as ecs from 'aws-cdk-lib/aws-ecs';
import * as elbv2 from 'aws-cdk-lib/aws-elasticloadbalancingv2';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import * as logs from 'aws-cdk-lib/aws-logs';
import * as rds from 'aws-cdk-lib/aws-rds';
import * as sns from 'aws-cdk-lib/aws-sns';
import {
  AlarmWithAnnotation,
  CustomAlarmThreshold,
  CustomMetricGroup,
  CustomMonitoring,
  DefaultDashboardFactory,
  FargateServiceMonitoring,
  MetricWithAlarmSupport,
  MonitoringFacade,
  notifySns,
} from 'cdk-monitoring-constructs';
import { Construct } from 'constructs';
import { MonitoringConfig } from '../../environments/types';
import { BOT_METRICS } from '../metrics';
import { FailedTaskEvents } from './failed-tasks';
import {
  anyTermPattern,
  BETFAIR_AUTH_ERROR_CODES,
  BETFAIR_RATE_LIMIT_CODES,
  ERROR_LINE_PATTERN,
  LOG_METRICS,
  MONITORING_NAMESPACE,
} from './log-contract';
import { alarmName, MonitoringNames } from './names';
import { racingHoursExpression } from './racing-hours';

/** Every alarm monitoring creates, by symptom; the alarm is named `<alarmPrefix>-<symptom>`. */
export const MONITORING_SYMPTOMS = [
  'bot-tasks-below-desired',
  'ml-tasks-below-desired',
  'bot-failed-tasks',
  'ml-failed-tasks',
  'bot-unhealthy-targets',
  'ml-unhealthy-targets',
  'bot-latency-p90',
  'ml-latency-p90',
  'ml-prediction-timeouts',
  'bot-silent',
  'bot-no-bets',
  'bot-error-log-lines',
  'betfair-auth-failures',
  'betfair-rate-limited',
  'bot-cpu',
  'bot-memory',
  'ml-cpu',
  'ml-memory',
  'database-cpu',
  'database-free-storage',
  'database-connections',
  'database-read-latency',
  'database-write-latency',
  'failed-task-events-undelivered',
] as const;

/** One symptom an alarm watches. */
export type MonitoringSymptom = (typeof MONITORING_SYMPTOMS)[number];

/** Sections of docs/runbooks.md the alarms point to. */
export type RunbookSection =
  'service-not-starting' | 'high-latency' | 'bot-stopped-trading' | 'database-under-pressure';

/** A service the monitoring watches. */
export interface MonitoredService {
  /** The ECS service name as operators know it (`bot`, `ml-service`); a literal, for readable alarms. */
  readonly name: string;
  /** The ECS service. */
  readonly service: ecs.FargateService;
  /** The ALB target group it is registered in. */
  readonly targetGroup: elbv2.IApplicationTargetGroup;
}

/** Props of {@link Monitoring}. */
export interface MonitoringProps {
  /** Alarm prefix, dashboard name and failed-task log group name (lib/monitoring/names.ts). */
  readonly names: MonitoringNames;
  /** Thresholds, from `environments/` (`monitoring`). */
  readonly thresholds: MonitoringConfig;
  /** The on-call topic: every alarm notifies it on ALARM and again on OK. */
  readonly topic: sns.ITopic;
  /** The cluster of both services. */
  readonly cluster: ecs.ICluster;
  /** The internal ALB in front of both services. */
  readonly loadBalancer: elbv2.IApplicationLoadBalancer;
  /** The trading bot, and its log group `/ecs/clever-better-bot`. */
  readonly bot: MonitoredService & { readonly logGroup: logs.ILogGroup };
  /** The ML prediction service. */
  readonly ml: MonitoredService;
  /** The PostgreSQL instance. */
  readonly database: rds.IDatabaseInstance;
  /** Days the failed-task events are kept. */
  readonly logRetention: logs.RetentionDays;
  /** What happens to the failed-task log group when the stack is deleted. @default RemovalPolicy.RETAIN */
  readonly logRemovalPolicy?: RemovalPolicy;
  /** Where alarm descriptions send the reader. @default 'docs/runbooks.md' (in this repository) */
  readonly runbookUrl?: string;
  /**
   * The emergency-stop function, whose invocations the dashboard shows.
   * @default not shown, unless given later to {@link Monitoring.showInvocations}
   */
  readonly emergencyStopFunction?: lambda.IFunction;
  /**
   * The rollback function, whose invocations the dashboard shows.
   * @default not shown, unless given later to {@link Monitoring.showInvocations}
   */
  readonly rollbackFunction?: lambda.IFunction;
}

/** How one alarm evaluates. */
interface AlarmSpec {
  /** What the alarm means and the first thing to check, for the 3 a.m. reader of the e-mail. */
  readonly description: string;
  readonly runbook: RunbookSection;
  /** Chosen per alarm: what a period without data means for this symptom. */
  readonly missing: cloudwatch.TreatMissingData;
  readonly period: Duration;
  /** Periods looked at; all of them must breach unless `datapointsToAlarm` says otherwise. */
  readonly evaluationPeriods: number;
  readonly datapointsToAlarm?: number;
}

const GIB = 1024 ** 3;
const { NOT_BREACHING, BREACHING } = cloudwatch.TreatMissingData;

/**
 * The dashboard's operations row: invocations and errors of the emergency-stop and rollback functions,
 * or a note where the stack has no such function yet.
 */
export function operationsWidgets(
  emergencyStop: lambda.IFunction | undefined,
  rollback: lambda.IFunction | undefined,
): cloudwatch.IWidget[] {
  const functions = [
    ['Emergency stop', emergencyStop],
    ['Rollback', rollback],
  ] as const;
  return functions.map(([label, fn]) =>
    fn
      ? new cloudwatch.GraphWidget({
          title: `${label}: invocations and errors`,
          left: [
            fn.metricInvocations({ statistic: cloudwatch.Stats.SUM, label: 'Invocations' }),
            fn.metricErrors({ statistic: cloudwatch.Stats.SUM, label: 'Errors' }),
          ],
          width: 12,
          height: 6,
        })
      : new cloudwatch.TextWidget({
          markdown: `### ${label}\nThis stack has no ${label.toLowerCase()} function to show yet.`,
          width: 12,
          height: 6,
        }),
  );
}

/** Functions whose invocations the dashboard's operations row shows. */
export type OperationsFunction = 'emergencyStop' | 'rollback';

/**
 * A widget rendered at synth time, so functions registered after the dashboard was laid out still
 * appear (the dashboard body is itself resolved lazily).
 */
class LateWidget implements cloudwatch.IWidget {
  private x = 0;
  private y = 0;

  constructor(
    readonly width: number,
    readonly height: number,
    private readonly build: () => cloudwatch.IWidget,
  ) {}

  position(x: number, y: number): void {
    this.x = x;
    this.y = y;
  }

  toJson(): unknown[] {
    const widget = this.build();
    widget.position(this.x, this.y);
    return widget.toJson();
  }
}

/**
 * The environment's alarms (one per symptom of the guide's runbooks, all to the on-call topic) and its
 * dashboard. Built on cdk-monitoring-constructs: its Fargate segment supplies the services' standard
 * metrics, alarms and widgets, `CustomMonitoring` the project's own (bets, log filters, task failures,
 * latency, database); every alarm goes through its alarm factory, with names from {@link alarmName}.
 */
export class Monitoring extends Construct {
  /** Every alarm, by symptom. `bot-no-bets` is absent when no racing days are configured. */
  readonly alarms: Partial<Record<MonitoringSymptom, cloudwatch.AlarmBase>> = {};
  readonly dashboard: cloudwatch.Dashboard;
  readonly failedTasks: FailedTaskEvents;
  private readonly facade: MonitoringFacade;
  private readonly props: MonitoringProps;
  private readonly operations: Partial<Record<OperationsFunction, lambda.IFunction>> = {};
  /** Alarms of the dashboard's "Alarm states" widget: these, and others' given to showAlarms. */
  private readonly statusAlarms: cloudwatch.IAlarm[] = [];

  constructor(scope: Construct, id: string, props: MonitoringProps) {
    super(scope, id);
    this.props = props;
    const t = props.thresholds;
    const names = props.names;

    this.facade = new MonitoringFacade(this, 'Facade', {
      alarmFactoryDefaults: {
        alarmNamePrefix: names.alarmPrefix,
        actionsEnabled: true,
        // Page on ALARM, and say so again on OK so the on-call person knows it recovered.
        action: notifySns(props.topic, props.topic),
      },
      // The dashboard below is laid out by hand; the library's own would order segments by creation.
      dashboardFactory: new DefaultDashboardFactory(this, 'LibraryDashboards', {
        dashboardNamePrefix: names.dashboard,
        createDashboard: false,
      }),
    });

    this.failedTasks = new FailedTaskEvents(this, 'FailedTasks', {
      cluster: props.cluster,
      logGroupName: names.failedTaskEventsLogGroup,
      retention: props.logRetention,
      removalPolicy: props.logRemovalPolicy ?? RemovalPolicy.RETAIN,
      services: [
        { serviceName: props.bot.name, metricName: LOG_METRICS.botFailedTasks },
        { serviceName: props.ml.name, metricName: LOG_METRICS.mlFailedTasks },
      ],
    });

    const trading = this.tradingSegment(t);
    const bot = this.serviceSegment('bot', 'Bot (ECS service bot)', props.bot, t);
    const ml = this.serviceSegment('ml', 'ML prediction service (ECS service ml-service)', props.ml, t);
    const tasks = this.taskSegment(t);
    const latency = this.latencySegment(t);
    const database = this.databaseSegment(t);

    this.dashboard = new cloudwatch.Dashboard(this, 'Dashboard', {
      dashboardName: names.dashboard,
      start: '-PT8H',
    });
    this.statusAlarms.push(...Object.values(this.alarms));
    this.dashboard.addWidgets(
      new cloudwatch.TextWidget({
        markdown:
          `# ${names.dashboard}\n` +
          `Alarms are named \`${names.alarmPrefix}-<symptom>\`; each description names its runbook ` +
          `(${props.runbookUrl ?? 'docs/runbooks.md'}). One-screen summary: \`npm run ops -- status --env <env>\`.`,
        width: 24,
        height: 2,
      }),
    );
    // Built at synth time so alarms of constructs created later (showAlarms) are included; the
    // widget scrolls when there are more alarms than fit.
    this.dashboard.addWidgets(
      new LateWidget(
        24,
        8,
        () =>
          new cloudwatch.AlarmStatusWidget({
            title: 'Alarm states (most recently changed first)',
            alarms: [...this.statusAlarms],
            width: 24,
            height: 8,
            sortBy: cloudwatch.AlarmStatusWidgetSortBy.STATE_UPDATED_TIMESTAMP,
          }),
      ),
    );
    for (const segment of [trading, bot, ml, tasks, latency, database]) {
      this.dashboard.addWidgets(...segment.widgets());
    }
    if (props.emergencyStopFunction) this.showInvocations('emergencyStop', props.emergencyStopFunction);
    if (props.rollbackFunction) this.showInvocations('rollback', props.rollbackFunction);
    this.dashboard.addWidgets(
      new LateWidget(24, 6, () => {
        const { emergencyStop, rollback } = this.operations;
        return new cloudwatch.Row(...operationsWidgets(emergencyStop, rollback));
      }),
    );
  }

  /**
   * Shows `fn`'s invocations and errors in the dashboard's operations row. For functions built after
   * this construct (the deployment safety needs its failed-task metrics first).
   */
  showInvocations(kind: OperationsFunction, fn: lambda.IFunction): void {
    if (this.operations[kind]) throw new Error(`The dashboard already shows a ${kind} function`);
    this.operations[kind] = fn;
  }

  /** Adds alarms of other constructs (deployment safety, emergency stop) to the dashboard's alarm states. */
  showAlarms(...alarms: cloudwatch.IAlarm[]): void {
    this.statusAlarms.push(...alarms);
  }

  /** The alarm of one symptom; throws if it was not created (e.g. `bot-no-bets` without racing days). */
  alarm(symptom: MonitoringSymptom): cloudwatch.AlarmBase {
    const alarm = this.alarms[symptom];
    if (!alarm) throw new Error(`Monitoring has no alarm "${symptom}" in this environment`);
    return alarm;
  }

  /** Bets, silence, ERROR lines and Betfair errors of the bot. */
  private tradingSegment(t: MonitoringConfig): CustomMonitoring {
    const bets = (statistic: string, period: Duration) =>
      new cloudwatch.Metric({
        namespace: BOT_METRICS.namespace,
        metricName: BOT_METRICS.betsPlaced,
        statistic,
        period,
      });
    const fiveMinutes = Duration.minutes(5);
    const betsGroup: CustomMetricGroup = {
      title: 'Bets placed (5-minute sums)',
      metrics: [bets(cloudwatch.Stats.SUM, fiveMinutes)],
    };
    const groups: CustomMetricGroup[] = [betsGroup];

    const filled = new cloudwatch.MathExpression({
      expression: 'FILL(bets, 0)',
      usingMetrics: { bets: bets(cloudwatch.Stats.SUM, fiveMinutes) },
      period: fiveMinutes,
      label: 'Bets placed',
    });
    const duringRacing = racingHoursExpression(t.racingHours, 'filled');
    if (duringRacing) {
      const hours = t.racingHours;
      groups.push({
        title: `Bets during racing hours (${hours.startHourUtc}–${hours.endHourUtc} UTC)`,
        metrics: [
          {
            metric: new cloudwatch.MathExpression({
              expression: duringRacing,
              usingMetrics: { filled },
              period: fiveMinutes,
              label: 'Bets placed, 1 outside racing hours',
            }),
            alarmFriendlyName: 'bot-no-bets',
            addAlarm: {
              Critical: {
                threshold: 1,
                comparisonOperator: cloudwatch.ComparisonOperator.LESS_THAN_THRESHOLD,
                ...this.threshold('bot-no-bets', {
                  description:
                    `The bot placed no bets for ${t.noBetsWindowMinutes} minutes during racing hours ` +
                    `(${hours.startHourUtc}:00–${hours.endHourUtc}:00 UTC). Check the live-trading flag, ` +
                    'Betfair authentication errors and the bot log.',
                  runbook: 'bot-stopped-trading',
                  // A bot that publishes nothing is bot-silent's alarm; this one needs data to judge.
                  missing: NOT_BREACHING,
                  period: fiveMinutes,
                  evaluationPeriods: t.noBetsWindowMinutes / 5,
                }),
              },
            },
          },
        ],
      });
    }
    groups.push({
      title: 'BetsPlaced data points per minute (a gap = bot silent)',
      metrics: [
        {
          metric: bets(cloudwatch.Stats.SAMPLE_COUNT, Duration.minutes(1)),
          alarmFriendlyName: 'bot-silent',
          addAlarm: {
            Critical: {
              threshold: 1,
              comparisonOperator: cloudwatch.ComparisonOperator.LESS_THAN_THRESHOLD,
              ...this.threshold('bot-silent', {
                description:
                  `The bot published no BetsPlaced data point for ${t.silentBotMinutes} minutes: it is not ` +
                  'running, hung, or cannot reach CloudWatch. Expected during an emergency stop.',
                runbook: 'bot-stopped-trading',
                // The whole point: a silent bot is an alarm, not "insufficient data".
                missing: BREACHING,
                period: Duration.minutes(1),
                evaluationPeriods: t.silentBotMinutes,
              }),
            },
          },
        },
      ],
    });

    const logMetric = (id: string, metricName: string, pattern: string) =>
      new logs.MetricFilter(this, id, {
        logGroup: this.props.bot.logGroup,
        filterPattern: logs.FilterPattern.literal(pattern),
        metricNamespace: MONITORING_NAMESPACE,
        metricName,
        metricValue: '1',
        // 0 for every log batch without a match, so graphs show quiet periods as 0, not gaps.
        defaultValue: 0,
      }).metric({ statistic: cloudwatch.Stats.SUM, period: fiveMinutes });
    const countAlarm = (
      symptom: MonitoringSymptom,
      metric: cloudwatch.Metric,
      threshold: number,
      description: string,
    ) => ({
      metric,
      alarmFriendlyName: symptom,
      addAlarm: {
        Critical: {
          threshold,
          comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
          ...this.threshold(symptom, {
            description,
            runbook: 'bot-stopped-trading',
            // No log lines means nothing went wrong in them; silence is bot-silent's alarm.
            missing: NOT_BREACHING,
            period: fiveMinutes,
            evaluationPeriods: 1,
          }),
        },
      },
    });
    groups.push({
      title: 'Bot ERROR log lines and Errors metric (5-minute sums)',
      metrics: [
        countAlarm(
          'bot-error-log-lines',
          logMetric('ErrorLines', LOG_METRICS.botErrorLines, ERROR_LINE_PATTERN),
          t.botErrorLinesPer5Minutes,
          `At least ${t.botErrorLinesPer5Minutes} ERROR lines in 5 minutes in /ecs/clever-better-bot.`,
        ),
        new cloudwatch.Metric({
          namespace: BOT_METRICS.namespace,
          metricName: BOT_METRICS.errors,
          statistic: cloudwatch.Stats.SUM,
          period: fiveMinutes,
          label: 'Errors (published by the bot)',
        }),
      ],
    });
    groups.push({
      title: 'Betfair authentication failures and rate limiting (5-minute sums)',
      metrics: [
        countAlarm(
          'betfair-auth-failures',
          logMetric('BetfairAuth', LOG_METRICS.betfairAuthFailures, anyTermPattern(BETFAIR_AUTH_ERROR_CODES)),
          t.betfairAuthFailuresPer5Minutes,
          `At least ${t.betfairAuthFailuresPer5Minutes} Betfair authentication errors in 5 minutes ` +
            '(session expired or invalid, login refused, app key). The bot cannot trade until it logs in again.',
        ),
        countAlarm(
          'betfair-rate-limited',
          logMetric('BetfairRate', LOG_METRICS.betfairRateLimited, anyTermPattern(BETFAIR_RATE_LIMIT_CODES)),
          t.betfairRateLimitsPer5Minutes,
          `At least ${t.betfairRateLimitsPer5Minutes} Betfair rate-limit errors in 5 minutes ` +
            '(TOO_MANY_REQUESTS, TOO_MUCH_DATA, connection or subscription limits).',
        ),
      ],
    });
    return this.custom('trading', 'Trading: bets, silence, errors, Betfair', groups);
  }

  /** CPU, memory and unhealthy targets of one service, from the library's Fargate segment. */
  private serviceSegment(
    key: 'bot' | 'ml',
    title: string,
    svc: MonitoredService,
    t: MonitoringConfig,
  ): FargateServiceMonitoring {
    const tenMinutes = { period: Duration.minutes(5), evaluationPeriods: 2 };
    const segment = new FargateServiceMonitoring(this.facade, {
      fargateService: svc.service,
      loadBalancer: this.props.loadBalancer,
      targetGroup: svc.targetGroup,
      humanReadableName: title,
      alarmFriendlyName: key,
      addCpuUsageAlarm: {
        Critical: {
          maxUsagePercent: t.serviceCpuPercent,
          ...this.threshold(`${key}-cpu`, {
            description: `${title}: CPU above ${t.serviceCpuPercent}% for 10 minutes.`,
            runbook: 'high-latency',
            // No CPU data means no running task; tasks-below-desired covers that.
            missing: NOT_BREACHING,
            ...tenMinutes,
          }),
        },
      },
      addMemoryUsageAlarm: {
        Critical: {
          maxUsagePercent: t.serviceMemoryPercent,
          ...this.threshold(`${key}-memory`, {
            description:
              `${title}: memory above ${t.serviceMemoryPercent}% for 10 minutes; ` +
              'the task is killed (exit 137) when it reaches 100%.',
            runbook: 'service-not-starting',
            missing: NOT_BREACHING,
            ...tenMinutes,
          }),
        },
      },
      addUnhealthyTaskCountAlarm: {
        Critical: {
          maxUnhealthyTasks: 0,
          ...this.threshold(`${key}-unhealthy-targets`, {
            description: `${title}: a target has failed its /health checks for ${t.unhealthyTargetMinutes} minutes.`,
            runbook: 'service-not-starting',
            // The ALB publishes the count every minute while the target group is in use.
            missing: NOT_BREACHING,
            period: Duration.minutes(1),
            evaluationPeriods: t.unhealthyTargetMinutes,
          }),
        },
      },
    });
    this.collect(segment.createdAlarms());
    return segment;
  }

  /** Running vs desired tasks and failed tasks, per service. */
  private taskSegment(t: MonitoringConfig): CustomMonitoring {
    const services = [
      { key: 'bot' as const, svc: this.props.bot },
      { key: 'ml' as const, svc: this.props.ml },
    ];
    const groups: CustomMetricGroup[] = services.map(({ key, svc }) => {
      const insight = (metricName: string) =>
        new cloudwatch.Metric({
          namespace: 'ECS/ContainerInsights',
          metricName,
          dimensionsMap: {
            ClusterName: this.props.cluster.clusterName,
            ServiceName: svc.service.serviceName,
          },
          statistic: cloudwatch.Stats.AVERAGE,
          period: Duration.minutes(1),
        });
      return {
        title: `${svc.name}: tasks below desired, failed tasks`,
        metrics: [
          {
            // A minute without a RunningTaskCount point while a desired count exists means 0 running.
            metric: new cloudwatch.MathExpression({
              expression: 'desired - FILL(running, 0)',
              usingMetrics: { desired: insight('DesiredTaskCount'), running: insight('RunningTaskCount') },
              period: Duration.minutes(1),
              label: 'Desired minus running tasks',
            }),
            alarmFriendlyName: `${key}-tasks-below-desired`,
            addAlarm: {
              Critical: {
                threshold: 0,
                comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
                ...this.threshold(`${key}-tasks-below-desired`, {
                  description:
                    `${svc.name}: fewer tasks running than desired for ${t.tasksBelowDesiredMinutes} ` +
                    'minutes: tasks fail to start or keep stopping.',
                  runbook: 'service-not-starting',
                  // Container Insights reports every service each minute; no data at all means no
                  // desired count to miss (e.g. the bot stopped on purpose), not a failure.
                  missing: NOT_BREACHING,
                  period: Duration.minutes(1),
                  evaluationPeriods: t.tasksBelowDesiredMinutes,
                }),
              },
            },
          },
          {
            metric: this.failedTasks.metricFor(svc.name),
            alarmFriendlyName: `${key}-failed-tasks`,
            addAlarm: {
              Critical: {
                threshold: t.failedTasksPer5Minutes,
                comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
                ...this.threshold(`${key}-failed-tasks`, {
                  description:
                    `${svc.name}: ${t.failedTasksPer5Minutes} or more tasks failed to start or exited by ` +
                    `themselves (crash, non-zero exit, out of memory) in 5 minutes. ` +
                    `Events: ${this.props.names.failedTaskEventsLogGroup}.`,
                  runbook: 'service-not-starting',
                  // The metric exists only when a task fails.
                  missing: NOT_BREACHING,
                  period: Duration.minutes(5),
                  evaluationPeriods: 1,
                }),
              },
            },
          },
        ],
      };
    });
    groups.push({
      title: 'Failed-task events EventBridge could not deliver',
      metrics: [
        {
          metric: this.failedTasks.metricUndelivered(),
          alarmFriendlyName: 'failed-task-events-undelivered',
          addAlarm: {
            Critical: {
              threshold: 1,
              comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
              ...this.threshold('failed-task-events-undelivered', {
                description:
                  'EventBridge could not write failed-task events to ' +
                  `${this.props.names.failedTaskEventsLogGroup}: the failed-tasks alarms are blind until it can.`,
                runbook: 'service-not-starting',
                // EventBridge publishes FailedInvocations only when a delivery fails.
                missing: NOT_BREACHING,
                period: Duration.minutes(5),
                evaluationPeriods: 1,
              }),
            },
          },
        },
      ],
    });
    return this.custom('tasks', 'Tasks: running vs desired, failures', groups);
  }

  /** Target response time p90 of both services and the ALB's gateway timeouts. */
  private latencySegment(t: MonitoringConfig): CustomMonitoring {
    const services = [
      { key: 'bot' as const, svc: this.props.bot },
      { key: 'ml' as const, svc: this.props.ml },
    ];
    const p90 = services.map(({ key, svc }) => ({
      metric: svc.targetGroup.metrics.targetResponseTime({
        statistic: cloudwatch.Stats.p(90),
        period: Duration.minutes(1),
        label: `${svc.name} p90`,
      }),
      alarmFriendlyName: `${key}-latency-p90`,
      addAlarm: {
        Critical: {
          threshold: t.latencyP90Seconds,
          comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
          ...this.threshold(`${key}-latency-p90`, {
            description:
              `${svc.name}: p90 response time above ${t.latencyP90Seconds} s ` +
              'in 3 of the last 5 minutes.',
            runbook: 'high-latency',
            // No requests, no latency to judge.
            missing: NOT_BREACHING,
            period: Duration.minutes(1),
            evaluationPeriods: 5,
            datapointsToAlarm: 3,
          }),
        },
      },
    }));
    // 504 specifically: the target did not answer in time (a slow or hung prediction).
    const elb504 = this.props.loadBalancer.metrics.custom('HTTPCode_ELB_504_Count', {
      statistic: cloudwatch.Stats.SUM,
      period: Duration.minutes(5),
      label: 'ALB 504 (target timed out)',
    });
    return this.custom('latency', 'Latency: response time p90, ML timeouts', [
      { title: `Target response time p90 (alarm above ${t.latencyP90Seconds} s)`, metrics: p90 },
      {
        title: 'Gateway timeouts (504) in front of ml-service (5-minute sums)',
        metrics: [
          {
            metric: elb504,
            alarmFriendlyName: 'ml-prediction-timeouts',
            addAlarm: {
              Critical: {
                threshold: t.mlTimeoutsPer5Minutes,
                comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
                ...this.threshold('ml-prediction-timeouts', {
                  description:
                    `At least ${t.mlTimeoutsPer5Minutes} requests timed out (ALB 504) in 5 minutes: ` +
                    'ML predictions are not answering in time.',
                  runbook: 'high-latency',
                  // The ALB publishes 504 counts only when there are some.
                  missing: NOT_BREACHING,
                  period: Duration.minutes(5),
                  evaluationPeriods: 1,
                }),
              },
            },
          },
        ],
      },
    ]);
  }

  /**
   * CPU, free storage, connections and latency of the database. Custom metrics rather than the
   * library's RDS segment, whose graphs put bytes on a percent axis and sum connections over 5 minutes.
   */
  private databaseSegment(t: MonitoringConfig): CustomMonitoring {
    const db = this.props.database;
    const tenMinutes = { period: Duration.minutes(5), evaluationPeriods: 2 };
    const above = (
      symptom: MonitoringSymptom,
      metric: MetricWithAlarmSupport,
      threshold: number,
      description: string,
      missing: cloudwatch.TreatMissingData = NOT_BREACHING,
    ) => ({
      metric,
      alarmFriendlyName: symptom,
      addAlarm: {
        Critical: {
          threshold,
          comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
          ...this.threshold(symptom, {
            description,
            runbook: 'database-under-pressure',
            missing,
            ...tenMinutes,
          }),
        },
      },
    });
    // RDS reports latency in seconds; thresholds are in milliseconds. Ids are unique per graph.
    const latencyMs = (metricName: 'ReadLatency' | 'WriteLatency') => {
      const id = metricName[0].toLowerCase() + metricName.slice(1);
      return new cloudwatch.MathExpression({
        expression: `${id} * 1000`,
        usingMetrics: { [id]: db.metric(metricName, { statistic: cloudwatch.Stats.AVERAGE }) },
        period: Duration.minutes(5),
        label: `${metricName} (ms)`,
      });
    };
    return this.custom('database', 'Database (RDS for PostgreSQL)', [
      {
        title: `CPU % (alarm above ${t.databaseCpuPercent})`,
        metrics: [
          above(
            'database-cpu',
            db.metricCPUUtilization({ statistic: cloudwatch.Stats.AVERAGE, period: Duration.minutes(5) }),
            t.databaseCpuPercent,
            `Database CPU above ${t.databaseCpuPercent}% for 10 minutes: look for slow queries.`,
          ),
        ],
      },
      {
        title: `Free storage, GiB (alarm below ${t.databaseFreeStorageGiB})`,
        metrics: [
          {
            metric: new cloudwatch.MathExpression({
              expression: `storage / ${GIB}`,
              usingMetrics: { storage: db.metricFreeStorageSpace({ statistic: cloudwatch.Stats.MINIMUM }) },
              period: Duration.minutes(5),
              label: 'Free storage (GiB)',
            }),
            alarmFriendlyName: 'database-free-storage',
            addAlarm: {
              Critical: {
                threshold: t.databaseFreeStorageGiB,
                comparisonOperator: cloudwatch.ComparisonOperator.LESS_THAN_THRESHOLD,
                ...this.threshold('database-free-storage', {
                  description:
                    `Database free storage below ${t.databaseFreeStorageGiB} GiB, or no storage metric at all ` +
                    '(instance stopped or unreachable).',
                  runbook: 'database-under-pressure',
                  // RDS reports storage every minute while the instance is up: no data means the
                  // instance is stopped or unreachable, which needs a person as much as a full disk.
                  missing: BREACHING,
                  period: Duration.minutes(5),
                  evaluationPeriods: 1,
                }),
              },
            },
          },
        ],
      },
      {
        title: `Connections (alarm above ${t.databaseConnections})`,
        metrics: [
          above(
            'database-connections',
            db.metricDatabaseConnections({
              statistic: cloudwatch.Stats.MAXIMUM,
              period: Duration.minutes(5),
            }),
            t.databaseConnections,
            `More than ${t.databaseConnections} database connections for 10 minutes: ` +
              'a connection leak or too many tasks.',
          ),
        ],
      },
      {
        title: `Read and write latency, ms (alarm above ${t.databaseLatencyMs})`,
        metrics: [
          above(
            'database-read-latency',
            latencyMs('ReadLatency'),
            t.databaseLatencyMs,
            `Database read latency above ${t.databaseLatencyMs} ms for 10 minutes.`,
          ),
          above(
            'database-write-latency',
            latencyMs('WriteLatency'),
            t.databaseLatencyMs,
            `Database write latency above ${t.databaseLatencyMs} ms for 10 minutes.`,
          ),
        ],
      },
    ]);
  }

  private custom(friendlyName: string, title: string, metricGroups: CustomMetricGroup[]): CustomMonitoring {
    const segment = new CustomMonitoring(this.facade, {
      humanReadableName: title,
      alarmFriendlyName: friendlyName,
      metricGroups,
    });
    this.collect(segment.createdAlarms());
    return segment;
  }

  /** The parts of a library threshold every alarm of this project sets. */
  private threshold(symptom: MonitoringSymptom, spec: AlarmSpec): CustomAlarmThreshold {
    return {
      alarmNameOverride: alarmName(this.props.names.alarmPrefix, symptom),
      alarmDescriptionOverride: spec.description,
      runbookLink: `${this.props.runbookUrl ?? 'docs/runbooks.md'}#${spec.runbook}`,
      treatMissingDataOverride: spec.missing,
      period: spec.period,
      evaluationPeriods: spec.evaluationPeriods,
      datapointsToAlarm: spec.datapointsToAlarm ?? spec.evaluationPeriods,
    };
  }

  private collect(created: readonly AlarmWithAnnotation[]): void {
    const prefix = `${this.props.names.alarmPrefix}-`;
    for (const { alarm, alarmName: name } of created) {
      const symptom = name.slice(prefix.length) as MonitoringSymptom;
      if (!name.startsWith(prefix) || !MONITORING_SYMPTOMS.includes(symptom)) {
        throw new Error(`Alarm "${name}" is not named by alarmName(); every alarm needs a symptom`);
      }
      this.alarms[symptom] = alarm;
    }
  }
}
