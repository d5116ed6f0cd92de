import { Stack } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import * as ecs from 'aws-cdk-lib/aws-ecs';
import { production, staging } from '../../environments';
import { FAILED_TASK_STOP_CODES, LOG_METRICS, MONITORING_NAMESPACE } from '../../lib/monitoring';
import { ENVIRONMENT_NAMES, synthesized } from '../helpers/app';

/** The properties the replacement-time test reads, of a service or a target group. */
interface Properties {
  readonly ServiceName?: string;
  readonly HealthCheckGracePeriodSeconds?: number;
  readonly LoadBalancers?: readonly { TargetGroupArn: { Ref: string } }[];
  readonly HealthCheckIntervalSeconds?: number;
  readonly HealthyThresholdCount?: number;
  readonly TargetGroupAttributes?: readonly { Key: string; Value: string }[];
}
type Resource = { Type: string; Properties: Properties; DependsOn?: string[] };

const CONFIGS = { staging, production };

function logicalId(stack: Stack, construct: { node: { defaultChild?: unknown } } | ecs.CfnService): string {
  const cfn = (construct as { node: { defaultChild?: unknown } }).node.defaultChild ?? construct;
  return stack.getLogicalId(cfn as never);
}

function resources(template: Template): Record<string, Resource> {
  return template.toJSON().Resources;
}

describe.each(ENVIRONMENT_NAMES)('%s: deployments that roll themselves back', (env) => {
  const { stack, template } = synthesized(env);
  const prefix = `clever-better-${env}`;
  const config = CONFIGS[env];

  test.each([
    [
      'bot',
      [
        'bot-deployment-5xx',
        'bot-deployment-unhealthy-targets',
        'bot-deployment-failed-tasks',
        'bot-deployment-errors',
      ],
    ],
    ['ml-service', ['ml-deployment-5xx', 'ml-deployment-unhealthy-targets', 'ml-deployment-failed-tasks']],
  ])(
    '%s keeps the circuit breaker with rollback and rolls back on its deployment alarms',
    (serviceName, symptoms) => {
      template.hasResourceProperties('AWS::ECS::Service', {
        ServiceName: serviceName,
        DeploymentConfiguration: Match.objectLike({
          DeploymentCircuitBreaker: { Enable: true, Rollback: true },
          Alarms: { Enable: true, Rollback: true, AlarmNames: symptoms.map((s) => `${prefix}-${s}`) },
        }),
      });
    },
  );

  test('each deployment alarm exists before its service is created or updated', () => {
    const all = resources(template);
    for (const [service, key] of [
      [stack.services.bot, 'bot'],
      [stack.services.ml, 'ml'],
    ] as const) {
      const dependsOn = all[logicalId(stack, service)].DependsOn ?? [];
      for (const { alarm } of stack.deploymentSafety.alarms[key])
        expect(dependsOn).toContain(logicalId(stack, alarm));
    }
  });

  test.each([
    ['bot', () => stack.services.botTargetGroup],
    ['ml', () => stack.services.mlTargetGroup],
  ])('%s: target 5xx and unhealthy targets of its own target group, over consecutive minutes', (key, tg) => {
    const dimensions = Match.arrayWith([
      { Name: 'TargetGroup', Value: stack.resolve(tg().targetGroupFullName) },
    ]);
    template.hasResourceProperties('AWS::CloudWatch::Alarm', {
      AlarmName: `${prefix}-${key}-deployment-5xx`,
      Namespace: 'AWS/ApplicationELB',
      MetricName: 'HTTPCode_Target_5XX_Count',
      Dimensions: dimensions,
      Statistic: 'Sum',
      Period: 60,
      Threshold: config.rollback.target5xxPerMinute,
      ComparisonOperator: 'GreaterThanOrEqualToThreshold',
      EvaluationPeriods: config.rollback.deploymentAlarmMinutes,
      DatapointsToAlarm: config.rollback.deploymentAlarmMinutes,
      TreatMissingData: 'notBreaching',
    });
    template.hasResourceProperties('AWS::CloudWatch::Alarm', {
      AlarmName: `${prefix}-${key}-deployment-unhealthy-targets`,
      MetricName: 'UnHealthyHostCount',
      Dimensions: dimensions,
      Statistic: 'Maximum',
      Threshold: 1,
    });
  });

  test("the bot's error storm (CleverBetter/Errors) is a deployment alarm at the emergency stop's rate", () => {
    template.hasResourceProperties('AWS::CloudWatch::Alarm', {
      AlarmName: `${prefix}-bot-deployment-errors`,
      Namespace: 'CleverBetter',
      MetricName: 'Errors',
      Statistic: 'Sum',
      Period: 60,
      Threshold: config.emergencyStop.errorStormPerMinute,
      EvaluationPeriods: config.rollback.deploymentAlarmMinutes,
    });
  });

  test('tasks failing by themselves count per minute, from ECS stop codes rather than exit codes', () => {
    // A stop-first bot deploy SIGTERMs the old task (exit 143, stop code ServiceSchedulerInitiated), as
    // does an emergency stop: counting exit codes would roll back every bot deployment.
    expect(FAILED_TASK_STOP_CODES).toEqual(['TaskFailedToStart', 'EssentialContainerExited']);
    template.hasResourceProperties('AWS::Events::Rule', {
      EventPattern: Match.objectLike({
        'detail-type': ['ECS Task State Change'],
        detail: Match.objectLike({ lastStatus: ['STOPPED'], stopCode: [...FAILED_TASK_STOP_CODES] }),
      }),
    });
    for (const [key, metricName] of [
      ['bot', LOG_METRICS.botFailedTasks],
      ['ml', LOG_METRICS.mlFailedTasks],
    ]) {
      template.hasResourceProperties('AWS::CloudWatch::Alarm', {
        AlarmName: `${prefix}-${key}-deployment-failed-tasks`,
        Namespace: MONITORING_NAMESPACE,
        MetricName: metricName,
        Statistic: 'Sum',
        Period: 60,
        Threshold: 1,
        EvaluationPeriods: config.rollback.deploymentAlarmMinutes,
      });
    }
  });
});

