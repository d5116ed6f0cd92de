import { CloudWatchClient, DescribeAlarmsCommand, PutMetricDataCommand } from '@aws-sdk/client-cloudwatch';
import { PublishCommand, SNSClient } from '@aws-sdk/client-sns';
import {
  DescribeServicesCommand,
  DescribeServicesCommandOutput,
  ECSClient,
  UpdateServiceCommand,
} from '@aws-sdk/client-ecs';
import {
  GetSecretValueCommand,
  PutSecretValueCommand,
  SecretsManagerClient,
} from '@aws-sdk/client-secrets-manager';
import { mockClient } from 'aws-sdk-client-mock';
import { production, staging } from '../../environments';
import { main } from '../../lib/ops';
import { deploymentWaitTiming } from '../../lib/ops/deployment-wait';
import { fakeContext } from './ops-context';

const cwMock = mockClient(CloudWatchClient);
const ecsMock = mockClient(ECSClient);
const secretsMock = mockClient(SecretsManagerClient);
const snsMock = mockClient(SNSClient);

const CONFIG_ARN =
  'arn:aws:secretsmanager:eu-west-1:222222222222:secret:clever-better/production/config-AbCdEf';
const OUTPUTS = {
  EmergencyStopTriggerAlarms:
    'clever-better-production-emergency-stop-loss-limit,clever-better-production-emergency-stop-error-storm',
  ConfigSecretArn: CONFIG_ARN,
  ClusterName: 'clever-better-production',
  BotServiceName: 'bot',
  BotConfiguredCount: '1',
};
const STOPPED = {
  live_trading_enabled: false,
  max_stake_gbp: 25,
  stopped_at: '2026-05-01T12:00:00.000Z',
  stopped_by: 'alarm clever-better-production-emergency-stop-loss-limit',
  stopped_reason: 'Threshold Crossed',
};

function alarms(lossLimit: string, errorStorm = 'OK') {
  cwMock.on(DescribeAlarmsCommand).resolves({
    MetricAlarms: [
      { AlarmName: 'clever-better-production-emergency-stop-loss-limit', StateValue: lossLimit as never },
      { AlarmName: 'clever-better-production-emergency-stop-error-storm', StateValue: errorStorm as never },
    ],
  });
}

beforeEach(() => {
  cwMock.reset();
  ecsMock.reset();
  secretsMock.reset();
  snsMock.reset();
  alarms('OK');
  secretsMock.on(GetSecretValueCommand).resolves({ SecretString: JSON.stringify(STOPPED) });
  secretsMock.on(PutSecretValueCommand).resolves({ VersionId: 'v3' });
  ecsMock.on(UpdateServiceCommand).resolves({});
});

const written = () =>
  JSON.parse(secretsMock.commandCalls(PutSecretValueCommand)[0].args[0].input.SecretString!);

