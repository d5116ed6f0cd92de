import { ECSClient, UpdateServiceCommand } from '@aws-sdk/client-ecs';
import {
  GetSecretValueCommand,
  PutSecretValueCommand,
  SecretsManagerClient,
} from '@aws-sdk/client-secrets-manager';
import { PublishCommand, SNSClient } from '@aws-sdk/client-sns';
import { mockClient } from 'aws-sdk-client-mock';
import { Trigger } from '../../lambda/emergency-stop/event';
import { BetsDetails, STEP_TITLES, StopReport } from '../../lambda/emergency-stop/report';
import { StopDeps } from '../../lambda/emergency-stop/steps';
import { runEmergencyStop } from '../../lambda/emergency-stop/stop';
import { FakeBetfair } from './fake-betfair';

const CONFIG_ARN =
  'arn:aws:secretsmanager:eu-west-1:222222222222:secret:clever-better/production/config-AbCdEf';
const BETFAIR_ARN =
  'arn:aws:secretsmanager:eu-west-1:222222222222:secret:clever-better/production/betfair-GhIjKl';
const TOPIC_ARN = 'arn:aws:sns:eu-west-1:222222222222:OnCall';
const NOW = new Date('2026-05-01T12:00:00.000Z');
const TRIGGER: Trigger = {
  kind: 'alarm',
  reason: 'Threshold Crossed: NetProfit -612.5 <= -500',
  requestedBy: 'alarm ProductionStack-LossLimit',
  at: '2026-05-01T11:59:30.000+0000',
  alarmName: 'ProductionStack-LossLimit',
};

const secretsMock = mockClient(SecretsManagerClient);
const ecsMock = mockClient(ECSClient);
const snsMock = mockClient(SNSClient);

let fake: FakeBetfair;
let configValue: string;
let sleeps: number[];

function awsError(name: string, message: string): Error {
  return Object.assign(new Error(message), { name, $metadata: { httpStatusCode: 400 } });
}

beforeEach(async () => {
  secretsMock.reset();
  ecsMock.reset();
  snsMock.reset();
  configValue = JSON.stringify({ live_trading_enabled: true, max_stake_gbp: 25, strategy: 'value-v3' });
  sleeps = [];
  secretsMock
    .on(GetSecretValueCommand, { SecretId: CONFIG_ARN })
    .callsFake(() => ({ SecretString: configValue, VersionId: 'v1' }));
  secretsMock.on(GetSecretValueCommand, { SecretId: BETFAIR_ARN }).resolves({
    SecretString: JSON.stringify({ app_key: 'app-key-123', username: 'bot-user', password: 'bot-pass' }),
  });
  secretsMock.on(PutSecretValueCommand).callsFake((input: { SecretString: string }) => {
    configValue = input.SecretString;
    return { VersionId: 'v2' };
  });
  ecsMock.on(UpdateServiceCommand).resolves({ service: { desiredCount: 0, runningCount: 1 } });
  snsMock.on(PublishCommand).resolves({ MessageId: 'msg-1' });
  fake = new FakeBetfair();
  await fake.start();
  fake.placeUnmatched('101', 10);
  fake.placeUnmatched('102', 2.5);
  fake.placeMatched('103', 20);
});

afterEach(() => fake.stop());

function deps(budget: StopDeps['budget'] = {}): StopDeps {
  return {
    settings: {
      environment: 'production',
      configSecretId: CONFIG_ARN,
      betfairSecretId: BETFAIR_ARN,
      clusterName: 'clever-better-production',
      botServiceName: 'bot',
      topicArn: TOPIC_ARN,
      betfairEndpoints: fake.endpoints,
    },
    secrets: new SecretsManagerClient({ region: 'eu-west-1' }),
    ecs: new ECSClient({ region: 'eu-west-1' }),
    sns: new SNSClient({ region: 'eu-west-1' }),
    now: () => NOW,
    sleep: async (ms) => {
      sleeps.push(ms);
    },
    // A generous logout grace keeps the logout's outcome in every report; production waits 0 ms.
    budget: { betfairRequestMs: 2_000, logoutGraceMs: 5_000, ...budget },
  };
}

