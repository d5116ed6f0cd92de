import { Duration } from 'aws-cdk-lib';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import { CustomMetricGroup, CustomMonitoring, FargateServiceMonitoring } from 'cdk-monitoring-constructs';
import { MonitoringConfig } from '../../environments/types';
import { AlarmBuilder, NOT_BREACHING } from './alarm-builder';
import { MonitoredService } from './props';

/** CPU, memory and unhealthy targets of one service, from the library's Fargate segment. */
export function serviceAlarms(
  b: AlarmBuilder,
  key: 'bot' | 'ml',
  title: string,
  svc: MonitoredService,
  t: MonitoringConfig,
): FargateServiceMonitoring {
  const tenMinutes = { period: Duration.minutes(5), evaluationPeriods: 2 };
  const segment = new FargateServiceMonitoring(b.facade, {
    fargateService: svc.service,
    loadBalancer: b.props.loadBalancer,
    targetGroup: svc.targetGroup,
    humanReadableName: title,
    alarmFriendlyName: key,
    addCpuUsageAlarm: {
      Critical: {
        maxUsagePercent: t.serviceCpuPercent,
        ...b.threshold(`${key}-cpu`, {
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
        ...b.threshold(`${key}-memory`, {
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
        ...b.threshold(`${key}-unhealthy-targets`, {
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
  b.collect(segment.createdAlarms());
  return segment;
}

/** Running vs desired tasks and failed tasks, per service. */
export function taskAlarms(b: AlarmBuilder, t: MonitoringConfig): CustomMonitoring {
  const services = [
    { key: 'bot' as const, svc: b.props.bot },
    { key: 'ml' as const, svc: b.props.ml },
  ];
  const groups: CustomMetricGroup[] = services.map(({ key, svc }) => {
    const insight = (metricName: string) =>
      new cloudwatch.Metric({
        namespace: 'ECS/ContainerInsights',
        metricName,
        dimensionsMap: {
          ClusterName: b.props.cluster.clusterName,
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
              ...b.threshold(`${key}-tasks-below-desired`, {
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
          metric: b.failedTasks.metricFor(svc.name),
          alarmFriendlyName: `${key}-failed-tasks`,
          addAlarm: {
            Critical: {
              threshold: t.failedTasksPer5Minutes,
              comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
              ...b.threshold(`${key}-failed-tasks`, {
                description:
                  `${svc.name}: ${t.failedTasksPer5Minutes} or more tasks failed to start or exited by ` +
                  `themselves (crash, non-zero exit, out of memory) in 5 minutes. ` +
                  `Events: ${b.props.names.failedTaskEventsLogGroup}.`,
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
        metric: b.failedTasks.metricUndelivered(),
        alarmFriendlyName: 'failed-task-events-undelivered',
        addAlarm: {
          Critical: {
            threshold: 1,
            comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
            ...b.threshold('failed-task-events-undelivered', {
              description:
                'EventBridge could not write failed-task events to ' +
                `${b.props.names.failedTaskEventsLogGroup}: the failed-tasks alarms are blind until it can.`,
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
  return b.custom('tasks', 'Tasks: running vs desired, failures', groups);
}

/** Target response time p90 of both services and the ALB's gateway timeouts. */
export function latencyAlarms(b: AlarmBuilder, t: MonitoringConfig): CustomMonitoring {
  const services = [
    { key: 'bot' as const, svc: b.props.bot },
    { key: 'ml' as const, svc: b.props.ml },
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
        ...b.threshold(`${key}-latency-p90`, {
          description:
            `${svc.name}: p90 response time above ${t.latencyP90Seconds} s ` + 'in 3 of the last 5 minutes.',
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
  const elb504 = b.props.loadBalancer.metrics.custom('HTTPCode_ELB_504_Count', {
    statistic: cloudwatch.Stats.SUM,
    period: Duration.minutes(5),
    label: 'ALB 504 (target timed out)',
  });
  return b.custom('latency', 'Latency: response time p90, ML timeouts', [
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
              ...b.threshold('ml-prediction-timeouts', {
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