describe('npm run ops -- resume', () => {
  test('after confirmation, turns the flag back on keeping every key, records who and when, and restores the configured bot count', async () => {
    const ctx = fakeContext(production, OUTPUTS, true);
    expect(await main(['resume', '--env', 'production', '--by', 'alice'], () => ctx)).toBe(0);
    expect(cwMock.commandCalls(DescribeAlarmsCommand)[0].args[0].input.AlarmNames).toEqual(
      OUTPUTS.EmergencyStopTriggerAlarms.split(','),
    );
    expect(ctx.questions).toEqual(['Set live_trading_enabled=true and start 1 bot task(s) in production?']);
    expect(written()).toEqual({
      ...STOPPED,
      live_trading_enabled: true,
      resumed_by: 'alice',
      resumed_at: expect.any(String),
    });
    expect(secretsMock.commandCalls(PutSecretValueCommand)[0].args[0].input.SecretId).toBe(CONFIG_ARN);
    expect(ecsMock.commandCalls(UpdateServiceCommand)[0].args[0].input).toEqual({
      cluster: 'clever-better-production',
      service: 'bot',
      desiredCount: 1,
      forceNewDeployment: true,
    });
    expect(ctx.lines).toContain(
      'config: live_trading_enabled=false (stopped at 2026-05-01T12:00:00.000Z by alarm clever-better-production-emergency-stop-loss-limit: Threshold Crossed)',
    );
  });

  test('refuses while a trigger alarm is in ALARM, changing nothing', async () => {
    alarms('OK', 'ALARM');
    const ctx = fakeContext(production, OUTPUTS, true);
    expect(await main(['resume', '--env', 'production', '--by', 'alice'], () => ctx)).toBe(1);
    expect(ctx.lines).toContain('trigger clever-better-production-emergency-stop-error-storm: ALARM');
    expect(ctx.lines.at(-1)).toMatch(
      /^Refusing to resume: clever-better-production-emergency-stop-error-storm still in ALARM/,
    );
    expect(secretsMock.commandCalls(PutSecretValueCommand)).toHaveLength(0);
    expect(ecsMock.commandCalls(UpdateServiceCommand)).toHaveLength(0);
  });

  test('--force resumes despite an alarm, warning that the alarm cannot stop trading again until it returns to OK', async () => {
    alarms('ALARM');
    const ctx = fakeContext(production, OUTPUTS, true);
    expect(await main(['resume', '--env', 'production', '--force', '--by', 'alice'], () => ctx)).toBe(0);
    expect(ctx.lines).toContainEqual(
      expect.stringMatching(/^--force: resuming while .*loss-limit in ALARM; it will not stop trading again/),
    );
    expect(written().live_trading_enabled).toBe(true);
  });

  test('changes nothing without confirmation', async () => {
    const ctx = fakeContext(production, OUTPUTS, false);
    expect(await main(['resume', '--env', 'production', '--by', 'alice'], () => ctx)).toBe(1);
    expect(ctx.lines.at(-1)).toBe('Nothing changed (confirm interactively, or pass --yes).');
    expect(secretsMock.commandCalls(PutSecretValueCommand)).toHaveLength(0);
    expect(ecsMock.commandCalls(UpdateServiceCommand)).toHaveLength(0);
  });

  test('restores the configured flag: staging, where live trading is configured off, stays off', async () => {
    const ctx = fakeContext(staging, { ...OUTPUTS, BotConfiguredCount: '1' }, true);
    expect(await main(['resume', '--env', 'staging', '--by', 'alice'], () => ctx)).toBe(0);
    expect(ctx.questions).toEqual(['Set live_trading_enabled=false and start 1 bot task(s) in staging?']);
    expect(written().live_trading_enabled).toBe(false);
  });

  test('does not start the bot when the flag could not be written', async () => {
    secretsMock
      .on(PutSecretValueCommand)
      .rejects(Object.assign(new Error('denied'), { name: 'AccessDeniedException' }));
    const stderr = jest.spyOn(process.stderr, 'write').mockImplementation(() => true);
    try {
      expect(
        await main(['resume', '--env', 'production', '--by', 'alice'], () =>
          fakeContext(production, OUTPUTS),
        ),
      ).toBe(1);
    } finally {
      stderr.mockRestore();
    }
    expect(ecsMock.commandCalls(UpdateServiceCommand)).toHaveLength(0);
  });
});