const step = (report: StopReport, name: string) => report.steps.find((s) => s.step === name)!;
const bets = (report: StopReport) => step(report, 'cancel-bets').details as unknown as BetsDetails;
const notification = () => snsMock.commandCalls(PublishCommand)[0]?.args[0].input;
const writtenConfig = () => JSON.parse(configValue);

/** The promise of the issue: whatever failed, every other step was still attempted and reported. */
function expectEveryStepAttempted(
  report: StopReport,
  except: { flagWrite?: boolean; cancel?: boolean } = {},
): void {
  expect(secretsMock.commandCalls(GetSecretValueCommand, { SecretId: CONFIG_ARN })).toHaveLength(1);
  if (!except.flagWrite) expect(secretsMock.commandCalls(PutSecretValueCommand)).toHaveLength(1);
  expect(ecsMock.commandCalls(UpdateServiceCommand)).toHaveLength(1);
  expect(fake.calls('login').length).toBeGreaterThanOrEqual(1);
  if (!except.cancel) expect(fake.calls('cancelOrders').length).toBeGreaterThanOrEqual(1);
  expect(snsMock.commandCalls(PublishCommand)).toHaveLength(1);
  expect(report.steps.map((s) => s.step)).toEqual(['trading-flag', 'scale-bot', 'cancel-bets', 'notify']);
  for (const s of report.steps.filter((o) => !o.ok && o.step !== 'notify'))
    expect(notification()?.Message).toContain(`[FAILED] ${STEP_TITLES[s.step]}`);
}

describe('an emergency stop with every dependency healthy', () => {
  test('writes the flag off keeping every other key, scales the bot to zero, cancels all bets and tells on-call', async () => {
    const report = await runEmergencyStop(TRIGGER, deps());

    expect(report).toMatchObject({ ok: true, failedSteps: [], environment: 'production' });
    expect(writtenConfig()).toEqual({
      live_trading_enabled: false,
      max_stake_gbp: 25,
      strategy: 'value-v3',
      stopped_at: NOW.toISOString(),
      stopped_reason: TRIGGER.reason,
      stopped_by: 'alarm ProductionStack-LossLimit',
    });
    expect(ecsMock.commandCalls(UpdateServiceCommand)[0].args[0].input).toEqual({
      cluster: 'clever-better-production',
      service: 'bot',
      desiredCount: 0,
    });
    expect(fake.calls('cancelOrders').map((c) => JSON.parse(c.body))).toEqual([{}]);
    expect(fake.open).toEqual([]);
    expect(bets(report)).toMatchObject({
      loginMethod: 'interactive',
      cancelStatus: 'SUCCESS',
      cancelledBets: 2,
      sizeCancelled: 12.5,
      openBets: 0,
      matchedBets: 1,
      matchedSize: 20,
      logout: 'ok',
    });
    expect(fake.calls('logout')).toHaveLength(1);
    expect(fake.violations).toEqual([]);
  });

  test('publishes one notification with every step, the bets left and the way back', async () => {
    await runEmergencyStop(TRIGGER, deps());
    expect(snsMock.commandCalls(PublishCommand)).toHaveLength(1);
    const { TopicArn, Subject, Message } = notification()!;
    expect(TopicArn).toBe(TOPIC_ARN);
    expect(Subject).toBe('[production] EMERGENCY STOP: trading halted');
    expect(Message).toContain('Trigger: alarm ProductionStack-LossLimit at 2026-05-01T11:59:30.000+0000');
    expect(Message).toMatch(
      /\[ok\] +Disable live trading \(config secret\): live_trading_enabled=false written to clever-better\/production\/config/,
    );
    expect(Message).toMatch(
      /\[ok\] +Scale the bot to zero: clever-better-production\/bot desiredCount 0 \(1 task\(s\) stopping\)/,
    );
    expect(Message).toMatch(
      /\[ok\] +Cancel unmatched bets on Betfair: cancelOrders SUCCESS; no unmatched bets open; 1 matched bet\(s\) stay matched/,
    );
    expect(Message).toContain('Unmatched bets still open: 0');
    expect(Message).toContain('Matched bets (not cancellable): 1, matched stake 20.00');
    expect(Message).toContain('npm run ops -- resume --env production');
  });

  test('runs the flag write, the scale-to-zero and the Betfair sequence at the same time', async () => {
    const slow = new FakeBetfair({ loginDelayMs: 300 });
    const endpoints = await slow.start();
    const events: string[] = [];
    ecsMock.on(UpdateServiceCommand).callsFake(() => {
      events.push(`ecs after ${slow.calls('cancelOrders').length} cancels`);
      return { service: {} };
    });
    try {
      const d = deps();
      const report = await runEmergencyStop(TRIGGER, {
        ...d,
        settings: { ...d.settings, betfairEndpoints: endpoints },
      });
      expect(report.ok).toBe(true);
      // The bot was scaled while Betfair was still answering the login: nothing waited on anything else.
      expect(events).toEqual(['ecs after 0 cancels']);
      expect(step(report, 'scale-bot').durationMs).toBeLessThan(step(report, 'cancel-bets').durationMs);
    } finally {
      await slow.stop();
    }
  });

  test('logs in with the certificate endpoint when the secret holds a certificate', async () => {
    secretsMock.on(GetSecretValueCommand, { SecretId: BETFAIR_ARN }).resolves({
      SecretString: JSON.stringify({
        app_key: 'app-key-123',
        username: 'bot-user',
        password: 'bot-pass',
        cert_pem: 'C',
        key_pem: 'K',
      }),
    });
    // A plain-HTTP fake cannot check the certificate (that is betfair.test.ts's TLS test); it shows the choice.
    const report = await runEmergencyStop(TRIGGER, deps());
    expect(fake.calls('certlogin')).toHaveLength(1);
    expect(fake.calls('login')).toHaveLength(0);
    expect(step(report, 'cancel-bets')).toMatchObject({
      ok: false,
      summary: 'Betfair certlogin: CERT_AUTH_REQUIRED',
    });
  });
  test('returns once on-call is notified, without waiting for the logout answer (production grace 0 ms)', async () => {
    fake.hang.add('logout');
    const report = await runEmergencyStop(TRIGGER, deps({ logoutGraceMs: 0 }));
    // The logout never answers, yet the run is over.
    expect(report.ok).toBe(true);
    expect(bets(report).logout).toMatch(/^sent; answer not awaited/);
    for (let i = 0; i < 100 && fake.calls('logout').length === 0; i++)
      await new Promise((r) => setTimeout(r, 20));
    expect(fake.calls('logout')).toHaveLength(1);
  });
});