/**
 * Worst-case time to replace one task, read from the template: ECS ignores health checks for the
 * grace period, the ALB then needs `interval × healthy threshold` to call the new target healthy,
 * and the old target drains for the deregistration delay.
 */
function replacementSeconds(p: {
  grace: number;
  interval: number;
  healthyThreshold: number;
  deregistration: number;
}): number {
  return p.grace + p.interval * p.healthyThreshold + p.deregistration;
}

/** ALB target-group defaults (interval 30 s, healthy threshold 5, deregistration 300 s); ECS grace 0. */
const ALB_DEFAULTS = { grace: 0, interval: 30, healthyThreshold: 5, deregistration: 300 };

describe.each(ENVIRONMENT_NAMES)('%s: a bad task is replaced quickly', (env) => {
  const { template } = synthesized(env);
  const all = resources(template);

  test.each(['bot', 'ml-service'])(
    '%s is replaced within 60 s (the ALB defaults would take 450 s)',
    (name) => {
      const [, service] = Object.entries(all).find(
        ([, r]) => r.Type === 'AWS::ECS::Service' && r.Properties.ServiceName === name,
      )!;
      const tgId = service.Properties.LoadBalancers![0].TargetGroupArn.Ref;
      const tg = all[tgId].Properties;
      const attribute = (key: string) => Number(tg.TargetGroupAttributes!.find((a) => a.Key === key)!.Value);
      const figures = {
        grace: service.Properties.HealthCheckGracePeriodSeconds!,
        interval: tg.HealthCheckIntervalSeconds!,
        healthyThreshold: tg.HealthyThresholdCount!,
        deregistration: attribute('deregistration_delay.timeout_seconds'),
      };
      // 30 + 5 × 2 + 10 = 50 s with the committed settings.
      expect(replacementSeconds(figures)).toBeLessThanOrEqual(60);
      expect(replacementSeconds(ALB_DEFAULTS)).toBe(450);
    },
  );
});