describe('resume runs a deployment and reports its outcome', () => {
  const TD = 'arn:aws:ecs:eu-west-1:222222222222:task-definition/clever-better-bot:42';
  const deployment = (
    rolloutState: 'IN_PROGRESS' | 'COMPLETED' | 'FAILED',
    extra: Record<string, unknown> = {},
  ) =>
    ({
      services: [
        {
          deployments: [
            {
              id: 'ecs-svc/1',
              status: 'PRIMARY',
              taskDefinition: TD,
              rolloutState,
              runningCount: 0,
              desiredCount: 1,
              ...extra,
            },
          ],
        },
      ],
    }) as DescribeServicesCommandOutput;
  const saved = { ...deploymentWaitTiming };
  beforeEach(() => {
    Object.assign(deploymentWaitTiming, { pollMs: 1, timeoutMs: 200 });
    ecsMock.on(UpdateServiceCommand).resolves({
      service: {
        deployments: [
          { id: 'ecs-svc/1', status: 'PRIMARY', taskDefinition: TD, rolloutState: 'IN_PROGRESS' },
        ],
      },
    });
  });
  afterAll(() => Object.assign(deploymentWaitTiming, saved));

  test('forces a new deployment, waits until ECS reports it COMPLETED, and exits 0', async () => {
    ecsMock
      .on(DescribeServicesCommand)
      .resolvesOnce(deployment('IN_PROGRESS'))
      .rejectsOnce(Object.assign(new Error('slow down'), { name: 'ThrottlingException' }))
      .resolves(deployment('COMPLETED', { runningCount: 1 }));
    const ctx = fakeContext(production, OUTPUTS, true);
    expect(await main(['resume', '--env', 'production', '--by', 'alice'], () => ctx)).toBe(0);
    expect(ecsMock.commandCalls(UpdateServiceCommand)[0].args[0].input.forceNewDeployment).toBe(true);
    expect(ctx.lines).toContain(
      `clever-better-production/bot: desiredCount 1, new deployment ecs-svc/1 of ${TD}`,
    );
    expect(ctx.lines.at(-1)).toBe('Deployment completed: ecs-svc/1: COMPLETED (1/1 running, 0 failed)');
  });

  test("a COMPLETED deployment is not reported with ECS's stale '… in progress.' reason", async () => {
    ecsMock.on(DescribeServicesCommand).resolves(
      deployment('COMPLETED', {
        runningCount: 1,
        rolloutStateReason: 'ECS deployment ecs-svc/0 in progress.',
      }),
    );
    const ctx = fakeContext(production, OUTPUTS, true);
    expect(await main(['resume', '--env', 'production', '--by', 'alice'], () => ctx)).toBe(0);
    expect(ctx.lines.at(-1)).toBe('Deployment completed: ecs-svc/1: COMPLETED (1/1 running, 0 failed)');
  });

  test("fails with the circuit breaker's reason when the deployment FAILED", async () => {
    ecsMock.on(DescribeServicesCommand).resolves(
      deployment('FAILED', {
        failedTasks: 3,
        rolloutStateReason: 'ECS deployment circuit breaker: tasks failed to start.',
      }),
    );
    const ctx = fakeContext(production, OUTPUTS, true);
    expect(await main(['resume', '--env', 'production', '--by', 'alice'], () => ctx)).toBe(1);
    expect(ctx.lines.at(-1)).toMatch(
      /^Deployment FAILED: ecs-svc\/1: FAILED \(0\/1 running, 3 failed\): ECS deployment circuit breaker: tasks failed to start\..*emergency-stop --env production/,
    );
  });

  test('says the deployment continues when it does not finish before the deadline', async () => {
    ecsMock.on(DescribeServicesCommand).resolves(deployment('IN_PROGRESS'));
    const ctx = fakeContext(production, OUTPUTS, true);
    expect(await main(['resume', '--env', 'production', '--by', 'alice'], () => ctx)).toBe(1);
    expect(ctx.lines.at(-1)).toMatch(
      /^Deployment not finished: ecs-svc\/1: IN_PROGRESS .* looks\. It continues in ECS/,
    );
  });
});

describe('ops resume ends the stop for the pager too', () => {
  const PAGER = { ...OUTPUTS, ResolvedTopicArn: 'arn:aws:sns:eu-west-1:222222222222:Resolved' };

  test('clears the stop marker (HaltedByStop = 0) so the trading pages are no longer suppressed', async () => {
    expect(
      await main(['resume', '--env', 'production', '--by', 'alice'], () =>
        fakeContext(production, OUTPUTS, true),
      ),
    ).toBe(0);
    const put = cwMock.commandCalls(PutMetricDataCommand)[0].args[0].input;
    expect(put.Namespace).toBe('CleverBetter/EmergencyStop');
    expect(put.MetricData?.[0]).toMatchObject({ MetricName: 'HaltedByStop', Value: 0 });
  });

  test('resolves every page of the stop (they have no OK action) with an OK to the pager’s resolved topic', async () => {
    const ctx = fakeContext(production, PAGER, true);
    expect(await main(['resume', '--env', 'production', '--by', 'alice'], () => ctx)).toBe(0);
    const sent = snsMock.commandCalls(PublishCommand).map((c) => c.args[0].input);
    expect(new Set(sent.map((m) => m.TopicArn))).toEqual(new Set([PAGER.ResolvedTopicArn]));
    const resolved = sent.map((m) => JSON.parse(m.Message!) as { AlarmName: string; NewStateValue: string });
    // (No TicketTopicArn output here: no ticket notice.)
    expect(resolved.map((m) => m.AlarmName).sort()).toEqual(
      [
        ...OUTPUTS.EmergencyStopTriggerAlarms.split(','),
        'clever-better-production-emergency-stop-failed',
        'clever-better-production-emergency-stop-undelivered',
        'clever-better-production-emergency-stop-not-in-effect',
      ].sort(),
    );
    expect(resolved.every((m) => m.NewStateValue === 'OK')).toBe(true);
  });

  test('where nobody is paged, tells the ticket inbox once', async () => {
    const outputs = { ...OUTPUTS, TicketTopicArn: 'arn:aws:sns:eu-west-1:111111111111:Tickets' };
    expect(
      await main(['resume', '--env', 'staging', '--by', 'bob'], () => fakeContext(staging, outputs, true)),
    ).toBe(0);
    const sent = snsMock.commandCalls(PublishCommand).map((c) => c.args[0].input);
    expect(sent).toHaveLength(1);
    expect(sent[0]).toMatchObject({
      TopicArn: outputs.TicketTopicArn,
      Subject: 'Trading resumed in staging',
    });
  });

  test('refused resumes resolve nothing', async () => {
    alarms('ALARM');
    expect(await main(['resume', '--env', 'production'], () => fakeContext(production, PAGER, true))).toBe(1);
    expect(snsMock.commandCalls(PublishCommand)).toHaveLength(0);
    expect(cwMock.commandCalls(PutMetricDataCommand)).toHaveLength(0);
  });
});