describe('faults: every remaining step is still attempted and the outcome reported', () => {
  test('ECS throttling fails only the scale step', async () => {
    ecsMock.on(UpdateServiceCommand).rejects(awsError('ThrottlingException', 'Rate exceeded'));
    const report = await runEmergencyStop(TRIGGER, deps());
    expectEveryStepAttempted(report);
    expect(report.failedSteps).toEqual(['scale-bot']);
    expect(step(report, 'scale-bot').summary).toBe('ThrottlingException: Rate exceeded');
    expect(writtenConfig().live_trading_enabled).toBe(false);
    expect(fake.open).toEqual([]);
    expect(notification()?.Subject).toBe('[production] EMERGENCY STOP INCOMPLETE: scale-bot failed');
    expect(notification()?.Message).toContain(
      '[FAILED] Scale the bot to zero: ThrottlingException: Rate exceeded',
    );
  });

  test('Secrets Manager access denied on the config secret fails only the flag step, and never clobbers it', async () => {
    secretsMock
      .on(GetSecretValueCommand, { SecretId: CONFIG_ARN })
      .rejects(awsError('AccessDeniedException', 'not authorized to perform secretsmanager:GetSecretValue'));
    const report = await runEmergencyStop(TRIGGER, deps());
    expectEveryStepAttempted(report, { flagWrite: true });
    expect(secretsMock.commandCalls(PutSecretValueCommand)).toHaveLength(0);
    expect(report.failedSteps).toEqual(['trading-flag']);
    expect(step(report, 'trading-flag').summary).toMatch(/^AccessDeniedException: not authorized/);
    expect(step(report, 'cancel-bets').ok).toBe(true);
    expect(notification()?.Message).toContain(
      '[FAILED] Disable live trading (config secret): AccessDeniedException',
    );
  });

  test('Secrets Manager access denied everywhere fails the flag and the Betfair step, still scaling and notifying', async () => {
    secretsMock.on(GetSecretValueCommand).rejects(awsError('AccessDeniedException', 'denied'));
    const report = await runEmergencyStop(TRIGGER, deps());
    expect(report.failedSteps).toEqual(['trading-flag', 'cancel-bets']);
    expect(ecsMock.commandCalls(UpdateServiceCommand)).toHaveLength(1);
    expect(snsMock.commandCalls(PublishCommand)).toHaveLength(1);
    expect(notification()?.Message).toContain('Bets still open: UNKNOWN');
  });

  test('SNS failing fails only the notification; the stop itself is complete', async () => {
    snsMock.on(PublishCommand).rejects(awsError('KMSAccessDeniedException', 'cannot use the topic key'));
    const report = await runEmergencyStop(TRIGGER, deps());
    expectEveryStepAttempted(report);
    expect(report.failedSteps).toEqual(['notify']);
    expect(step(report, 'notify').summary).toBe('KMSAccessDeniedException: cannot use the topic key');
    expect(writtenConfig().live_trading_enabled).toBe(false);
    expect(fake.open).toEqual([]);
  });

  test('Betfair refusing the login fails the Betfair step and says the open bets are unknown', async () => {
    fake.loginStatus = 'ACCOUNT_NOW_LOCKED';
    const report = await runEmergencyStop(TRIGGER, deps());
    expectEveryStepAttempted(report, { cancel: true });
    expect(report.failedSteps).toEqual(['cancel-bets']);
    expect(step(report, 'cancel-bets')).toMatchObject({
      summary: 'Betfair login: ACCOUNT_NOW_LOCKED',
      details: { loginMethod: 'interactive' },
    });
    expect(notification()?.Message).toContain(
      '[FAILED] Cancel unmatched bets on Betfair: Betfair login: ACCOUNT_NOW_LOCKED',
    );
    expect(notification()?.Message).toContain('Bets still open: UNKNOWN');
    expect(writtenConfig().live_trading_enabled).toBe(false);
  });

  test('Betfair timing out fails the Betfair step at its deadline; the other steps and the notification go on', async () => {
    fake.hang.add('cancelOrders');
    const started = performance.now();
    const report = await runEmergencyStop(TRIGGER, deps({ cancelBetsMs: 400, betfairRequestMs: 5_000 }));
    expect(performance.now() - started).toBeLessThan(2_000);
    expectEveryStepAttempted(report);
    expect(report.failedSteps).toEqual(['cancel-bets']);
    expect(step(report, 'cancel-bets').summary).toBe('cancel-bets timed out after 400 ms');
    expect(step(report, 'cancel-bets').details).toMatchObject({
      loginMethod: 'interactive',
      cancelAttempts: 1,
    });
    expect(notification()?.Message).toContain(
      '[FAILED] Cancel unmatched bets on Betfair: cancel-bets timed out after 400 ms',
    );
  });

  test('ERROR_IN_MATCHER (a concurrent cancel-all) is retried with bounded backoff, then succeeds', async () => {
    fake.cancelScript = ['matcher-busy', 'matcher-busy'];
    const report = await runEmergencyStop(TRIGGER, deps());
    expect(report.ok).toBe(true);
    expect(sleeps).toEqual([250, 500]);
    expect(fake.calls('cancelOrders')).toHaveLength(3);
    expect(bets(report)).toMatchObject({ cancelAttempts: 3, cancelStatus: 'SUCCESS', openBets: 0 });
    expect(step(report, 'cancel-bets').summary).toMatch(
      /^cancelOrders SUCCESS after 3 attempts; no unmatched bets open/,
    );
  });

  test('ERROR_IN_MATCHER that never clears fails after the last backoff, reporting what is still open', async () => {
    fake.cancelScript = Array(10).fill('matcher-busy');
    const report = await runEmergencyStop(TRIGGER, deps());
    expectEveryStepAttempted(report);
    expect(sleeps).toEqual([250, 500, 1000, 2000, 4000]);
    expect(fake.calls('cancelOrders')).toHaveLength(6);
    expect(step(report, 'cancel-bets')).toMatchObject({
      ok: false,
      summary: 'cancelOrders FAILURE ERROR_IN_MATCHER; 2 unmatched bet(s) still open, stake 12.50',
    });
    expect(fake.calls('listCurrentOrders')).toHaveLength(1);
  });

  test('PROCESSED_WITH_ERRORS with nothing left open succeeds, listing the instruction errors and the bet now matched', async () => {
    fake.cancelScript = ['processed-with-errors'];
    const report = await runEmergencyStop(TRIGGER, deps());
    expect(report.ok).toBe(true);
    expect(bets(report)).toMatchObject({
      cancelStatus: 'PROCESSED_WITH_ERRORS',
      instructionErrors: ['101: BET_TAKEN_OR_LAPSED'],
      openBets: 0,
      matchedBets: 2,
      matchedSize: 30,
    });
    expect(step(report, 'cancel-bets').summary).toBe(
      'cancelOrders PROCESSED_WITH_ERRORS; no unmatched bets open (1 instruction error(s)); 2 matched bet(s) stay matched',
    );
    expect(notification()?.Message).toContain('Matched bets (not cancellable): 2, matched stake 30.00');
  });

  test('bets left open after the cancel fail the step (so the retry sweeps again) and are named in the notification', async () => {
    fake.cancelScript = ['leave-open'];
    const report = await runEmergencyStop(TRIGGER, deps());
    expectEveryStepAttempted(report);
    expect(report.failedSteps).toEqual(['cancel-bets']);
    expect(step(report, 'cancel-bets').summary).toBe(
      'cancelOrders SUCCESS; 2 unmatched bet(s) still open, stake 12.50',
    );
    expect(bets(report)).toMatchObject({ openBets: 2, openBetIds: ['101', '102'], logout: 'ok' });
    expect(notification()?.Message).toContain('Unmatched bets still open: 2, stake 12.50 (bet ids 101, 102)');
  });

  test('a session error during the cancel is answered by one fresh login', async () => {
    fake.cancelScript = ['session-token-expired'];
    const report = await runEmergencyStop(TRIGGER, deps());
    expect(report.ok).toBe(true);
    expect(fake.calls('login')).toHaveLength(2);
    expect(bets(report)).toMatchObject({ relogins: 1, openBets: 0 });
  });
});

