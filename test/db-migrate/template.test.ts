import { App, Duration, Stack } from 'aws-cdk-lib';
import { Match } from 'aws-cdk-lib/assertions';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as sns from 'aws-cdk-lib/aws-sns';
import * as logs from 'aws-cdk-lib/aws-logs';
import * as rds from 'aws-cdk-lib/aws-rds';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { MigrationSet } from '../../lambda/db-migrate/files';
import { Database } from '../../lib/database';
import { DatabaseMigrations, hashMigrations, MIGRATIONS_DIR } from '../../lib/migrations';
import { ENVIRONMENT_NAMES, synthesized } from '../helpers/app';
import { migrationsDir } from './fixtures';

const logicalId = (stack: Stack, construct: { node: { defaultChild?: unknown } }) =>
  stack.getLogicalId(construct.node.defaultChild as never);

describe.each(ENVIRONMENT_NAMES)('%s: the migration custom resource', (name) => {
  const { stack, template } = synthesized(name);
  const migrations = stack.migrations;
  const functionId = logicalId(stack, migrations.function.function);
  const resourceId = logicalId(stack, migrations.resource);

  test('carries the hash of migrations/, so every change to the files re-runs it', () => {
    const { hash, latestVersion } = hashMigrations(MIGRATIONS_DIR);
    template.hasResourceProperties('Custom::DatabaseMigrations', {
      MigrationsHash: hash,
      LatestVersion: latestVersion,
      DatabaseName: 'clever_better',
    });
    expect(latestVersion).toBe(String(MigrationSet.fromDirectory(MIGRATIONS_DIR).last));
  });

  test('fails the deploy in minutes: handler timeout at most 14 minutes, service timeout well under an hour', () => {
    const fn = template.findResources('AWS::Lambda::Function')[functionId];
    const resource = template.findResources('Custom::DatabaseMigrations')[resourceId];
    expect(fn.Properties.Timeout).toBeLessThanOrEqual(14 * 60);
    expect(Number(resource.Properties.ServiceTimeout)).toBeGreaterThan(fn.Properties.Timeout);
    expect(Number(resource.Properties.ServiceTimeout)).toBeLessThanOrEqual(20 * 60);
  });

  test('both ECS services wait for it, so new code never starts on an old schema', () => {
    for (const service of [stack.services.bot, stack.services.ml]) {
      const deps = template.findResources('AWS::ECS::Service')[logicalId(stack, service)].DependsOn;
      expect(deps).toContain(resourceId);
    }
  });

  test('runs only after the database admits the function', () => {
    const ingress = template.findResources('AWS::EC2::SecurityGroupIngress', {
      Properties: {
        FromPort: 5432,
        GroupId: { 'Fn::GetAtt': [logicalId(stack, stack.database.securityGroup), 'GroupId'] },
        SourceSecurityGroupId: { 'Fn::GetAtt': [logicalId(stack, migrations.securityGroup), 'GroupId'] },
      },
    });
    expect(Object.keys(ingress)).toHaveLength(1);
    expect(template.findResources('Custom::DatabaseMigrations')[resourceId].DependsOn).toEqual(
      expect.arrayContaining(Object.keys(ingress)),
    );
  });

  test('the function runs in the private subnets with egress, trusting the RDS CA bundle', () => {
    const privateSubnets = stack.network.vpc.privateSubnets.map((s) => ({ Ref: logicalId(stack, s) }));
    template.hasResourceProperties('AWS::Lambda::Function', {
      Runtime: 'nodejs24.x',
      VpcConfig: {
        SubnetIds: privateSubnets,
        SecurityGroupIds: [{ 'Fn::GetAtt': [logicalId(stack, migrations.securityGroup), 'GroupId'] }],
      },
      Environment: {
        Variables: Match.objectLike({
          NODE_EXTRA_CA_CERTS: '/var/runtime/ca-cert.pem',
          DB_HOST: { 'Fn::GetAtt': [logicalId(stack, stack.database.instance), 'Endpoint.Address'] },
          DB_NAME: 'clever_better',
          DB_SECRET_ARN: { Ref: logicalId(stack, stack.secrets.database) },
          DB_CONNECT_TIMEOUT_MS: '10000',
          // The lock policy: every migration session waits at most 5 s for a table lock at a time.
          DB_TABLE_LOCK_TIMEOUT_MS: '5000',
        }),
      },
    });
  });

  test("the function may read the database secret and the services' login secrets, nothing else in Secrets Manager", () => {
    template.hasResourceProperties('AWS::IAM::Policy', {
      Roles: [{ Ref: logicalId(stack, migrations.function.role) }],
      PolicyDocument: {
        Statement: Match.arrayWith([
          {
            Action: ['secretsmanager:DescribeSecret', 'secretsmanager:GetSecretValue'],
            Effect: 'Allow',
            Resource: [stack.secrets.botDatabase, stack.secrets.database, stack.secrets.mlDatabase].map(
              (secret) => ({ Ref: logicalId(stack, secret) }),
            ),
          },
        ]),
      },
    });
  });

  test("the Provider framework's function stays outside the VPC", () => {
    const framework = template.findResources('AWS::Lambda::Function', {
      Properties: {
        Handler: 'framework.onEvent',
        Environment: { Variables: { USER_ON_EVENT_FUNCTION_ARN: { 'Fn::GetAtt': [functionId, 'Arn'] } } },
      },
    });
    const [only] = Object.values(framework);
    expect(only.Properties.VpcConfig).toBeUndefined();
  });

  test('its function name is a stack output for `ops migrate`', () => {
    template.hasOutput('MigrationFunctionName', { Value: { Ref: functionId } });
  });

  test('a daily schedule invokes the partition maintenance, with retries', () => {
    template.hasResourceProperties('AWS::Events::Rule', {
      ScheduleExpression: 'cron(15 2 * * ? *)',
      State: 'ENABLED',
      Targets: [
        Match.objectLike({
          Arn: { 'Fn::GetAtt': [functionId, 'Arn'] },
          Input: JSON.stringify({ command: 'ensure-partitions' }),
          RetryPolicy: { MaximumRetryAttempts: 2, MaximumEventAgeInSeconds: 21600 },
        }),
      ],
    });
    template.hasResourceProperties('AWS::Lambda::Permission', {
      Action: 'lambda:InvokeFunction',
      FunctionName: { 'Fn::GetAtt': [functionId, 'Arn'] },
      Principal: 'events.amazonaws.com',
    });
  });

  test.each([
    [
      'migration-needs-attention',
      { MetricName: 'MigrationNeedsAttention', Statistic: 'Sum', Period: 300, EvaluationPeriods: 1 },
      { ComparisonOperator: 'GreaterThanOrEqualToThreshold', Threshold: 1, TreatMissingData: 'notBreaching' },
    ],
    [
      'partition-default-rows',
      { MetricName: 'DefaultPartitionRows', Statistic: 'Maximum', Period: 86400, EvaluationPeriods: 1 },
      { ComparisonOperator: 'GreaterThanOrEqualToThreshold', Threshold: 1, TreatMissingData: 'notBreaching' },
    ],
    [
      'partition-horizon-low',
      { MetricName: 'PartitionHorizonDays', Statistic: 'Minimum', Period: 86400, EvaluationPeriods: 2 },
      // Two days without a measurement also alarm: the schedule stopped or keeps failing.
      {
        ComparisonOperator: 'LessThanThreshold',
        Threshold: 30,
        TreatMissingData: 'breaching',
        DatapointsToAlarm: 2,
      },
    ],
  ])(
    'alarm %s watches what the function publishes (routed by lib/monitoring/severity.ts)',
    (symptom, metric, rule) => {
      template.hasResourceProperties('AWS::CloudWatch::Alarm', {
        AlarmName: `clever-better-${name}-${symptom}`,
        Namespace: 'CleverBetter/Migrations',
        Dimensions: [{ Name: 'service', Value: 'db-migrate' }],
        AlarmDescription: Match.stringLikeRegexp(
          'Runbook: https://.*/docs/runbooks.md#(migrations|partition-maintenance)$',
        ),
        ...metric,
        ...rule,
      });
    },
  );

  test('any failure of the function raises a ticket (lib/monitoring/severity.ts)', () => {
    template.hasResourceProperties('AWS::CloudWatch::Alarm', {
      AlarmName: `clever-better-${name}-migration-function-errors`,
      MetricName: 'Errors',
      Namespace: 'AWS/Lambda',
      Dimensions: [{ Name: 'FunctionName', Value: { Ref: functionId } }],
      Threshold: 1,
      ComparisonOperator: 'GreaterThanOrEqualToThreshold',
      TreatMissingData: 'notBreaching',
      AlarmActions: [{ Ref: Match.stringLikeRegexp('^AlertingTickets') }],
    });
  });
});

