import { Stack } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import { production, staging } from '../environments';
import { EnvironmentConfig, MonitoringConfig } from '../environments/types';
import {
  alarmName,
  anyTermPattern,
  BETFAIR_AUTH_ERROR_CODES,
  BETFAIR_RATE_LIMIT_CODES,
  MONITORING_SYMPTOMS,
  monitoringNames,
  MonitoringSymptom,
  operationsWidgets,
  racingHoursExpression,
} from '../lib/monitoring';
import { ENVIRONMENT_NAMES, synthesized } from './helpers/app';

const CONFIGS: Record<string, EnvironmentConfig> = { staging, production };
const GIB = 1024 ** 3;

/** The alarm named `clever-better-<env>-<symptom>`'s properties, failing when there is not exactly one. */
function alarmProps(template: Template, env: string, symptom: string): Record<string, unknown> {
  const name = alarmName(monitoringNames(env as 'staging').alarmPrefix, symptom);
  const found = Object.values(
    template.findResources('AWS::CloudWatch::Alarm', { Properties: { AlarmName: name } }),
  );
  expect(found).toHaveLength(1);
  return (found[0] as { Properties: Record<string, unknown> }).Properties;
}

/** Checks a single-metric alarm in either shape CloudFormation accepts (top-level or inside `Metrics`). */
function expectMetric(
  props: Record<string, unknown>,
  namespace: string,
  metricName: string,
  stat: string,
  period: number,
): void {
  if (props.MetricName) {
    expect(props).toMatchObject({
      Namespace: namespace,
      MetricName: metricName,
      Statistic: stat,
      Period: period,
    });
  } else {
    const stats = (props.Metrics as { MetricStat?: { Metric: object; Stat: string; Period: number } }[])
      .map((m) => m.MetricStat)
      .filter((m) => m !== undefined);
    expect(stats).toContainEqual(
      expect.objectContaining({
        Metric: expect.objectContaining({ Namespace: namespace, MetricName: metricName }),
        Stat: stat,
        Period: period,
      }),
    );
  }
}

function expression(props: Record<string, unknown>): string {
  const metrics = props.Metrics as { Expression?: string; ReturnData?: boolean }[];
  return metrics.find((m) => m.ReturnData)!.Expression!;
}

/** What each symptom's alarm must watch, compared how, missing data treated how. */
interface AlarmExpectation {
  readonly threshold: (m: MonitoringConfig) => number;
  readonly comparison: string;
  readonly missing: 'breaching' | 'notBreaching';
  readonly evaluationPeriods: (m: MonitoringConfig) => number;
  readonly check: (props: Record<string, unknown>) => void;
}

