import { CfnElement, CustomResource, Duration, RemovalPolicy, Stack, Token, Validations } from 'aws-cdk-lib';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import * as cloudwatchActions from 'aws-cdk-lib/aws-cloudwatch-actions';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as events from 'aws-cdk-lib/aws-events';
import * as targets from 'aws-cdk-lib/aws-events-targets';
import * as logs from 'aws-cdk-lib/aws-logs';
import * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import * as sns from 'aws-cdk-lib/aws-sns';
import * as cr from 'aws-cdk-lib/custom-resources';
import { Construct } from 'constructs';
import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { invalidUtf8Offset, notUtf8Error } from '../lambda/db-migrate/files';
import { MIGRATION_METRICS } from '../lambda/db-migrate/metrics';
import { acceptFunctionExceptions, ignoreCfnLint } from './compliance';
import { Database } from './database';
import { ProjectFunction } from './project-function';

/** The repository's migrations/ directory (golang-migrate format), anchored on this file. */
export const MIGRATIONS_DIR = path.join(__dirname, '..', 'migrations');

/** Where the RDS CA bundle is on Node.js Lambda runtimes. */
export const LAMBDA_CA_BUNDLE = '/var/runtime/ca-cert.pem';

/** Props of {@link DatabaseMigrations}. */
export interface DatabaseMigrationsProps {
  /** The VPC; the function runs in its private subnets with egress (route to Secrets Manager). */
  readonly vpc: ec2.IVpc;
  /** The database to migrate; its security group is made to admit the function. */
  readonly database: Database;
  /** Secret with `username` and `password`; the function may read it. */
  readonly databaseSecret: secretsmanager.ISecret;
  /**
   * The services' database roles and their secrets: after each migration the function gives each
   * role LOGIN and its secret's password (lambda/db-migrate/service-logins.ts). @default none
   */
  readonly serviceLogins?: readonly { readonly role: string; readonly secret: secretsmanager.ISecret }[];
  /** Name of the database (`clever_better`); also part of the migration lock id (see docs/migrations.md). */
  readonly databaseName: string;
  /** Environment name, for the `--env` of the commands error messages suggest. */
  readonly environmentName: string;
  /** Days the function's log groups are kept. */
  readonly logRetention: logs.RetentionDays;
  /** What happens to the log groups when the stack is deleted. @default RemovalPolicy.RETAIN_ON_UPDATE_OR_DELETE */
  readonly logRemovalPolicy?: RemovalPolicy;
  /** Directory with the migration files, bundled into the function. @default MIGRATIONS_DIR */
  readonly migrationsDirectory?: string;
  /** The function's timeout; at most 14 minutes (the Provider framework's own limit is 15). @default 10 minutes */
  readonly timeout?: Duration;
  /**
   * How long CloudFormation waits for an answer before failing the resource; more than `timeout`,
   * at most an hour (CloudFormation's default, which is what makes stacks hang). @default 15 minutes
   */
  readonly serviceTimeout?: Duration;
  /** How long a run waits for the migration lock (golang-migrate's `-lock-timeout`). @default 60 seconds */
  readonly lockTimeout?: Duration;
  /**
   * How long any statement of a migration waits for a table lock (PostgreSQL `lock_timeout`, set on
   * every migration session) before its file rolls back and is tried again with backoff until the
   * deadline. The services' reads of a table a migration waits for queue behind it for at most this
   * long at a time (docs/migrations.md, "Lock policy"). Whole seconds, 1–30. @default 5 seconds
   */
  readonly tableLockTimeout?: Duration;
  /** How long the function waits for TCP, TLS and authentication. @default 10 seconds */
  readonly connectTimeout?: Duration;
  /** Topic that pages a person when the function fails (a migration, an operator command, the maintenance). */
  readonly alarmTopic: sns.ITopic;
  /** Name of the alarm on the function's errors, from the stack's alarm naming scheme. */
  readonly errorsAlarmName: string;
  /**
   * Name of the alarm "a migration needs a person": a deploy's migration resource succeeded (so an
   * update rollback could finish) but left a dirty, lagging or unreachable database.
   */
  readonly needsAttentionAlarmName: string;
  /** Name of the alarm "a DEFAULT partition holds rows" (rows outside every monthly partition). */
  readonly defaultPartitionRowsAlarmName: string;
  /** Name of the alarm "the partition horizon is below `partitionHorizonDays`". */
  readonly partitionHorizonAlarmName: string;
  /**
   * Days of monthly partitions ahead (the smallest over the time-series tables) below which the
   * horizon alarm fires; also fires after two days without a measurement. Upkeep keeps about 90–120.
   */
  readonly partitionHorizonDays: number;
  /**
   * When the time-series tables' coming monthly partitions are created (`ensure-partitions`). Late runs
   * are harmless: partitions exist 3 months ahead. @default every day at 02:15 UTC
   */
  readonly partitionMaintenanceSchedule?: events.Schedule;
}