describe('a resume with nothing to resume changes nothing', () => {
  const RESUMED = {
    ...STOPPED,
    live_trading_enabled: true,
    resumed_at: '2026-05-01T12:30:00.000Z',
    resumed_by: 'alice',
  };
  const botAt = (desiredCount: number) =>
    ecsMock
      .on(DescribeServicesCommand)
      .resolves({ services: [{ serviceName: 'bot', desiredCount }] } as DescribeServicesCommandOutput);

  test('a second resume after a resume: says so, asks nothing, writes nothing, starts no deployment', async () => {
    secretsMock.on(GetSecretValueCommand).resolves({ SecretString: JSON.stringify(RESUMED) });
    botAt(1);
    const ctx = fakeContext(production, OUTPUTS, true);
    expect(await main(['resume', '--env', 'production', '--yes', '--by', 'bob'], () => ctx)).toBe(0);
    // The record reads as history, never as a stop in force.
    expect(ctx.lines).toContain(
      'config: live_trading_enabled=true (no stop in force: the last, at 2026-05-01T12:00:00.000Z by ' +
        'alarm clever-better-production-emergency-stop-loss-limit, was resumed at 2026-05-01T12:30:00.000Z by alice)',
    );
    expect(ctx.lines.join('\n')).not.toMatch(/\(stopped at/);
    expect(ctx.lines.at(-1)).toBe(
      'Nothing to resume: no emergency stop is in force (the last was resumed at 2026-05-01T12:30:00.000Z by alice), ' +
        'live_trading_enabled=true as configured, and clever-better-production/bot is at its configured 1 task(s). Nothing changed.',
    );
    expect(ctx.questions).toEqual([]);
    expect(secretsMock.commandCalls(PutSecretValueCommand)).toHaveLength(0);
    expect(ecsMock.commandCalls(UpdateServiceCommand)).toHaveLength(0);
    expect(cwMock.commandCalls(PutMetricDataCommand)).toHaveLength(0);
  });

  test('staging, never stopped, flag off by configuration: nothing to resume either', async () => {
    secretsMock
      .on(GetSecretValueCommand)
      .resolves({ SecretString: JSON.stringify({ live_trading_enabled: false }) });
    botAt(1);
    const ctx = fakeContext(staging, OUTPUTS, true);
    expect(await main(['resume', '--env', 'staging', '--by', 'bob'], () => ctx)).toBe(0);
    expect(ctx.lines.at(-1)).toMatch(
      /^Nothing to resume: no emergency stop is in force, live_trading_enabled=false/,
    );
    expect(ecsMock.commandCalls(UpdateServiceCommand)).toHaveLength(0);
  });

  test('no stop in force but the bot is not at its count: says so and resumes it, after confirmation', async () => {
    secretsMock.on(GetSecretValueCommand).resolves({ SecretString: JSON.stringify(RESUMED) });
    botAt(0);
    const ctx = fakeContext(production, OUTPUTS, true);
    expect(await main(['resume', '--env', 'production', '--by', 'bob'], () => ctx)).toBe(0);
    expect(ctx.lines).toContain(
      'No emergency stop is in force, but clever-better-production/bot wants 0 task(s) instead of its configured 1.',
    );
    expect(ctx.questions).toEqual(['Set live_trading_enabled=true and start 1 bot task(s) in production?']);
    expect(ecsMock.commandCalls(UpdateServiceCommand)[0].args[0].input.desiredCount).toBe(1);
  });

  test('a stop after the last resume is in force: resume goes ahead', async () => {
    secretsMock.on(GetSecretValueCommand).resolves({
      SecretString: JSON.stringify({
        ...RESUMED,
        live_trading_enabled: false,
        stopped_at: '2026-05-02T08:00:00.000Z',
      }),
    });
    const ctx = fakeContext(production, OUTPUTS, true);
    expect(await main(['resume', '--env', 'production', '--by', 'bob'], () => ctx)).toBe(0);
    expect(ecsMock.commandCalls(DescribeServicesCommand)).toHaveLength(0);
    expect(written().live_trading_enabled).toBe(true);
  });
});
