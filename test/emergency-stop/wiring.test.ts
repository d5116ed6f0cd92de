import { readdirSync, readFileSync } from 'node:fs';
import * as path from 'node:path';
import { Duration, Stack } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import * as sns from 'aws-cdk-lib/aws-sns';
import { production, staging } from '../../environments';
import { deepMerge } from '../../environments/define';
import { EnvironmentConfig } from '../../environments/types';
import { WORST_CASE_RUN_MS } from '../../lambda/emergency-stop/budget';
import type { CleverBetterStack } from '../../lib/clever-better-stack';
import { buildApp, ENVIRONMENT_NAMES, synthesized } from '../helpers/app';

const configs = { staging, production };
/** The trigger alarms' construct ids, in the order of the stack output. */
const TRIGGER_IDS = ['LossLimit', 'ErrorStorm', 'Exposure', 'DailyLoss', 'RunawayBetting'];

/**
 * `Template.fromStack` without aws-cdk-lib's CloudFormation validation, which is most of a synthesis's
 * time (its wasm engine is built anew in each test file). These syntheses are read for their wiring,
 * never for findings (docs/testing.md): variants of the app (a new bot version, one more trigger)
 * and a fresh build of it, which test/stack/checks.test.ts validates. Through CDK_VALIDATION, so it
 * also covers this file's build of the real app (test/helpers/app.ts), set and restored around the
 * synchronous synthesis only: no other test file in this worker sees the variable.
 */
function templateWithoutValidation(stack: Stack): Template {
  const before = process.env.CDK_VALIDATION;
  process.env.CDK_VALIDATION = 'false';
  try {
    return Template.fromStack(stack);
  } finally {
    if (before === undefined) delete process.env.CDK_VALIDATION;
    else process.env.CDK_VALIDATION = before;
  }
}

/** Logical id of the only resource of `type` whose id starts with `prefix`. */
function logicalId(template: Template, type: string, prefix: string): string {
  const ids = Object.keys(template.findResources(type)).filter((id) => id.startsWith(prefix));
  expect(ids).toHaveLength(1);
  return ids[0];
}