/** Hash of every file in `dir` (names and contents) and the highest migration version there. */
export function hashMigrations(dir: string): { hash: string; latestVersion: string } {
  const hash = createHash('sha256');
  let latest = -1n;
  const names = fs
    .readdirSync(dir, { withFileTypes: true })
    .filter((e) => e.isFile())
    .map((e) => e.name)
    .sort();
  for (const name of names) {
    const content = fs.readFileSync(path.join(dir, name));
    // A migration that is not UTF-8 fails the synth, as the runner would refuse it at deploy time.
    if (/^[0-9]+_.*\.(up|down)\./.test(name)) {
      const offset = invalidUtf8Offset(content);
      if (offset >= 0) throw notUtf8Error(name, offset, content);
    }
    hash.update(`${name}\0${content.length}\0`).update(content);
    const version = /^([0-9]+)_.*\.(up|down)\./.exec(name)?.[1];
    if (version && BigInt(version) > latest) latest = BigInt(version);
  }
  return { hash: hash.digest('hex'), latestVersion: latest < 0n ? 'none' : String(latest) };
}

/**
 * Database migrations as a CloudFormation custom resource: every deploy whose migrations/ changed
 * runs golang-migrate's `up` before new service versions start (the services depend on
 * {@link resource}), and operators run the guide's verbs through the same function
 * (`npm run ops -- migrate …`), so nobody needs network access to the private database.
 */
export class DatabaseMigrations extends Construct {
  /** The migration function (runner + bundled migrations/). */
  readonly function: ProjectFunction;
  /** The function's security group; the database admits it on the PostgreSQL port. */
  readonly securityGroup: ec2.SecurityGroup;
  /** The Provider framework; its own Lambda runs outside the VPC. */
  readonly provider: cr.Provider;
  /** The custom resource; make anything that needs the current schema depend on it. */
  readonly resource: CustomResource;
  /** Hash of migrations/ at synth: a property of the resource, so a change re-runs it. */
  readonly migrationsHash: string;
  /** The daily schedule that invokes `ensure-partitions`. */
  readonly partitionMaintenance: events.Rule;
  /** Pages when the function fails; no data (no invocation) is not an error. */
  readonly errorsAlarm: cloudwatch.Alarm;
  /** A migration resource succeeded but left something for a person (the function's log says what). */
  readonly needsAttentionAlarm: cloudwatch.Alarm;
  /** Rows sit in a DEFAULT partition. */
  readonly defaultPartitionRowsAlarm: cloudwatch.Alarm;
  /** The partition horizon is below the configured days, or unmeasured for two days. */
  readonly partitionHorizonAlarm: cloudwatch.Alarm;