/** Metric alarms whose metric, threshold and evaluation are pinned here (others: monitoring-*.test.ts). */
const EXPECTATIONS: Partial<Record<MonitoringSymptom, AlarmExpectation>> = {
  'bot-tasks-below-desired': {
    threshold: () => 0,
    comparison: 'GreaterThanThreshold',
    missing: 'notBreaching',
    evaluationPeriods: (m) => m.tasksBelowDesiredMinutes,
    check: (p) => {
      expect(expression(p)).toBe('desired - FILL(running, 0)');
      expectMetric(p, 'ECS/ContainerInsights', 'DesiredTaskCount', 'Average', 60);
      expectMetric(p, 'ECS/ContainerInsights', 'RunningTaskCount', 'Average', 60);
    },
  },
  'ml-tasks-below-desired': {
    threshold: () => 0,
    comparison: 'GreaterThanThreshold',
    missing: 'notBreaching',
    evaluationPeriods: (m) => m.tasksBelowDesiredMinutes,
    check: (p) => expect(expression(p)).toBe('desired - FILL(running, 0)'),
  },
  'bot-failed-tasks': {
    threshold: (m) => m.failedTasksPer5Minutes,
    comparison: 'GreaterThanOrEqualToThreshold',
    missing: 'notBreaching',
    evaluationPeriods: () => 1,
    check: (p) => expectMetric(p, 'CleverBetter/Monitoring', 'BotFailedTasks', 'Sum', 300),
  },
  'ml-failed-tasks': {
    threshold: (m) => m.failedTasksPer5Minutes,
    comparison: 'GreaterThanOrEqualToThreshold',
    missing: 'notBreaching',
    evaluationPeriods: () => 1,
    check: (p) => expectMetric(p, 'CleverBetter/Monitoring', 'MlFailedTasks', 'Sum', 300),
  },
  'bot-unhealthy-targets': {
    threshold: () => 0,
    comparison: 'GreaterThanThreshold',
    missing: 'notBreaching',
    evaluationPeriods: (m) => m.unhealthyTargetMinutes,
    check: (p) => expectMetric(p, 'AWS/ApplicationELB', 'UnHealthyHostCount', 'Maximum', 60),
  },
  'ml-unhealthy-targets': {
    threshold: () => 0,
    comparison: 'GreaterThanThreshold',
    missing: 'notBreaching',
    evaluationPeriods: (m) => m.unhealthyTargetMinutes,
    check: (p) => expectMetric(p, 'AWS/ApplicationELB', 'UnHealthyHostCount', 'Maximum', 60),
  },
  'ml-latency-p90': {
    threshold: (m) => m.latencyP90Seconds,
    comparison: 'GreaterThanThreshold',
    missing: 'notBreaching',
    evaluationPeriods: () => 5,
    check: (p) => {
      // A percentile is judged only with enough requests behind it.
      expect(expression(p)).toMatch(/^IF\(FILL\(requests, 0\) >= \d+, latency, 0\)$/);
      expectMetric(p, 'AWS/ApplicationELB', 'TargetResponseTime', 'p90', 60);
      expectMetric(p, 'AWS/ApplicationELB', 'RequestCount', 'Sum', 60);
      expect(p.DatapointsToAlarm).toBe(3);
    },
  },
  'ml-5xx': {
    threshold: (m) => m.http5xxPercent,
    comparison: 'GreaterThanOrEqualToThreshold',
    missing: 'notBreaching',
    evaluationPeriods: () => 2,
    check: (p) => {
      expect(expression(p)).toMatch(
        // Below the request gate an absolute count of errors decides (low traffic pages too).
        /^IF\(FILL\(mlRequests, 0\) >= \d+, 100 \* FILL\(mlErrors, 0\) \/ mlRequests, IF\(FILL\(mlErrors, 0\) >= 3, 100, 0\)\)$/,
      );
      expectMetric(p, 'AWS/ApplicationELB', 'HTTPCode_Target_5XX_Count', 'Sum', 300);
    },
  },
  'alb-5xx': {
    threshold: (m) => m.http5xxPercent,
    comparison: 'GreaterThanOrEqualToThreshold',
    missing: 'notBreaching',
    evaluationPeriods: () => 2,
    check: (p) => expectMetric(p, 'AWS/ApplicationELB', 'HTTPCode_ELB_5XX_Count', 'Sum', 300),
  },
  'ml-prediction-timeouts': {
    threshold: (m) => m.mlTimeoutsPer5Minutes,
    comparison: 'GreaterThanOrEqualToThreshold',
    missing: 'notBreaching',
    evaluationPeriods: () => 1,
    check: (p) => expectMetric(p, 'AWS/ApplicationELB', 'HTTPCode_ELB_504_Count', 'Sum', 300),
  },
  'bot-silent': {
    threshold: () => 1,
    comparison: 'LessThanThreshold',
    missing: 'breaching',
    evaluationPeriods: (m) => m.silentBotMinutes,
    check: (p) => expectMetric(p, 'CleverBetter', 'BetsPlaced', 'SampleCount', 60),
  },
  'bot-no-bets': {
    threshold: () => 1,
    comparison: 'LessThanThreshold',
    missing: 'notBreaching',
    evaluationPeriods: (m) => m.noBetsWindowMinutes / 5,
    check: (p) => {
      expectMetric(p, 'CleverBetter', 'BetsPlaced', 'Sum', 300);
      expect(expression(p)).toMatch(
        /^IF\(FILL\(eligible, -1\) > 0, filled, .*HOUR\(filled\).*, filled, 1\)\)\)$/,
      );
    },
  },
  'bot-error-log-lines': {
    threshold: (m) => m.botErrorLinesPer5Minutes,
    comparison: 'GreaterThanOrEqualToThreshold',
    missing: 'notBreaching',
    evaluationPeriods: () => 1,
    check: (p) => expectMetric(p, 'CleverBetter/Monitoring', 'BotErrorLogLines', 'Sum', 300),
  },
  'betfair-auth-failures': {
    threshold: (m) => m.betfairAuthFailuresPer5Minutes,
    comparison: 'GreaterThanOrEqualToThreshold',
    missing: 'notBreaching',
    evaluationPeriods: () => 1,
    check: (p) => expectMetric(p, 'CleverBetter/Monitoring', 'BetfairAuthFailures', 'Sum', 300),
  },
  'betfair-rate-limited': {
    threshold: (m) => m.betfairRateLimitsPer5Minutes,
    comparison: 'GreaterThanOrEqualToThreshold',
    missing: 'notBreaching',
    evaluationPeriods: () => 1,
    check: (p) => expectMetric(p, 'CleverBetter/Monitoring', 'BetfairRateLimited', 'Sum', 300),
  },
  'bot-cpu': {
    threshold: (m) => m.serviceCpuPercent,
    comparison: 'GreaterThanThreshold',
    missing: 'notBreaching',
    evaluationPeriods: () => 2,
    check: (p) => expectMetric(p, 'AWS/ECS', 'CPUUtilization', 'Average', 300),
  },
  'bot-memory': {
    threshold: (m) => m.serviceMemoryPercent,
    comparison: 'GreaterThanThreshold',
    missing: 'notBreaching',
    evaluationPeriods: () => 2,
    check: (p) => expectMetric(p, 'AWS/ECS', 'MemoryUtilization', 'Average', 300),
  },
  'ml-cpu': {
    threshold: (m) => m.serviceCpuPercent,
    comparison: 'GreaterThanThreshold',
    missing: 'notBreaching',
    evaluationPeriods: () => 2,
    check: (p) => expectMetric(p, 'AWS/ECS', 'CPUUtilization', 'Average', 300),
  },
  'ml-memory': {
    threshold: (m) => m.serviceMemoryPercent,
    comparison: 'GreaterThanThreshold',
    missing: 'notBreaching',
    evaluationPeriods: () => 2,
    check: (p) => expectMetric(p, 'AWS/ECS', 'MemoryUtilization', 'Average', 300),
  },
  'database-cpu': {
    threshold: (m) => m.databaseCpuPercent,
    comparison: 'GreaterThanThreshold',
    missing: 'notBreaching',
    evaluationPeriods: () => 2,
    check: (p) => expectMetric(p, 'AWS/RDS', 'CPUUtilization', 'Average', 300),
  },
  'database-storage-exhausted': {
    threshold: (m) => m.databaseFreeStorageGiB,
    comparison: 'LessThanThreshold',
    missing: 'breaching',
    evaluationPeriods: () => 1,
    check: (p) => {
      expect(expression(p)).toBe(`storage / ${GIB}`);
      expectMetric(p, 'AWS/RDS', 'FreeStorageSpace', 'Minimum', 300);
    },
  },
  'database-xid-wraparound': {
    threshold: (m) => m.databaseMaxUsedTransactionIds,
    comparison: 'GreaterThanThreshold',
    missing: 'notBreaching',
    evaluationPeriods: () => 2,
    check: (p) => expectMetric(p, 'AWS/RDS', 'MaximumUsedTransactionIDs', 'Maximum', 300),
  },
  'database-read-latency': {
    threshold: (m) => m.databaseLatencyMs,
    comparison: 'GreaterThanThreshold',
    missing: 'notBreaching',
    evaluationPeriods: () => 2,
    check: (p) => {
      expect(expression(p)).toBe('readLatency * 1000');
      expectMetric(p, 'AWS/RDS', 'ReadLatency', 'Average', 300);
    },
  },
  'failed-task-events-undelivered': {
    threshold: () => 1,
    comparison: 'GreaterThanOrEqualToThreshold',
    missing: 'notBreaching',
    evaluationPeriods: () => 1,
    check: (p) => expectMetric(p, 'AWS/Events', 'FailedInvocations', 'Sum', 300),
  },
  'database-write-latency': {
    threshold: (m) => m.databaseLatencyMs,
    comparison: 'GreaterThanThreshold',
    missing: 'notBreaching',
    evaluationPeriods: () => 2,
    check: (p) => {
      expect(expression(p)).toBe('writeLatency * 1000');
      expectMetric(p, 'AWS/RDS', 'WriteLatency', 'Average', 300);
    },
  },
};