describe.each(ENVIRONMENT_NAMES)('%s: the emergency stop wiring', (name) => {
  const { stack, template } = synthesized(name);
  const config = configs[name];
  const fn = () => logicalId(template, 'AWS::Lambda::Function', 'EmergencyStopFunction');
  const role = () => logicalId(template, 'AWS::IAM::Role', 'EmergencyStopFunctionRole');
  // The on-call route: the page topic, or the ticket topic where the environment pages nobody.
  const topic = () => stack.getLogicalId(stack.alerting.topic.node.defaultChild as sns.CfnTopic);
  const alarm = (suffix: string) => logicalId(template, 'AWS::CloudWatch::Alarm', `EmergencyStop${suffix}`);

  test('the function runs on nodejs24.x, outside the VPC, one run at a time, within a timeout above its step budgets', () => {
    const props = template.findResources('AWS::Lambda::Function')[fn()].Properties;
    expect(props).toMatchObject({
      Runtime: 'nodejs24.x',
      ReservedConcurrentExecutions: 1,
      Architectures: ['arm64'],
    });
    expect(props.VpcConfig).toBeUndefined();
    expect(props.Timeout).toBeGreaterThan(WORST_CASE_RUN_MS / 1000);
    expect(props.Timeout).toBeLessThanOrEqual(120);
  });

  test('the function is given names and ARNs only, never a secret value', () => {
    template.hasResourceProperties('AWS::Lambda::Function', {
      Description: Match.stringLikeRegexp('emergency stop'),
      Environment: {
        Variables: {
          CLEVER_BETTER_ENV: name,
          CONFIG_SECRET_ID: { Ref: logicalId(template, 'AWS::SecretsManager::Secret', 'SecretsConfig') },
          BETFAIR_SECRET_ID: { Ref: logicalId(template, 'AWS::SecretsManager::Secret', 'SecretsBetfair') },
          CLUSTER_NAME: { Ref: logicalId(template, 'AWS::ECS::Cluster', 'ServicesCluster') },
          BOT_SERVICE_NAME: {
            'Fn::GetAtt': [logicalId(template, 'AWS::ECS::Service', 'ServicesBot'), 'Name'],
          },
          TOPIC_ARN: { Ref: topic() },
        },
      },
    });
  });

  test('failed runs are retried twice, then delivered to the on-call topic', () => {
    template.hasResourceProperties('AWS::Lambda::EventInvokeConfig', {
      FunctionName: { Ref: fn() },
      MaximumRetryAttempts: 2,
      MaximumEventAgeInSeconds: 3600,
      DestinationConfig: { OnFailure: { Destination: { Ref: topic() } } },
    });
  });

  test('the role may update only the bot, read and write only the config secret, read the Betfair secret and publish only to the topic', () => {
    const policies = Object.values(template.findResources('AWS::IAM::Policy')).filter((p) =>
      JSON.stringify(p.Properties.Roles).includes(role()),
    );
    const statements = policies.flatMap((p) => p.Properties.PolicyDocument.Statement);
    const rights = statements.map((s) => [[s.Action].flat().sort().join(' '), JSON.stringify(s.Resource)]);
    const ref = (id: string) => JSON.stringify({ Ref: id });
    const key = JSON.stringify({
      'Fn::GetAtt': [logicalId(template, 'AWS::KMS::Key', 'EncryptionKey'), 'Arn'],
    });
    const configSecret = logicalId(template, 'AWS::SecretsManager::Secret', 'SecretsConfig');
    const betfairSecret = logicalId(template, 'AWS::SecretsManager::Secret', 'SecretsBetfair');
    expect(rights.sort()).toEqual(
      [
        [
          'ecs:DescribeServices ecs:UpdateService',
          ref(logicalId(template, 'AWS::ECS::Service', 'ServicesBot')),
        ],
        // The "halted by emergency stop" marker; scoped by its namespace below.
        ['cloudwatch:PutMetricData', JSON.stringify('*')],
        ['secretsmanager:GetSecretValue secretsmanager:PutSecretValue', ref(configSecret)],
        ['secretsmanager:GetSecretValue', ref(betfairSecret)],
        ['sns:Publish', ref(topic())],
        ['kms:Decrypt kms:GenerateDataKey*', key],
        ['kms:Decrypt kms:GenerateDataKey', key],
        ['kms:Decrypt', key],
        [
          'logs:CreateLogStream logs:PutLogEvents',
          JSON.stringify({
            'Fn::GetAtt': [logicalId(template, 'AWS::Logs::LogGroup', 'EmergencyStopFunctionLogs'), 'Arn'],
          }),
        ],
      ].sort(),
    );
    expect(statements.find((st) => st.Action === 'cloudwatch:PutMetricData').Condition).toEqual({
      StringEquals: { 'cloudwatch:namespace': 'CleverBetter/EmergencyStop' },
    });
    // The secrets' key only through Secrets Manager, and only for these two secrets.
    for (const [sid, secret] of [
      ['ConfigSecretKey', configSecret],
      ['BetfairSecretKey', betfairSecret],
    ])
      expect(statements.find((s) => s.Sid === sid).Condition).toEqual({
        StringEquals: {
          'kms:ViaService': 'secretsmanager.eu-west-1.amazonaws.com',
          'kms:EncryptionContext:SecretARN': { Ref: secret },
        },
      });
    expect(template.findResources('AWS::IAM::Role')[role()].Properties.ManagedPolicyArns).toBeUndefined();
  });

  // Derived from the function's source, not a list: every AWS SDK command it sends (`new XCommand(`
  // of an @aws-sdk/client-* import) must be allowed by its role, so a call added to a step (as
  // DescribeServices was, for the check after a timed-out UpdateService) cannot fail with AccessDenied.
  test('the role allows every AWS call the function sends', () => {
    const IAM_PREFIX: Record<string, string> = {
      'client-cloudwatch': 'cloudwatch',
      'client-ecs': 'ecs',
      'client-secrets-manager': 'secretsmanager',
      'client-sns': 'sns',
    };
    const dir = path.join(__dirname, '..', '..', 'lambda', 'emergency-stop');
    const sent = new Set<string>();
    for (const file of readdirSync(dir).filter((f) => f.endsWith('.ts'))) {
      const text = readFileSync(path.join(dir, file), 'utf8');
      const packageOf = new Map<string, string>();
      for (const m of text.matchAll(/import\s+\{([^}]*)\}\s+from\s+'@aws-sdk\/([^']+)'/g))
        for (const name of m[1]
          .split(',')
          .map((n) => n.trim())
          .filter(Boolean))
          packageOf.set(name, m[2]);
      for (const m of text.matchAll(/new\s+(\w+)Command\s*\(/g)) {
        const pkg = packageOf.get(`${m[1]}Command`);
        expect({ file, command: m[1], prefix: pkg && IAM_PREFIX[pkg] }).toEqual(
          expect.objectContaining({ prefix: expect.any(String) }),
        );
        sent.add(`${IAM_PREFIX[pkg!]}:${m[1]}`);
      }
    }
    expect(sent.size).toBeGreaterThanOrEqual(5);
    const allowed = new Set(
      Object.values(template.findResources('AWS::IAM::Policy'))
        .filter((p) => JSON.stringify(p.Properties.Roles).includes(role()))
        .flatMap((p) => p.Properties.PolicyDocument.Statement)
        .filter((st: { Effect: string }) => st.Effect === 'Allow')
        .flatMap((st: { Action: string | string[] }) => [st.Action].flat()),
    );
    expect([...sent].filter((action) => !allowed.has(action))).toEqual([]);
  });

  test('the loss-limit alarm sums NetProfit over the configured window and fires at minus the loss limit', () => {
    const window = config.emergencyStop.lossWindowMinutes * 60;
    template.hasResourceProperties('AWS::CloudWatch::Alarm', {
      AlarmName: `clever-better-${name}-emergency-stop-loss-limit`,
      Metrics: [
        Match.objectLike({ Expression: 'FILL(profit, 0)', ReturnData: true }),
        Match.objectLike({
          Id: 'profit',
          ReturnData: false,
          MetricStat: {
            Metric: { Namespace: 'CleverBetter', MetricName: 'NetProfit' },
            Period: window,
            Stat: 'Sum',
          },
        }),
      ],
      EvaluationPeriods: 1,
      Threshold: -config.emergencyStop.lossLimit,
      ComparisonOperator: 'LessThanOrEqualToThreshold',
      TreatMissingData: 'notBreaching',
    });
  });

  test('the error-storm alarm fires after the configured minutes of Errors at or above the rate', () => {
    template.hasResourceProperties('AWS::CloudWatch::Alarm', {
      AlarmName: `clever-better-${name}-emergency-stop-error-storm`,
      Namespace: 'CleverBetter',
      MetricName: 'Errors',
      Statistic: 'Sum',
      Period: 60,
      EvaluationPeriods: config.emergencyStop.errorStormMinutes,
      DatapointsToAlarm: config.emergencyStop.errorStormMinutes,
      Threshold: config.emergencyStop.errorStormPerMinute,
      ComparisonOperator: 'GreaterThanOrEqualToThreshold',
      TreatMissingData: 'notBreaching',
    });
  });

  test.each(TRIGGER_IDS)(
    'an ALARM of %s invokes the function (allowed for that alarm only) and pages on-call',
    (id) => {
      const alarmId = alarm(id);
      expect(template.findResources('AWS::CloudWatch::Alarm')[alarmId].Properties.AlarmActions).toEqual([
        { 'Fn::GetAtt': [fn(), 'Arn'] },
        { Ref: topic() },
      ]);
      template.hasResourceProperties('AWS::Lambda::Permission', {
        Action: 'lambda:InvokeFunction',
        FunctionName: { 'Fn::GetAtt': [fn(), 'Arn'] },
        Principal: 'lambda.alarms.cloudwatch.amazonaws.com',
        SourceArn: { 'Fn::GetAtt': [alarmId, 'Arn'] },
        SourceAccount: config.account,
      });
    },
  );

  test('nothing else may invoke the function: one permission per trigger alarm, no other principal', () => {
    const permissions = Object.values(template.findResources('AWS::Lambda::Permission')).filter(
      (p) => JSON.stringify(p.Properties.FunctionName) === JSON.stringify({ 'Fn::GetAtt': [fn(), 'Arn'] }),
    );
    expect(permissions.map((p) => p.Properties.SourceArn['Fn::GetAtt'][0]).sort()).toEqual(
      TRIGGER_IDS.map(alarm).sort(),
    );
  });

  test.each([
    ['Failed', 'Errors'],
    ['Undelivered', 'DestinationDeliveryFailures'],
  ])('the %s alarm watches the function’s %s and pages the topic, never the function', (id, metric) => {
    expect(template.findResources('AWS::CloudWatch::Alarm')[alarm(id)].Properties).toMatchObject({
      Namespace: 'AWS/Lambda',
      MetricName: metric,
      Dimensions: [{ Name: 'FunctionName', Value: { Ref: fn() } }],
      Threshold: 1,
      ComparisonOperator: 'GreaterThanOrEqualToThreshold',
      AlarmActions: [{ Ref: topic() }],
    });
  });

  test('outputs name the function and the trigger alarms for the ops commands', () => {
    template.hasOutput('EmergencyStopFunctionName', { Value: { Ref: fn() } });
    template.hasOutput('EmergencyStopTriggerAlarms', {
      Value: { 'Fn::Join': [',', TRIGGER_IDS.map((id) => ({ Ref: alarm(id) }))] },
    });
    template.hasOutput('BotConfiguredCount', { Value: String(config.bot.desiredCount) });
  });
});

