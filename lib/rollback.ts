import { Duration, RemovalPolicy, Stack, Validations } from 'aws-cdk-lib';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import * as actions from 'aws-cdk-lib/aws-cloudwatch-actions';
import * as ecs from 'aws-cdk-lib/aws-ecs';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as logs from 'aws-cdk-lib/aws-logs';
import { Construct } from 'constructs';
import { ServiceKey } from '../lambda/rollback/types';
import { Alerting } from './alerting';
import { acceptFunctionExceptions } from './compliance';
import { ProjectFunction } from './project-function';

/** One service the function may roll back. */
export interface RollbackService {
  /** ECS service name (`bot` or `ml-service`): the name the function and the ops command use. */
  readonly serviceName: ServiceKey;
  /** Task-definition family (`clever-better-bot`, `clever-better-ml`): the only families it may register. */
  readonly family: string;
  /** The service's task definition: its task and execution roles are the only roles it may pass. */
  readonly taskDefinition: ecs.TaskDefinition;
}

/** An alarm whose ALARM state rolls its service back (a post-deployment trigger). */
export interface RollbackTrigger {
  readonly alarm: cloudwatch.Alarm;
  /** The alarm's literal name: `alarm.alarmName` is a Ref, which would make the function depend on its own trigger. */
  readonly name: string;
  /** The service its ALARM state rolls back. */
  readonly service: ServiceKey;
}

/** Props of {@link Rollback}. */
export interface RollbackProps {
  /** Environment name, for messages and the drift note (`environments/<name>.ts`). */
  readonly environmentName: string;
  /** Prefix of alarm names, `clever-better-<env>`. */
  readonly namePrefix: string;
  /** ECS cluster name (`clever-better-<env>`), a literal so the function's rights need no service reference. */
  readonly clusterName: string;
  /** The services it may roll back. */
  readonly services: readonly RollbackService[];
  /** The on-call topic: one notification per rollback, and the function's own failures. */
  readonly alerting: Alerting;
  /** Hours after a deployment during which an alarm may still roll it back. */
  readonly alarmWindowHours: number;
  /** Minutes the function waits for a steady state; its timeout is this plus 3 minutes. */
  readonly waitForStableMinutes: number;
  /** Alarms that trigger a rollback. Empty when the environment turns the alarm action off. @default none */
  readonly triggers?: readonly RollbackTrigger[];
  /** Days the function's log group is kept. */
  readonly logRetention: logs.RetentionDays;
  /** What happens to the log group when the stack is deleted. */
  readonly logRemovalPolicy: RemovalPolicy;
}

/**
 * The one-step rollback: a function (outside the VPC: it talks only to the ECS and SNS APIs) that
 * rolls `bot` or `ml-service` back to the task definition of its last successful deployment
 * (lambda/rollback/), invoked by `npm run ops -- rollback` or by an alarm. It may update and describe
 * only the two services, register only their families and pass only their roles.
 */
export class Rollback extends Construct {
  readonly function: ProjectFunction;

