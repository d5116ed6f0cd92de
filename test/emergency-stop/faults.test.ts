import { DescribeServicesCommand, UpdateServiceCommand } from '@aws-sdk/client-ecs';
import { GetSecretValueCommand, PutSecretValueCommand } from '@aws-sdk/client-secrets-manager';
import { PublishCommand } from '@aws-sdk/client-sns';
import {
  Budget,
  BUDGET,
  FUNCTION_TIMEOUT_SECONDS,
  WORST_CASE_RUN_MS,
} from '../../lambda/emergency-stop/budget';
import { BetfairError } from '../../lambda/emergency-stop/betfair';
import { readFileSync } from 'node:fs';
import * as path from 'node:path';
import { attemptMs, classify, RetryPolicy } from '../../lambda/emergency-stop/retry';
import { formatReport, StepName, StopReport } from '../../lambda/emergency-stop/report';
import { runEmergencyStop } from '../../lambda/emergency-stop/stop';
import { TimeoutError } from '../../lambda/emergency-stop/time';
import { Fault } from '../../lib/local/betfair-server';
import {
  AWS_FIRST_ATTEMPT_MS,
  AwsAnswer,
  awsError,
  BETFAIR_POLICY,
  BETFAIR_ARN,
  bets,
  CONFIG_ARN,
  networkError,
  step,
  inOwnWorld,
  Seen,
  stopWorld,
  TRIGGER,
} from './harness';

const world = stopWorld();
const { secretsMock, ecsMock, snsMock } = world;

/** The promise of the issue, after any transient fault: bot at 0, flag off, no unmatched bet, on-call told. */
function expectStopped(report: StopReport, started: number, seen: Seen = world.seen): void {
  expect(report.steps.filter((s) => !s.ok)).toEqual([]);
  expect(seen.written().live_trading_enabled).toBe(false);
  const scaled = seen.sent(UpdateServiceCommand);
  expect(scaled.length).toBeGreaterThan(0);
  expect(scaled.every((input) => input.desiredCount === 0)).toBe(true);
  expect(seen.fake.open).toEqual([]);
  expect(bets(report)).toMatchObject({ openBets: 0, listTruncated: false });
  expect(seen.sent(PublishCommand).length).toBeGreaterThan(0);
  expect(performance.now() - started).toBeLessThan(WORST_CASE_RUN_MS);
}

/** A call that never answers (aws-sdk-client-mock ignores the abort signal, as a hung socket would). */
const never = () => new Promise<never>(() => undefined);

const AWS_FAULTS: Record<string, () => Error | 'hang'> = {
  throttling: () => awsError('ThrottlingException', 'Rate exceeded'),
  'HTTP 503': () => awsError('ServiceUnavailableException', 'Service unavailable', 503),
  'HTTP 500': () => awsError('InternalServiceError', 'internal error', 500),
  'connection reset': () => networkError('ECONNRESET'),
  'a request that hangs': () => 'hang',
};

/**
 * Slow but working dependencies, with the production budgets and the production timeout ladder
 * scaled down by {@link SCALE} (every budget, first attempt and wait; every delay below likewise):
 * the same race at a tenth of the wall time. Real timers, real waits, a real HTTP Betfair stand-in.
 */
const SCALE = 0.1;
/**
 * The stop in which every call is slower than its whole step budget waits out every budget (the
 * worst case, 50 s), so it runs at a twentieth: each answer still comes a scaled second after the
 * deadline it misses, and a deadline always fires before a later timer.
 */
const ALL_SLOW_SCALE = 0.05;
const scaled = (ms: number, scale = SCALE) => Math.round(ms * scale);
const scaledBudget = (scale: number): Budget => ({
  tradingFlagMs: scaled(BUDGET.tradingFlagMs, scale),
  scaleBotMs: scaled(BUDGET.scaleBotMs, scale),
  cancelBetsMs: scaled(BUDGET.cancelBetsMs, scale),
  notifyMs: scaled(BUDGET.notifyMs, scale),
  checkReserveMs: scaled(BUDGET.checkReserveMs, scale),
  logoutGraceMs: scaled(BUDGET.logoutGraceMs, scale),
  aws: {
    firstAttemptMs: scaled(BUDGET.aws.firstAttemptMs, scale),
    baseDelayMs: scaled(BUDGET.aws.baseDelayMs, scale),
    maxDelayMs: scaled(BUDGET.aws.maxDelayMs, scale),
  },
  betfair: {
    firstAttemptMs: scaled(BUDGET.betfair.firstAttemptMs, scale),
    baseDelayMs: scaled(BUDGET.betfair.baseDelayMs, scale),
    maxDelayMs: scaled(BUDGET.betfair.maxDelayMs, scale),
  },
});
/** The function's timeout (lib/emergency-stop.ts), scaled. */
const functionTimeoutMs = (scale = SCALE) => FUNCTION_TIMEOUT_SECONDS * 1000 * scale;