/** Symptoms whose alarm exists in `env`: `bot-no-bets` only where racing days are configured. */
function symptomsOf(env: EnvironmentConfig): MonitoringSymptom[] {
  return MONITORING_SYMPTOMS.filter(
    (s) =>
      (!['bot-no-bets', 'bot-no-bets-while-trading'].includes(s) ||
        env.monitoring.racingHours.daysOfWeek.length > 0) &&
      // A flag read as off is an incident only where live trading is meant to be on.
      (s !== 'trading-flag-off' || env.liveTradingEnabled),
  );
}

describe.each(ENVIRONMENT_NAMES)('%s alarms', (env) => {
  const config = CONFIGS[env];
  const cases = symptomsOf(config).map((s) => [s] as const);
  const pinned = cases.filter(([s]) => EXPECTATIONS[s]);

  test.each(pinned)(
    '%s watches its metric with the configured threshold, comparison and missing-data treatment',
    (symptom) => {
      // GIVEN the synthesized stack WHEN looking up the alarm by its name
      const { template } = synthesized(env);
      const props = alarmProps(template, env, symptom);
      const want = EXPECTATIONS[symptom]!;
      // THEN
      expect(props).toMatchObject({
        Threshold: want.threshold(config.monitoring),
        ComparisonOperator: want.comparison,
        TreatMissingData: want.missing,
        EvaluationPeriods: want.evaluationPeriods(config.monitoring),
      });
      want.check(props);
    },
  );

  test('every alarm of the stack is named clever-better-<env>-<symptom> and treats missing data explicitly', () => {
    const { template } = synthesized(env);
    const alarms = [
      ...Object.values(template.findResources('AWS::CloudWatch::Alarm')),
      ...Object.values(template.findResources('AWS::CloudWatch::CompositeAlarm')),
    ].map((a) => (a as { Properties: Record<string, unknown> }).Properties);
    const mine = alarms.filter((p) =>
      MONITORING_SYMPTOMS.some((s) => p.AlarmName === `clever-better-${env}-${s}`),
    );
    expect(mine).toHaveLength(symptomsOf(config).length);
    for (const props of mine.filter((p) => !p.AlarmRule)) {
      // `ignore` only where the last data point's state must hold (the stop's marker).
      expect(props.TreatMissingData).toMatch(/^(breaching|notBreaching|ignore)$/);
    }
  });

  test('exposes every alarm by symptom for the emergency stop and the rollback to reuse', () => {
    const { stack } = synthesized(env);
    expect(Object.keys(stack.monitoring.alarms).sort()).toEqual([...symptomsOf(config)].sort());
    expect(stack.monitoring.alarm('bot-silent')).toBeInstanceOf(cloudwatch.Alarm);
  });
});