describe.each(ENVIRONMENT_NAMES)('%s: the rollback functions', (env) => {
  const { stack, template } = synthesized(env);
  const config = CONFIGS[env];
  const { planner, actors } = stack.rollback;
  const account = config.account;
  const cluster = `clever-better-${env}`;
  const arn = (resource: string) => `arn:aws:ecs:eu-west-1:${account}:${resource}`;
  const statementsOf = (fn: { role: { node: { defaultChild?: unknown } } }) => {
    const policies = Object.values(
      template.findResources('AWS::IAM::Policy', {
        Properties: { Roles: [{ Ref: logicalId(stack, fn.role as never) }] },
      }),
    );
    // The role has no other policy: no managed policy, no second inline policy.
    expect(policies).toHaveLength(1);
    return policies[0].Properties.PolicyDocument.Statement as {
      Sid?: string;
      Action: unknown;
      Resource: unknown;
    }[];
  };
  const functionOf = (fn: { function: { node: { defaultChild?: unknown } } }) =>
    resources(template)[logicalId(stack, fn.function as never)].Properties as unknown as Record<
      string,
      unknown
    >;

  test.each([
    ['bot', 'clever-better-bot', () => stack.services.botTaskDefinition],
    ['ml-service', 'clever-better-ml', () => stack.services.mlTaskDefinition],
  ] as const)(
    "%s's acting function may update, stop and register only for its own service and family, and pass only its roles",
    (service, family, taskDefinition) => {
      const roleArn = (role: { roleArn: string }) => stack.resolve(role.roleArn);
      const td = taskDefinition();
      expect(statementsOf(actors[service])).toEqual([
        expect.objectContaining({ Action: ['logs:CreateLogStream', 'logs:PutLogEvents'] }),
        {
          Sid: 'ItsService',
          Action: ['ecs:DescribeServices', 'ecs:ListServiceDeployments', 'ecs:UpdateService'],
          Effect: 'Allow',
          Resource: arn(`service/${cluster}/${service}`),
        },
        {
          Sid: 'ItsDeployments',
          Action: ['ecs:DescribeServiceDeployments', 'ecs:StopServiceDeployment'],
          Effect: 'Allow',
          Resource: arn(`service-deployment/${cluster}/${service}/*`),
        },
        {
          Sid: 'ItsRevisions',
          Action: 'ecs:DescribeServiceRevisions',
          Effect: 'Allow',
          Resource: arn(`service-revision/${cluster}/${service}/*`),
        },
        {
          Sid: 'ReregisterItsFamily',
          Action: 'ecs:RegisterTaskDefinition',
          Effect: 'Allow',
          Resource: arn(`task-definition/${family}:*`),
        },
        { Sid: 'ReadTaskDefinitions', Action: 'ecs:DescribeTaskDefinition', Effect: 'Allow', Resource: '*' },
        {
          Sid: 'PassItsRoles',
          Action: 'iam:PassRole',
          Condition: { StringEquals: { 'iam:PassedToService': 'ecs-tasks.amazonaws.com' } },
          Effect: 'Allow',
          Resource: [roleArn(td.obtainExecutionRole()), roleArn(td.taskRole)].sort((a, b) =>
            JSON.stringify(a).localeCompare(JSON.stringify(b)),
          ),
        },
        { Action: 'sns:Publish', Effect: 'Allow', Resource: stack.resolve(stack.alerting.topic.topicArn) },
        expect.objectContaining({ Action: ['kms:Decrypt', 'kms:GenerateDataKey*'], Effect: 'Allow' }),
      ]);
    },
  );

  test('the planning function can change nothing: it only reads both services', () => {
    const statements = statementsOf(planner);
    const actions = statements.flatMap((s) => [s.Action].flat() as string[]);
    expect(actions.filter((a) => !/^(ecs:(Describe|List)|logs:)/.test(a))).toEqual([]);
    expect(statements.find((s) => s.Sid === 'ReadServices')?.Resource).toEqual([
      arn(`service/${cluster}/bot`),
      arn(`service/${cluster}/ml-service`),
    ]);
  });

  test('each service has its own acting function with one reserved slot; the planner reserves none', () => {
    // Serialising per service: a bot rollback never blocks ml-service, and a dry run never waits.
    for (const service of ['bot', 'ml-service'] as const) {
      expect(functionOf(actors[service])).toMatchObject({
        ReservedConcurrentExecutions: 1,
        Runtime: 'nodejs24.x',
        Timeout: (config.rollback.waitForStableMinutes + 3) * 60,
        Environment: {
          Variables: expect.objectContaining({
            ROLLBACK_MODE: 'act',
            SERVICE_NAME: service,
            ENVIRONMENT_NAME: env,
            CLUSTER_NAME: cluster,
            TOPIC_ARN: stack.resolve(stack.alerting.topic.topicArn),
            WAIT_TIMEOUT_SECONDS: String(config.rollback.waitForStableMinutes * 60),
            ALARM_WINDOW_HOURS: String(config.rollback.alarmWindowHours),
          }),
        },
      });
      expect(functionOf(actors[service]).VpcConfig).toBeUndefined();
    }
    expect(functionOf(planner).ReservedConcurrentExecutions).toBeUndefined();
    expect(functionOf(planner)).toMatchObject({
      Environment: { Variables: expect.objectContaining({ ROLLBACK_MODE: 'plan' }) },
    });
    expect(logicalId(stack, actors.bot.function as never)).not.toBe(
      logicalId(stack, actors['ml-service'].function as never),
    );
  });

  test('the stack names every function the ops command invokes', () => {
    template.hasOutput('RollbackPlanFunctionName', { Value: stack.resolve(planner.function.functionName) });
    template.hasOutput('RollbackBotFunctionName', { Value: stack.resolve(actors.bot.function.functionName) });
    template.hasOutput('RollbackMlServiceFunctionName', {
      Value: stack.resolve(actors['ml-service'].function.functionName),
    });
  });

  test('pages the on-call person when any of them fails: failed alarm runs land on the topic, one errors alarm per function', () => {
    for (const fn of Object.values(actors))
      template.hasResourceProperties('AWS::Lambda::EventInvokeConfig', {
        FunctionName: stack.resolve(fn.function.functionName),
        MaximumRetryAttempts: 2,
        DestinationConfig: { OnFailure: { Destination: stack.resolve(stack.alerting.topic.topicArn) } },
      });
    // The planner serves dry runs only, whose caller sees its error: a ticket (docs/runbooks.md).
    for (const [name, fn, topic] of [
      ['rollback-function-errors', actors.bot, stack.alerting.topic],
      ['rollback-ml-service-function-errors', actors['ml-service'], stack.alerting.topic],
      ['rollback-plan-function-errors', planner, stack.alerting.ticketTopic],
    ] as const)
      template.hasResourceProperties('AWS::CloudWatch::Alarm', {
        AlarmName: `clever-better-${env}-${name}`,
        MetricName: 'Errors',
        Namespace: 'AWS/Lambda',
        Dimensions: [{ Name: 'FunctionName', Value: stack.resolve(fn.function.functionName) }],
        AlarmActions: [stack.resolve(topic.topicArn)],
      });
    expect(stack.rollback.errorAlarms).toHaveLength(3);
  });
});