/** How long each dependency takes to answer every call, in production milliseconds. */
interface Slowness {
  readonly secretsManagerMs?: number;
  readonly ecsMs?: number;
  readonly snsMs?: number;
  readonly betfairMs?: number;
}

/**
 * One stop against slow dependencies at `scale`: a Betfair stand-in answering every call after
 * `betfairMs`, AWS clients answering after their delays, in a world of its own.
 */
async function slowStop(slowness: Slowness, scale = SCALE) {
  const ms = scaled(slowness.betfairMs ?? 0, scale);
  const delays = {
    secretsManagerMs: scaled(slowness.secretsManagerMs ?? 0, scale),
    ecsMs: scaled(slowness.ecsMs ?? 0, scale),
    snsMs: scaled(slowness.snsMs ?? 0, scale),
  };
  return inOwnWorld(
    async ({ fake, deps, seen }) => {
      const started = performance.now();
      // Real waits between attempts (scaled), as in production.
      const report = await runEmergencyStop(TRIGGER, deps(scaledBudget(scale), { sleep: undefined }));
      return { report, ms: performance.now() - started, fake, seen };
    },
    { fake: { loginDelayMs: ms, callDelayMs: ms, cancelLatencyMs: 0 }, delays },
  );
}

// Concurrent: every stop here has a world of its own (inOwnWorld), and nearly all their time is waiting
// on the scaled delays, so the rows overlap instead of adding up. At the top level, declared before
// the fault rows, so that they share one concurrent group with those and start first (jest runs a
// file's top-level concurrent tests as one group, in order, five at a time).
const SLOW = 'slow but working dependencies: the stop completes within the function timeout';
test.concurrent(
  `${SLOW} every call slower than its whole step budget: incomplete, reported truthfully, before the function timeout`,
  async () => {
    const { report, ms, fake, seen } = await slowStop(
      {
        secretsManagerMs: BUDGET.tradingFlagMs + 1_000,
        ecsMs: BUDGET.scaleBotMs + 1_000,
        snsMs: BUDGET.notifyMs + 1_000,
        betfairMs: BUDGET.cancelBetsMs + 1_000,
      },
      ALL_SLOW_SCALE,
    );
    expect(ms).toBeLessThan(functionTimeoutMs(ALL_SLOW_SCALE));
    expect(report.ok).toBe(false);
    expect(report.failedSteps).toEqual(['trading-flag', 'scale-bot', 'cancel-bets', 'notify']);
    // Nothing is claimed that was not seen: the flag was never written, the scale-to-zero was sent
    // but never confirmed, the bets were never listed.
    expect(seen.sent(PutSecretValueCommand)).toHaveLength(0);
    expect(step(report, 'trading-flag').summary).toBe(
      `trading-flag timed out after ${scaledBudget(ALL_SLOW_SCALE).tradingFlagMs} ms`,
    );
    expect(step(report, 'scale-bot').unanswered?.UpdateService).toBeGreaterThanOrEqual(1);
    expect(step(report, 'scale-bot').appliedLate).toBeUndefined();
    expect(bets(report).openBets).toBeUndefined();
    expect(fake.open).toHaveLength(2);
    const text = formatReport(report).join('\n');
    expect(text).toMatch(
      /^Emergency stop of production INCOMPLETE \(trading-flag, scale-bot, cancel-bets, notify failed\)/,
    );
    expect(text).toMatch(
      /Scale the bot to zero: scale-bot timed out .*no answer to UpdateService \(sent \d+ time\(s\)\): its effect is unknown/,
    );
    expect(text).toContain('Bets still open: UNKNOWN');
  },
  2 * functionTimeoutMs(ALL_SLOW_SCALE),
);

