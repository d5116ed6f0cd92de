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

/** Construct ids of the acting functions: the bot's keeps the original id, so its resources stay. */
const ACTOR_IDS: Record<ServiceKey, string> = { bot: 'Function', 'ml-service': 'MlServiceFunction' };

/**
 * The one-step rollback (lambda/rollback/), invoked by `npm run ops -- rollback` or by an alarm, as
 * three functions outside the VPC (they talk only to the ECS and SNS APIs):
 * - one acting function per service, reserved concurrency 1: runs on one service are serialised by
 *   Lambda itself (no lock to leak), and a bot rollback never holds up an ml-service one. Each may
 *   update, stop and register only for its own service and family, and pass only its roles;
 * - a planning function without reservation and without any right to change anything, which answers
 *   dry runs: a plan never waits behind a running rollback.
 */
export class Rollback extends Construct {
  /** The function that answers dry runs. */
  readonly planner: ProjectFunction;
  /** Each service's acting function. */
  readonly actors: Readonly<Record<ServiceKey, ProjectFunction>>;
  /** The bot's acting function, the one the post-deployment alarm invokes (shown on the dashboard). */
  readonly function: ProjectFunction;
  /** One errors alarm per function: a crash or timeout reaches nobody through the function itself. */
  readonly errorAlarms: readonly cloudwatch.Alarm[];
  private readonly clusterName: string;

