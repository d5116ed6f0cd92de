import './quiet-logs';
import { CloudWatchClient, PutMetricDataCommand } from '@aws-sdk/client-cloudwatch';
import { ECSClient, UpdateServiceCommand } from '@aws-sdk/client-ecs';
import {
  GetSecretValueCommand,
  PutSecretValueCommand,
  SecretsManagerClient,
} from '@aws-sdk/client-secrets-manager';
import { PublishCommand, SNSClient } from '@aws-sdk/client-sns';
import { mockClient } from 'aws-sdk-client-mock';
import { InvalidEventError } from '../../lambda/emergency-stop/event';
import { CLIENT_CONFIG, handler } from '../../lambda/emergency-stop/index';
import {
  EmergencyStopIncompleteError,
  reportFromErrorMessage,
  StopReport,
} from '../../lambda/emergency-stop/report';
import { secretLabel, settingsFromEnv } from '../../lambda/emergency-stop/settings';
import { FakeBetfair } from '../../lib/local/betfair-server';
import { directAlarm, snsAlarm } from './fixtures';

const secretsMock = mockClient(SecretsManagerClient);
const ecsMock = mockClient(ECSClient);
const snsMock = mockClient(SNSClient);
// The stop's "halted" marker (marker.ts), written beside the steps.
const cwMock = mockClient(CloudWatchClient);
const fake = new FakeBetfair();
const saved = { ...process.env };

beforeAll(async () => {
  await fake.start();
  Object.assign(process.env, {
    AWS_REGION: 'eu-west-1',
    CLEVER_BETTER_ENV: 'staging',
    CONFIG_SECRET_ID:
      'arn:aws:secretsmanager:eu-west-1:111111111111:secret:clever-better/staging/config-AbCdEf',
    BETFAIR_SECRET_ID:
      'arn:aws:secretsmanager:eu-west-1:111111111111:secret:clever-better/staging/betfair-GhIjKl',
    CLUSTER_NAME: 'clever-better-staging',
    BOT_SERVICE_NAME: 'bot',
    TOPIC_ARN: 'arn:aws:sns:eu-west-1:111111111111:OnCall',
    ...fake.environment,
  });
});
afterAll(async () => {
  process.env = saved;
  await fake.stop();
});

beforeEach(() => {
  secretsMock.reset();
  ecsMock.reset();
  snsMock.reset();
  secretsMock
    .on(GetSecretValueCommand, { SecretId: process.env.CONFIG_SECRET_ID })
    .resolves({ SecretString: '{"live_trading_enabled":true}' });
  secretsMock.on(GetSecretValueCommand, { SecretId: process.env.BETFAIR_SECRET_ID }).resolves({
    SecretString: JSON.stringify({ app_key: 'app-key-123', username: 'bot-user', password: 'bot-pass' }),
  });
  secretsMock.on(PutSecretValueCommand).resolves({ VersionId: 'v2' });
  ecsMock.on(UpdateServiceCommand).resolves({ service: { desiredCount: 0, runningCount: 0 } });
  snsMock.on(PublishCommand).resolves({ MessageId: 'm' });
  cwMock.reset();
  cwMock.on(PutMetricDataCommand).resolves({});
});

const awsCalls = () => secretsMock.calls().length + ecsMock.calls().length + snsMock.calls().length;

describe('the handler', () => {
  test('an alarm transition to ALARM runs the stop, reading its settings from the environment', async () => {
    const report = (await handler(directAlarm('ALARM'))) as StopReport;
    expect(report).toMatchObject({ ok: true, environment: 'staging', trigger: { kind: 'alarm' } });
    expect(ecsMock.commandCalls(UpdateServiceCommand)[0].args[0].input).toMatchObject({
      cluster: 'clever-better-staging',
      service: 'bot',
      desiredCount: 0,
    });
    expect(snsMock.commandCalls(PublishCommand)[0].args[0].input.TopicArn).toBe(process.env.TOPIC_ARN);
    // The "halted by emergency stop" marker that suppresses the trading pages the stop causes.
    expect(cwMock.commandCalls(PutMetricDataCommand)[0].args[0].input.MetricData?.[0]).toMatchObject({
      MetricName: 'HaltedByStop',
      Value: 1,
    });
  });

  test('an SNS-delivered alarm runs the stop the same way', async () => {
    await expect(handler(snsAlarm('ALARM'))).resolves.toMatchObject({ ok: true });
  });

  test('an alarm returning to OK touches nothing', async () => {
    await expect(handler(directAlarm('OK'))).resolves.toEqual({
      ignored: 'alarm ProductionStack-LossLimit moved to OK',
    });
    expect(awsCalls()).toBe(0);
    expect(cwMock.calls()).toHaveLength(0);
  });

  test('fails at the end when a step failed, carrying the whole report so Lambda retries and ops can print it', async () => {
    ecsMock.on(UpdateServiceCommand).rejects(
      Object.assign(new Error('not authorized to perform ecs:UpdateService'), {
        name: 'AccessDeniedException',
        $metadata: { httpStatusCode: 400 },
      }),
    );
    const error = await handler({ source: 'manual', reason: 'drill', requestedBy: 'alice' }).catch(
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(EmergencyStopIncompleteError);
    const message = (error as Error).message;
    expect(message).toMatch(
      /^Emergency stop of staging incomplete: scale-bot failed \(AccessDeniedException: not authorized to perform ecs:UpdateService\)/,
    );
    const report = reportFromErrorMessage(message)!;
    expect(report.failedSteps).toEqual(['scale-bot']);
    expect(report.steps.filter((s) => s.ok).map((s) => s.step)).toEqual([
      'trading-flag',
      'cancel-bets',
      'notify',
    ]);
    expect(report.trigger).toMatchObject({ kind: 'manual', requestedBy: 'alice', reason: 'drill' });
  });

  test('fails on an event it does not understand before touching anything', async () => {
    await expect(handler({ hello: 'world' })).rejects.toBeInstanceOf(InvalidEventError);
    expect(awsCalls()).toBe(0);
  });
});

test('the AWS clients send each request once: the steps retry until their own deadlines', () => {
  expect(CLIENT_CONFIG).toEqual({ maxAttempts: 1 });
});

describe('settings', () => {
  test('fails naming every missing variable', () => {
    expect(() => settingsFromEnv({ CLEVER_BETTER_ENV: 'staging', CLUSTER_NAME: 'c' })).toThrow(
      'Environment variables CONFIG_SECRET_ID, BETFAIR_SECRET_ID, BOT_SERVICE_NAME, TOPIC_ARN missing: the EmergencyStop construct sets them; deploy the stack again',
    );
  });

  test('secret ARNs are shown by their names', () => {
    expect(secretLabel(process.env.CONFIG_SECRET_ID!)).toBe('clever-better/staging/config');
    expect(secretLabel('clever-better/staging/config')).toBe('clever-better/staging/config');
  });
});