  constructor(scope: Construct, id: string, props: RollbackProps) {
    super(scope, id);
    const stack = Stack.of(this);
    const triggers = props.triggers ?? [];
    this.function = new ProjectFunction(this, 'Function', {
      name: 'rollback',
      description: 'Rolls bot or ml-service back to its last successful deployment (npm run ops -- rollback)',
      timeout: Duration.minutes(props.waitForStableMinutes + 3),
      logRetention: props.logRetention,
      logRemovalPolicy: props.logRemovalPolicy,
      // One rollback at a time: two runs on the same service would act on each other's half-done work.
      reservedConcurrentExecutions: 1,
      environment: {
        ENVIRONMENT_NAME: props.environmentName,
        CLUSTER_NAME: props.clusterName,
        TOPIC_ARN: props.alerting.topic.topicArn,
        ALARM_SERVICES: JSON.stringify(Object.fromEntries(triggers.map((t) => [t.name, t.service]))),
        ALARM_WINDOW_HOURS: String(props.alarmWindowHours),
        WAIT_TIMEOUT_SECONDS: String(props.waitForStableMinutes * 60),
      },
    });
    const role = this.function.role;

    const arn = (resource: string, resourceName: string) =>
      stack.formatArn({ service: 'ecs', resource, resourceName });
    const names = props.services.map((s) => s.serviceName);
    const perService = (resource: string, suffix = '') =>
      names.map((n) => arn(resource, `${props.clusterName}/${n}${suffix}`));

    role.addToPolicy(
      new iam.PolicyStatement({
        sid: 'TheTwoServices',
        actions: ['ecs:DescribeServices', 'ecs:UpdateService', 'ecs:ListServiceDeployments'],
        resources: perService('service'),
      }),
    );
    // Service deployments and revisions are authorized on their own ARNs, nested under the service.
    role.addToPolicy(
      new iam.PolicyStatement({
        sid: 'TheirDeployments',
        actions: ['ecs:DescribeServiceDeployments', 'ecs:StopServiceDeployment'],
        resources: perService('service-deployment', '/*'),
      }),
    );
    role.addToPolicy(
      new iam.PolicyStatement({
        sid: 'TheirRevisions',
        actions: ['ecs:DescribeServiceRevisions'],
        resources: perService('service-revision', '/*'),
      }),
    );
    const families = props.services.map((s) => arn('task-definition', `${s.family}:*`));
    role.addToPolicy(
      new iam.PolicyStatement({
        sid: 'ReregisterTheirFamilies',
        actions: ['ecs:RegisterTaskDefinition'],
        resources: families,
      }),
    );
    role.addToPolicy(
      new iam.PolicyStatement({
        sid: 'ReadTaskDefinitions',
        actions: ['ecs:DescribeTaskDefinition'],
        resources: ['*'],
      }),
    );
    const roles = props.services.flatMap((s) => [
      s.taskDefinition.taskRole.roleArn,
      s.taskDefinition.obtainExecutionRole().roleArn,
    ]);
    role.addToPolicy(
      new iam.PolicyStatement({
        sid: 'PassTheirRoles',
        actions: ['iam:PassRole'],
        resources: roles,
        conditions: { StringEquals: { 'iam:PassedToService': 'ecs-tasks.amazonaws.com' } },
      }),
    );
    props.alerting.grantPublish(role);

    // cdk-nag names a wildcard finding by the resolved ARN (the partition is a literal for eu-west-1).
    const ack = (resource: string, reason: string) => {
      const resolved: unknown = stack.resolve(resource);
      const finding =
        typeof resolved === 'string'
          ? resolved
          : `arn:<AWS::Partition>:ecs:${stack.region}:${stack.account}:${resource.split(':').slice(5).join(':')}`;
      Validations.of(role).acknowledge({ id: `AwsSolutions-IAM5[Resource::${finding}]`, reason });
    };
    ack('*', 'ecs:DescribeTaskDefinition has no resource-level permissions; it only reads');
    props.services.forEach((s, i) => {
      ack(
        families[i],
        `Re-registering an INACTIVE revision creates a new revision of ${s.family}, whose number is not known in advance`,
      );
      ack(
        perService('service-deployment', '/*')[i],
        `Every deployment of ${s.serviceName} and only of it: ECS generates deployment ids`,
      );
      ack(
        perService('service-revision', '/*')[i],
        `Every revision of ${s.serviceName} and only of it: ECS generates revision ids`,
      );
    });

    // An alarm invokes asynchronously: a run that still fails after Lambda's two retries goes to the
    // on-call topic (the event itself, even if the function died before it could report).
    this.function.function.configureAsyncInvoke({
      retryAttempts: 2,
      onFailure: props.alerting.asDestination(),
    });
    this.acknowledgeFindings();

    for (const trigger of triggers)
      trigger.alarm.addAlarmAction(new actions.LambdaAction(this.function.function));

    // A crash or timeout reaches nobody through the function's own notification: page on its errors.
    new cloudwatch.Alarm(this, 'Errors', {
      alarmName: `${props.namePrefix}-rollback-function-errors`,
      alarmDescription:
        'The rollback function failed: check the service in ECS and its log, then roll back by hand.',
      metric: this.function.function.metricErrors({
        period: Duration.minutes(1),
        statistic: cloudwatch.Stats.SUM,
      }),
      threshold: 1,
      comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
      evaluationPeriods: 1,
      treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
    }).addAlarmAction(new actions.SnsAction(props.alerting.topic));
  }

  /** Findings on the function, each accepted for a reason specific to it. */
  private acknowledgeFindings(): void {
    const fn = this.function.function;
    const failures =
      'Alarm (async) invocations that fail after two retries go to the on-call topic as the on-failure ' +
      'destination; the ops command invokes synchronously and prints the error. A queue nobody reads adds nothing';
    const noVpc =
      'Calls only the ECS and SNS APIs and reads no database: outside the VPC it needs no NAT or endpoints';
    const noTracing =
      'Rare, short runs; each logs its request and its full report, and the report goes to the on-call topic';
    acceptFunctionExceptions(fn, {
      noDeadLetterQueue: failures,
      outsideVpc: noVpc,
      noTracing,
      environmentWithoutCmk:
        'The environment holds only names, the topic ARN and numbers, no secret (Lambda encrypts it at rest anyway)',
    });
  }
}