  constructor(scope: Construct, id: string, props: RollbackProps) {
    super(scope, id);
    this.clusterName = props.clusterName;
    const stack = Stack.of(this);
    const triggers = props.triggers ?? [];
    const arn = (resource: string, resourceName: string) =>
      stack.formatArn({ service: 'ecs', resource, resourceName });
    const ofService = (resource: string, name: string, suffix = '') =>
      arn(resource, `${props.clusterName}/${name}${suffix}`);
    const environment = (mode: 'plan' | 'act', service?: ServiceKey): Record<string, string> => ({
      ENVIRONMENT_NAME: props.environmentName,
      CLUSTER_NAME: props.clusterName,
      TOPIC_ARN: props.alerting.topic.topicArn,
      ROLLBACK_MODE: mode,
      ...(service ? { SERVICE_NAME: service } : {}),
      ALARM_SERVICES: JSON.stringify(
        Object.fromEntries(triggers.filter((t) => t.service === service).map((t) => [t.name, t.service])),
      ),
      ALARM_WINDOW_HOURS: String(props.alarmWindowHours),
      WAIT_TIMEOUT_SECONDS: String(props.waitForStableMinutes * 60),
    });
    const errorAlarms: cloudwatch.Alarm[] = [];
    const pageOnErrors = (fn: ProjectFunction, alarmId: string, what: string) =>
      errorAlarms.push(
        new cloudwatch.Alarm(this, alarmId, {
          alarmName: `${props.namePrefix}-rollback-${what}-errors`,
          alarmDescription: `The rollback ${what} failed: check the service in ECS and the function's log, then roll back by hand.`,
          metric: fn.function.metricErrors({ period: Duration.minutes(1), statistic: cloudwatch.Stats.SUM }),
          threshold: 1,
          comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
          // Lambda stamps Errors at invocation start: the range covers the timeout plus one period.
          evaluationPeriods: Math.ceil((fn.function.timeout?.toSeconds() ?? 60) / 60) + 1,
          datapointsToAlarm: 1,
          treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
        }),
      );
    const readStatements = (names: readonly ServiceKey[]) => [
      new iam.PolicyStatement({
        sid: 'ReadServices',
        actions: ['ecs:DescribeServices', 'ecs:ListServiceDeployments'],
        resources: names.map((n) => ofService('service', n)),
      }),
      // Service deployments and revisions are authorized on their own ARNs, nested under the service.
      new iam.PolicyStatement({
        sid: 'ReadDeployments',
        actions: ['ecs:DescribeServiceDeployments'],
        resources: names.map((n) => ofService('service-deployment', n, '/*')),
      }),
      new iam.PolicyStatement({
        sid: 'ReadRevisions',
        actions: ['ecs:DescribeServiceRevisions'],
        resources: names.map((n) => ofService('service-revision', n, '/*')),
      }),
      new iam.PolicyStatement({
        sid: 'ReadTaskDefinitions',
        actions: ['ecs:DescribeTaskDefinition'],
        resources: ['*'],
      }),
    ];

    // The planner: dry runs only, read-only, no reservation, so it answers while a rollback runs.
    const names = props.services.map((s) => s.serviceName);
    this.planner = new ProjectFunction(this, 'PlanFunction', {
      name: 'rollback',
      description:
        'Plans a rollback of bot or ml-service (dry runs of npm run ops -- rollback); changes nothing',
      timeout: Duration.minutes(2),
      logRetention: props.logRetention,
      logRemovalPolicy: props.logRemovalPolicy,
      environment: environment('plan'),
    });
    for (const statement of readStatements(names)) this.planner.role.addToPolicy(statement);
    this.acknowledgeReads(this.planner, names);
    acceptFunctionExceptions(this.planner.function, {
      noDeadLetterQueue:
        'Invoked only synchronously by the ops command, which prints any error; nothing is queued',
      outsideVpc:
        'Calls only the ECS API and reads no database: outside the VPC it needs no NAT or endpoints',
      noReservedConcurrency:
        'Read-only dry runs: a reservation would make a plan wait behind another plan and take account concurrency for nothing',
      noTracing: 'Rare, short runs; each logs its request and its plan',
      environmentWithoutCmk:
        'The environment holds only names, the topic ARN and numbers, no secret (Lambda encrypts it at rest anyway)',
    });
    pageOnErrors(this.planner, 'PlanErrors', 'plan-function');

    const actors = {} as Record<ServiceKey, ProjectFunction>;
    for (const s of props.services) {
      const fn = new ProjectFunction(this, ACTOR_IDS[s.serviceName], {
        name: 'rollback',
        description: `Rolls ${s.serviceName} back to its previous successful deployment (npm run ops -- rollback --service ${s.serviceName})`,
        timeout: Duration.minutes(props.waitForStableMinutes + 3),
        logRetention: props.logRetention,
        logRemovalPolicy: props.logRemovalPolicy,
        // One run per service at a time: two runs on one service would act on each other's
        // half-done work. Per service, so services never wait for each other.
        reservedConcurrentExecutions: 1,
        environment: environment('act', s.serviceName),
      });
      actors[s.serviceName] = fn;
      this.grantActing(fn, s, ofService, arn);
      props.alerting.grantPublish(fn.role);
      // An alarm invokes asynchronously: a run that still fails after Lambda's two retries goes to the
      // on-call topic (the event itself, even if the function died before it could report).
      fn.function.configureAsyncInvoke({
        retryAttempts: 2,
        onFailure: props.alerting.asDestination(),
      });
      this.acknowledgeActor(fn);
      for (const trigger of triggers.filter((t) => t.service === s.serviceName))
        trigger.alarm.addAlarmAction(new actions.LambdaAction(fn.function));
      pageOnErrors(
        fn,
        s.serviceName === 'bot' ? 'Errors' : 'MlServiceErrors',
        s.serviceName === 'bot' ? 'function' : `${s.serviceName}-function`,
      );
    }
    this.actors = actors;
    this.function = actors.bot;
    this.errorAlarms = errorAlarms;
    for (const alarm of errorAlarms) alarm.addAlarmAction(new actions.SnsAction(props.alerting.topic));
  }

