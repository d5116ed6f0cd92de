import './quiet-logs';
import {
  CreateClusterCommand,
  CreateServiceCommand,
  DescribeServicesCommand,
  ECSClient,
  RegisterTaskDefinitionCommand,
} from '@aws-sdk/client-ecs';
import {
  CreateSecretCommand,
  GetSecretValueCommand,
  ListSecretVersionIdsCommand,
  SecretsManagerClient,
} from '@aws-sdk/client-secrets-manager';
import { CreateTopicCommand, SNSClient } from '@aws-sdk/client-sns';
import { randomUUID } from 'node:crypto';
import { handler } from '../../lambda/emergency-stop/index';
import { StopReport } from '../../lambda/emergency-stop/report';
import { FakeBetfair } from '../../lib/local/betfair-server';
import { directAlarm } from './fixtures';

/**
 * The real AWS SDK clients of the handler against moto (an AWS API emulator) on loopback, and
 * Betfair against the local fake. `.ci/run` starts moto and sets MOTO_ENDPOINT.
 */
const endpoint = process.env.MOTO_ENDPOINT;
const region = 'eu-west-1';
const run = randomUUID().slice(0, 8);
const names = {
  cluster: `clever-better-it-${run}`,
  configSecret: `clever-better/it-${run}/config`,
  betfairSecret: `clever-better/it-${run}/betfair`,
};
const fake = new FakeBetfair();
const saved = { ...process.env };
let ecs: ECSClient;
let secrets: SecretsManagerClient;
let configArn: string;

beforeAll(async () => {
  if (!endpoint)
    throw new Error(
      'MOTO_ENDPOINT is not set: start moto (moto_server -H 127.0.0.1 -p 5055) and export MOTO_ENDPOINT=http://127.0.0.1:5055',
    );
  Object.assign(process.env, {
    AWS_ENDPOINT_URL: endpoint,
    AWS_ACCESS_KEY_ID: 'testing',
    AWS_SECRET_ACCESS_KEY: 'testing',
    AWS_REGION: region,
  });
  delete process.env.AWS_PROFILE;
  ecs = new ECSClient({ region });
  secrets = new SecretsManagerClient({ region });
  const sns = new SNSClient({ region });

  await ecs.send(new CreateClusterCommand({ clusterName: names.cluster }));
  const td = await ecs.send(
    new RegisterTaskDefinitionCommand({
      family: 'clever-better-bot',
      requiresCompatibilities: ['FARGATE'],
      networkMode: 'awsvpc',
      cpu: '512',
      memory: '1024',
      containerDefinitions: [{ name: 'app', image: 'clever-better-bot:v1.2.3', essential: true }],
    }),
  );
  await ecs.send(
    new CreateServiceCommand({
      cluster: names.cluster,
      serviceName: 'bot',
      taskDefinition: td.taskDefinition!.taskDefinitionArn,
      desiredCount: 1,
      launchType: 'FARGATE',
    }),
  );
  configArn = (
    await secrets.send(
      new CreateSecretCommand({
        Name: names.configSecret,
        SecretString: JSON.stringify({ live_trading_enabled: true, max_stake_gbp: 25 }),
      }),
    )
  ).ARN!;
  const betfairArn = (
    await secrets.send(
      new CreateSecretCommand({
        Name: names.betfairSecret,
        SecretString: JSON.stringify({ app_key: fake.appKey, username: 'bot-user', password: 'bot-pass' }),
      }),
    )
  ).ARN!;
  const topicArn = (await sns.send(new CreateTopicCommand({ Name: `on-call-${run}` }))).TopicArn!;

  await fake.start();
  fake.placeUnmatched('9001', 10);
  fake.placeMatched('9002', 4);
  Object.assign(process.env, {
    CLEVER_BETTER_ENV: 'staging',
    CONFIG_SECRET_ID: configArn,
    BETFAIR_SECRET_ID: betfairArn,
    CLUSTER_NAME: names.cluster,
    BOT_SERVICE_NAME: 'bot',
    TOPIC_ARN: topicArn,
    ...fake.environment,
  });
});

afterAll(async () => {
  process.env = saved;
  await fake.stop();
});

const botService = async () =>
  (await ecs.send(new DescribeServicesCommand({ cluster: names.cluster, services: ['bot'] }))).services![0];
const config = async () =>
  JSON.parse((await secrets.send(new GetSecretValueCommand({ SecretId: configArn }))).SecretString!);

describe('emergency stop against the AWS emulator', () => {
  test('an ALARM leaves the emulated bot service at zero and the emulated flag off, every other key kept', async () => {
    expect((await botService()).desiredCount).toBe(1);
    const report = (await handler(
      directAlarm('ALARM', 'clever-better-staging-emergency-stop-loss-limit'),
    )) as StopReport;

    expect(report.failedSteps).toEqual([]);
    expect((await botService()).desiredCount).toBe(0);
    expect(await config()).toMatchObject({
      live_trading_enabled: false,
      max_stake_gbp: 25,
      stopped_by: 'alarm clever-better-staging-emergency-stop-loss-limit',
    });
    expect(fake.open).toEqual([]);
    expect(report.steps.find((s) => s.step === 'notify')?.summary).toMatch(
      /^published to the on-call topic \(message [\w-]+\)$/,
    );
  });

  test('a second run (the async retry, or a second alarm) leaves the same state and writes no new secret version', async () => {
    const versions = async () =>
      (await secrets.send(new ListSecretVersionIdsCommand({ SecretId: configArn })))
        .Versions!.map((v) => v.VersionId)
        .sort();
    const before = { config: await config(), versions: await versions() };
    await handler(directAlarm('ALARM', 'clever-better-staging-emergency-stop-error-storm'));
    expect(await config()).toEqual(before.config);
    expect(await versions()).toEqual(before.versions);
    expect((await botService()).desiredCount).toBe(0);
  });
});