describe('more triggers', () => {
  test('addTrigger makes any alarm invoke the stop, page on-call and hold ops resume back', () => {
    const { stacks } = buildApp([staging]);
    const [stack] = stacks;
    const custom = new cloudwatch.Alarm(stack, 'ExposureTooHigh', {
      // Every alarm is named <prefix>-<symptom> and routed by lib/monitoring/severity.ts.
      alarmName: 'clever-better-staging-emergency-stop-test-trigger',
      metric: new cloudwatch.Metric({
        namespace: 'CleverBetter',
        metricName: 'OpenExposure',
        period: Duration.minutes(1),
      }),
      threshold: 2000,
      evaluationPeriods: 1,
      treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
    });
    stack.emergencyStop.addTrigger(custom);
    const template = templateWithoutValidation(stack);
    const fnId = logicalId(template, 'AWS::Lambda::Function', 'EmergencyStopFunction');
    const customId = logicalId(template, 'AWS::CloudWatch::Alarm', 'ExposureTooHigh');
    expect(template.findResources('AWS::CloudWatch::Alarm')[customId].Properties.AlarmActions).toEqual([
      { 'Fn::GetAtt': [fnId, 'Arn'] },
      { Ref: stack.getLogicalId(stack.alerting.topic.node.defaultChild as sns.CfnTopic) },
    ]);
    template.hasResourceProperties('AWS::Lambda::Permission', {
      Principal: 'lambda.alarms.cloudwatch.amazonaws.com',
      SourceArn: { 'Fn::GetAtt': [customId, 'Arn'] },
    });
    expect(JSON.stringify(template.toJSON().Outputs.EmergencyStopTriggerAlarms.Value)).toContain(customId);
    expect(stack.emergencyStop.triggerAlarms).toHaveLength(6);
  });
});