// The rows of issue 29's table, and the slowness around them. Under the old fixed deadlines
// (2 s per AWS request, 5 s per Betfair request) every one of these failed.
test.concurrent.each<[string, Slowness]>([
  ['Betfair answers every call after 6 s', { betfairMs: 6_000 }],
  ['Betfair answers every call after 7 s', { betfairMs: 7_000 }],
  ['Betfair answers every call after 9 s', { betfairMs: 9_000 }],
  ['every ECS call answers after 3 s', { ecsMs: 3_000 }],
  ['every Secrets Manager call answers after 2.5 s', { secretsManagerMs: 2_500 }],
  ['every SNS call answers after 3 s', { snsMs: 3_000 }],
  ['ECS answers after 8.5 s of its 10 s step: an answer within the budget is taken', { ecsMs: 8_500 }],
])(
  `${SLOW} %s: bot at 0, flag off, no bet open, on-call told`,
  async (_, slowness) => {
    const { report, ms, fake, seen } = await slowStop(slowness);
    expect(report.steps.filter((s) => !s.ok)).toEqual([]);
    expect(seen.desiredCount()).toBe(0);
    expect(seen.written().live_trading_enabled).toBe(false);
    expect(fake.open).toEqual([]);
    expect(bets(report)).toMatchObject({ openBets: 0, listTruncated: false });
    expect(seen.notification()?.Subject).toBe('[production] EMERGENCY STOP: trading halted');
    expect(ms).toBeLessThan(functionTimeoutMs());
    expect(ms).toBeLessThan(scaled(WORST_CASE_RUN_MS));
    // Something was slow, and the report says which call timed out on its first, short attempt.
    expect(report.steps.some((s) => /timed out after/.test(s.lastError ?? ''))).toBe(true);
    // A slow dependency is not sent a duplicate of every call: once one call needed the longer
    // rung, its later calls start there (the run's Pace). Betfair: two logins (the first timed out
    // on its short attempt and still answered), then one cancel-all, the size listing, one check.
    if (slowness.betfairMs)
      expect(
        [fake.calls('login'), fake.calls('cancelOrders'), fake.calls('listCurrentOrders')].map(
          (c) => c.length,
        ),
      ).toEqual([2, 1, 2]);
    if (slowness.secretsManagerMs) expect(seen.sent(PutSecretValueCommand)).toHaveLength(1);
  },
  2 * functionTimeoutMs(),
);

/**
 * An answer that fails the next `times` calls matching `call` with `fault`, then leaves them to the
 * world's default.
 */
const failing =
  (call: (command: object, input: Record<string, unknown>) => boolean) =>
  (fault: () => Error | 'hang', times: number): AwsAnswer => {
    let n = 0;
    return (command, input) => (call(command, input) && n++ < times ? fail(fault()) : undefined);
  };

/** Each AWS call of a stop: how to make its next `times` calls fail, then behave as before. */
const AWS_CALLS: Record<
  string,
  { step: StepName; operation: string; inject: (fault: () => Error | 'hang', times: number) => AwsAnswer }
> = {
  'Secrets Manager GetSecretValue (config)': {
    operation: 'GetSecretValue',
    step: 'trading-flag',
    inject: failing((c, input) => c instanceof GetSecretValueCommand && input.SecretId === CONFIG_ARN),
  },
  'Secrets Manager PutSecretValue': {
    operation: 'PutSecretValue',
    step: 'trading-flag',
    inject: failing((c) => c instanceof PutSecretValueCommand),
  },
  'ECS UpdateService': {
    operation: 'UpdateService',
    step: 'scale-bot',
    inject: failing((c) => c instanceof UpdateServiceCommand),
  },
  'Secrets Manager GetSecretValue (Betfair)': {
    operation: 'GetSecretValue',
    step: 'cancel-bets',
    inject: failing((c, input) => c instanceof GetSecretValueCommand && input.SecretId === BETFAIR_ARN),
  },
  'SNS Publish': {
    operation: 'Publish',
    step: 'notify',
    inject: failing((c) => c instanceof PublishCommand),
  },
};

function fail(fault: Error | 'hang'): Promise<never> {
  return fault === 'hang' ? never() : Promise.reject(fault);
}

/**
 * Every AWS call × count × fault, flat so that the rows run at once (test.concurrent), each in a
 * world of its own: most of their time is the Betfair side's real socket round trips.
 */