describe('racing hours', () => {
  test('production judges "no bets" against eligible markets, and by its racing hours only without that signal', () => {
    const { template } = synthesized('production');
    const hours = production.monitoring.racingHours;
    const props = alarmProps(template, 'production', 'bot-no-bets');
    expect(expression(props)).toBe(
      'IF(FILL(eligible, -1) > 0, filled, IF(FILL(eligible, -1) == 0, 1, ' +
        `IF(HOUR(filled) >= ${hours.startHourUtc} AND HOUR(filled) < ${hours.endHourUtc}, filled, 1)))`,
    );
    expectMetric(props, 'CleverBetter', 'EligibleMarkets', 'Maximum', 300);
  });

  test('staging, which trades no real money, has no "no bets" alarm but keeps the silent-bot alarm', () => {
    const { stack, template } = synthesized('staging');
    expect(staging.monitoring.racingHours.daysOfWeek).toEqual([]);
    template.resourcePropertiesCountIs(
      'AWS::CloudWatch::Alarm',
      { AlarmName: 'clever-better-staging-bot-no-bets' },
      0,
    );
    expect(() => stack.monitoring.alarm('bot-no-bets')).toThrow(/no alarm "bot-no-bets"/);
    alarmProps(template, 'staging', 'bot-silent');
  });

  test.each([
    [
      { startHourUtc: 12, endHourUtc: 17, daysOfWeek: [1, 2, 3, 4, 5, 6, 7] },
      'IF(HOUR(b) >= 12 AND HOUR(b) < 17, b, 1)',
    ],
    [{ startHourUtc: 0, endHourUtc: 24, daysOfWeek: [6, 7] }, 'IF((DAY(b) == 6 OR DAY(b) == 7), b, 1)'],
    [
      { startHourUtc: 9, endHourUtc: 24, daysOfWeek: [7, 1, 1] },
      'IF((DAY(b) == 1 OR DAY(b) == 7) AND HOUR(b) >= 9, b, 1)',
    ],
    [{ startHourUtc: 0, endHourUtc: 24, daysOfWeek: [1, 2, 3, 4, 5, 6, 7] }, 'b'],
  ])('%j masks the bets as %s', (hours, expected) => {
    expect(racingHoursExpression(hours, 'b')).toBe(expected);
  });

  test('no racing days means no expression (no bets expected)', () => {
    expect(racingHoursExpression({ startHourUtc: 12, endHourUtc: 17, daysOfWeek: [] }, 'b')).toBeUndefined();
  });
});

