import { Duration } from 'aws-cdk-lib';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import * as elbv2 from 'aws-cdk-lib/aws-elasticloadbalancingv2';
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
    title: `bot: failed tasks per minute (a crash loop: 2 within ${t.crashLoopWindowMinutes} minutes)`,
    metrics: [
      {
        metric: b.failedTasks.metricFor(b.props.bot.name).with({ period: Duration.minutes(1) }),
        alarmFriendlyName: 'bot-crash-loop',
        addAlarm: {
          Critical: {
            threshold: 1,
            comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
            ...b.threshold('bot-crash-loop', {
              description:
                `${b.props.bot.name}: tasks failed by themselves (crash, non-zero exit, out of memory, failed start) ` +
                `in 2 different minutes within ${t.crashLoopWindowMinutes} minutes: a crash loop, however long ` +
                `each task lives. Events: ${b.props.names.failedTaskEventsLogGroup}.`,
              // The metric exists only when a task fails; an emergency stop's scale-in is not a failure.
              missing: NOT_BREACHING,
              period: Duration.minutes(1),
              evaluationPeriods: t.crashLoopWindowMinutes,
              datapointsToAlarm: 2,
            }),
          },
        },
      },
    ],
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

/**
 * A 5xx rate that judges low traffic too: `errors` per 100 requests when at least `min` requests
 * arrived in the period; below that, a percentage of a handful of requests is noise, so an absolute
 * count decides instead: `lowTrafficErrors` or more errors count as 100 %, fewer as 0. A service that
 * fails every request at 03:00 still pages; one stray error does not.
 */
function gatedPercent(
  id: string,
  errors: cloudwatch.IMetric,
  requests: cloudwatch.IMetric,
  min: number,
  lowTrafficErrors: number,
  label: string,
): cloudwatch.MathExpression {
  // Ids are unique per graph, and both rates share one.
  const [e, r] = [`${id}Errors`, `${id}Requests`];
  return new cloudwatch.MathExpression({
    expression: `IF(FILL(${r}, 0) >= ${min}, 100 * FILL(${e}, 0) / ${r}, IF(FILL(${e}, 0) >= ${lowTrafficErrors}, 100, 0))`,
    usingMetrics: { [e]: errors, [r]: requests },
    period: Duration.minutes(5),
    label,
  });
}

/**
 * ml-service p90 latency (only when enough requests were answered to make a percentile), its 5xx
 * rate and the load balancer's own 5xx rate (502/503/504: no healthy target, target reset, timeout),
 * both gated on a minimum request count, and the ALB's gateway timeouts. The bot's target group has
 * no latency alarm: only the load balancer's health checks call the bot over HTTP.
 */
export function latencyAlarms(b: AlarmBuilder, t: MonitoringConfig): CustomMonitoring {
  const ml = b.props.ml;
  const fiveMinutes = Duration.minutes(5);
  const sum = { statistic: cloudwatch.Stats.SUM, period: Duration.minutes(1) };
  const p90 = new cloudwatch.MathExpression({
    // A percentile of three requests is noise: below the minimum count there is nothing to judge.
    expression: `IF(FILL(requests, 0) >= ${t.latencyMinRequestsPerMinute}, latency, 0)`,
    usingMetrics: {
      latency: ml.targetGroup.metrics.targetResponseTime({
        statistic: cloudwatch.Stats.p(90),
        period: Duration.minutes(1),
      }),
      requests: ml.targetGroup.metrics.requestCount(sum),
    },
    period: Duration.minutes(1),
    label: `${ml.name} p90 (0 below ${t.latencyMinRequestsPerMinute} requests/minute)`,
  });
  const fiveMinuteSum = { statistic: cloudwatch.Stats.SUM, period: fiveMinutes };
  // Below the request gate: as many errors as the gate's rate would allow, and never fewer than 3.
  const lowTrafficErrors = Math.max(3, Math.ceil((t.minRequestsPer5Minutes * t.http5xxPercent) / 100));
  const ml5xx = gatedPercent(
    'ml',
    ml.targetGroup.metrics.httpCodeTarget(elbv2.HttpCodeTarget.TARGET_5XX_COUNT, fiveMinuteSum),
    ml.targetGroup.metrics.requestCount(fiveMinuteSum),
    t.minRequestsPer5Minutes,
    lowTrafficErrors,
    `${ml.name} 5xx, % of requests`,
  );
  const lb = b.props.loadBalancer.metrics;
  const alb5xx = gatedPercent(
    'alb',
    lb.httpCodeElb(elbv2.HttpCodeElb.ELB_5XX_COUNT, fiveMinuteSum),
    lb.requestCount(fiveMinuteSum),
    t.minRequestsPer5Minutes,
    lowTrafficErrors,
    'ALB 5xx (502/503/504), % of requests',
  );
  const rate = (symptom: 'ml-5xx' | 'alb-5xx', metric: cloudwatch.MathExpression, description: string) => ({
    metric,
    alarmFriendlyName: symptom,
    addAlarm: {
      Critical: {
        threshold: t.http5xxPercent,
        comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
        ...b.threshold(symptom, {
          description,
          // No requests at all: nothing failed (the expression is 0 then, never missing).
          missing: NOT_BREACHING,
          period: fiveMinutes,
          evaluationPeriods: 2,
        }),
      },
    },
  });
  // 504 specifically: the target did not answer in time (a slow or hung prediction).
  const elb504 = b.props.loadBalancer.metrics.custom('HTTPCode_ELB_504_Count', {
    statistic: cloudwatch.Stats.SUM,
    period: fiveMinutes,
    label: 'ALB 504 (target timed out)',
  });
  return b.custom('latency', 'Latency and errors: ml-service p90, 5xx, timeouts', [
    {
      title: `ml-service response time p90 (alarm above ${t.latencyP90Seconds} s)`,
      metrics: [
        {
          metric: p90,
          alarmFriendlyName: 'ml-latency-p90',
          addAlarm: {
            Critical: {
              threshold: t.latencyP90Seconds,
              comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
              ...b.threshold('ml-latency-p90', {
                description:
                  `${ml.name}: p90 response time above ${t.latencyP90Seconds} s in 3 of the last 5 minutes ` +
                  `(minutes with fewer than ${t.latencyMinRequestsPerMinute} requests are not judged).`,
                missing: NOT_BREACHING,
                period: Duration.minutes(1),
                evaluationPeriods: 5,
                datapointsToAlarm: 3,
              }),
            },
          },
        },
      ],
    },
    {
      title: `5xx, % of requests (alarm at ${t.http5xxPercent}% with ${t.minRequestsPer5Minutes}+ requests in 5 minutes)`,
      metrics: [
        rate(
          'ml-5xx',
          ml5xx,
          `${ml.name} answered ${t.http5xxPercent}% or more of its requests with 5xx for 10 minutes ` +
            `(with fewer than ${t.minRequestsPer5Minutes} requests per 5 minutes: ${lowTrafficErrors} or more 5xx ` +
            'in each): predictions are failing.',
        ),
        rate(
          'alb-5xx',
          alb5xx,
          `The load balancer itself answered ${t.http5xxPercent}% or more of requests with 502/503/504 for ` +
            `10 minutes (at low traffic: ${lowTrafficErrors} or more in each 5 minutes): no healthy target, ` +
            'targets resetting connections, or timing out.',
        ),
      ],
    },
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
                // The ALB publishes 504 counts only when there are some.
                missing: NOT_BREACHING,
                period: fiveMinutes,
                evaluationPeriods: 1,
              }),
            },
          },
        },
      ],
    },
  ]);
}