const AWS_ROWS = Object.entries(AWS_CALLS).flatMap(([call, how]) =>
  [1, 3].flatMap((times) => Object.keys(AWS_FAULTS).map((fault) => [call, times, fault, how] as const)),
);

test.concurrent.each(AWS_ROWS)(
  '%s failing %i time(s) in a row %s: retried until it succeeds; bot at 0, flag off, no bet open',
  (_, times, faultName, { step: stepName, operation, inject }) =>
    inOwnWorld(
      async ({ deps, seen, sleeps }) => {
        const started = performance.now();
        // Betfair is healthy here: first attempts of 1 s cost nothing, and keep a loaded machine (these
        // rows run five at a time) from adding a Betfair retry's wait to the waits asserted below.
        const report = await runEmergencyStop(
          TRIGGER,
          deps({ betfair: { ...BETFAIR_POLICY, firstAttemptMs: 1_000 } }),
        );
        expectStopped(report, started, seen);
        const outcome = step(report, stepName);
        expect(outcome.ok).toBe(true);
        expect(outcome.permanent).toBeUndefined();
        expect(outcome.lastError).toMatch(new RegExp(`^${operation}: `));
        // A hung attempt times out on the ladder: the first attempt's deadline, then twice as long each time.
        if (faultName === 'a request that hangs')
          expect(outcome.lastError).toMatch(
            new RegExp(`timed out after ${AWS_FIRST_ATTEMPT_MS * 2 ** (times - 1)} ms$`),
          );
        // Exponential waits with jitter between the attempts (random 0.5: three quarters of each cap).
        expect(sleeps.slice(0, times)).toEqual([75, 150, 300].slice(0, times));
      },
      { answer: inject(AWS_FAULTS[faultName], times) },
    ),
);

/** Each Betfair operation a stop retries, and how a fault is aimed at it. */
const BETFAIR_FAULTS: readonly Fault[] = [
  'http-503',
  'maintenance-page',
  'reset',
  'hang',
  'service-busy',
  'too-many-requests',
];

/**
 * Every Betfair operation × count × fault, flat so that the rows run at once: each has its own
 * Betfair stand-in and AWS clients, and most of their time is the deadlines of hung requests.
 * The first listCurrentOrders is the listing sent with the cancel-all (one attempt, for the report);
 * the faults are aimed at the check after the cancel, the one the step's success rests on.
 */
const BETFAIR_ROWS = (
  [
    ['login', 0],
    ['cancelOrders', 0],
    ['listCurrentOrders', 1],
  ] as const
)
  .flatMap(
    ([operation, skip]) =>
      [1, 3].flatMap((times) => BETFAIR_FAULTS.map((fault) => [operation, times, fault, skip] as const)),
    // The hangs first: they wait out their deadlines, the others fill the slots around them.
  )
  .sort((a, b) => Number(b[2] === 'hang') - Number(a[2] === 'hang'));

test.concurrent.each(BETFAIR_ROWS)(
  'Betfair %s failing %i time(s) in a row %s: retried until it succeeds; bot at 0, flag off, no bet open',
  (operation, times, fault, skip) =>
    inOwnWorld(async ({ fake, deps, seen }) => {
      fake.fail(operation, 'none', skip);
      fake.fail(operation, fault, times);
      const started = performance.now();
      // A fault that answers at once costs no deadline: its row gets first attempts of 1 s, so a
      // loaded machine (these rows run five at a time) cannot turn a real answer into a timeout.
      // A hang waits out its deadlines: those rows keep the 250 ms ladder.
      const report = await runEmergencyStop(
        TRIGGER,
        deps(fault === 'hang' ? {} : { betfair: { ...BETFAIR_POLICY, firstAttemptMs: 1_000 } }),
      );
      expectStopped(report, started, seen);
      const cancel = step(report, 'cancel-bets');
      expect(cancel.ok).toBe(true);
      expect(fake.calls(operation)).toHaveLength(skip + times + 1);
      expect(cancel.lastError).toMatch(new RegExp(`^${operation}: `));
      expect(bets(report).sizeCancelled).toBe(12.5);
    }),
);