/** A stack holding only the network, a database and the migrations; bundled only when asked. */
function build(props: Partial<ConstructorParameters<typeof DatabaseMigrations>[2]> = {}, app?: App) {
  const stack = new Stack(app ?? new App({ context: { 'aws:cdk:bundling-stacks': [] } }), 'Test', {
    env: { account: '111111111111', region: 'eu-west-1' },
  });
  const vpc = new ec2.Vpc(stack, 'Vpc', {
    availabilityZones: ['eu-west-1a', 'eu-west-1b'],
    subnetConfiguration: [
      { name: 'Public', subnetType: ec2.SubnetType.PUBLIC },
      { name: 'Private', subnetType: ec2.SubnetType.PRIVATE_WITH_EGRESS },
      { name: 'Isolated', subnetType: ec2.SubnetType.PRIVATE_ISOLATED },
    ],
  });
  const secret = new rds.DatabaseSecret(stack, 'Secret', { username: 'admin' });
  const database = new Database(stack, 'Database', {
    vpc,
    credentials: secret,
    databaseName: 'clever_better',
    instanceClass: 'db.t3.medium',
    allocatedStorageGiB: 20,
    maxAllocatedStorageGiB: 30,
    multiAz: false,
    backupRetentionDays: 7,
    deletionProtection: false,
    removalPolicy: 'snapshot',
    monitoringIntervalSeconds: 0,
    instanceIdentifier: 'clever-better-test',
    logRetention: logs.RetentionDays.ONE_MONTH,
  } as ConstructorParameters<typeof Database>[2]);
  return new DatabaseMigrations(stack, 'Migrations', {
    vpc,
    database,
    databaseSecret: secret,
    databaseName: 'clever_better',
    environmentName: 'staging',
    logRetention: logs.RetentionDays.ONE_MONTH,
    alarmTopic: new sns.Topic(stack, 'Topic'),
    errorsAlarmName: 'test-migration-function-errors',
    needsAttentionAlarmName: 'test-migration-needs-attention',
    defaultPartitionRowsAlarmName: 'test-partition-default-rows',
    partitionHorizonAlarmName: 'test-partition-horizon-low',
    partitionHorizonDays: 30,
    ...props,
  });
}