describe('metric filters on the bot log', () => {
  const { template } = synthesized('production');

  function filterOn(metricName: string): Record<string, unknown> {
    const found = Object.values(
      template.findResources('AWS::Logs::MetricFilter', {
        Properties: { MetricTransformations: [Match.objectLike({ MetricName: metricName })] },
      }),
    );
    expect(found).toHaveLength(1);
    return (found[0] as { Properties: Record<string, unknown> }).Properties;
  }

  test("counts ERROR lines with the guide's filter pattern on /ecs/clever-better-bot", () => {
    const { stack } = synthesized('production');
    expect(filterOn('BotErrorLogLines')).toMatchObject({
      FilterPattern: 'ERROR',
      LogGroupName: { Ref: stack.getLogicalId(stack.services.botLogGroup.node.defaultChild as never) },
      MetricTransformations: [
        { MetricNamespace: 'CleverBetter/Monitoring', MetricValue: '1', DefaultValue: 0 },
      ],
    });
  });

  test('counts lines naming any Betfair authentication error code', () => {
    const pattern = filterOn('BetfairAuthFailures').FilterPattern as string;
    expect(pattern).toBe(anyTermPattern(BETFAIR_AUTH_ERROR_CODES));
    for (const code of [
      'INVALID_SESSION_INFORMATION',
      'INVALID_SESSION_TOKEN',
      'NO_SESSION',
      'LOGIN_RESTRICTED',
    ]) {
      expect(pattern.split(' ')).toContain(`?${code}`);
    }
  });

  test('counts lines naming any Betfair rate-limit error code', () => {
    const pattern = filterOn('BetfairRateLimited').FilterPattern as string;
    expect(pattern).toBe(anyTermPattern(BETFAIR_RATE_LIMIT_CODES));
    expect(pattern.split(' ')).toContain('?TOO_MANY_REQUESTS');
  });

  test('fails on a code that is not a plain filter-pattern term', () => {
    expect(() => anyTermPattern(['OK_CODE', 'not a term'])).toThrow(
      /"not a term" is not a plain filter-pattern term/,
    );
  });
});