describe.each([1, 3])('Betfair cancelOrders refused with ERROR_IN_MATCHER %i time(s)', (times) => {
  test('is retried with growing waits until the cancel-all goes through', async () => {
    world.fake.cancelScript = Array(times).fill('matcher-busy');
    const started = performance.now();
    const report = await runEmergencyStop(TRIGGER, world.deps());
    expectStopped(report, started);
    expect(world.fake.calls('cancelOrders')).toHaveLength(times + 1);
    expect(world.sleeps).toEqual([188, 375, 750].slice(0, times));
    expect(step(report, 'cancel-bets').lastError).toBe(
      'cancelOrders: Betfair cancelOrders: ERROR_IN_MATCHER',
    );
  });
});

describe.each([1, 3])('Betfair refusing connections %i time(s)', (times) => {
  test('the login is retried until the server is back', async () => {
    await world.fake.stop();
    world.onSleep = async (n) => {
      if (n === times) await world.fake.restart();
    };
    const started = performance.now();
    const report = await runEmergencyStop(TRIGGER, world.deps());
    expectStopped(report, started);
    expect(step(report, 'cancel-bets').lastError).toMatch(/^login: .*ECONNREFUSED/);
    expect(world.fake.calls('login')).toHaveLength(1);
  });
});

describe('permanent faults end their step at once, reported as permanent', () => {
  test.each([
    ['INVALID_USERNAME_OR_PASSWORD', () => (world.fake.loginStatus = 'INVALID_USERNAME_OR_PASSWORD')],
    ['ACCOUNT_NOW_LOCKED', () => (world.fake.loginStatus = 'ACCOUNT_NOW_LOCKED')],
    [
      'INVALID_APP_KEY',
      () =>
        secretsMock.on(GetSecretValueCommand, { SecretId: BETFAIR_ARN }).resolves({
          SecretString: JSON.stringify({ app_key: 'not-ours', username: 'bot-user', password: 'bot-pass' }),
        }),
    ],
  ])('Betfair login %s', async (code, arrange) => {
    arrange();
    const report = await runEmergencyStop(TRIGGER, world.deps());
    const cancel = step(report, 'cancel-bets');
    expect(cancel).toMatchObject({
      ok: false,
      permanent: true,
      summary: `Betfair login: ${code}`,
      lastError: `login: Betfair login: ${code}`,
    });
    expect(world.fake.calls('login')).toHaveLength(1);
    expect(world.sleeps).toEqual([]);
    expect(report.failedSteps).toEqual(['cancel-bets']);
    expect(world.notification()?.Message).toMatch(
      new RegExp(
        `\\[FAILED\\] Cancel unmatched bets on Betfair: Betfair login: ${code} \\(permanent error, not retried; 2 request\\(s\\);`,
      ),
    );
    // The other steps still stopped trading.
    expect(world.written().live_trading_enabled).toBe(false);
  });

  const denied = () => awsError('AccessDeniedException', 'not authorized');
  test.each([
    [
      'GetSecretValue of the config secret',
      'trading-flag',
      denied,
      () => secretsMock.on(GetSecretValueCommand, { SecretId: CONFIG_ARN }).rejects(denied()),
    ],
    ['PutSecretValue', 'trading-flag', denied, () => secretsMock.on(PutSecretValueCommand).rejects(denied())],
    ['UpdateService', 'scale-bot', denied, () => ecsMock.on(UpdateServiceCommand).rejects(denied())],
    [
      'GetSecretValue of the Betfair secret',
      'cancel-bets',
      denied,
      () => secretsMock.on(GetSecretValueCommand, { SecretId: BETFAIR_ARN }).rejects(denied()),
    ],
    ['Publish', 'notify', denied, () => snsMock.on(PublishCommand).rejects(denied())],
    [
      'a missing config secret',
      'trading-flag',
      denied,
      () =>
        secretsMock
          .on(GetSecretValueCommand, { SecretId: CONFIG_ARN })
          .rejects(awsError('ResourceNotFoundException', "Secrets Manager can't find the specified secret.")),
    ],
    [
      'a missing Betfair secret',
      'cancel-bets',
      denied,
      () =>
        secretsMock
          .on(GetSecretValueCommand, { SecretId: BETFAIR_ARN })
          .rejects(awsError('ResourceNotFoundException', "Secrets Manager can't find the specified secret.")),
    ],
    [
      'a missing service',
      'scale-bot',
      denied,
      () =>
        ecsMock.on(UpdateServiceCommand).rejects(awsError('ServiceNotFoundException', 'Service not found.')),
    ],
    [
      'a missing cluster',
      'scale-bot',
      denied,
      () =>
        ecsMock.on(UpdateServiceCommand).rejects(awsError('ClusterNotFoundException', 'Cluster not found.')),
    ],
  ] as const)('%s', async (_, stepName, __, arrange) => {
    arrange();
    const report = await runEmergencyStop(TRIGGER, world.deps());
    const outcome = step(report, stepName);
    expect(outcome).toMatchObject({ ok: false, permanent: true });
    expect(outcome.summary).toMatch(
      /^(AccessDeniedException|ResourceNotFoundException|ServiceNotFoundException|ClusterNotFoundException): /,
    );
    expect(world.sleeps).toEqual([]);
    expect(report.failedSteps).toEqual([stepName]);
  });
});

