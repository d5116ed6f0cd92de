import { UpdateServiceCommand } from '@aws-sdk/client-ecs';
import { GetSecretValueCommand, PutSecretValueCommand } from '@aws-sdk/client-secrets-manager';
import { PublishCommand } from '@aws-sdk/client-sns';
import { BUDGET, WORST_CASE_RUN_MS } from '../../lambda/emergency-stop/budget';
import { BetfairError } from '../../lambda/emergency-stop/betfair';
import { classify, RetryPolicy } from '../../lambda/emergency-stop/retry';
import { StepName, StopReport } from '../../lambda/emergency-stop/report';
import { runEmergencyStop } from '../../lambda/emergency-stop/stop';
import { TimeoutError } from '../../lambda/emergency-stop/time';
import { Fault } from '../../lib/local/betfair-server';
import { awsError, BETFAIR_ARN, bets, CONFIG_ARN, networkError, step, stopWorld, TRIGGER } from './harness';

const world = stopWorld();
const { secretsMock, ecsMock, snsMock } = world;

/** The promise of the issue, after any transient fault: bot at 0, flag off, no unmatched bet, on-call told. */
function expectStopped(report: StopReport, started: number): void {
  expect(report.steps.filter((s) => !s.ok)).toEqual([]);
  expect(world.written().live_trading_enabled).toBe(false);
  const scaled = ecsMock.commandCalls(UpdateServiceCommand);
  expect(scaled.length).toBeGreaterThan(0);
  expect(scaled.every((c) => c.args[0].input.desiredCount === 0)).toBe(true);
  expect(world.fake.open).toEqual([]);
  expect(bets(report)).toMatchObject({ openBets: 0, listTruncated: false });
  expect(snsMock.commandCalls(PublishCommand).length).toBeGreaterThan(0);
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

/** Each AWS call of a stop: how to make its next `times` calls fail, then behave as before. */
const AWS_CALLS: Record<
  string,
  { step: StepName; operation: string; inject: (fault: () => Error | 'hang', times: number) => void }
> = {
  'Secrets Manager GetSecretValue (config)': {
    operation: 'GetSecretValue',
    step: 'trading-flag',
    inject: (fault, times) => {
      let n = 0;
      secretsMock.on(GetSecretValueCommand, { SecretId: CONFIG_ARN }).callsFake(() => {
        if (n++ < times) return fail(fault());
        return { SecretString: world.config, VersionId: 'v1' };
      });
    },
  },
  'Secrets Manager PutSecretValue': {
    operation: 'PutSecretValue',
    step: 'trading-flag',
    inject: (fault, times) => {
      let n = 0;
      secretsMock.on(PutSecretValueCommand).callsFake((input: { SecretString: string }) => {
        if (n++ < times) return fail(fault());
        world.config = input.SecretString;
        return { VersionId: 'v2' };
      });
    },
  },
  'ECS UpdateService': {
    operation: 'UpdateService',
    step: 'scale-bot',
    inject: (fault, times) => {
      let n = 0;
      ecsMock.on(UpdateServiceCommand).callsFake(() => {
        if (n++ < times) return fail(fault());
        world.desiredCount = 0;
        return { service: { desiredCount: 0, runningCount: 1 } };
      });
    },
  },
  'Secrets Manager GetSecretValue (Betfair)': {
    operation: 'GetSecretValue',
    step: 'cancel-bets',
    inject: (fault, times) => {
      let n = 0;
      secretsMock.on(GetSecretValueCommand, { SecretId: BETFAIR_ARN }).callsFake(() => {
        if (n++ < times) return fail(fault());
        return {
          SecretString: JSON.stringify({
            app_key: 'app-key-123',
            username: 'bot-user',
            password: 'bot-pass',
          }),
        };
      });
    },
  },
  'SNS Publish': {
    operation: 'Publish',
    step: 'notify',
    inject: (fault, times) => {
      let n = 0;
      snsMock.on(PublishCommand).callsFake(() => {
        if (n++ < times) return fail(fault());
        return { MessageId: 'msg-1' };
      });
    },
  },
};

function fail(fault: Error | 'hang'): Promise<never> {
  return fault === 'hang' ? never() : Promise.reject(fault);
}

describe.each(Object.entries(AWS_CALLS))('%s', (_, { step: stepName, operation, inject }) => {
  describe.each([1, 3])('failing %i time(s) in a row', (times) => {
    test.each(Object.keys(AWS_FAULTS))(
      '%s: retried until it succeeds; bot at 0, flag off, no bet open',
      async (faultName) => {
        inject(AWS_FAULTS[faultName], times);
        const started = performance.now();
        const report = await runEmergencyStop(TRIGGER, world.deps());
        expectStopped(report, started);
        const outcome = step(report, stepName);
        expect(outcome.ok).toBe(true);
        expect(outcome.permanent).toBeUndefined();
        expect(outcome.lastError).toMatch(new RegExp(`^${operation}: `));
        // A hung attempt times out on the ladder: 150 ms, then twice as long each time.
        if (faultName === 'a request that hangs')
          expect(outcome.lastError).toMatch(new RegExp(`timed out after ${150 * 2 ** (times - 1)} ms$`));
        // Exponential waits with jitter between the attempts (random 0.5: three quarters of each cap).
        expect(world.sleeps.slice(0, times)).toEqual([75, 150, 300].slice(0, times));
      },
    );
  });
});

/** Each Betfair operation a stop retries, and how a fault is aimed at it. */
const BETFAIR_FAULTS: readonly Fault[] = [
  'http-503',
  'maintenance-page',
  'reset',
  'hang',
  'service-busy',
  'too-many-requests',
];

describe.each([
  // The first listCurrentOrders is the listing sent with the cancel-all (one attempt, for the report);
  // the faults are aimed at the check after the cancel, the one the step's success rests on.
  ['login', 0],
  ['cancelOrders', 0],
  ['listCurrentOrders', 1],
] as const)('Betfair %s', (operation, skip) => {
  describe.each([1, 3])('failing %i time(s) in a row', (times) => {
    test.each(BETFAIR_FAULTS)(
      '%s: retried until it succeeds; bot at 0, flag off, no bet open',
      async (fault) => {
        world.fake.fail(operation, 'none', skip);
        world.fake.fail(operation, fault, times);
        const started = performance.now();
        const report = await runEmergencyStop(TRIGGER, world.deps());
        expectStopped(report, started);
        const cancel = step(report, 'cancel-bets');
        expect(cancel.ok).toBe(true);
        expect(world.fake.calls(operation)).toHaveLength(skip + times + 1);
        expect(cancel.lastError).toMatch(new RegExp(`^${operation}: `));
        expect(bets(report).sizeCancelled).toBe(12.5);
      },
    );
  });
});

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

describe('production budgets', () => {
  /** The longest three waits the policy can ask for after three failures in a row. */
  const threeWaits = (p: RetryPolicy) =>
    [0, 1, 2].reduce((sum, n) => sum + Math.min(p.maxDelayMs, p.baseDelayMs * 2 ** n), 0);

  test('three hung requests in a row, their waits and the rest of the step fit inside every deadline', () => {
    const { aws, betfair } = BUDGET;
    // A request that does answer is given a generous second.
    const answered = 1_000;
    const threeHung = (p: RetryPolicy) => 3 * p.firstAttemptMs + threeWaits(p);
    // trading-flag: the read answers, the write hangs three times, then answers.
    expect(answered + threeHung(aws) + answered).toBeLessThan(BUDGET.tradingFlagMs);
    expect(threeHung(aws) + answered).toBeLessThan(BUDGET.scaleBotMs);
    expect(threeHung(aws) + answered).toBeLessThan(BUDGET.notifyMs);
    // cancel-bets: credentials, a login that hangs three times, then the listing sent with the
    // cancel-all, all before the check's reserve; the check itself fits in the reserve.
    expect(answered + threeHung(betfair) + 3 * answered).toBeLessThan(
      BUDGET.cancelBetsMs - BUDGET.checkReserveMs,
    );
    expect(answered + betfair.firstAttemptMs).toBeLessThan(BUDGET.checkReserveMs);
  });
});