  /** What an acting function may do: read its service, change only it, register only its family. */
  private grantActing(
    fn: ProjectFunction,
    s: RollbackService,
    ofService: (resource: string, name: string, suffix?: string) => string,
    arn: (resource: string, resourceName: string) => string,
  ): void {
    const role = fn.role;
    role.addToPolicy(
      new iam.PolicyStatement({
        sid: 'ItsService',
        actions: ['ecs:DescribeServices', 'ecs:UpdateService', 'ecs:ListServiceDeployments'],
        resources: [ofService('service', s.serviceName)],
      }),
    );
    role.addToPolicy(
      new iam.PolicyStatement({
        sid: 'ItsDeployments',
        actions: ['ecs:DescribeServiceDeployments', 'ecs:StopServiceDeployment'],
        resources: [ofService('service-deployment', s.serviceName, '/*')],
      }),
    );
    role.addToPolicy(
      new iam.PolicyStatement({
        sid: 'ItsRevisions',
        actions: ['ecs:DescribeServiceRevisions'],
        resources: [ofService('service-revision', s.serviceName, '/*')],
      }),
    );
    const family = arn('task-definition', `${s.family}:*`);
    role.addToPolicy(
      new iam.PolicyStatement({
        sid: 'ReregisterItsFamily',
        actions: ['ecs:RegisterTaskDefinition'],
        resources: [family],
      }),
    );
    role.addToPolicy(
      new iam.PolicyStatement({
        sid: 'ReadTaskDefinitions',
        actions: ['ecs:DescribeTaskDefinition'],
        resources: ['*'],
      }),
    );
    role.addToPolicy(
      new iam.PolicyStatement({
        sid: 'PassItsRoles',
        actions: ['iam:PassRole'],
        resources: [s.taskDefinition.taskRole.roleArn, s.taskDefinition.obtainExecutionRole().roleArn],
        conditions: { StringEquals: { 'iam:PassedToService': 'ecs-tasks.amazonaws.com' } },
      }),
    );
    this.acknowledgeReads(fn, [s.serviceName]);
    this.ack(
      fn,
      family,
      `Re-registering an INACTIVE revision creates a new revision of ${s.family}, whose number is not known in advance`,
    );
  }

  /** cdk-nag names a wildcard finding by the resolved ARN (the partition is a literal for eu-west-1). */
  private ack(fn: ProjectFunction, resource: string, reason: string): void {
    const stack = Stack.of(this);
    const resolved: unknown = stack.resolve(resource);
    const finding =
      typeof resolved === 'string'
        ? resolved
        : `arn:<AWS::Partition>:ecs:${stack.region}:${stack.account}:${resource.split(':').slice(5).join(':')}`;
    Validations.of(fn.role).acknowledge({ id: `AwsSolutions-IAM5[Resource::${finding}]`, reason });
  }

  private acknowledgeReads(fn: ProjectFunction, names: readonly ServiceKey[]): void {
    const stack = Stack.of(this);
    const cluster = this.clusterName;
    this.ack(fn, '*', 'ecs:DescribeTaskDefinition has no resource-level permissions; it only reads');
    for (const n of names) {
      const of = (resource: string) =>
        stack.formatArn({ service: 'ecs', resource, resourceName: `${cluster}/${n}/*` });
      this.ack(
        fn,
        of('service-deployment'),
        `Every deployment of ${n} and only of it: ECS generates deployment ids`,
      );
      this.ack(
        fn,
        of('service-revision'),
        `Every revision of ${n} and only of it: ECS generates revision ids`,
      );
    }
  }

  /** Findings on an acting function, each accepted for a reason specific to it. */
  private acknowledgeActor(fn: ProjectFunction): void {
    acceptFunctionExceptions(fn.function, {
      noDeadLetterQueue:
        'Alarm (async) invocations that fail after two retries go to the on-call topic as the on-failure ' +
        'destination; the ops command invokes synchronously and prints the error. A queue nobody reads adds nothing',
      outsideVpc:
        'Calls only the ECS and SNS APIs and reads no database: outside the VPC it needs no NAT or endpoints',
      noTracing:
        'Rare, short runs; each logs its request and its full report, and the report goes to the on-call topic',
      environmentWithoutCmk:
        'The environment holds only names, the topic ARN and numbers, no secret (Lambda encrypts it at rest anyway)',
    });
  }
}
