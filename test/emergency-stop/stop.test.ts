import { UpdateServiceCommand } from '@aws-sdk/client-ecs';
import { GetSecretValueCommand, PutSecretValueCommand } from '@aws-sdk/client-secrets-manager';
import { PublishCommand } from '@aws-sdk/client-sns';
import { StopReport, STEP_TITLES } from '../../lambda/emergency-stop/report';
import { SIZE_SOURCES } from '../../lambda/emergency-stop/steps';
import { runEmergencyStop } from '../../lambda/emergency-stop/stop';
import { FakeBetfair } from '../../lib/local/betfair-server';
import {
  awsError,
  bets,
  CONFIG_ARN,
  inOwnWorld,
  NOW,
  Seen,
  step,
  stopWorld,
  TOPIC_ARN,
  TRIGGER,
} from './harness';

const world = stopWorld();
const { secretsMock, ecsMock, snsMock } = world;
const deps = world.deps;
const notification = world.notification;
const writtenConfig = world.written;

/** The promise of the issue: whatever failed, every other step was still attempted and reported. */
function expectEveryStepAttempted(
  report: StopReport,
  except: { flagWrite?: boolean; cancel?: boolean } = {},
  seen: Seen = world.seen,
): void {
  expect(seen.sent(GetSecretValueCommand).filter((i) => i.SecretId === CONFIG_ARN).length).toBeGreaterThan(0);
  if (!except.flagWrite) expect(seen.sent(PutSecretValueCommand).length).toBeGreaterThan(0);
  expect(seen.sent(UpdateServiceCommand).length).toBeGreaterThan(0);
  expect(seen.fake.calls('login').length).toBeGreaterThanOrEqual(1);
  if (!except.cancel) expect(seen.fake.calls('cancelOrders').length).toBeGreaterThanOrEqual(1);
  expect(seen.sent(PublishCommand).length).toBeGreaterThan(0);
  expect(report.steps.map((s) => s.step)).toEqual(['trading-flag', 'scale-bot', 'cancel-bets', 'notify']);
  for (const s of report.steps.filter((o) => !o.ok && o.step !== 'notify'))
    expect(seen.notification()?.Message).toContain(`[FAILED] ${STEP_TITLES[s.step]}`);
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
    expect(world.fake.calls('cancelOrders').map((c) => JSON.parse(c.body))).toEqual([{}]);
    expect(world.fake.open).toEqual([]);
    expect(bets(report)).toMatchObject({
      loginMethod: 'interactive',
      cancelStatus: 'SUCCESS',
      openBefore: 2,
      openSizeBefore: 12.5,
      cancelledBets: 2,
      sizeCancelled: 12.5,
      sizeCancelledFrom: SIZE_SOURCES.listings,
      openBets: 0,
      sweeps: 1,
      logout: 'ok',
    });
    // One request per call: nothing failed, so nothing was retried.
    expect(report.steps.map((s) => [s.step, s.attempts, s.lastError])).toEqual([
      ['trading-flag', 2, undefined],
      ['scale-bot', 1, undefined],
      ['cancel-bets', 5, undefined],
      ['notify', 1, undefined],
    ]);
    expect(world.fake.calls('logout')).toHaveLength(1);
    expect(world.fake.violations).toEqual([]);
  });

  test('the check lists unmatched bets only (orderProjection EXECUTABLE), before and after the cancel-all', async () => {
    await runEmergencyStop(TRIGGER, deps());
    expect(world.fake.calls('listCurrentOrders').map((c) => JSON.parse(c.body).orderProjection)).toEqual([
      'EXECUTABLE',
      'EXECUTABLE',
    ]);
    const order = world.fake.requests.map((r) => r.path.split('/').filter(Boolean).pop());
    expect(order.slice(0, 4)).toEqual(['login', 'listCurrentOrders', 'cancelOrders', 'listCurrentOrders']);
  });

  test('publishes one notification with every step, the bets left, the size cancelled and the way back', async () => {
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
      /\[ok\] +Cancel unmatched bets on Betfair: cancelOrders SUCCESS; no unmatched bets open; size cancelled 12.50 in 2 bet\(s\)/,
    );
    expect(Message).toContain('Unmatched bets still open: 0');
    expect(Message).toContain(`Size cancelled: 12.50 in 2 bet(s) (from ${SIZE_SOURCES.listings})`);
    expect(Message).toContain('npm run ops -- resume --env production');
  });

  test("takes the size cancelled from Betfair's instruction reports when it sends them, and says so", async () => {
    world.fake.cancelScript = ['cancel-with-reports'];
    const report = await runEmergencyStop(TRIGGER, deps());
    expect(bets(report)).toMatchObject({
      cancelledBets: 2,
      sizeCancelled: 12.5,
      sizeCancelledFrom: SIZE_SOURCES.report,
    });
  });

  test('says the size cancelled is unknown, and still cancels, when the listing sent with the cancel-all fails', async () => {
    world.fake.fail('listCurrentOrders', 'http-503');
    const report = await runEmergencyStop(TRIGGER, deps());
    expect(report.ok).toBe(true);
    expect(world.fake.open).toEqual([]);
    expect(bets(report).sizeCancelled).toBeUndefined();
    expect(bets(report).sizeCancelledFrom).toBe(
      'unknown: the listing sent with the cancel-all failed (Betfair listCurrentOrders: HTTP_503)',
    );
    expect(notification()?.Message).toContain(
      'Size cancelled: unknown (unknown: the listing sent with the cancel-all failed',
    );
  });

  test('never holds the cancel-all back for the listing that measures the size cancelled', async () => {
    // The listing hangs until its own deadline (the run waits that long for it); the cancel-all must
    // go out at once beside it, well within half that deadline.
    const listingMs = 800;
    world.fake.fail('listCurrentOrders', 'hang');
    const report = await runEmergencyStop(
      TRIGGER,
      deps({ betfair: { firstAttemptMs: listingMs, baseDelayMs: 250, maxDelayMs: 4_000 } }),
    );
    expect(report.ok).toBe(true);
    const [listing] = world.fake.calls('listCurrentOrders');
    const [cancel] = world.fake.calls('cancelOrders');
    expect(cancel.receivedAt - listing.receivedAt).toBeLessThan(listingMs / 2);
    expect(bets(report).sizeCancelledFrom).toMatch(
      new RegExp(
        `^unknown: the listing sent with the cancel-all failed \\(listCurrentOrders timed out after ${listingMs} ms\\)`,
      ),
    );
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
      const d = deps({ betfair: { firstAttemptMs: 2_000, baseDelayMs: 250, maxDelayMs: 4_000 } });
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
    secretsMock.on(GetSecretValueCommand, { SecretId: world.deps().settings.betfairSecretId }).resolves({
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
    expect(world.fake.calls('certlogin')).toHaveLength(1);
    expect(world.fake.calls('login')).toHaveLength(0);
    expect(step(report, 'cancel-bets')).toMatchObject({
      ok: false,
      permanent: true,
      summary: 'Betfair certlogin: CERT_AUTH_REQUIRED',
    });
  });

  test('returns once on-call is notified, without waiting for the logout answer (production grace 0 ms)', async () => {
    world.fake.hang.add('logout');
    const report = await runEmergencyStop(TRIGGER, deps({ logoutGraceMs: 0 }));
    // The logout never answers, yet the run is over.
    expect(report.ok).toBe(true);
    expect(bets(report).logout).toMatch(/^sent; answer not awaited/);
    for (let i = 0; i < 100 && world.fake.calls('logout').length === 0; i++)
      await new Promise((r) => setTimeout(r, 20));
    expect(world.fake.calls('logout')).toHaveLength(1);
  });
});