  constructor(scope: Construct, id: string, props: DatabaseMigrationsProps) {
    super(scope, id);
    const dir = props.migrationsDirectory ?? MIGRATIONS_DIR;
    const serviceLogins = props.serviceLogins ?? [];
    const timeout = props.timeout ?? Duration.minutes(10);
    const serviceTimeout = props.serviceTimeout ?? Duration.minutes(15);
    const lockTimeout = props.lockTimeout ?? Duration.seconds(60);
    const connectTimeout = props.connectTimeout ?? Duration.seconds(10);
    const tableLockTimeout = props.tableLockTimeout ?? Duration.seconds(5);
    validateTimeouts(timeout, serviceTimeout, lockTimeout, connectTimeout);
    if (
      !Token.isUnresolved(tableLockTimeout) &&
      (tableLockTimeout.toMilliseconds() < 1000 || tableLockTimeout.toMilliseconds() > 30_000)
    ) {
      throw new Error(
        `DatabaseMigrations tableLockTimeout = ${tableLockTimeout.toHumanString()}: the services' reads of a table ` +
          'queue behind a migration waiting for it this long at a time. Fix: between 1 and 30 seconds (e.g. 5)',
      );
    }
    if (!Number.isFinite(props.partitionHorizonDays) || props.partitionHorizonDays < 1) {
      throw new Error(
        `DatabaseMigrations partitionHorizonDays = ${props.partitionHorizonDays}: must be a number of days >= 1. ` +
          'Fix: set monitoring.partitionHorizonDays in environments/ (e.g. 30)',
      );
    }

    this.securityGroup = new ec2.SecurityGroup(this, 'SecurityGroup', {
      vpc: props.vpc,
      description: 'Migration function: PostgreSQL to the database, HTTPS to Secrets Manager',
      allowAllOutbound: false,
    });
    this.securityGroup.addEgressRule(
      ec2.Peer.anyIpv4(),
      ec2.Port.tcp(443),
      'HTTPS to Secrets Manager through the NAT gateway',
    );

    const instance = props.database.instance;
    this.function = new ProjectFunction(this, 'Function', {
      name: 'db-migrate',
      description: 'Runs golang-migrate compatible database migrations (custom resource and ops migrate)',
      timeout,
      memorySize: 512,
      // A deploy and an operator's command at once; more would only queue on the migration lock.
      reservedConcurrentExecutions: 2,
      logRetention: props.logRetention,
      logRemovalPolicy: props.logRemovalPolicy,
      vpc: props.vpc,
      vpcSubnets: { subnetType: ec2.SubnetType.PRIVATE_WITH_EGRESS },
      securityGroups: [this.securityGroup],
      // The runner reads the files next to index.js, exactly what golang-migrate's -path reads.
      copyIntoBundle: [{ from: dir, to: 'migrations' }],
      environment: {
        DB_HOST: instance.dbInstanceEndpointAddress,
        DB_PORT: instance.dbInstanceEndpointPort,
        DB_NAME: props.databaseName,
        DB_SECRET_ARN: props.databaseSecret.secretArn,
        DB_SERVICE_LOGINS: serviceLogins.map((l) => `${l.role}=${l.secret.secretArn}`).join(','),
        DB_CONNECT_TIMEOUT_MS: String(connectTimeout.toMilliseconds()),
        DB_LOCK_TIMEOUT_MS: String(lockTimeout.toMilliseconds()),
        DB_TABLE_LOCK_TIMEOUT_MS: String(tableLockTimeout.toMilliseconds()),
        CLEVER_BETTER_ENV: props.environmentName,
        // Trust the RDS CA bundle the runtime ships; the client verifies certificate and host name.
        NODE_EXTRA_CA_CERTS: LAMBDA_CA_BUNDLE,
      },
    });
    props.databaseSecret.grantRead(this.function.role);
    serviceLogins.forEach((l) => l.secret.grantRead(this.function.role));
    props.database.allowFrom(this.function.function, 'PostgreSQL from the migration function');

    this.provider = new cr.Provider(this, 'Provider', {
      onEventHandler: this.function.function,
      logGroup: new logs.LogGroup(this, 'ProviderLogs', {
        retention: props.logRetention,
        removalPolicy: props.logRemovalPolicy ?? RemovalPolicy.RETAIN_ON_UPDATE_OR_DELETE,
      }),
    });

    const { hash, latestVersion } = hashMigrations(dir);
    this.migrationsHash = hash;
    this.resource = new CustomResource(this, 'Resource', {
      serviceToken: this.provider.serviceToken,
      resourceType: 'Custom::DatabaseMigrations',
      serviceTimeout,
      properties: {
        // Any change to migrations/ changes this, so CloudFormation sends an Update that runs up.
        MigrationsHash: hash,
        // Shown by `cdk diff`: the version a deploy migrates to.
        LatestVersion: latestVersion,
        DatabaseName: props.databaseName,
        // A new service secret (a new ARN) sets that role's password again before the services start.
        ServiceLogins: serviceLogins.map((l) => `${l.role}=${l.secret.secretArn}`).join(','),
      },
    });
    // Run only once the database admits the function (the rule, not the whole database security
    // group, whose other rules reference the services that in turn wait for this resource).
    this.resource.node.addDependency(
      this.securityGroup,
      ...admittingRules(props.database, this.securityGroup),
    );

    // Partitioned time-series tables (RDS) need next months' partitions before rows arrive: a row in
    // the DEFAULT partition would make creating its month's partition fail (docs/migrations.md).
    this.partitionMaintenance = new events.Rule(this, 'PartitionMaintenance', {
      description: "Creates the time-series tables' coming monthly partitions (db-migrate ensure-partitions)",
      schedule: props.partitionMaintenanceSchedule ?? events.Schedule.cron({ minute: '15', hour: '2' }),
    });
    this.partitionMaintenance.addTarget(
      new targets.LambdaFunction(this.function.function, {
        event: events.RuleTargetInput.fromObject({ command: 'ensure-partitions' }),
        retryAttempts: 2,
        maxEventAge: Duration.hours(6),
      }),
    );
    Validations.of(this.partitionMaintenance.node.defaultChild!).acknowledge({
      id: 'Serverless-EventBusDLQ',
      reason:
        'A missed daily maintenance is retried by EventBridge and runs again the next day with partitions ' +
        '3 months ahead; a failed run pages through the function-errors alarm, a queue would hold nothing useful',
    });

    // A failed migration also fails the deploy, but a failed maintenance run or operator command is
    // otherwise silent: every error pages.
    this.errorsAlarm = new cloudwatch.Alarm(this, 'ErrorsAlarm', {
      alarmName: props.errorsAlarmName,
      alarmDescription:
        'The migration function failed (a deploy migration, ops migrate, or the daily partition maintenance). ' +
        'Runbook: docs/runbooks.md#migrations',
      metric: this.function.function.metricErrors({ period: Duration.minutes(5), statistic: 'Sum' }),
      threshold: 1,
      // Lambda stamps Errors at invocation start: the range covers the timeout plus one period.
      evaluationPeriods: Math.ceil(timeout.toSeconds() / 300) + 1,
      datapointsToAlarm: 1,
      comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
      treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
    });
    this.errorsAlarm.addAlarmAction(new cloudwatchActions.SnsAction(props.alarmTopic));

    // The function publishes these in embedded metric format through its log (no API call, no VPC
    // endpoint): lambda/db-migrate/metrics.ts.
    const metric = (metricName: string, statistic: string, period: Duration) =>
      new cloudwatch.Metric({
        namespace: MIGRATION_METRICS.namespace,
        metricName,
        dimensionsMap: { service: MIGRATION_METRICS.service },
        statistic,
        period,
      });
    this.needsAttentionAlarm = new cloudwatch.Alarm(this, 'NeedsAttentionAlarm', {
      alarmName: props.needsAttentionAlarmName,
      alarmDescription:
        'A deploy (usually an update rollback) succeeded without migrating, leaving something for a person: the ' +
        'database is dirty, behind the deployed files, or could not be checked; a post-migration step (service ' +
        'logins, partition measurement) failed during a rollback; or the login step removed rights a service role ' +
        'must not have. The migration function log line "needs a person" says what to do. Runbook: ' +
        'docs/runbooks.md#migrations',
      metric: metric(MIGRATION_METRICS.needsAttention, 'Sum', Duration.minutes(5)),
      threshold: 1,
      evaluationPeriods: 1,
      comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
      treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
    });
    // Measured after each deploy's migration and each daily upkeep run: one data point a day.
    this.defaultPartitionRowsAlarm = new cloudwatch.Alarm(this, 'DefaultPartitionRowsAlarm', {
      alarmName: props.defaultPartitionRowsAlarmName,
      alarmDescription:
        "Rows sit in a time-series table's DEFAULT partition: they are dated outside every monthly partition " +
        '(a clock or data error, or upkeep that stopped). Upkeep moves rows of the months it creates; others stay. ' +
        'The function log line "partition upkeep" names the table. Runbook: docs/runbooks.md#migrations',
      metric: metric(MIGRATION_METRICS.defaultPartitionRows, 'Maximum', Duration.days(1)),
      threshold: 1,
      evaluationPeriods: 1,
      comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
      treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
    });
    this.partitionHorizonAlarm = new cloudwatch.Alarm(this, 'PartitionHorizonAlarm', {
      alarmName: props.partitionHorizonAlarmName,
      alarmDescription:
        `The time-series tables have monthly partitions for less than ${props.partitionHorizonDays} days ahead, ` +
        'or upkeep has not measured them for two days (the daily schedule stopped or keeps failing). Rows beyond ' +
        'the horizon land in the DEFAULT partition. Runbook: docs/runbooks.md#migrations',
      metric: metric(MIGRATION_METRICS.partitionHorizonDays, 'Minimum', Duration.days(1)),
      threshold: props.partitionHorizonDays,
      // Two daily periods: today's stays empty until the 02:15 run, and must not alarm alone.
      evaluationPeriods: 2,
      datapointsToAlarm: 2,
      comparisonOperator: cloudwatch.ComparisonOperator.LESS_THAN_THRESHOLD,
      treatMissingData: cloudwatch.TreatMissingData.BREACHING,
    });
    for (const alarm of [
      this.needsAttentionAlarm,
      this.defaultPartitionRowsAlarm,
      this.partitionHorizonAlarm,
    ]) {
      alarm.addAlarmAction(new cloudwatchActions.SnsAction(props.alarmTopic));
    }

    this.acknowledgeFindings();
  }

