import { DescribeServicesCommand, ECSClient, UpdateServiceCommand } from '@aws-sdk/client-ecs';
import { PublishCommand, SNSClient } from '@aws-sdk/client-sns';
import { mockClient } from 'aws-sdk-client-mock';
import type { handler as Handler } from '../../lambda/rollback';
import { CLUSTER, fakeEcs, FakeService, tdArn } from './fake-ecs';

const ecs = mockClient(ECSClient);
const sns = mockClient(SNSClient);
const TOPIC = 'arn:aws:sns:eu-west-1:111111111111:oncall';
const ALARM = 'clever-better-staging-bot-deploy-errors';

const world: FakeService = {
  service: 'bot',
  family: 'clever-better-bot',
  current: 12,
  taskDefinitions: { 11: ['v1.2.2'], 12: ['v1.2.3'] },
  deployments: [
    // Relative to the fixed NOW of fake-ecs; the handler runs on the real clock, so the alarm window
    // below is generous.
    { id: 'd12', status: 'SUCCESSFUL', revision: 12, minutesAgo: 30 },
    { id: 'd11', status: 'SUCCESSFUL', revision: 11, minutesAgo: 3000 },
  ],
};

const alarmEvent = (value: string) => ({
  source: 'aws.cloudwatch',
  time: new Date().toISOString(),
  alarmData: { alarmName: ALARM, state: { value, timestamp: new Date().toISOString() } },
});

let handler: typeof Handler;
beforeAll(async () => {
  // The handler's logger reads its level when the module loads.
  process.env.POWERTOOLS_LOG_LEVEL = 'SILENT';
  ({ handler } = await import('../../lambda/rollback'));
});

beforeEach(() => {
  ecs.reset();
  sns.reset();
  sns.on(PublishCommand).resolves({ MessageId: '1' });
  process.env.ENVIRONMENT_NAME = 'staging';
  process.env.CLUSTER_NAME = CLUSTER;
  process.env.TOPIC_ARN = TOPIC;
  process.env.ROLLBACK_MODE = 'act';
  process.env.SERVICE_NAME = 'bot';
  process.env.ALARM_SERVICES = JSON.stringify({ [ALARM]: 'bot' });
  process.env.ALARM_WINDOW_HOURS = String(24 * 365 * 100);
});

const subjects = () => sns.commandCalls(PublishCommand).map((c) => c.args[0].input.Subject);

test('a direct invocation rolls back and publishes one notification to the on-call topic', async () => {
  fakeEcs(ecs, world);
  const report = await handler(
    { service: 'bot', requestedBy: 'alice' },
    { getRemainingTimeInMillis: () => 780_000 },
  );
  expect(report).toMatchObject({ outcome: 'rolled-back', notified: true });
  expect(ecs.commandCalls(UpdateServiceCommand)[0].args[0].input.taskDefinition).toBe(
    tdArn('clever-better-bot', 11),
  );
  expect(sns.commandCalls(PublishCommand)[0].args[0].input).toMatchObject({ TopicArn: TOPIC });
  expect(subjects()).toEqual(['[clever-better staging] bot rolled back v1.2.3 -> v1.2.2']);
});

test('a dry run publishes nothing', async () => {
  fakeEcs(ecs, world);
  expect(await handler({ service: 'bot', dryRun: true })).toMatchObject({ outcome: 'planned' });
  expect(sns.commandCalls(PublishCommand)).toHaveLength(0);
});

test('the planning function answers dry runs and refuses to act, before any call', async () => {
  process.env.ROLLBACK_MODE = 'plan';
  delete process.env.SERVICE_NAME;
  fakeEcs(ecs, world);
  expect(await handler({ service: 'bot', dryRun: true })).toMatchObject({ outcome: 'planned' });
  ecs.resetHistory();
  await expect(handler({ service: 'bot' })).rejects.toThrow(/dryRun = false .*this is the planning function/);
  expect(ecs.calls()).toHaveLength(0);
});

test("a service's function refuses another service, before any call", async () => {
  fakeEcs(ecs, world);
  await expect(handler({ service: 'ml-service' })).rejects.toThrow(
    /service = "ml-service" is not usable\. Fix: this function rolls back bot only/,
  );
  expect(ecs.calls()).toHaveLength(0);
});

test('an alarm returning to OK does nothing', async () => {
  fakeEcs(ecs, world);
  expect(await handler(alarmEvent('OK'))).toEqual({ ignored: expect.stringContaining('not ALARM') });
  expect(ecs.calls()).toHaveLength(0);
});

test('an alarm-triggered rollback rolls back the mapped service', async () => {
  fakeEcs(ecs, world);
  expect(await handler(alarmEvent('ALARM'))).toMatchObject({ service: 'bot', outcome: 'rolled-back' });
});

test('an alarm with no earlier revision reports nothing-to-do on the topic instead of failing', async () => {
  fakeEcs(ecs, { ...world, deployments: [world.deployments[0]] });
  expect(await handler(alarmEvent('ALARM'))).toMatchObject({
    outcome: 'nothing-to-do',
    why: 'no-earlier-revision',
  });
  expect(subjects()).toEqual(['[clever-better staging] bot rollback: nothing to do (no-earlier-revision)']);
});

test('fails loudly: an alarm-triggered failure is published as "nothing changed" and rethrown', async () => {
  fakeEcs(ecs, world);
  ecs
    .on(DescribeServicesCommand)
    .rejects(Object.assign(new Error('Cluster not found.'), { name: 'ClusterNotFoundException' }));
  await expect(handler(alarmEvent('ALARM'))).rejects.toThrow('Cluster not found.');
  expect(subjects()).toEqual(['[clever-better staging] bot rollback FAILED, nothing changed']);
  const message = sns.commandCalls(PublishCommand)[0].args[0].input.Message!;
  expect(message).toContain('failed before it changed the service');
  expect(message).toContain('(a dry run, it changes nothing)');
});

test('fails without paging anyone when a manual request changed nothing', async () => {
  fakeEcs(ecs, { ...world, deployments: [world.deployments[0]] });
  await expect(handler({ service: 'bot' })).rejects.toThrow(/nothing was changed/);
  expect(sns.commandCalls(PublishCommand)).toHaveLength(0);
});

test('an alarm run whose notification fails after the rollback fails, saying the service moved', async () => {
  fakeEcs(ecs, world);
  sns.on(PublishCommand).rejects(
    Object.assign(new Error('KMS key is disabled'), {
      name: 'KMSDisabledException',
      $metadata: { httpStatusCode: 400 },
    }),
  );
  await expect(handler(alarmEvent('ALARM'))).rejects.toThrow(
    /bot now runs clever-better-bot:11\. The notification failed: KMS key is disabled\. What the rollback did is as stated: do not repeat it\./,
  );
});