describe('faults that do not clear: every remaining step is still attempted and the outcome reported', () => {
  // The tests that wait out a step's deadline run at once (test.concurrent), each in a world of its
  // own (inOwnWorld): their time is waiting.
  test.concurrent(
    'ECS throttling until the deadline fails only the scale step, with its requests and last error',
    () =>
      inOwnWorld(
        async ({ fake, deps, seen }) => {
          const report = await runEmergencyStop(TRIGGER, deps({ scaleBotMs: 600 }, { sleep: undefined }));
          expectEveryStepAttempted(report, {}, seen);
          expect(report.failedSteps).toEqual(['scale-bot']);
          const scale = step(report, 'scale-bot');
          expect(scale.summary).toBe('scale-bot timed out after 600 ms');
          expect(scale.attempts).toBeGreaterThanOrEqual(3);
          expect(scale.attempts).toBe(seen.sent(UpdateServiceCommand).length);
          expect(scale.lastError).toBe('UpdateService: ThrottlingException: Rate exceeded');
          expect(seen.written().live_trading_enabled).toBe(false);
          expect(fake.open).toEqual([]);
          expect(seen.notification()?.Subject).toBe(
            '[production] EMERGENCY STOP INCOMPLETE: scale-bot failed',
          );
          expect(seen.notification()?.Message).toMatch(
            /\[FAILED\] Scale the bot to zero: scale-bot timed out after 600 ms \(\d+ requests; last error UpdateService: ThrottlingException: Rate exceeded;/,
          );
        },
        {
          answer: (command) =>
            command instanceof UpdateServiceCommand
              ? Promise.reject(awsError('ThrottlingException', 'Rate exceeded'))
              : undefined,
        },
      ),
  );

  test.concurrent(
    'a cancel-all refused until the check reserve fails the step with the unmatched bets from the check',
    () =>
      inOwnWorld(async ({ fake, deps, seen }) => {
        fake.cancelDefault = 'matcher-busy';
        const report = await runEmergencyStop(TRIGGER, deps({ cancelBetsMs: 1_500 }, { sleep: undefined }));
        expectEveryStepAttempted(report, {}, seen);
        const cancel = step(report, 'cancel-bets');
        expect(cancel.ok).toBe(false);
        expect(cancel.summary).toMatch(
          /^cancelOrders retries \(all but the last 600 ms of the step\) timed out after \d+ ms; 2 unmatched bet\(s\) still open, stake 12.50$/,
        );
        expect(cancel.lastError).toBe('cancelOrders: Betfair cancelOrders: ERROR_IN_MATCHER');
        expect(fake.calls('cancelOrders').length).toBeGreaterThan(1);
        expect(bets(report)).toMatchObject({ openBets: 2, openBetIds: ['101', '102'] });
        expect(cancel.durationMs).toBeLessThan(1_500);
      }),
  );

  test('PROCESSED_WITH_ERRORS with nothing left open succeeds, listing the instruction errors', async () => {
    world.fake.cancelScript = ['processed-with-errors'];
    const report = await runEmergencyStop(TRIGGER, deps());
    expect(report.ok).toBe(true);
    expect(bets(report)).toMatchObject({
      cancelStatus: 'PROCESSED_WITH_ERRORS',
      instructionErrors: ['101: BET_TAKEN_OR_LAPSED'],
      openBets: 0,
      sizeCancelled: 2.5,
      sizeCancelledFrom: SIZE_SOURCES.report,
    });
    expect(step(report, 'cancel-bets').summary).toBe(
      'cancelOrders PROCESSED_WITH_ERRORS; no unmatched bets open (1 distinct instruction error(s)); size cancelled 2.50 in 1 bet(s)',
    );
  });

  test('bets left open after a cancel-all are swept again while time is left', async () => {
    world.fake.cancelScript = ['leave-open'];
    const report = await runEmergencyStop(TRIGGER, deps());
    expect(report.ok).toBe(true);
    expect(world.fake.open).toEqual([]);
    expect(bets(report)).toMatchObject({ sweeps: 2, openBets: 0, sizeCancelled: 12.5 });
    expect(step(report, 'cancel-bets').summary).toMatch(
      /^cancelOrders SUCCESS after 2 attempts in 2 sweeps;/,
    );
  });

  test.concurrent(
    'bets that stay open fail the step (so the retry sweeps again) and are named in the notification',
    () =>
      inOwnWorld(async ({ fake, deps, seen }) => {
        fake.cancelDefault = 'leave-open';
        const report = await runEmergencyStop(TRIGGER, deps({ cancelBetsMs: 1_500 }, { sleep: undefined }));
        expectEveryStepAttempted(report, {}, seen);
        expect(report.failedSteps).toEqual(['cancel-bets']);
        expect(step(report, 'cancel-bets').summary).toMatch(
          /^cancelOrders SUCCESS after \d+ attempts in \d+ sweeps; 2 unmatched bet\(s\) still open, stake 12.50$/,
        );
        expect(bets(report)).toMatchObject({ openBets: 2, openBetIds: ['101', '102'], logout: 'ok' });
        expect(seen.notification()?.Message).toContain(
          'Unmatched bets still open: 2, stake 12.50 (bet ids 101, 102)',
        );
      }),
  );

  test.concurrent('a listing cut short is a failed check, never a success, whatever it counted', () =>
    inOwnWorld(async ({ fake, deps, seen }) => {
      fake.open = [];
      for (let i = 0; i < 25; i++) fake.placeUnmatched(String(1000 + i), 1);
      fake.pageSize = 2;
      fake.cancelDefault = 'leave-open';
      // The check reads ten pages: a reserve of 1.5 s for it, so that on a loaded machine the step
      // still ends with its verdict rather than at its deadline.
      const report = await runEmergencyStop(TRIGGER, deps({ cancelBetsMs: 2_500, checkReserveMs: 1_500 }));
      expect(report.failedSteps).toEqual(['cancel-bets']);
      expect(step(report, 'cancel-bets').summary).toMatch(
        /the check is NOT verified: listCurrentOrders still had more after 10 pages \(at least 20 unmatched bets\)$/,
      );
      expect(bets(report).listTruncated).toBe(true);
      expect(seen.notification()?.Subject).toBe('[production] EMERGENCY STOP INCOMPLETE: cancel-bets failed');
      expect(seen.notification()?.Message).toContain(
        'Unmatched bets still open: at least 20 (NOT verified: the listing was cut short). Check Betfair by hand.',
      );
    }),
  );

  test('a session error during the cancel is answered by one fresh login', async () => {
    world.fake.cancelScript = ['session-token-expired'];
    const report = await runEmergencyStop(TRIGGER, deps());
    expect(report.ok).toBe(true);
    expect(world.fake.calls('login')).toHaveLength(2);
    expect(bets(report)).toMatchObject({ relogins: 1, openBets: 0 });
  });
});

describe('answers the stop does not understand are never a success', () => {
  /** What the replay of recorded bodies found: a 200 that is not the operation's answer. */
  const bodies: [string, unknown][] = [
    ['a JSON-RPC envelope', { jsonrpc: '2.0', result: { currentOrders: [], moreAvailable: false }, id: 1 }],
    ['a generic {"error": …} body', { error: 'DSC-0008: temporarily unavailable' }],
  ];
  const always = (body: unknown) => Array(500).fill({ status: 200, body: JSON.stringify(body) });

  // These wait out the Betfair step's deadline: at once (test.concurrent), each in a world of its own.
  test.concurrent.each(bodies)(
    'a listing answered with %s fails the step, says what came back, and never says "halted"',
    (_, body) =>
      inOwnWorld(async ({ fake, deps, seen }) => {
        for (const f of always(body)) fake.fail('listCurrentOrders', f);
        fake.cancelDefault = 'leave-open';
        const report = await runEmergencyStop(TRIGGER, deps({ cancelBetsMs: 1_500 }, { sleep: undefined }));
        expect(report.ok).toBe(false);
        expect(report.failedSteps).toEqual(['cancel-bets']);
        const cancel = step(report, 'cancel-bets');
        expect(cancel.lastError).toMatch(
          /^listCurrentOrders: Betfair listCurrentOrders: UNEXPECTED_ANSWER \((a JSON-RPC envelope|an object with keys \[error\])/,
        );
        expect(bets(report).openBets).toBeUndefined();
        expect(seen.notification()?.Subject).toBe(
          '[production] EMERGENCY STOP INCOMPLETE: cancel-bets failed',
        );
        expect(seen.notification()?.Message).toContain('Bets still open: UNKNOWN');
        expect(fake.open).toHaveLength(2);
      }),
  );

  test.concurrent.each(bodies)(
    'a cancel-all answered with %s fails the step while the bets stay open',
    (_, body) =>
      inOwnWorld(async ({ fake, deps, seen }) => {
        for (const f of always(body)) fake.fail('cancelOrders', f);
        const report = await runEmergencyStop(TRIGGER, deps({ cancelBetsMs: 1_500 }, { sleep: undefined }));
        expect(report.failedSteps).toEqual(['cancel-bets']);
        expect(step(report, 'cancel-bets').summary).toMatch(
          /; 2 unmatched bet\(s\) still open, stake 12.50$/,
        );
        expect(step(report, 'cancel-bets').lastError).toMatch(
          /^cancelOrders: Betfair cancelOrders: UNEXPECTED_ANSWER \(/,
        );
        expect(bets(report)).toMatchObject({ openBets: 2, openBetIds: ['101', '102'] });
        expect(seen.notification()?.Subject).toBe(
          '[production] EMERGENCY STOP INCOMPLETE: cancel-bets failed',
        );
      }),
  );

  test('an answer of the wrong shape once is retried like any transient fault', async () => {
    world.fake.fail('listCurrentOrders', 'none');
    world.fake.fail('listCurrentOrders', { status: 200, body: '{"error":"try again"}' });
    const report = await runEmergencyStop(TRIGGER, deps());
    expect(report.ok).toBe(true);
    expect(step(report, 'cancel-bets').lastError).toMatch(/^listCurrentOrders: .*UNEXPECTED_ANSWER/);
    expect(world.fake.open).toEqual([]);
  });

  test('the same instruction error on every sweep is reported once, with its count', async () => {
    const report48 = {
      status: 'PROCESSED_WITH_ERRORS',
      errorCode: 'PROCESSED_WITH_ERRORS',
      instructionReports: [
        { status: 'FAILURE', errorCode: 'BET_TAKEN_OR_LAPSED', instruction: { betId: '101' } },
        { status: 'FAILURE', errorCode: 'ERROR_IN_ORDER', instruction: { betId: '102' } },
      ],
    };
    for (let i = 0; i < 6; i++)
      world.fake.fail('cancelOrders', { status: 200, body: JSON.stringify(report48) });
    const report = await runEmergencyStop(TRIGGER, deps());
    expect(report.ok).toBe(true);
    expect(bets(report).sweeps).toBe(7);
    expect(bets(report).instructionErrors).toEqual([
      '101: BET_TAKEN_OR_LAPSED (6 times)',
      '102: ERROR_IN_ORDER (6 times)',
    ]);
    expect(step(report, 'cancel-bets').summary).toMatch(/\(2 distinct instruction error\(s\)\)/);
  });
});

describe('idempotence', () => {
  test('running twice leaves the same state, and the second run writes nothing to the config secret', async () => {
    const first = await runEmergencyStop(TRIGGER, deps());
    const afterFirst = world.config;
    const second = await runEmergencyStop({ ...TRIGGER, reason: 'retry' }, deps());
    expect(first.ok && second.ok).toBe(true);
    expect(world.config).toBe(afterFirst);
    expect(secretsMock.commandCalls(PutSecretValueCommand)).toHaveLength(1);
    expect(step(second, 'trading-flag').summary).toMatch(
      /already has live_trading_enabled=false \(stopped at 2026-05-01T12:00:00.000Z by alarm ProductionStack-LossLimit\); left unchanged/,
    );
    expect(ecsMock.commandCalls(UpdateServiceCommand).map((c) => c.args[0].input.desiredCount)).toEqual([
      0, 0,
    ]);
  });

  test('two runs at once end with the flag off, the bot at zero and no bet open', async () => {
    world.fake.cancelScript = ['cancel', 'matcher-busy'];
    const [a, b] = await Promise.all([runEmergencyStop(TRIGGER, deps()), runEmergencyStop(TRIGGER, deps())]);
    expect(a.ok && b.ok).toBe(true);
    expect(writtenConfig().live_trading_enabled).toBe(false);
    expect(world.fake.open).toEqual([]);
  });

  test('nothing in a run ever writes live_trading_enabled true', async () => {
    world.config = JSON.stringify({ live_trading_enabled: false });
    world.fake.cancelScript = ['leave-open'];
    await runEmergencyStop(TRIGGER, deps());
    await runEmergencyStop(TRIGGER, deps());
    for (const call of secretsMock.commandCalls(PutSecretValueCommand))
      expect(JSON.parse(call.args[0].input.SecretString!).live_trading_enabled).toBe(false);
  });

  test('a config secret that is not JSON is replaced by one with the flag off (the old value stays as AWSPREVIOUS)', async () => {
    world.config = 'live_trading_enabled=true';
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