  /** Findings on this construct's resources, each accepted for a reason specific to it. */
  private acknowledgeFindings(): void {
    const userFunction = this.function.function;
    const synchronousOnly =
      'Invoked only synchronously (the Provider framework and `ops migrate` use RequestResponse), so a ' +
      'failure reaches the caller; a dead-letter queue would never receive anything';
    acceptFunctionExceptions(userFunction, {
      noDeadLetterQueue: synchronousOnly,
      noTracing:
        'Nearly all of its time is spent inside PostgreSQL, which X-Ray cannot see; the function logs every ' +
        'migration file with its duration, as golang-migrate prints them',
      environmentWithoutCmk:
        'The environment holds only the database endpoint, names, the secret ARN and timeouts; the password is read from Secrets Manager',
    });

    const framework = this.provider.node.findChild('framework-onEvent');
    const policy = framework.node.findChild('ServiceRole').node.findChild('DefaultPolicy');
    const userFunctionId = Stack.of(this).getLogicalId(userFunction.node.defaultChild as CfnElement);
    Validations.of(policy).acknowledge({
      id: `AwsSolutions-IAM5[Resource::<${userFunctionId}.Arn>:*]`,
      reason:
        'The CDK Provider framework may invoke every version and alias of the migration function, and only it',
    });
    Validations.of(framework.node.findChild('ServiceRole')).acknowledge({
      id: 'AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole]',
      reason:
        'The CDK Provider framework function only writes its own logs; the managed policy grants exactly that',
    });
    const cdkOwned = "The CDK Provider framework function (its code and settings are the CDK's)";
    const outsideVpc = `${cdkOwned} only relays CloudFormation events and calls no database; outside the VPC it answers CloudFormation without a NAT`;
    const concurrency = `${cdkOwned} runs once per deploy of this stack; CloudFormation is its only caller`;
    const noQueue = `${cdkOwned} is invoked by CloudFormation, which records its failure on the stack event`;
    acceptFunctionExceptions(framework, {
      outsideVpc,
      noReservedConcurrency: concurrency,
      noDeadLetterQueue: noQueue,
      noTracing: `${cdkOwned} has no tracing setting in the Provider API; its logs name the failing request`,
      environmentWithoutCmk: `${cdkOwned} holds only the migration function's ARN in its environment`,
    });
    ignoreCfnLint(framework, 'W3005', `Redundant DependsOn on its role, emitted by the CDK for ${cdkOwned}`);
    Validations.of(framework).acknowledge({
      id: 'Serverless-LambdaDefaultMemorySize',
      reason: `${cdkOwned} has no memory setting in the Provider API; it only forwards one event`,
    });
  }
}