describe('idempotence', () => {
  test('running twice leaves the same state, and the second run writes nothing to the config secret', async () => {
    const first = await runEmergencyStop(TRIGGER, deps());
    const afterFirst = configValue;
    const second = await runEmergencyStop({ ...TRIGGER, reason: 'retry' }, deps());
    expect(first.ok && second.ok).toBe(true);
    expect(configValue).toBe(afterFirst);
    expect(secretsMock.commandCalls(PutSecretValueCommand)).toHaveLength(1);
    expect(step(second, 'trading-flag').summary).toMatch(
      /already has live_trading_enabled=false \(stopped at 2026-05-01T12:00:00.000Z by alarm ProductionStack-LossLimit\); left unchanged/,
    );
    expect(ecsMock.commandCalls(UpdateServiceCommand).map((c) => c.args[0].input.desiredCount)).toEqual([
      0, 0,
    ]);
  });

  test('two runs at once end with the flag off, the bot at zero and no bet open', async () => {
    fake.cancelScript = ['cancel', 'matcher-busy'];
    const [a, b] = await Promise.all([runEmergencyStop(TRIGGER, deps()), runEmergencyStop(TRIGGER, deps())]);
    expect(a.ok && b.ok).toBe(true);
    expect(writtenConfig().live_trading_enabled).toBe(false);
    expect(fake.open).toEqual([]);
  });

  test('nothing in a run ever writes live_trading_enabled true', async () => {
    configValue = JSON.stringify({ live_trading_enabled: false });
    fake.cancelScript = ['leave-open'];
    await runEmergencyStop(TRIGGER, deps());
    await runEmergencyStop(TRIGGER, deps());
    for (const call of secretsMock.commandCalls(PutSecretValueCommand))
      expect(JSON.parse(call.args[0].input.SecretString!).live_trading_enabled).toBe(false);
  });

  test('a config secret that is not JSON is replaced by one with the flag off (the old value stays as AWSPREVIOUS)', async () => {
    configValue = 'live_trading_enabled=true';
    const report = await runEmergencyStop(TRIGGER, deps());
    expect(writtenConfig()).toMatchObject({
      live_trading_enabled: false,
      stopped_by: 'alarm ProductionStack-LossLimit',
    });
    expect(step(report, 'trading-flag').summary).toMatch(
      /previous value was not a JSON object and is kept as version AWSPREVIOUS/,
    );
  });
});
