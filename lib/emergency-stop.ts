import { Duration, Fn, Lazy, RemovalPolicy, Stack, Validations } from 'aws-cdk-lib';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import * as actions from 'aws-cdk-lib/aws-cloudwatch-actions';
import * as ecs from 'aws-cdk-lib/aws-ecs';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as logs from 'aws-cdk-lib/aws-logs';
import * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import { Construct } from 'constructs';
import { EmergencyStopConfig } from '../environments/types';
import { FUNCTION_TIMEOUT_SECONDS } from '../lambda/emergency-stop/budget';
import { Alerting } from './alerting';
import { acceptFunctionExceptions } from './compliance';
import { BOT_METRICS, STOP_MARKER } from './metrics';
import { ProjectFunction } from './project-function';

/** Props of {@link EmergencyStop}. */
export interface EmergencyStopProps {
  /** Environment name, for the function's messages and the alarm descriptions. */
  readonly environmentName: string;
  /** Prefix of the alarm names, `clever-better-<env>`. */
  readonly namePrefix: string;
  /** The ECS cluster of the bot. */
  readonly cluster: ecs.ICluster;
  /** The bot service: the only service the function may update. */
  readonly botService: ecs.IBaseService;
  /** `clever-better/<env>/config`: the only secret the function may write (and it reads it first). */
  readonly configSecret: secretsmanager.ISecret;
  /** `clever-better/<env>/betfair`: read for the function's own Betfair session. */
  readonly betfairSecret: secretsmanager.ISecret;
  /** The on-call topic: the outcome of every run, failed runs and the trigger alarms themselves. */
  readonly alerting: Alerting;
  /** Thresholds of the trigger alarms (environments/, docs/metrics.md). */
  readonly thresholds: EmergencyStopConfig;
  /** Days the function's log group is kept. */
  readonly logRetention: logs.RetentionDays;
  /** What happens to the log group when the stack is deleted. @default RemovalPolicy.RETAIN_ON_UPDATE_OR_DELETE */
  readonly logRemovalPolicy?: RemovalPolicy;
}

/**
 * How long Lambda keeps retrying to start a queued invocation (throttled behind a running stop).
 * Long enough for any throttle, short enough that a stale alarm event cannot re-stop trading hours
 * after a person resumed it. An event dropped at this age goes to the on-failure destination.
 */
const MAX_EVENT_AGE = Duration.hours(1);

/**
 * The emergency stop (docs/operations.md "Emergency stop"): a function that switches live trading off, scales
 * the bot to zero, cancels every unmatched Betfair bet and tells on-call, invoked by the trigger
 * alarms (open liability, daily loss, runaway betting, the loss-velocity backstop, error storm, and
 * any added with {@link addTrigger}) or by
 * `npm run ops -- emergency-stop`.
 *
 * It runs outside the VPC (it reaches only AWS APIs and Betfair, so no NAT or endpoint can stop it),
 * one run at a time (reserved concurrency 1: never two cancel-alls in flight), retried twice on
 * failure; a run that still fails, or an event that cannot be delivered, pages a person, because
 * the trigger alarm will not fire again while it stays in ALARM.
 */
export class EmergencyStop extends Construct {
  readonly function: ProjectFunction;
  /** Net profit summed over the loss window at or below minus the loss limit. */
  readonly lossLimitAlarm: cloudwatch.Alarm;
  /** Bot errors per minute at or above the storm threshold for the configured minutes. */
  readonly errorStormAlarm: cloudwatch.Alarm;
  /** The bot's open liability at or above `maxOpenLiability` in a minute. */
  readonly exposureAlarm: cloudwatch.Alarm;
  /** Realised P&L today minus open liability at or below minus `dailyLossLimit` in a minute. */
  readonly dailyLossAlarm: cloudwatch.Alarm;
  /** Bets placed in a minute at or above `maxBetsPerMinute`. */
  readonly runawayBettingAlarm: cloudwatch.Alarm;
  /** The function itself failed (after which Lambda retries, up to twice). */
  readonly failedAlarm: cloudwatch.Alarm;
  /** A failed event could not even be delivered to the on-failure destination. */
  readonly undeliveredAlarm: cloudwatch.Alarm;
  private readonly triggers: cloudwatch.Alarm[] = [];
  private readonly topicAction: actions.SnsAction;