/** The database security group's ingress rules whose source is `source`. */
function admittingRules(database: Database, source: ec2.ISecurityGroup): Construct[] {
  const stack = Stack.of(database);
  const sourceId = JSON.stringify(stack.resolve(source.securityGroupId));
  const rules = database.securityGroup.node.children.filter(
    (child) =>
      child instanceof ec2.CfnSecurityGroupIngress &&
      JSON.stringify(stack.resolve(child.sourceSecurityGroupId)) === sourceId,
  );
  if (rules.length === 0) {
    throw new Error('DatabaseMigrations: found no rule admitting the migration function to the database');
  }
  return rules;
}

function validateTimeouts(timeout: Duration, service: Duration, lock: Duration, connect: Duration): void {
  const problems: string[] = [];
  if (!Token.isUnresolved(timeout) && timeout.toSeconds() > 14 * 60) {
    problems.push(
      `timeout = ${timeout.toHumanString()}: the Provider framework gives up after 15 minutes. Fix: at most 14 minutes`,
    );
  }
  if (
    !Token.isUnresolved(service) &&
    (service.toSeconds() <= timeout.toSeconds() || service.toSeconds() > 3600)
  ) {
    problems.push(
      `serviceTimeout = ${service.toHumanString()}: must exceed the function timeout (${timeout.toHumanString()}) and be at most 1 hour. Fix: e.g. 15 minutes`,
    );
  }
  if (lock.toSeconds() + connect.toSeconds() >= timeout.toSeconds()) {
    problems.push(
      `lockTimeout + connectTimeout = ${lock.toSeconds() + connect.toSeconds()} s leaves no time to migrate within ${timeout.toHumanString()}. Fix: shorten them`,
    );
  }
  if (problems.length > 0) throw new Error(`DatabaseMigrations: ${problems.join('; ')}`);
}