describe('classification', () => {
  test.each([
    [new BetfairError('login', 'HTTP_503'), 'transient'],
    [new BetfairError('login', 'HTTP_429'), 'transient'],
    [new BetfairError('listCurrentOrders', 'NOT_JSON'), 'transient'],
    [new BetfairError('cancelOrders', 'TOO_MANY_REQUESTS'), 'transient'],
    [new TimeoutError('login', 5_000), 'transient'],
    [awsError('ThrottlingException', 'x'), 'transient'],
    [awsError('TooManyRequestsException', 'x', 429), 'transient'],
    [awsError('ServerException', 'x', 500), 'transient'],
    [networkError('ECONNREFUSED'), 'transient'],
    [new BetfairError('login', 'INVALID_USERNAME_OR_PASSWORD'), 'permanent'],
    [new BetfairError('login', 'TEMPORARY_BAN_TOO_MANY_REQUESTS'), 'permanent'],
    [new BetfairError('cancelOrders', 'INVALID_APP_KEY'), 'permanent'],
    [new BetfairError('login', 'HTTP_403'), 'permanent'],
    [awsError('AccessDeniedException', 'x'), 'permanent'],
    [awsError('InvalidParameterException', 'x'), 'permanent'],
    [new Error('clever-better/production/betfair: key app_key is missing'), 'permanent'],
  ])('%s is %s', (err, kind) => {
    expect(classify(err)).toBe(kind);
  });
});

describe('a request that was carried out but whose answer was lost is checked, not repeated blindly', () => {
  test('UpdateService: DescribeServices shows desiredCount 0, reported as applied late', async () => {
    ecsMock.on(UpdateServiceCommand).callsFake(() => {
      world.desiredCount = 0;
      return never();
    });
    const report = await runEmergencyStop(TRIGGER, world.deps());
    const scale = step(report, 'scale-bot');
    expect(scale).toMatchObject({
      ok: true,
      appliedLate: ['UpdateService: DescribeServices shows desiredCount 0'],
    });
    expect(scale.unanswered).toBeUndefined();
    expect(ecsMock.commandCalls(UpdateServiceCommand)).toHaveLength(1);
    expect(world.notification()?.Message).toMatch(
      /\[ok\] +Scale the bot to zero: .*; applied late \(UpdateService: DescribeServices shows desiredCount 0\)/,
    );
  });

  test('UpdateService not applied: the check says so and the update is sent again', async () => {
    let n = 0;
    ecsMock.on(UpdateServiceCommand).callsFake(() => {
      if (n++ === 0) return never();
      world.desiredCount = 0;
      return { service: { desiredCount: 0 } };
    });
    const report = await runEmergencyStop(TRIGGER, world.deps());
    expect(step(report, 'scale-bot')).toMatchObject({ ok: true, attempts: 3 });
    expect(step(report, 'scale-bot').appliedLate).toBeUndefined();
    expect(ecsMock.commandCalls(DescribeServicesCommand)).toHaveLength(1);
    expect(world.desiredCount).toBe(0);
  });

  test('PutSecretValue: the current version is this write, reported as applied late, written once', async () => {
    secretsMock.on(PutSecretValueCommand).callsFake((input: { SecretString: string }) => {
      world.config = input.SecretString;
      return never();
    });
    const report = await runEmergencyStop(TRIGGER, world.deps());
    expect(step(report, 'trading-flag')).toMatchObject({ ok: true });
    expect(step(report, 'trading-flag').appliedLate?.[0]).toMatch(
      /^PutSecretValue: the current version .* is this write$/,
    );
    expect(secretsMock.commandCalls(PutSecretValueCommand)).toHaveLength(1);
    expect(world.written().live_trading_enabled).toBe(false);
  });

  test('cancelOrders: the open orders show none left, reported as applied late, not cancelled twice', async () => {
    world.fake.fail('cancelOrders', 'lost-answer');
    const report = await runEmergencyStop(TRIGGER, world.deps());
    expect(step(report, 'cancel-bets')).toMatchObject({ ok: true });
    expect(step(report, 'cancel-bets').appliedLate).toEqual([
      'cancelOrders: listCurrentOrders shows no unmatched bet',
    ]);
    expect(bets(report)).toMatchObject({ cancelStatus: 'applied late', openBets: 0, sizeCancelled: 12.5 });
    expect(world.fake.calls('cancelOrders')).toHaveLength(1);
    expect(world.fake.open).toEqual([]);
  });

  test('the check itself refused (no right to read) does not fail the step: the request is sent again', async () => {
    let n = 0;
    ecsMock.on(UpdateServiceCommand).callsFake(() => {
      if (n++ === 0) return never();
      world.desiredCount = 0;
      return { service: { desiredCount: 0 } };
    });
    ecsMock.on(DescribeServicesCommand).rejects(awsError('AccessDeniedException', 'not authorized'));
    const report = await runEmergencyStop(TRIGGER, world.deps());
    expect(step(report, 'scale-bot')).toMatchObject({ ok: true });
    expect(step(report, 'scale-bot').permanent).toBeUndefined();
    expect(world.desiredCount).toBe(0);
  });
});

