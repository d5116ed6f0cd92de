import { CloudFormationClient, DescribeStacksCommand } from '@aws-sdk/client-cloudformation';
import { CloudWatchClient, DescribeAlarmsCommand } from '@aws-sdk/client-cloudwatch';
import { DescribeServicesCommand, DescribeTaskDefinitionCommand, ECSClient } from '@aws-sdk/client-ecs';
import { InvokeCommand, InvokeCommandOutput, LambdaClient } from '@aws-sdk/client-lambda';
import { GetSecretValueCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { mockClient } from 'aws-sdk-client-mock';
import { production, staging } from '../../environments';
import { main } from '../../lib/ops';
import { collectStatus, formatStatus, shortImage, shortTaskDefinition } from '../../lib/ops/status';
import { fakeContext } from './ops-context';
import { ListSubscriptionsByTopicCommand, SNSClient } from '@aws-sdk/client-sns';

const ecsMock = mockClient(ECSClient);
const secretsMock = mockClient(SecretsManagerClient);
const cwMock = mockClient(CloudWatchClient);
const lambdaMock = mockClient(LambdaClient);
const cfnMock = mockClient(CloudFormationClient);
const snsMock = mockClient(SNSClient);

const NOW = new Date('2026-05-01T12:00:00Z');
const REGISTRY = '222222222222.dkr.ecr.eu-west-1.amazonaws.com';
const TD = 'arn:aws:ecs:eu-west-1:222222222222:task-definition';
const OUTPUTS = { MigrationFunctionName: 'ProductionStack-Migrations-Fn' };

/** A Lambda payload as the SDK returns it (a Uint8Array; the SDK's blob adapter only adds helpers). */
const encode = (value: unknown) =>
  new TextEncoder().encode(JSON.stringify(value)) as InvokeCommandOutput['Payload'];

/** A healthy production: both services at their desired count, flag on, no alarms, migrations clean. */
function healthy(): void {
  ecsMock.on(DescribeServicesCommand).resolves({
    services: [
      {
        serviceName: 'bot',
        runningCount: 1,
        desiredCount: 1,
        pendingCount: 0,
        taskDefinition: `${TD}/clever-better-bot:42`,
        deployments: [
          {
            status: 'PRIMARY',
            rolloutState: 'COMPLETED',
            taskDefinition: `${TD}/clever-better-bot:42`,
            runningCount: 1,
            desiredCount: 1,
            updatedAt: new Date('2026-05-01T10:02:00Z'),
          },
        ],
      },
      {
        serviceName: 'ml-service',
        runningCount: 2,
        desiredCount: 2,
        pendingCount: 0,
        taskDefinition: `${TD}/clever-better-ml:17`,
        deployments: [
          {
            status: 'PRIMARY',
            rolloutState: 'COMPLETED',
            taskDefinition: `${TD}/clever-better-ml:17`,
            runningCount: 2,
            desiredCount: 2,
            updatedAt: new Date('2026-04-30T09:00:00Z'),
          },
        ],
      },
    ],
  });
  ecsMock.on(DescribeTaskDefinitionCommand, { taskDefinition: `${TD}/clever-better-bot:42` }).resolves({
    taskDefinition: {
      containerDefinitions: [{ name: 'app', image: `${REGISTRY}/clever-better-bot:v1.2.3` }],
    },
  });
  ecsMock.on(DescribeTaskDefinitionCommand, { taskDefinition: `${TD}/clever-better-ml:17` }).resolves({
    taskDefinition: { containerDefinitions: [{ name: 'app', image: `${REGISTRY}/clever-better-ml:v1.2.0` }] },
  });
  secretsMock
    .on(GetSecretValueCommand)
    .resolves({ SecretString: JSON.stringify({ live_trading_enabled: true }) });
  cwMock.on(DescribeAlarmsCommand).resolves({
    MetricAlarms: [
      { AlarmName: 'clever-better-production-bot-cpu', StateValue: 'OK' },
      { AlarmName: 'clever-better-production-bot-silent', StateValue: 'OK' },
      { AlarmName: 'clever-better-production-ml-latency', StateValue: 'INSUFFICIENT_DATA' },
    ],
  });
  lambdaMock.on(InvokeCommand).resolves({
    StatusCode: 200,
    Payload: encode({
      command: 'version',
      version: '20240115120000',
      dirty: false,
      output: ['20240115120000'],
    }),
  });
  cfnMock.on(DescribeStacksCommand).resolves({
    Stacks: [
      {
        StackName: 'ProductionStack',
        StackStatus: 'UPDATE_COMPLETE',
        CreationTime: new Date('2026-01-01T00:00:00Z'),
        LastUpdatedTime: new Date('2026-05-01T10:00:00Z'),
      },
    ],
  });
}

beforeEach(() => {
  for (const m of [ecsMock, secretsMock, cwMock, lambdaMock, cfnMock, snsMock]) m.reset();
  healthy();
});

async function screen(outputs: Record<string, string> = OUTPUTS): Promise<string> {
  const ctx = fakeContext(production, outputs);
  return formatStatus(await collectStatus(ctx), NOW).join('\n');
}

describe('npm run ops -- status', () => {
  test('GIVEN a healthy environment THEN one screen shows counts, images, flag, no alarms, migration and deployments', async () => {
    expect(await screen()).toBe(
      [
        'Clever Better production (ProductionStack, eu-west-1) at 2026-05-01 12:00 UTC',
        '',
        'Services (cluster clever-better-production)',
        '  bot           running 1/1, pending 0, task definition clever-better-bot:42',
        '                image clever-better-bot:v1.2.3',
        '  ml-service    running 2/2, pending 0, task definition clever-better-ml:17',
        '                image clever-better-ml:v1.2.0',
        '',
        'Live trading    ON',
        '',
        'Alarms          none in ALARM; 1 INSUFFICIENT_DATA, 2 OK (clever-better-production-*)',
        '',
        'Migration       20240115120000',
        '',
        'Last deployment',
        '  stack         UPDATE_COMPLETE at 2026-05-01 10:00 UTC',
        '  bot           COMPLETED clever-better-bot:42 at 2026-05-01 10:02 UTC',
        '  ml-service    COMPLETED clever-better-ml:17 at 2026-04-30 09:00 UTC',
      ].join('\n'),
    );
  });

  test('asks the right resources: the cluster and services of the guide, the config secret, the alarm prefix, the migration function', async () => {
    await screen();
    expect(ecsMock.commandCalls(DescribeServicesCommand)[0].args[0].input).toEqual({
      cluster: 'clever-better-production',
      services: ['bot', 'ml-service'],
    });
    expect(secretsMock.commandCalls(GetSecretValueCommand)[0].args[0].input).toEqual({
      SecretId: 'clever-better/production/config',
    });
    const alarmsAsked = cwMock.commandCalls(DescribeAlarmsCommand)[0].args[0].input;
    expect(alarmsAsked).toMatchObject({ AlarmNamePrefix: 'clever-better-production-' });
    // No state filter: the state of each alarm is read from the answer (moto ignores the filter).
    expect(alarmsAsked.StateValue).toBeUndefined();
    const invoke = lambdaMock.commandCalls(InvokeCommand)[0].args[0].input;
    expect(invoke.FunctionName).toBe('ProductionStack-Migrations-Fn');
    expect(JSON.parse(new TextDecoder().decode(invoke.Payload as Uint8Array))).toEqual({
      command: 'version',
    });
    expect(cfnMock.commandCalls(DescribeStacksCommand)[0].args[0].input).toEqual({
      StackName: 'ProductionStack',
    });
  });

  test('GIVEN an emergency stop THEN it shows the bot below desired, the flag off with who and why, and the alarms', async () => {
    ecsMock.on(DescribeServicesCommand).resolves({
      services: [
        {
          serviceName: 'bot',
          runningCount: 0,
          desiredCount: 0,
          pendingCount: 0,
          taskDefinition: `${TD}/clever-better-bot:42`,
        },
        {
          serviceName: 'ml-service',
          runningCount: 1,
          desiredCount: 2,
          pendingCount: 1,
          taskDefinition: `${TD}/clever-better-ml:17`,
        },
      ],
    });
    secretsMock.on(GetSecretValueCommand).resolves({
      SecretString: JSON.stringify({
        live_trading_enabled: false,
        stopped_by: 'alarm clever-better-production-emergency-stop-loss-limit',
        stopped_at: '2026-05-01T11:40:00.000Z',
        stopped_reason: 'Threshold Crossed',
      }),
    });
    cwMock.on(DescribeAlarmsCommand).resolves({
      MetricAlarms: [
        {
          AlarmName: 'clever-better-production-bot-silent',
          StateValue: 'ALARM',
          StateUpdatedTimestamp: new Date('2026-05-01T11:46:00Z'),
          StateReason: 'Threshold Crossed: 5 datapoints were not less than the threshold (1.0).',
        },
        {
          AlarmName: 'clever-better-production-emergency-stop-loss-limit',
          StateValue: 'ALARM',
          StateUpdatedTimestamp: new Date('2026-05-01T11:40:00Z'),
          StateReason: 'x'.repeat(150),
        },
      ],
    });
    const out = await screen();
    expect(out).toContain('  bot           running 0/0, pending 0, task definition clever-better-bot:42\n');
    expect(out).toContain(
      '  ml-service    running 1/2, pending 1, task definition clever-better-ml:17  << below desired',
    );
    expect(out).toContain(
      'Live trading    OFF: emergency stop by alarm clever-better-production-emergency-stop-loss-limit at 2026-05-01T11:40:00.000Z: Threshold Crossed\n' +
        '                no resume since; after fixing the cause: npm run ops -- resume --env production',
    );
    expect(out).toContain(
      `Alarms in ALARM (2) (clever-better-production-*)\n  clever-better-production-emergency-stop-loss-limit since 2026-05-01 11:40 UTC: ${'x'.repeat(99)}…\n` +
        '  clever-better-production-bot-silent since 2026-05-01 11:46 UTC: Threshold Crossed',
    );
    expect(out).toContain('  bot           no deployment');
  });

  test('GIVEN a rollout in progress THEN the last deployment shows it and the old revision still running', async () => {
    ecsMock.on(DescribeServicesCommand).resolves({
      services: [
        {
          serviceName: 'ml-service',
          runningCount: 3,
          desiredCount: 2,
          pendingCount: 0,
          taskDefinition: `${TD}/clever-better-ml:18`,
          deployments: [
            {
              status: 'ACTIVE',
              rolloutState: 'COMPLETED',
              taskDefinition: `${TD}/clever-better-ml:17`,
              runningCount: 2,
              updatedAt: new Date('2026-04-30T09:00:00Z'),
            },
            {
              status: 'PRIMARY',
              rolloutState: 'IN_PROGRESS',
              rolloutStateReason: 'ECS deployment ecs-svc/123 in progress.',
              taskDefinition: `${TD}/clever-better-ml:18`,
              runningCount: 1,
              updatedAt: new Date('2026-05-01T11:55:00Z'),
            },
          ],
        },
      ],
      failures: [
        { arn: 'arn:aws:ecs:eu-west-1:222222222222:service/clever-better-production/bot', reason: 'MISSING' },
      ],
    });
    ecsMock.on(DescribeTaskDefinitionCommand).resolves({
      taskDefinition: {
        containerDefinitions: [{ name: 'app', image: `${REGISTRY}/clever-better-ml:v1.3.0` }],
      },
    });
    const out = await screen();
    expect(out).toContain('  bot           not found: MISSING');
    expect(out).toContain(
      '  ml-service    IN_PROGRESS clever-better-ml:18 at 2026-05-01 11:55 UTC: ECS deployment ecs-svc/123 in progress.; ' +
        'still running clever-better-ml:17 (2 running)',
    );
  });

  test('lists alarms by the state DescribeAlarms returns for each, even when the answer mixes states (as moto does)', async () => {
    cwMock.on(DescribeAlarmsCommand).resolves({
      MetricAlarms: [
        { AlarmName: 'clever-better-production-emergency-stop-loss-limit', StateValue: 'OK' },
        { AlarmName: 'clever-better-production-bot-errors', StateValue: 'ALARM', StateReason: 'errors' },
        { AlarmName: 'clever-better-production-bot-cpu', StateValue: 'OK' },
      ],
    });
    const ctx = fakeContext(production, OUTPUTS);
    expect(await main(['status', '--env', 'production'], () => ctx)).toBe(1);
    const out = ctx.lines.join('\n');
    expect(out).toContain(
      'Alarms in ALARM (1); 2 OK (clever-better-production-*)\n  clever-better-production-bot-errors since unknown time: errors\n',
    );
    expect(out).not.toContain('emergency-stop-loss-limit since');
  });

  test('says when no alarm exists under the prefix, and counts it as something to look at', async () => {
    cwMock.on(DescribeAlarmsCommand).resolves({ MetricAlarms: [] });
    const ctx = fakeContext(production, OUTPUTS);
    expect(await main(['status', '--env', 'production'], () => ctx)).toBe(1);
    expect(ctx.lines).toContain('Alarms          none found under clever-better-production-*');
  });

  describe('live trading: ON, OFF by an emergency stop until a resume is recorded after it, OFF by configuration', () => {
    const stop = {
      stopped_by: 'alarm clever-better-staging-emergency-stop-loss-limit',
      stopped_at: '2026-05-01T11:40:00.000Z',
      stopped_reason: 'Threshold Crossed',
    };
    test.each([
      [
        'staging after a resume: OFF by configuration, stop and resume as history, exit 0',
        staging,
        { live_trading_enabled: false, ...stop, resumed_by: 'root', resumed_at: '2026-05-01T11:50:00.000Z' },
        [
          'Live trading    OFF by configuration (liveTradingEnabled: false in environments/staging.ts)',
          '                last emergency stop by alarm clever-better-staging-emergency-stop-loss-limit at 2026-05-01T11:40:00.000Z: Threshold Crossed; resumed by root at 2026-05-01T11:50:00.000Z',
        ],
        0,
      ],
      [
        'staging stopped again after a resume: the stop is in force',
        staging,
        {
          live_trading_enabled: false,
          ...stop,
          stopped_at: '2026-05-01T12:10:00.000Z',
          resumed_by: 'root',
          resumed_at: '2026-05-01T11:50:00.000Z',
        },
        [
          'Live trading    OFF: emergency stop by alarm clever-better-staging-emergency-stop-loss-limit at 2026-05-01T12:10:00.000Z: Threshold Crossed',
          '                no resume since; after fixing the cause: npm run ops -- resume --env staging',
        ],
        1,
      ],
      [
        'staging never stopped: OFF by configuration',
        staging,
        { live_trading_enabled: false },
        ['Live trading    OFF by configuration (liveTradingEnabled: false in environments/staging.ts)'],
        0,
      ],
      [
        'production resumed: ON',
        production,
        { live_trading_enabled: true, ...stop, resumed_by: 'ana', resumed_at: '2026-05-01T11:50:00.000Z' },
        ['Live trading    ON'],
        0,
      ],
      [
        'production OFF with no stop recorded: set by hand',
        production,
        { live_trading_enabled: false },
        [
          'Live trading    OFF, though environments/production.ts configures it ON and no emergency stop is in force: someone set it by hand',
        ],
        1,
      ],
      [
        'staging ON although configured OFF',
        staging,
        { live_trading_enabled: true },
        [
          'Live trading    ON, though environments/staging.ts configures it OFF (liveTradingEnabled: false): someone set it by hand',
        ],
        1,
      ],
    ])('%s', async (_name, env, secret, expected, code) => {
      secretsMock.on(GetSecretValueCommand).resolves({ SecretString: JSON.stringify(secret) });
      const ctx = fakeContext(env, OUTPUTS);
      expect(await main(['status', '--env', env.name], () => ctx)).toBe(code);
      const at = ctx.lines.findIndex((l) => l.startsWith('Live trading'));
      expect(ctx.lines.slice(at, at + expected.length + 1)).toEqual([...expected, '']);
    });
  });

  test('"Last deployment" leaves out the reason ECS keeps from an earlier state on a COMPLETED deployment', async () => {
    ecsMock.on(DescribeServicesCommand).resolves({
      services: [
        {
          serviceName: 'bot',
          runningCount: 1,
          desiredCount: 1,
          taskDefinition: `${TD}/clever-better-bot:42`,
          deployments: [
            {
              status: 'PRIMARY',
              rolloutState: 'COMPLETED',
              rolloutStateReason: 'ECS deployment ecs-svc/1 in progress.',
              taskDefinition: `${TD}/clever-better-bot:42`,
              runningCount: 1,
              desiredCount: 1,
              updatedAt: new Date('2026-05-01T10:02:00Z'),
            },
          ],
        },
      ],
    });
    expect((await screen()).split('\n')).toContain(
      '  bot           COMPLETED clever-better-bot:42 at 2026-05-01 10:02 UTC',
    );
  });

  test('reports a dirty migration version with the way out', async () => {
    lambdaMock
      .on(InvokeCommand)
      .resolves({ Payload: encode({ command: 'version', version: '3', dirty: true }) });
    expect(await screen()).toContain('Migration       3 (dirty: fix, then `migrate force`)');
  });

  test('reports a database without migrations', async () => {
    lambdaMock
      .on(InvokeCommand)
      .resolves({ Payload: encode({ command: 'version', version: null, dirty: false }) });
    expect(await screen()).toContain('Migration       no migration applied');
  });

  test('says "unknown" for the migration version when the stack has no migration function, without calling Lambda', async () => {
    expect(await screen({})).toContain(
      'Migration       unknown (the stack has no MigrationFunctionName output)',
    );
    expect(lambdaMock.commandCalls(InvokeCommand)).toHaveLength(0);
  });

  test('shows a flag the bot cannot read as unreadable, which the bot treats as OFF', async () => {
    secretsMock.on(GetSecretValueCommand).resolves({ SecretString: '{"live_trading_enabled": "yes"}' });
    expect(await screen()).toContain(
      'Live trading    unreadable: live_trading_enabled is missing or not true/false (the bot treats this as OFF)',
    );
  });

  test('pages through every alarm in ALARM', async () => {
    cwMock
      .on(DescribeAlarmsCommand)
      .resolvesOnce({
        MetricAlarms: [{ AlarmName: 'clever-better-production-bot-cpu', StateValue: 'ALARM' }],
        NextToken: 't1',
      })
      .resolvesOnce({
        CompositeAlarms: [{ AlarmName: 'clever-better-production-composite', StateValue: 'ALARM' }],
      });
    const out = await screen();
    expect(out).toContain('Alarms in ALARM (2)');
    expect(cwMock.commandCalls(DescribeAlarmsCommand)[1].args[0].input.NextToken).toBe('t1');
  });

  describe('each section degrades on its own', () => {
    test('fails only the services section when ECS refuses, and still shows the rest', async () => {
      ecsMock
        .on(DescribeServicesCommand)
        .rejects(Object.assign(new Error('User is not authorized'), { name: 'AccessDeniedException' }));
      const out = await screen();
      expect(out).toContain(
        'Services (cluster clever-better-production)\n  error: AccessDeniedException: User is not authorized',
      );
      expect(out).toContain('Live trading    ON');
      expect(out).toContain('Migration       20240115120000');
      expect(out).toContain('  stack         UPDATE_COMPLETE');
    });

    test('fails only the image line of a service whose task definition cannot be read', async () => {
      ecsMock
        .on(DescribeTaskDefinitionCommand, { taskDefinition: `${TD}/clever-better-ml:17` })
        .rejects(Object.assign(new Error('Rate exceeded'), { name: 'ThrottlingException' }));
      const out = await screen();
      expect(out).toContain('                image clever-better-bot:v1.2.3');
      expect(out).toContain('                image error: ThrottlingException: Rate exceeded');
    });

    test.each([
      [
        'live trading',
        () => secretsMock.on(GetSecretValueCommand).rejects(new Error('secret gone')),
        'Live trading    error: secret gone (the bot treats an unreadable flag as OFF)',
      ],
      [
        'alarms',
        () => cwMock.on(DescribeAlarmsCommand).rejects(new Error('throttled')),
        'Alarms          error: throttled',
      ],
      [
        'migration',
        () =>
          lambdaMock.on(InvokeCommand).resolves({
            FunctionError: 'Unhandled',
            Payload: encode({ errorMessage: 'connect ETIMEDOUT 10.1.2.3:5432' }),
          }),
        'Migration       error: ProductionStack-Migrations-Fn failed: connect ETIMEDOUT 10.1.2.3:5432',
      ],
      [
        'stack',
        () => cfnMock.on(DescribeStacksCommand).rejects(new Error('Stack does not exist')),
        '  stack         error: Stack does not exist',
      ],
    ])('fails only the %s section', async (_name, breakIt, expected) => {
      breakIt();
      const out = await screen();
      expect(out).toContain(expected);
      expect(out).toContain('  bot           running 1/1');
    });
  });

  test('exits 0 and says so when all is well', async () => {
    const ctx = fakeContext(production, OUTPUTS);
    expect(await main(['status', '--env', 'production'], () => ctx)).toBe(0);
    expect(ctx.lines.slice(-1)).toEqual(['All well.']);
  });

  test('exits 1 with an alarm in ALARM, naming it under "Needs a look"', async () => {
    cwMock
      .on(DescribeAlarmsCommand)
      .resolves({ MetricAlarms: [{ AlarmName: 'clever-better-production-bot-cpu', StateValue: 'ALARM' }] });
    const ctx = fakeContext(production, OUTPUTS);
    expect(await main(['status', '--env', 'production'], () => ctx)).toBe(1);
    expect(ctx.lines).toContain('Alarms in ALARM (1) (clever-better-production-*)');
    expect(ctx.lines.slice(-2)).toEqual([
      'Needs a look (1):',
      '  - alarm clever-better-production-bot-cpu in ALARM',
    ]);
  });

  describe('the migration version against the deployed migration files', () => {
    const DEPLOYED = ['20240115120000', '20240125090000', '20240201090000'];
    const at = (version: string | null, dirty = false) =>
      lambdaMock
        .on(InvokeCommand)
        .resolves({ Payload: encode({ command: 'version', version, dirty, deployedVersions: DEPLOYED }) });
    test.each([
      ['at the latest: all well', '20240201090000', 'Migration       20240201090000', []],
      [
        'behind (e.g. after migrate down): exit 1 with the command that brings it up',
        '20240125090000',
        'Migration       20240125090000 (behind: the deployed migrations go to 20240201090000; run npm run ops -- migrate up --env production)',
        ['  - migration: behind'],
      ],
      [
        'at a version no deployed file has (e.g. a mistaken force): exit 1',
        '12345',
        'Migration       12345 (not a deployed version: the deployed migrations go from 20240115120000 to 20240201090000; see docs/migrations.md)',
        ['  - migration: not a deployed version'],
      ],
      [
        'ahead of the deployed files (older code deployed): exit 1',
        '20250101000000',
        'Migration       20250101000000 (ahead of the deployed migrations, which go to 20240201090000: older code was deployed or rolled back)',
        ['  - migration: ahead'],
      ],
      [
        'no migration applied while files are deployed: behind',
        null,
        'Migration       no migration applied (behind: the deployed migrations go to 20240201090000; run npm run ops -- migrate up --env production)',
        ['  - migration: behind'],
      ],
    ])('%s', async (_, version, line, look) => {
      at(version);
      const ctx = fakeContext(production, OUTPUTS);
      expect(await main(['status', '--env', 'production'], () => ctx)).toBe(look.length === 0 ? 0 : 1);
      expect(ctx.lines).toContain(line);
      expect(ctx.lines.slice(-look.length || -1)).toEqual(look.length === 0 ? ['All well.'] : look);
    });
  });

  test('exits 1 when an alarm topic has a subscription pending confirmation: pages would go nowhere', async () => {
    const topics = {
      PageTopicArn: 'arn:aws:sns:eu-west-1:2:page',
      TicketTopicArn: 'arn:aws:sns:eu-west-1:2:ticket',
    };
    snsMock.on(ListSubscriptionsByTopicCommand, { TopicArn: topics.PageTopicArn }).resolves({
      Subscriptions: [
        { Protocol: 'https', Endpoint: 'https://pager', SubscriptionArn: 'PendingConfirmation' },
      ],
    });
    snsMock.on(ListSubscriptionsByTopicCommand, { TopicArn: topics.TicketTopicArn }).resolves({
      Subscriptions: [
        { Protocol: 'email', Endpoint: 'ops@x', SubscriptionArn: `${topics.TicketTopicArn}:1` },
      ],
    });
    const ctx = fakeContext(production, { ...OUTPUTS, ...topics });
    expect(await main(['status', '--env', 'production'], () => ctx)).toBe(1);
    expect(ctx.lines).toContain(
      '  PageTopicArn   https https://pager pending confirmation  << pages go nowhere',
    );
    expect(ctx.lines).toContain('  TicketTopicArn email ops@x');
  });

  test.each([
    ['no credentials', 'CredentialsProviderError', 'Could not load credentials from any providers'],
    ['expired credentials', 'ExpiredTokenException', 'The security token included in the request is expired'],
  ])('with %s: one error, printed once, naming the role status needs', async (_what, name, message) => {
    const refusal = Object.assign(new Error(message), { name });
    const mocks: { onAnyCommand(): { rejects(e: Error): unknown } }[] = [
      ecsMock,
      secretsMock,
      cwMock,
      lambdaMock,
      cfnMock,
      snsMock,
    ];
    for (const m of mocks) m.onAnyCommand().rejects(refusal);
    const ctx = { ...fakeContext(production, OUTPUTS), outputs: () => Promise.reject(refusal) };
    const stderr = jest.spyOn(process.stderr, 'write').mockImplementation(() => true);
    try {
      expect(await main(['status', '--env', 'production'], () => ctx)).toBe(1);
      expect(stderr).toHaveBeenCalledTimes(1);
      const text = String(stderr.mock.calls[0][0]);
      expect(text.match(new RegExp(name, 'g'))).toHaveLength(1);
      expect(text).toContain('ops status needs the clever-better-viewer role');
      expect(ctx.lines).toEqual([]);
    } finally {
      stderr.mockRestore();
    }
  });

  test('a refusal of one call only (the viewer may not invoke the migration function) stays in its section', async () => {
    lambdaMock
      .on(InvokeCommand)
      .rejects(Object.assign(new Error('not authorized'), { name: 'AccessDeniedException' }));
    const ctx = fakeContext(production, OUTPUTS);
    expect(await main(['status', '--env', 'production'], () => ctx)).toBe(1);
    expect(ctx.lines).toContain('Migration       error: AccessDeniedException: not authorized');
  });

  test('exits 1 when a section could not be read, after printing the others', async () => {
    secretsMock.on(GetSecretValueCommand).rejects(new Error('secret gone'));
    const ctx = fakeContext(production, OUTPUTS);
    expect(await main(['status', '--env', 'production'], () => ctx)).toBe(1);
    expect(ctx.lines).toContain('Migration       20240115120000');
  });
});

describe('status formatting helpers', () => {
  test.each([
    [`${REGISTRY}/clever-better-bot:v1.2.3`, 'clever-better-bot:v1.2.3'],
    [`${REGISTRY}/clever-better-ml@sha256:${'a'.repeat(64)}`, `clever-better-ml@sha256:${'a'.repeat(12)}…`],
    ['busybox', 'busybox'],
  ])('shortens image %s to %s', (image, short) => {
    expect(shortImage(image)).toBe(short);
  });

  test('shortens a task definition ARN to family:revision', () => {
    expect(shortTaskDefinition(`${TD}/clever-better-bot:42`)).toBe('clever-better-bot:42');
    expect(shortTaskDefinition(undefined)).toBe('unknown');
  });
});
