import { InvokeCommand, LambdaClient } from '@aws-sdk/client-lambda';
import { mockClient } from 'aws-sdk-client-mock';
import { userInfo } from 'node:os';
import { production, staging } from '../../environments';
import { EmergencyStopIncompleteError, StopReport } from '../../lambda/emergency-stop/report';
import { SIZE_SOURCES } from '../../lambda/emergency-stop/steps';
import { main } from '../../lib/ops';
import { credentialsProblem } from '../../lib/ops/context';
import { MANUAL_STOP, requester, RUNNING_STOP_WAIT } from '../../lib/ops/emergency-stop';
import { fakeContext } from './ops-context';

const lambdaMock = mockClient(LambdaClient);
const OUTPUTS = { EmergencyStopFunctionName: 'ProductionStack-EmergencyStopFunction-abc' };

const report = (failed: boolean): StopReport => ({
  environment: 'production',
  trigger: {
    kind: 'manual',
    reason: 'runaway strategy',
    requestedBy: 'alice',
    at: '2026-05-01T12:00:00.000Z',
  },
  startedAt: '2026-05-01T12:00:00.000Z',
  finishedAt: '2026-05-01T12:00:01.200Z',
  ok: !failed,
  failedSteps: failed ? ['cancel-bets'] : [],
  steps: [
    {
      step: 'trading-flag',
      ok: true,
      summary: 'live_trading_enabled=false written to clever-better/production/config (version v2)',
      durationMs: 210,
      attempts: 2,
    },
    {
      step: 'scale-bot',
      ok: true,
      summary: 'clever-better-production/bot desiredCount 0 (1 task(s) stopping)',
      durationMs: 120,
      attempts: 1,
    },
    failed
      ? {
          step: 'cancel-bets',
          ok: false,
          summary: 'cancelOrders SUCCESS; 2 unmatched bet(s) still open, stake 12.50',
          durationMs: 900,
          attempts: 12,
          lastError: 'cancelOrders: Betfair cancelOrders: ERROR_IN_MATCHER',
          details: {
            cancelAttempts: 9,
            relogins: 0,
            openBets: 2,
            openSize: 12.5,
            openBetIds: ['101', '102'],
          },
        }
      : {
          step: 'cancel-bets',
          ok: true,
          summary: 'cancelOrders SUCCESS; no unmatched bets open; size cancelled 12.50 in 2 bet(s)',
          durationMs: 900,
          attempts: 5,
          details: {
            cancelAttempts: 1,
            relogins: 0,
            openBets: 0,
            openSize: 0,
            openBetIds: [],
            cancelledBets: 2,
            sizeCancelled: 12.5,
            sizeCancelledFrom: SIZE_SOURCES.listings,
          },
        },
    {
      step: 'notify',
      ok: true,
      summary: 'published to the on-call topic (message m-1)',
      durationMs: 100,
      attempts: 1,
    },
  ],
});

const bytes = (value: unknown) => new TextEncoder().encode(JSON.stringify(value));

beforeEach(() => lambdaMock.reset());