  constructor(scope: Construct, id: string, props: EmergencyStopProps) {
    super(scope, id);
    const { alerting, configSecret, betfairSecret, thresholds } = props;
    this.topicAction = new actions.SnsAction(alerting.topic);

    this.function = new ProjectFunction(this, 'Function', {
      name: 'emergency-stop',
      description:
        'Clever Better emergency stop: live trading off, bot to zero, Betfair cancel-all, on-call notified',
      // Every step has its own deadline (lambda/emergency-stop/budget.ts); this only adds slack.
      timeout: Duration.seconds(FUNCTION_TIMEOUT_SECONDS),
      // More CPU for the TLS handshakes of a cold start; it runs rarely, so the cost is nil.
      memorySize: 512,
      reservedConcurrentExecutions: 1,
      logRetention: props.logRetention,
      logRemovalPolicy: props.logRemovalPolicy,
      environment: {
        CLEVER_BETTER_ENV: props.environmentName,
        CONFIG_SECRET_ID: configSecret.secretArn,
        BETFAIR_SECRET_ID: betfairSecret.secretArn,
        CLUSTER_NAME: props.cluster.clusterName,
        BOT_SERVICE_NAME: props.botService.serviceName,
        TOPIC_ARN: alerting.topic.topicArn,
      },
    });
    const role = this.function.role;

    // Least privilege, statement by statement, each on exactly one resource.
    role.addToPrincipalPolicy(
      new iam.PolicyStatement({
        sid: 'ScaleTheBotOnly',
        // DescribeServices: after an UpdateService that timed out, the desired count is read before
        // the request is repeated, so a change ECS applied late is reported as such.
        actions: ['ecs:UpdateService', 'ecs:DescribeServices'],
        resources: [props.botService.serviceArn],
      }),
    );
    role.addToPrincipalPolicy(
      new iam.PolicyStatement({
        sid: 'ReadAndWriteTheConfigSecretOnly',
        actions: ['secretsmanager:GetSecretValue', 'secretsmanager:PutSecretValue'],
        resources: [configSecret.secretArn],
      }),
    );
    role.addToPrincipalPolicy(
      new iam.PolicyStatement({
        sid: 'ReadTheBetfairSecret',
        actions: ['secretsmanager:GetSecretValue'],
        resources: [betfairSecret.secretArn],
      }),
    );
    // The "halted by emergency stop" marker (lambda/emergency-stop/marker.ts); PutMetricData has no
    // resource, so the namespace condition is its scope.
    role.addToPrincipalPolicy(
      new iam.PolicyStatement({
        sid: 'WriteTheHaltedMarkerOnly',
        actions: ['cloudwatch:PutMetricData'],
        resources: ['*'],
        conditions: { StringEquals: { 'cloudwatch:namespace': STOP_MARKER.namespace } },
      }),
    );
    this.grantSecretKey(configSecret, ['kms:Decrypt', 'kms:GenerateDataKey'], 'ConfigSecretKey');
    this.grantSecretKey(betfairSecret, ['kms:Decrypt'], 'BetfairSecretKey');
    alerting.grantPublish(role);

    this.function.function.configureAsyncInvoke({
      retryAttempts: 2,
      maxEventAge: MAX_EVENT_AGE,
      // The on-call topic has an e-mail subscription: a run that failed three times reaches a person.
      onFailure: alerting.asDestination(),
    });

    const minute = Duration.minutes(1);
    this.failedAlarm = new cloudwatch.Alarm(this, 'Failed', {
      alarmName: `${props.namePrefix}-emergency-stop-failed`,
      alarmDescription:
        'A run of the emergency stop failed (Lambda retries it twice). Read its report in the on-call e-mail or ' +
        'its log and finish the stop by hand: docs/operations.md "Emergency stop".',
      metric: this.function.function.metricErrors({ period: minute, statistic: cloudwatch.Stats.SUM }),
      threshold: 1,
      comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
      // Lambda stamps Errors at invocation start: the range covers the timeout plus one period.
      evaluationPeriods: Math.ceil(this.function.function.timeout!.toSeconds() / 60) + 1,
      datapointsToAlarm: 1,
      // Latched: a failed stop is not fixed by time passing. Without new runs there is no data and the
      // alarm stays in ALARM; it returns to OK only when a later run completes (Errors 0). It has no
      // OK action either (lib/monitoring/severity.ts): the page stays open until a person acts.
      treatMissingData: cloudwatch.TreatMissingData.IGNORE,
    });
    this.undeliveredAlarm = new cloudwatch.Alarm(this, 'Undelivered', {
      alarmName: `${props.namePrefix}-emergency-stop-undelivered`,
      alarmDescription:
        'A failed emergency-stop event could not be delivered to the on-call topic: the stop may not have run. ' +
        'Run npm run ops -- emergency-stop, or stop by hand: docs/operations.md "Emergency stop".',
      metric: this.function.function.metric('DestinationDeliveryFailures', {
        period: minute,
        statistic: cloudwatch.Stats.SUM,
      }),
      threshold: 1,
      comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
      evaluationPeriods: 1,
      treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
    });
    // Pages go to the topic, never to the stop function: a failing stop must not invoke itself.
    for (const alarm of [this.failedAlarm, this.undeliveredAlarm]) alarm.addAlarmAction(this.topicAction);

    const resume = `Nothing restarts trading but a person: npm run ops -- resume --env ${props.environmentName}.`;
    // The backstop: settled losses over a sliding window, whatever the gauges say. No data means no
    // settled bets (or no errors) in the window, which is no reason to stop.
    this.lossLimitAlarm = new cloudwatch.Alarm(this, 'LossLimit', {
      alarmName: `${props.namePrefix}-emergency-stop-loss-limit`,
      alarmDescription:
        `Net profit over the last ${thresholds.lossWindowMinutes} minutes reached -${thresholds.lossLimit}: ` +
        `the emergency stop halts trading. ${resume}`,
      // One period as long as the window, evaluated as a sliding window (CloudWatch's default): the
      // sum over the last N minutes, every minute, not per clock-aligned block. FILL gives every
      // window a value (0 without settled bets), so once NetProfit stops after a stop the alarm does
      // not look back to older windows: it returns to OK when the loss leaves the window.
      metric: new cloudwatch.MathExpression({
        expression: 'FILL(profit, 0)',
        usingMetrics: {
          profit: new cloudwatch.Metric({
            namespace: BOT_METRICS.namespace,
            metricName: BOT_METRICS.netProfit,
            statistic: cloudwatch.Stats.SUM,
            period: Duration.minutes(thresholds.lossWindowMinutes),
          }),
        },
        label: `NetProfit over ${thresholds.lossWindowMinutes} minutes`,
        period: Duration.minutes(thresholds.lossWindowMinutes),
      }),
      threshold: -thresholds.lossLimit,
      comparisonOperator: cloudwatch.ComparisonOperator.LESS_THAN_OR_EQUAL_TO_THRESHOLD,
      evaluationPeriods: 1,
      treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
    });
    this.errorStormAlarm = new cloudwatch.Alarm(this, 'ErrorStorm', {
      alarmName: `${props.namePrefix}-emergency-stop-error-storm`,
      alarmDescription:
        `The bot reported at least ${thresholds.errorStormPerMinute} errors a minute for ` +
        `${thresholds.errorStormMinutes} minutes in a row: the emergency stop halts trading. ${resume}`,
      metric: new cloudwatch.Metric({
        namespace: BOT_METRICS.namespace,
        metricName: BOT_METRICS.errors,
        statistic: cloudwatch.Stats.SUM,
        period: minute,
      }),
      threshold: thresholds.errorStormPerMinute,
      comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
      evaluationPeriods: thresholds.errorStormMinutes,
      datapointsToAlarm: thresholds.errorStormMinutes,
      treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
    });
    // The risk triggers read per-minute gauges (docs/metrics.md): one one-minute period each, so they
    // see the risk within a minute of it being published, and no RUNNING_SUM or clock-aligned window
    // (CloudWatch advises against both in alarms). Missing data is not breaching: once the bot is at
    // zero it publishes nothing, and the alarm returns to OK, so `ops resume` is refused only while
    // a gauge still shows the risk; a bot restarted into the same risk stops again within a minute.
    const gauge = (metricName: string, statistic: string) =>
      new cloudwatch.Metric({ namespace: BOT_METRICS.namespace, metricName, statistic, period: minute });
    const riskAlarm = (
      id: string,
      symptom: string,
      description: string,
      metric: cloudwatch.IMetric,
      threshold: number,
      comparisonOperator: cloudwatch.ComparisonOperator,
    ) =>
      new cloudwatch.Alarm(this, id, {
        alarmName: `${props.namePrefix}-emergency-stop-${symptom}`,
        alarmDescription: `${description}: the emergency stop halts trading. ${resume}`,
        metric,
        threshold,
        comparisonOperator,
        evaluationPeriods: 1,
        datapointsToAlarm: 1,
        treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
      });
    this.exposureAlarm = riskAlarm(
      'Exposure',
      'exposure',
      `The bot's open liability reached ${thresholds.maxOpenLiability}`,
      gauge(BOT_METRICS.openLiability, cloudwatch.Stats.MAXIMUM),
      thresholds.maxOpenLiability,
      cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
    );
    this.dailyLossAlarm = riskAlarm(
      'DailyLoss',
      'daily-loss',
      `Today's realised P&L minus the open liability reached -${thresholds.dailyLossLimit}`,
      new cloudwatch.MathExpression({
        // Both gauges are published each minute; the worst of each in the minute.
        expression: 'pnl - liability',
        usingMetrics: {
          pnl: gauge(BOT_METRICS.realisedPnlToday, cloudwatch.Stats.MINIMUM),
          liability: gauge(BOT_METRICS.openLiability, cloudwatch.Stats.MAXIMUM),
        },
        label: 'Realised P&L today minus open liability',
        period: minute,
      }),
      -thresholds.dailyLossLimit,
      cloudwatch.ComparisonOperator.LESS_THAN_OR_EQUAL_TO_THRESHOLD,
    );
    this.runawayBettingAlarm = riskAlarm(
      'RunawayBetting',
      'runaway-betting',
      `The bot placed at least ${thresholds.maxBetsPerMinute} bets in a minute`,
      gauge(BOT_METRICS.betsPlaced, cloudwatch.Stats.SUM),
      thresholds.maxBetsPerMinute,
      cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
    );
    for (const alarm of [
      this.lossLimitAlarm,
      this.errorStormAlarm,
      this.exposureAlarm,
      this.dailyLossAlarm,
      this.runawayBettingAlarm,
    ])
      this.addTrigger(alarm);
    this.acknowledgeFindings();
  }

