import { ArnFormat, Duration, RemovalPolicy, Validations } from 'aws-cdk-lib';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import * as ecs from 'aws-cdk-lib/aws-ecs';
import * as events from 'aws-cdk-lib/aws-events';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as logs from 'aws-cdk-lib/aws-logs';
import { Construct } from 'constructs';
import { MONITORING_NAMESPACE } from './log-contract';

/**
 * ECS stop codes of a task that failed by itself: it never started (image pull, secret not found, …)
 * or its essential container exited (a crash, a non-zero exit, an out-of-memory kill). Tasks that ECS
 * or a person stops (`ServiceSchedulerInitiated`: deployments, scale-in, an emergency scale-to-zero,
 * failed health checks; `UserInitiated`) are left out whatever their exit code: a SIGTERM'd task
 * exits 143 without anything being wrong. Unhealthy targets have their own alarm.
 */
export const FAILED_TASK_STOP_CODES: readonly string[] = ['TaskFailedToStart', 'EssentialContainerExited'];

/** One service whose failed tasks are counted. */
export interface FailedTaskService {
  /** ECS service name; ECS reports the task's `group` as `service:<name>`. */
  readonly serviceName: string;
  /** Metric (namespace `CleverBetter/Monitoring`) counting this service's failed tasks. */
  readonly metricName: string;
}

/** Props of {@link FailedTaskEvents}. */
export interface FailedTaskEventsProps {
  /** The cluster whose task state changes are watched. */
  readonly cluster: ecs.ICluster;
  /** Name of the log group that keeps the failed-task events (operators tail it in the runbook). */
  readonly logGroupName: string;
  /** Days the events are kept. */
  readonly retention: logs.RetentionDays;
  /** What happens to the log group when the stack is deleted. */
  readonly removalPolicy: RemovalPolicy;
  /** The services to count, one metric each. */
  readonly services: readonly FailedTaskService[];
}

/**
 * Counts ECS tasks that fail by themselves ({@link FAILED_TASK_STOP_CODES}), per service. ECS reports
 * no such metric: an EventBridge rule on "ECS Task State Change" sends those events to a log group,
 * and a metric filter per service counts them. The log group doubles as the history the "service not
 * starting" runbook reads (stoppedReason, exit codes).
 */
export class FailedTaskEvents extends Construct {
  readonly logGroup: logs.LogGroup;
  readonly rule: events.Rule;
  private readonly metrics = new Map<string, cloudwatch.Metric>();

  constructor(scope: Construct, id: string, props: FailedTaskEventsProps) {
    super(scope, id);
    this.logGroup = new logs.LogGroup(this, 'Events', {
      logGroupName: props.logGroupName,
      retention: props.retention,
      removalPolicy: props.removalPolicy,
    });
    this.rule = new events.Rule(this, 'Rule', {
      description: 'ECS tasks of the cluster that failed to start or whose essential container exited',
      eventPattern: {
        source: ['aws.ecs'],
        detailType: ['ECS Task State Change'],
        detail: {
          clusterArn: [props.cluster.clusterArn],
          lastStatus: ['STOPPED'],
          stopCode: [...FAILED_TASK_STOP_CODES],
        },
      },
    });
    // A native resource policy instead of the CDK log-group target's custom resource (an extra
    // Lambda): EventBridge may write to this one log group only.
    new logs.ResourcePolicy(this, 'EventsMayWrite', {
      policyStatements: [
        new iam.PolicyStatement({
          principals: [new iam.ServicePrincipal('events.amazonaws.com')],
          actions: ['logs:CreateLogStream', 'logs:PutLogEvents'],
          resources: [this.logGroup.logGroupArn],
        }),
      ],
    });
    const logGroup = this.logGroup;
    this.rule.addTarget({
      bind: () => ({
        // The target takes the log group ARN without the `:*` suffix of `logGroupArn`.
        arn: logGroup.stack.formatArn({
          service: 'logs',
          resource: 'log-group',
          arnFormat: ArnFormat.COLON_RESOURCE_NAME,
          resourceName: logGroup.logGroupName,
        }),
        targetResource: logGroup,
      }),
    });

    Validations.of(this.rule).acknowledge({
      id: 'Serverless-EventBusDLQ',
      reason:
        'EventBridge retries delivery into this log group for 24 hours; a delivery that still fails ' +
        'raises the failed-task-events-undelivered alarm (FailedInvocations) instead of sitting in a queue nobody reads',
    });

    for (const service of props.services) {
      const filter = new logs.MetricFilter(this, `${service.metricName}Filter`, {
        logGroup: this.logGroup,
        filterPattern: logs.FilterPattern.stringValue(
          '$.detail.group',
          '=',
          `service:${service.serviceName}`,
        ),
        metricNamespace: MONITORING_NAMESPACE,
        metricName: service.metricName,
        metricValue: '1',
      });
      this.metrics.set(
        service.serviceName,
        filter.metric({ statistic: cloudwatch.Stats.SUM, period: Duration.minutes(5) }),
      );
    }
  }

  /** Events the rule matched but could not write to the log group (5-minute sums). */
  metricUndelivered(): cloudwatch.Metric {
    return new cloudwatch.Metric({
      namespace: 'AWS/Events',
      metricName: 'FailedInvocations',
      dimensionsMap: { RuleName: this.rule.ruleName },
      statistic: cloudwatch.Stats.SUM,
      period: Duration.minutes(5),
    });
  }

  /** The failed-task count of one service (5-minute sums). */
  metricFor(serviceName: string): cloudwatch.Metric {
    const metric = this.metrics.get(serviceName);
    if (!metric) throw new Error(`No failed-task metric for service "${serviceName}"`);
    return metric;
  }
}