describe('npm run ops -- emergency-stop', () => {
  test('invokes the function synchronously with a manual event carrying the reason and who asked, and prints every step', async () => {
    lambdaMock.on(InvokeCommand).resolves({ StatusCode: 200, Payload: bytes(report(false)) as never });
    const ctx = fakeContext(production, OUTPUTS);
    const code = await main(
      ['emergency-stop', '--env', 'production', '--reason', 'runaway strategy', '--by', 'alice'],
      () => ctx,
    );
    expect(code).toBe(0);
    const input = lambdaMock.commandCalls(InvokeCommand)[0].args[0].input;
    expect(input.FunctionName).toBe(OUTPUTS.EmergencyStopFunctionName);
    expect(input.InvocationType).toBe('RequestResponse');
    expect(JSON.parse(new TextDecoder().decode(input.Payload as Uint8Array))).toEqual({
      source: 'manual',
      reason: 'runaway strategy',
      requestedBy: 'alice',
    });
    expect(ctx.lines).toEqual(
      expect.arrayContaining([
        'Emergency stop of production COMPLETE',
        expect.stringMatching(
          /^\[ok\] +Disable live trading \(config secret\): live_trading_enabled=false written/,
        ),
        expect.stringMatching(/^\[ok\] +Scale the bot to zero: clever-better-production\/bot desiredCount 0/),
        expect.stringMatching(/^\[ok\] +Cancel unmatched bets on Betfair: cancelOrders SUCCESS/),
        expect.stringMatching(/^\[ok\] +Notify on-call: published/),
        'Unmatched bets still open: 0',
        `Size cancelled: 12.50 in 2 bet(s) (from ${SIZE_SOURCES.listings})`,
      ]),
    );
  });

  test('takes who asked from $USER when --by is not given', async () => {
    lambdaMock.on(InvokeCommand).resolves({ StatusCode: 200, Payload: bytes(report(false)) as never });
    const saved = process.env.USER;
    process.env.USER = 'bob';
    try {
      await main(['emergency-stop', '--env', 'production', '--reason', 'drill'], () =>
        fakeContext(production, OUTPUTS),
      );
    } finally {
      process.env.USER = saved;
    }
    const input = lambdaMock.commandCalls(InvokeCommand)[0].args[0].input;
    expect(JSON.parse(new TextDecoder().decode(input.Payload as Uint8Array)).requestedBy).toBe('bob');
  });

  test('fails with a non-zero exit and prints each step when a step failed', async () => {
    const error = new EmergencyStopIncompleteError(report(true));
    lambdaMock.on(InvokeCommand).resolves({
      StatusCode: 200,
      FunctionError: 'Unhandled',
      Payload: bytes({ errorType: error.name, errorMessage: error.message, trace: [] }) as never,
    });
    const ctx = fakeContext(production, OUTPUTS);
    const code = await main(
      ['emergency-stop', '--env', 'production', '--reason', 'x', '--by', 'alice'],
      () => ctx,
    );
    expect(code).toBe(1);
    expect(ctx.lines).toEqual(
      expect.arrayContaining([
        'Emergency stop of production INCOMPLETE (cancel-bets failed)',
        expect.stringMatching(
          /^\[FAILED\] Cancel unmatched bets on Betfair: cancelOrders SUCCESS; 2 unmatched bet\(s\) still open, stake 12.50 \(12 requests; last error cancelOrders: Betfair cancelOrders: ERROR_IN_MATCHER; 0.9 s\)$/,
        ),
        'Unmatched bets still open: 2, stake 12.50 (bet ids 101, 102)',
      ]),
    );
  });

  test('fails when the function crashed before reporting, and says to stop by hand', async () => {
    lambdaMock.on(InvokeCommand).resolves({
      FunctionError: 'Unhandled',
      Payload: bytes({
        errorType: 'Sandbox.Timedout',
        errorMessage: 'Task timed out after 60.00 seconds',
      }) as never,
    });
    const ctx = fakeContext(production, OUTPUTS);
    expect(
      await main(['emergency-stop', '--env', 'production', '--reason', 'x', '--by', 'a'], () => ctx),
    ).toBe(1);
    expect(ctx.lines).toContain(
      'The emergency stop failed before reporting: Sandbox.Timedout: Task timed out after 60.00 seconds',
    );
    expect(ctx.lines).toContain('Stop by hand now (docs/runbooks.md#emergency-stop).');
  });

  test('fails with usage (exit 2) without --reason, invoking nothing', async () => {
    const stderr = jest.spyOn(process.stderr, 'write').mockImplementation(() => true);
    try {
      expect(
        await main(['emergency-stop', '--env', 'production'], () => fakeContext(production, OUTPUTS)),
      ).toBe(2);
      expect(String(stderr.mock.calls[0][0])).toContain('--reason "<why>" is required');
    } finally {
      stderr.mockRestore();
    }
    expect(lambdaMock.calls()).toHaveLength(0);
  });

  test('fails naming the missing stack output when the stack predates the emergency stop', async () => {
    const stderr = jest.spyOn(process.stderr, 'write').mockImplementation(() => true);
    try {
      expect(
        await main(['emergency-stop', '--env', 'production', '--reason', 'x', '--by', 'a'], () =>
          fakeContext(production, {}),
        ),
      ).toBe(1);
      expect(String(stderr.mock.calls[0][0])).toContain(
        'Stack ProductionStack has no output EmergencyStopFunctionName',
      );
    } finally {
      stderr.mockRestore();
    }
  });

  test('takes who asked from the operating system when $USER is unset', async () => {
    lambdaMock.on(InvokeCommand).resolves({ StatusCode: 200, Payload: bytes(report(false)) as never });
    const saved = process.env.USER;
    delete process.env.USER;
    try {
      expect(
        await main(['emergency-stop', '--env', 'production', '--reason', 'drill'], () =>
          fakeContext(production, OUTPUTS),
        ),
      ).toBe(0);
    } finally {
      process.env.USER = saved;
    }
    const input = lambdaMock.commandCalls(InvokeCommand)[0].args[0].input;
    expect(JSON.parse(new TextDecoder().decode(input.Payload as Uint8Array)).requestedBy).toBe(
      userInfo().username,
    );
  });

  test('fails with usage when neither --by, $USER nor the operating system names the person', () => {
    const saved = process.env.USER;
    delete process.env.USER;
    try {
      expect(() => requester(undefined, () => '')).toThrow(
        /--by <name> is required: neither \$USER nor the operating system names you/,
      );
      expect(requester('  dana ', () => '')).toBe('dana');
    } finally {
      process.env.USER = saved;
    }
  });

  test('refuses an option it does not take (--dry-run) with exit 2, before any AWS call', async () => {
    const stderr = jest.spyOn(process.stderr, 'write').mockImplementation(() => true);
    try {
      expect(
        await main(['emergency-stop', '--env', 'production', '--reason', 'x', '--dry-run'], () =>
          fakeContext(production, OUTPUTS),
        ),
      ).toBe(2);
      expect(String(stderr.mock.calls[0][0])).toContain('emergency-stop does not take --dry-run');
    } finally {
      stderr.mockRestore();
    }
    expect(lambdaMock.calls()).toHaveLength(0);
  });
});

