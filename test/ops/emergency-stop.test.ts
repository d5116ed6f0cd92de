import { InvokeCommand, LambdaClient } from '@aws-sdk/client-lambda';
import { mockClient } from 'aws-sdk-client-mock';
import { production } from '../../environments';
import { EmergencyStopIncompleteError, StopReport } from '../../lambda/emergency-stop/report';
import { main } from '../../lib/ops';
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
    },
    {
      step: 'scale-bot',
      ok: true,
      summary: 'clever-better-production/bot desiredCount 0 (1 task(s) stopping)',
      durationMs: 120,
    },
    failed
      ? {
          step: 'cancel-bets',
          ok: false,
          summary: 'cancelOrders SUCCESS; 2 unmatched bet(s) still open, stake 12.50',
          durationMs: 900,
          details: {
            cancelAttempts: 1,
            relogins: 0,
            openBets: 2,
            openSize: 12.5,
            openBetIds: ['101', '102'],
            matchedBets: 1,
            matchedSize: 20,
          },
        }
      : {
          step: 'cancel-bets',
          ok: true,
          summary: 'cancelOrders SUCCESS; no unmatched bets open; 1 matched bet(s) stay matched',
          durationMs: 900,
          details: {
            cancelAttempts: 1,
            relogins: 0,
            openBets: 0,
            openSize: 0,
            openBetIds: [],
            matchedBets: 1,
            matchedSize: 20,
          },
        },
    { step: 'notify', ok: true, summary: 'published to the on-call topic (message m-1)', durationMs: 100 },
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
        'Matched bets (not cancellable): 1, matched stake 20.00',
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
          /^\[FAILED\] Cancel unmatched bets on Betfair: cancelOrders SUCCESS; 2 unmatched bet\(s\) still open/,
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
    expect(ctx.lines).toContain('Stop by hand now (README "Emergency stop").');
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
});