describe('DatabaseMigrations', () => {
  test.each([
    [
      'a 15-minute timeout',
      { timeout: Duration.minutes(15) },
      /timeout = 15 minutes: .*Fix: at most 14 minutes/,
    ],
    [
      'a service timeout below the timeout',
      { serviceTimeout: Duration.minutes(5) },
      /serviceTimeout = 5 minutes: must exceed the function timeout/,
    ],
    [
      'a 2-hour service timeout',
      { serviceTimeout: Duration.hours(2) },
      /serviceTimeout = 2 hours: .*at most 1 hour/,
    ],
    [
      'a lock wait as long as the timeout',
      { lockTimeout: Duration.minutes(10) },
      /lockTimeout \+ connectTimeout = 610 s leaves no time/,
    ],
    // The lock policy's range (test/db-migrate/lock-policy.test.ts drives the runner below it).
    [
      'a table lock_timeout under 1 second',
      { tableLockTimeout: Duration.millis(999) },
      /tableLockTimeout = 999 millis: the services' reads .* Fix: between 1 and 30 seconds/,
    ],
    [
      'a table lock_timeout over 30 seconds',
      { tableLockTimeout: Duration.seconds(31) },
      /tableLockTimeout = 31 seconds: .* Fix: between 1 and 30 seconds/,
    ],
  ])('fails for %s', (_name, props, message) => {
    expect(() => build(props)).toThrow(message);
  });
});