  /**
   * Makes `alarm` a trigger: its transition to ALARM invokes the stop and pages on-call, and
   * `ops resume` refuses while it is in ALARM. Choose the alarm's missing-data treatment on purpose
   * (docs/metrics.md "Adding a trigger").
   */
  addTrigger(alarm: cloudwatch.Alarm): void {
    alarm.addAlarmAction(
      // One permission per alarm, each scoped to that alarm's ARN and this account.
      new actions.LambdaAction(this.function.function, { useUniquePermissionId: true }),
      this.topicAction,
    );
    this.triggers.push(alarm);
  }

  /** The trigger alarms, including those added later. */
  get triggerAlarms(): readonly cloudwatch.Alarm[] {
    return [...this.triggers];
  }

  /** Comma-separated trigger alarm names, resolved at synth (stack output `EmergencyStopTriggerAlarms`). */
  get triggerAlarmNames(): string {
    return Lazy.string({
      produce: () =>
        Fn.join(
          ',',
          this.triggers.map((a) => a.alarmName),
        ),
    });
  }

  /** Findings on the function, each accepted for a reason specific to it. */
  private acknowledgeFindings(): void {
    const fn = this.function.function;
    Validations.of(this.function.role).acknowledge({
      id: 'AwsSolutions-IAM5[Resource::*]',
      reason:
        'cloudwatch:PutMetricData has no resource-level permissions; the statement is limited to the stop marker ' +
        'namespace (cloudwatch:namespace)',
    });
    const failures =
      'Alarm (async) invocations that still fail after two retries go to the on-call topic as the on-failure ' +
      'destination, which e-mails a person; emergency-stop-undelivered pages if that delivery fails. A queue ' +
      'nobody reads would only hide a failed stop';
    const noVpc =
      'Reaches only AWS APIs and Betfair, and no database: outside the VPC no NAT gateway, endpoint or ' +
      'security group can stand between an alarm and the stop';
    const noTracing =
      'Rare, short runs; each logs its trigger and its full step-by-step report, and the report goes to the on-call topic';
    acceptFunctionExceptions(fn, {
      noDeadLetterQueue: failures,
      outsideVpc: noVpc,
      noTracing,
      environmentWithoutCmk:
        'The environment holds only names and ARNs, no secret (credentials are read from Secrets Manager at run time)',
    });
  }

  /** Use of the secret's key, if it has a customer-managed one, for this secret only and only through Secrets Manager. */
  private grantSecretKey(secret: secretsmanager.ISecret, kmsActions: string[], sid: string): void {
    if (!secret.encryptionKey) return;
    this.function.role.addToPrincipalPolicy(
      new iam.PolicyStatement({
        sid,
        actions: kmsActions,
        resources: [secret.encryptionKey.keyArn],
        conditions: {
          StringEquals: {
            'kms:ViaService': `secretsmanager.${Stack.of(this).region}.amazonaws.com`,
            'kms:EncryptionContext:SecretARN': secret.secretArn,
          },
        },
      }),
    );
  }
}