describe('stickiness: a deploy never restarts the bot or turns trading back on', () => {
  test.each(ENVIRONMENT_NAMES)(
    '%s: the bot service has no DesiredCount, so CloudFormation keeps a stopped bot at zero',
    (name) => {
      const services = synthesized(name).template.findResources('AWS::ECS::Service', {
        Properties: { ServiceName: 'bot' },
      });
      expect(Object.values(services)).toHaveLength(1);
      expect(Object.values(services)[0].Properties).not.toHaveProperty('DesiredCount');
    },
  );

  /** Where images are pinned by digest, a new version is a new digest. */
  const digest = `sha256:${'9'.repeat(64)}`;
  const nextBot = (c: EnvironmentConfig) =>
    c.bot.imageDigest ? { imageTag: 'v9.9.9', imageDigest: digest } : { imageTag: 'v9.9.9' };
  // Both environments' new versions in one app, synthesized once for both rows: an environment's
  // stack depends on its own config alone (only the registry stacks read the other environment).
  let newVersions: CleverBetterStack[] | undefined;
  const newVersionOf = (c: EnvironmentConfig) =>
    templateWithoutValidation(
      (newVersions ??= buildApp(
        [staging, production].map((e) => deepMerge(e, { bot: nextBot(e) })),
      ).stacks).find((s) => s.config.name === c.name)!,
    ).toJSON();

  test.each([staging, production])(
    '$name: a new bot version changes the task definition but not one byte of the config secret',
    (config) => {
      // As configured: the run's one synthesis (an environment's stack depends on its config alone).
      const current = synthesized(config.name).template.toJSON();
      const newVersion = newVersionOf(config);
      // A redeploy of the same version: this file's own build of the real app, synthesized afresh.
      const redeploy = templateWithoutValidation(synthesized(config.name).stack).toJSON();
      const botTaskDefinition = (t: typeof current) =>
        JSON.stringify(
          Object.entries<{ Type: string; Properties: { Family: string } }>(t.Resources).find(
            ([, r]) => r.Type === 'AWS::ECS::TaskDefinition' && r.Properties.Family === 'clever-better-bot',
          ),
        );
      const configSecret = (t: typeof current) =>
        Object.entries<{ Type: string; Properties: { Name: string } }>(t.Resources).filter(
          ([, r]) =>
            r.Type === 'AWS::SecretsManager::Secret' &&
            r.Properties.Name === `clever-better/${config.name}/config`,
        );

      // The premise: the deploy really is a new version.
      expect(botTaskDefinition(newVersion)).not.toEqual(botTaskDefinition(current));
      expect(botTaskDefinition(newVersion)).toContain(config.bot.imageDigest ? `@${digest}` : ':v9.9.9');
      // Unchanged properties: CloudFormation does not touch the secret, so a stopped flag stays false.
      expect(configSecret(current)).toHaveLength(1);
      expect(JSON.stringify(configSecret(newVersion))).toBe(JSON.stringify(configSecret(current)));
      // The same for a redeploy of the same version.
      expect(JSON.stringify(configSecret(redeploy))).toBe(JSON.stringify(configSecret(current)));
      // And still no DesiredCount on the new version's bot.
      const bot = Object.values<{ Type: string; Properties: Record<string, unknown> }>(
        newVersion.Resources,
      ).find((r) => r.Type === 'AWS::ECS::Service' && r.Properties.ServiceName === 'bot');
      expect(bot?.Properties).not.toHaveProperty('DesiredCount');
    },
  );
});