describe('the timeout rule at the production budgets (docs/emergency-stop.md "Timeouts")', () => {
  /** The deadlines of consecutive attempts of one call when every attempt times out (waits left out). */
  const ladder = (policy: RetryPolicy, budgetMs: number): number[] => {
    const out: number[] = [];
    for (let rung = 0, used = 0; used < budgetMs; rung++) {
      const ms = attemptMs(policy, rung, budgetMs - used);
      out.push(ms);
      used += ms;
    }
    return out;
  };
  const seconds = (ms: readonly number[]) => ms.map((m) => `${m / 1000} s`).join(' → ');
  const STEPS: [string, RetryPolicy, number][] = [
    ['trading-flag', BUDGET.aws, BUDGET.tradingFlagMs],
    ['scale-bot', BUDGET.aws, BUDGET.scaleBotMs],
    ['notify', BUDGET.aws, BUDGET.notifyMs],
    ['cancel-bets', BUDGET.betfair, BUDGET.cancelBetsMs],
    ['cancel-bets: the cancel-all', BUDGET.betfair, BUDGET.cancelBetsMs - BUDGET.checkReserveMs],
    ['cancel-bets: the check reserve', BUDGET.betfair, BUDGET.checkReserveMs],
  ];
  const doc = readFileSync(path.join(__dirname, '..', '..', 'docs', 'emergency-stop.md'), 'utf8');

  test.each(STEPS)(
    '%s: a short first attempt, each later one at least twice as long, the last all that is left',
    (_, policy, budgetMs) => {
      const steps = ladder(policy, budgetMs);
      // One attempt only when the budget is under a first attempt plus a second one.
      if (budgetMs >= 3 * policy.firstAttemptMs) expect(steps[0]).toBe(policy.firstAttemptMs);
      else expect(steps).toEqual([budgetMs]);
      for (let i = 1; i < steps.length; i++) expect(steps[i]).toBeGreaterThanOrEqual(2 * steps[i - 1]);
      expect(steps.reduce((a, b) => a + b, 0)).toBe(budgetMs);
      expect(doc).toMatch(new RegExp(`\\| ${seconds(steps)} +\\|`));
    },
  );

  test('the production ladders are not a single fixed deadline', () => {
    expect(Math.max(...STEPS.map(([, p, b]) => ladder(p, b).length))).toBeGreaterThanOrEqual(3);
  });

  test('the worst-case run is stated in the docs and the function timeout covers it', () => {
    expect(FUNCTION_TIMEOUT_SECONDS * 1000).toBeGreaterThan(WORST_CASE_RUN_MS);
    expect(doc).toContain(`**${WORST_CASE_RUN_MS / 1000} s**`);
    expect(doc).toContain(`timeout is **${FUNCTION_TIMEOUT_SECONDS} s**`);
  });
});