describe('failed tasks', () => {
  const { stack, template } = synthesized('production');
  const clusterId = stack.getLogicalId(stack.services.cluster.node.defaultChild as never);
  const logGroupId = stack.getLogicalId(stack.monitoring.failedTasks.logGroup.node.defaultChild as never);

  test('an EventBridge rule catches tasks of the cluster that fail to start or whose container exits by itself', () => {
    template.hasResourceProperties('AWS::Events::Rule', {
      EventPattern: {
        source: ['aws.ecs'],
        'detail-type': ['ECS Task State Change'],
        detail: {
          clusterArn: [{ 'Fn::GetAtt': [clusterId, 'Arn'] }],
          lastStatus: ['STOPPED'],
          stopCode: ['TaskFailedToStart', 'EssentialContainerExited'],
        },
      },
      Targets: [Match.objectLike({ Arn: Match.objectLike({ 'Fn::Join': Match.anyValue() }) })],
    });
  });

  test('the events land in a named log group EventBridge may write to, and nothing else may', () => {
    template.hasResourceProperties('AWS::Logs::LogGroup', {
      LogGroupName: '/aws/events/clever-better-production/failed-tasks',
      RetentionInDays: production.logRetentionDays,
    });
    // Other constructs may have resource policies of their own: find the one naming this log group.
    const policies = Object.values(template.findResources('AWS::Logs::ResourcePolicy'))
      .map((p) =>
        JSON.stringify((p as { Properties: { PolicyDocument: unknown } }).Properties.PolicyDocument),
      )
      .filter((doc) => doc.includes(`"${logGroupId}"`));
    expect(policies).toHaveLength(1);
    expect(policies[0]).toContain('{\\"Service\\":\\"events.amazonaws.com\\"}');
    expect(policies[0]).toContain('[\\"logs:CreateLogStream\\",\\"logs:PutLogEvents\\"]');
  });

  test.each([
    ['bot', 'BotFailedTasks'],
    ['ml-service', 'MlFailedTasks'],
  ])('a metric filter counts the failed tasks of %s', (service, metricName) => {
    template.hasResourceProperties('AWS::Logs::MetricFilter', {
      LogGroupName: { Ref: logGroupId },
      FilterPattern: `{ $.detail.group = "service:${service}" }`,
      MetricTransformations: [
        { MetricNamespace: 'CleverBetter/Monitoring', MetricName: metricName, MetricValue: '1' },
      ],
    });
  });
});