describe('hashMigrations', () => {
  test('changes when a file changes, is added or is renamed, and not otherwise', () => {
    const files = { '1_a.up.sql': 'CREATE TABLE a (id int);', '1_a.down.sql': 'DROP TABLE a;' };
    const base = hashMigrations(migrationsDir(files)).hash;
    expect(hashMigrations(migrationsDir(files)).hash).toBe(base);
    expect(
      hashMigrations(migrationsDir({ ...files, '1_a.up.sql': 'CREATE TABLE a (id bigint);' })).hash,
    ).not.toBe(base);
    expect(hashMigrations(migrationsDir({ ...files, '2_b.up.sql': 'SELECT 1;' })).hash).not.toBe(base);
    const renamed = { '1_b.up.sql': files['1_a.up.sql'], '1_a.down.sql': files['1_a.down.sql'] };
    expect(hashMigrations(migrationsDir(renamed)).hash).not.toBe(base);
  });

  test('fails the synth for a migration that is not UTF-8, naming the file and the byte offset', () => {
    const dir = migrationsDir({ '1_a.up.sql': 'SELECT 1;' });
    fs.writeFileSync(path.join(dir, '2_b.up.sql'), Buffer.from([0x53, 0x45, 0x4c, 0xe9]));
    expect(() => hashMigrations(dir)).toThrow(
      /^migration file 2_b\.up\.sql is not valid UTF-8 at byte offset 3/,
    );
    // Other files (not migrations) are not checked: golang-migrate ignores them too.
    fs.rmSync(path.join(dir, '2_b.up.sql'));
    fs.writeFileSync(path.join(dir, 'notes.bin'), Buffer.from([0xff]));
    expect(() => hashMigrations(dir)).not.toThrow();
  });

  test('reports the highest version', () => {
    const dir = migrationsDir({ '2_b.up.sql': '', '10_c.down.sql': '', 'README.md': '' });
    expect(hashMigrations(dir).latestVersion).toBe('10');
    expect(fs.existsSync(path.join(dir, 'README.md'))).toBe(true);
  });
});

describe('the bundle', () => {
  test('holds the handler and the migrations/ files, as the runner reads them next to index.js', () => {
    const outdir = fs.mkdtempSync(path.join(os.tmpdir(), 'cb-bundle-'));
    try {
      const app = new App({ outdir });
      build({}, app);
      app.synth();
      const assets = fs
        .readdirSync(outdir)
        .map((name) => path.join(outdir, name))
        .filter((dir) => fs.existsSync(path.join(dir, 'migrations')));
      expect(assets).toHaveLength(1);
      const bundled = MigrationSet.fromDirectory(path.join(assets[0], 'migrations'));
      const repo = MigrationSet.fromDirectory(MIGRATIONS_DIR);
      expect(bundled.versions).toEqual(repo.versions);
      expect(bundled.body(bundled.file(repo.last!, 'up')!)).toBe(repo.body(repo.file(repo.last!, 'up')!));
      // eslint-disable-next-line @typescript-eslint/no-require-imports
      const mod = require(path.join(assets[0], 'index.js'));
      expect(typeof mod.handler).toBe('function');
    } finally {
      fs.rmSync(outdir, { recursive: true, force: true });
    }
  }, 120_000);
});
