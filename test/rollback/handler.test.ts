import { ECSClient, UpdateServiceCommand } from '@aws-sdk/client-ecs';
import { PublishCommand, SNSClient } from '@aws-sdk/client-sns';
import { mockClient } from 'aws-sdk-client-mock';
import type { handler as Handler } from '../../lambda/rollback';
import { CLUSTER, fakeEcs, tdArn } from './fake-ecs';

const ecs = mockClient(ECSClient);
const sns = mockClient(SNSClient);
const TOPIC = 'arn:aws:sns:eu-west-1:111111111111:oncall';
const ALARM = 'clever-better-staging-bot-deploy-errors';

const world = {
  service: 'bot' as const,
  family: 'clever-better-bot',
  current: 5,
  taskDefinitions: { 4: ['v1.2.2'], 5: ['v1.2.3'] } as Record<number, [string]>,
  deployments: [
    // Relative to the fixed NOW of fake-ecs; the handler runs on the real clock, so the alarm window
    // below is generous.
    { id: 'd5', status: 'SUCCESSFUL', revision: 5, minutesAgo: 30 },
    { id: 'd4', status: 'SUCCESSFUL', revision: 4, minutesAgo: 3000 },
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
  process.env.ALARM_SERVICES = JSON.stringify({ [ALARM]: 'bot' });
  process.env.ALARM_WINDOW_HOURS = String(24 * 365 * 100);
});

test('a direct invocation rolls back and publishes one notification to the on-call topic', async () => {
  fakeEcs(ecs, world);
  const report = await handler({ service: 'bot', requestedBy: 'alice' });
  expect(report).toMatchObject({ outcome: 'rolled-back', notified: true });
  expect(ecs.commandCalls(UpdateServiceCommand)[0].args[0].input.taskDefinition).toBe(
    tdArn('clever-better-bot', 4),
  );
  expect(sns.commandCalls(PublishCommand)).toHaveLength(1);
  expect(sns.commandCalls(PublishCommand)[0].args[0].input).toMatchObject({
    TopicArn: TOPIC,
    Subject: '[clever-better staging] bot rolled back v1.2.3 -> v1.2.2',
  });
});

test('a dry run publishes nothing', async () => {
  fakeEcs(ecs, world);
  await handler({ service: 'bot', dryRun: true });
  expect(sns.commandCalls(PublishCommand)).toHaveLength(0);
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

test('fails loudly: an alarm-triggered failure is published to the on-call person and rethrown', async () => {
  fakeEcs(ecs, { ...world, deployments: [world.deployments[0]] });
  await expect(handler(alarmEvent('ALARM'))).rejects.toThrow(
    /no successful deployment of a task definition other/,
  );
  expect(sns.commandCalls(PublishCommand)).toHaveLength(1);
  expect(sns.commandCalls(PublishCommand)[0].args[0].input.Subject).toBe(
    '[clever-better staging] bot rollback FAILED',
  );
});

test('fails without paging anyone when a manual request changed nothing', async () => {
  fakeEcs(ecs, { ...world, deployments: [world.deployments[0]] });
  await expect(handler({ service: 'bot' })).rejects.toThrow(/nothing was changed/);
  expect(sns.commandCalls(PublishCommand)).toHaveLength(0);
});