describe.each(ENVIRONMENT_NAMES)('%s dashboard', (env) => {
  test('one dashboard named clever-better-<env> shows alarm states, trading, services, latency and database', () => {
    const { stack, template } = synthesized(env);
    template.resourceCountIs('AWS::CloudWatch::Dashboard', 1);
    template.hasResourceProperties('AWS::CloudWatch::Dashboard', { DashboardName: `clever-better-${env}` });
    const dashboards = template.findResources('AWS::CloudWatch::Dashboard');
    const body = JSON.stringify(Object.values(dashboards)[0]);
    expect(stack.monitoring.dashboard).toBeDefined();
    for (const piece of [
      '\\"type\\":\\"alarm\\"',
      'BetsPlaced',
      'BotErrorLogLines',
      'TargetResponseTime',
      'HTTPCode_ELB_504_Count',
      'DatabaseConnections',
      'CPUUtilization',
      'Emergency stop',
      'Rollback',
    ]) {
      expect(body).toContain(piece);
    }
  });

  test("graphs the emergency-stop and rollback functions' invocations and errors, registered after the dashboard was laid out", () => {
    const { stack, template } = synthesized(env);
    const body = JSON.stringify(Object.values(template.findResources('AWS::CloudWatch::Dashboard'))[0]);
    const rollbackFn = stack.getLogicalId(stack.rollback.function.function.node.defaultChild as never);
    expect(body).toContain('Rollback: invocations and errors');
    expect(body).toContain(`{"Ref":"${rollbackFn}"}`);
    const stopFn = stack.getLogicalId(stack.emergencyStop.function.function.node.defaultChild as never);
    expect(body).toContain('Emergency stop: invocations and errors');
    expect(body).toContain(`{"Ref":"${stopFn}"}`);
    expect(body).not.toContain('has no');
    expect(() => stack.monitoring.showInvocations('rollback', stack.rollback.function.function)).toThrow(
      /already shows a rollback function/,
    );
  });

  test("its alarm states include the deployment safety's and the emergency stop's alarms, added after the dashboard was laid out", () => {
    const { stack, template } = synthesized(env);
    const body = JSON.stringify(Object.values(template.findResources('AWS::CloudWatch::Dashboard'))[0]);
    const deploymentAlarms = Object.values(stack.deploymentSafety.alarms).flat();
    expect(deploymentAlarms.length).toBeGreaterThan(0);
    const stop = stack.emergencyStop;
    const others = [stop.lossLimitAlarm, stop.errorStormAlarm, stop.failedAlarm, stop.undeliveredAlarm];
    for (const alarm of [
      ...deploymentAlarms.map((a) => a.alarm),
      ...others,
      stack.monitoring.alarm('bot-silent'),
    ]) {
      expect(body).toContain(
        `{"Fn::GetAtt":["${stack.getLogicalId(alarm.node.defaultChild as never)}","Arn"]}`,
      );
    }
  });

  test('its name is a stack output for the runbooks and ops status', () => {
    synthesized(env).template.hasOutput('DashboardName', {});
  });
});

describe('operations widgets', () => {
  test('graph the invocations and errors of the emergency-stop and rollback functions when given', () => {
    const stack = new Stack(undefined, 'Ops', { env: { account: '111111111111', region: 'eu-west-1' } });
    const arn = (name: string) => `arn:aws:lambda:eu-west-1:111111111111:function:${name}`;
    const stop = lambda.Function.fromFunctionAttributes(stack, 'Stop', { functionArn: arn('stop-fn') });
    const rollback = lambda.Function.fromFunctionAttributes(stack, 'Rollback', {
      functionArn: arn('rollback-fn'),
    });
    const json = JSON.stringify(stack.resolve(operationsWidgets(stop, rollback).map((w) => w.toJson())));
    expect(json).toContain('"title":"Emergency stop: invocations and errors"');
    expect(json).toContain('"title":"Rollback: invocations and errors"');
    expect(json).toMatch(/"AWS\/Lambda","Invocations","FunctionName","stop-fn"/);
    expect(json).toMatch(/"AWS\/Lambda","Errors","FunctionName","rollback-fn"/);
  });

  test('say so when the stack has no such function yet', () => {
    const json = JSON.stringify(
      new Stack().resolve(operationsWidgets(undefined, undefined).map((w) => w.toJson())),
    );
    expect(json).toContain('has no emergency stop function');
    expect(json).toContain('has no rollback function');
  });
});

describe('alarm names', () => {
  test('follow clever-better-<env>-<symptom>', () => {
    expect(alarmName(monitoringNames('production').alarmPrefix, 'bot-no-bets')).toBe(
      'clever-better-production-bot-no-bets',
    );
  });

  test('fails on a symptom that is not kebab-case', () => {
    expect(() => alarmName('clever-better-staging', 'Bot CPU')).toThrow(/"Bot CPU" must be kebab-case/);
  });
});