describe('npm run ops -- emergency-stop while an alarm-triggered stop is running', () => {
  const throttled = () =>
    Object.assign(new Error('Rate Exceeded.'), {
      name: 'TooManyRequestsException',
      Reason: 'ReservedFunctionConcurrentInvocationLimitExceeded',
      $metadata: { httpStatusCode: 429 },
    });
  const saved = { ...RUNNING_STOP_WAIT };
  beforeEach(() => Object.assign(RUNNING_STOP_WAIT, { pollMs: 5, maxWaitMs: 2_000 }));
  afterEach(() => Object.assign(RUNNING_STOP_WAIT, saved));

  test('waits for the running stop, then runs and prints its own outcome: never a bare throttling error', async () => {
    lambdaMock
      .on(InvokeCommand)
      .rejectsOnce(throttled())
      .rejectsOnce(throttled())
      .resolves({ StatusCode: 200, Payload: bytes(report(false)) as never });
    const ctx = fakeContext(production, OUTPUTS);
    const stderr = jest.spyOn(process.stderr, 'write').mockImplementation(() => true);
    let code: number;
    try {
      code = await main(
        ['emergency-stop', '--env', 'production', '--reason', 'drill', '--by', 'alice'],
        () => ctx,
      );
    } finally {
      stderr.mockRestore();
    }
    expect(code).toBe(0);
    expect(stderr).not.toHaveBeenCalled();
    expect(lambdaMock.commandCalls(InvokeCommand)).toHaveLength(3);
    expect(ctx.lines).toEqual(
      expect.arrayContaining([
        expect.stringMatching(/^An emergency stop is already running \(an alarm started it/),
        'The running stop has finished; this stop ran after it and confirms the state:',
        'Emergency stop of production COMPLETE',
      ]),
    );
    expect(ctx.lines.join('\n')).not.toMatch(/TooManyRequests|Rate Exceeded/);
  });

  test('says what to do, still without a throttling error, when the function stays busy past the wait', async () => {
    Object.assign(RUNNING_STOP_WAIT, { pollMs: 5, maxWaitMs: 30 });
    lambdaMock.on(InvokeCommand).rejects(throttled());
    const ctx = fakeContext(production, OUTPUTS);
    const code = await main(
      ['emergency-stop', '--env', 'production', '--reason', 'drill', '--by', 'alice'],
      () => ctx,
    );
    expect(code).toBe(1);
    expect(ctx.lines.at(-1)).toMatch(
      /^Another emergency stop still holds ProductionStack-EmergencyStopFunction-abc after \d+ s\. Check with npm run ops -- status --env production .* docs\/runbooks.md#emergency-stop\.$/,
    );
    expect(ctx.lines.join('\n')).not.toMatch(/TooManyRequests|Rate Exceeded/);
  });
});

describe('credentials failures', () => {
  test.each([
    ['no credentials at all', 'CredentialsProviderError', 'Could not load credentials from any providers'],
    ['expired credentials', 'ExpiredTokenException', 'The security token included in the request is expired'],
    [
      'credentials AWS does not know',
      'UnrecognizedClientException',
      'The security token included in the request is invalid.',
    ],
  ])(
    'a stop with %s names the account, how to authenticate and the by-hand stop',
    async (_, name, message) => {
      lambdaMock.on(InvokeCommand).rejects(Object.assign(new Error(message), { name }));
      const ctx = fakeContext(production, OUTPUTS);
      expect(
        await main(['emergency-stop', '--env', 'production', '--reason', 'x', '--by', 'a'], () => ctx),
      ).toBe(1);
      expect(ctx.lines).toEqual(
        expect.arrayContaining([
          `AWS did not accept the credentials: ${name}: ${message}`,
          `production is AWS account ${production.account} (${production.region}). Authenticate to it, e.g. ` +
            '`aws sso login --profile <profile>` then `export AWS_PROFILE=<profile>`, and check that ' +
            `\`aws sts get-caller-identity\` shows Account ${production.account}.`,
          MANUAL_STOP,
        ]),
      );
    },
  );

  test('a stop whose stack lookup is refused says the same, before any invocation', async () => {
    const ctx = {
      ...fakeContext(production, OUTPUTS),
      outputs: () => Promise.reject(Object.assign(new Error('expired'), { name: 'ExpiredToken' })),
    };
    const lines: string[] = [];
    ctx.print = (l: string) => lines.push(l);
    expect(
      await main(['emergency-stop', '--env', 'production', '--reason', 'x', '--by', 'a'], () => ctx),
    ).toBe(1);
    expect(lines).toContain(MANUAL_STOP);
    expect(lambdaMock.calls()).toHaveLength(0);
  });

  test('every other ops command words it the same way, without the stop fallback', async () => {
    const ctx = {
      ...fakeContext(staging, {}),
      outputs: () =>
        Promise.reject(
          Object.assign(new Error('Could not load credentials'), { name: 'CredentialsProviderError' }),
        ),
    };
    const stderr = jest.spyOn(process.stderr, 'write').mockImplementation(() => true);
    try {
      expect(await main(['resume', '--env', 'staging', '--by', 'a', '--yes'], () => ctx)).toBe(1);
      const text = String(stderr.mock.calls[0][0]);
      expect(text).toContain(`staging is AWS account ${staging.account} (${staging.region})`);
      expect(text).toContain('aws sts get-caller-identity');
      expect(text).not.toContain('docs/runbooks.md#emergency-stop');
    } finally {
      stderr.mockRestore();
    }
  });

  test('errors that are not about credentials pass through unchanged', () => {
    expect(credentialsProblem(new Error('boom'), production)).toBeUndefined();
    expect(credentialsProblem(undefined, production)).toBeUndefined();
  });
});