describe('the post-deployment alarm action', () => {
  test("staging: the bot's error storm invokes the rollback function", () => {
    const { stack, template } = synthesized('staging');
    const fnArn = stack.resolve(stack.rollback.function.function.functionArn);
    template.hasResourceProperties('AWS::CloudWatch::Alarm', {
      AlarmName: 'clever-better-staging-bot-deployment-errors',
      AlarmActions: [fnArn],
    });
    template.hasResourceProperties('AWS::Lambda::Permission', {
      Action: 'lambda:InvokeFunction',
      FunctionName: fnArn,
      Principal: 'lambda.alarms.cloudwatch.amazonaws.com',
      SourceArn: stack.resolve(stack.deploymentSafety.botErrorAlarm.alarm.alarmArn),
    });
    template.hasResourceProperties('AWS::Lambda::Function', {
      Environment: {
        Variables: Match.objectLike({
          SERVICE_NAME: 'bot',
          ALARM_SERVICES: JSON.stringify({ 'clever-better-staging-bot-deployment-errors': 'bot' }),
        }),
      },
    });
  });

  test('production: off, as configured; the alarm only guards deployments', () => {
    const { stack, template } = synthesized('production');
    expect(production.rollback.alarmActionEnabled).toBe(false);
    template.hasResourceProperties('AWS::CloudWatch::Alarm', {
      AlarmName: 'clever-better-production-bot-deployment-errors',
      AlarmActions: Match.absent(),
    });
    template.resourcePropertiesCountIs(
      'AWS::Lambda::Permission',
      { FunctionName: stack.resolve(stack.rollback.function.function.functionArn) },
      0,
    );
    template.hasResourceProperties('AWS::Lambda::Function', {
      Environment: { Variables: Match.objectLike({ ALARM_SERVICES: '{}' }) },
    });
  });
});
