import { LambdaClient } from '@aws-sdk/client-lambda';
import { userInfo } from 'node:os';
import { setTimeout as sleep } from 'node:timers/promises';
import { Invocation, invokeFunction } from './invoke';
import { formatReport, reportFromErrorMessage, StopReport } from '../../lambda/emergency-stop/report';
import { registerCommand } from './commands';
import { credentialsProblem, OpsContext, requireOutput, UsageError } from './context';

/** Where a person finds the by-hand stop when the function cannot be reached. */
export const MANUAL_STOP =
  'If you cannot get working credentials now, stop trading by hand: docs/runbooks.md#emergency-stop.';

/**
 * Who asked: `--by`, else `$USER`, else the operating system's user name (`$USER` is unset under
 * cron, in some containers and on Windows). Recorded in the config secret and the notification.
 */
export function requester(by: string | boolean | undefined, osUser: () => string = osUserName): string {
  const name = typeof by === 'string' ? by.trim() : process.env.USER?.trim() || osUser();
  if (!name)
    throw new UsageError(
      '--by <name> is required: neither $USER nor the operating system names you, and the stop records who asked',
    );
  return name;
}

function osUserName(): string {
  try {
    return userInfo().username.trim();
  } catch {
    // userInfo() throws for a uid without a passwd entry (some containers).
    return '';
  }
}

/**
 * How long `ops emergency-stop` waits for a stop that is already running. The function runs one
 * stop at a time (reserved concurrency 1), so Lambda refuses a second invocation while an
 * alarm-triggered run is in flight; that run takes at most the function's timeout. Tests shorten it.
 */
export const RUNNING_STOP_WAIT = {
  /** Pause between two invocation attempts, in milliseconds. */
  pollMs: 3_000,
  /** Longest wait, in milliseconds: a running stop plus Lambda's retry of it, with slack. */
  maxWaitMs: 4 * 60_000,
};

/** Lambda's answer when the function's one concurrent run is taken. */
function isBusy(err: unknown): boolean {
  return (err as { name?: string } | undefined)?.name === 'TooManyRequestsException';
}

/**
 * Invokes the stop synchronously. While another run holds the function (an alarm's), waits for it
 * and then runs this one, which finds and reports the state the other left: flag already off (with
 * who stopped it), bot at zero, bets checked again. A person never sees a bare throttling error.
 */
async function invokeWhenFree(
  ctx: OpsContext,
  lambda: LambdaClient,
  functionName: string,
  payload: unknown,
): Promise<Invocation | undefined> {
  const started = Date.now();
  for (let waited = false; ; waited = true) {
    try {
      const result = await invokeFunction(lambda, functionName, payload);
      if (waited) ctx.print('The running stop has finished; this stop ran after it and confirms the state:');
      return result;
    } catch (err) {
      if (!isBusy(err)) throw err;
      const elapsed = Date.now() - started;
      if (elapsed >= RUNNING_STOP_WAIT.maxWaitMs) {
        ctx.print(
          `Another emergency stop still holds ${functionName} after ${Math.round(elapsed / 1000)} s. ` +
            `Check with npm run ops -- status --env ${ctx.env.name} whether trading is halted, and run this ` +
            'command again, or stop by hand: docs/runbooks.md#emergency-stop.',
        );
        return undefined;
      }
      if (!waited)
        ctx.print(
          'An emergency stop is already running (an alarm started it; the function runs one stop at a time). ' +
            'Waiting for it to finish; this stop then runs and reports what it finds.',
        );
      await sleep(RUNNING_STOP_WAIT.pollMs);
    }
  }
}

registerCommand('emergency-stop', {
  usage:
    'emergency-stop --env <env> --reason "<why>" [--by <name>]   stop all trading now: flag off, bot to zero, cancel unmatched bets, page on-call',
  options: { reason: 'value', by: 'value' },
  async run(args, ctx) {
    const reason = args.options.reason;
    if (typeof reason !== 'string' || reason.trim() === '')
      throw new UsageError(
        '--reason "<why>" is required: it goes into the config secret and the on-call notification',
      );
    const requestedBy = requester(args.options.by);
    let invocation: Invocation | undefined;
    let functionName: string;
    try {
      functionName = await requireOutput(ctx, 'EmergencyStopFunctionName');
      ctx.print(
        `Stopping all trading in ${ctx.env.name} (${functionName}), requested by ${requestedBy}: ${reason}`,
      );
      const lambda = new LambdaClient({ region: ctx.env.region });
      // Synchronous, so the steps' outcomes come back here; the run has its own step deadlines.
      invocation = await invokeWhenFree(ctx, lambda, functionName, {
        source: 'manual',
        reason,
        requestedBy,
      });
    } catch (err) {
      const problem = credentialsProblem(err, ctx.env, MANUAL_STOP, 'emergency-stop');
      if (!problem) throw err;
      for (const line of problem.split('\n')) ctx.print(line);
      return 1;
    }
    if (!invocation) return 1;
    const { text: payload, json, error } = invocation;
    if (error) {
      const report = reportFromErrorMessage(error?.errorMessage ?? '');
      if (report) {
        for (const line of formatReport(report)) ctx.print(line);
        ctx.print(
          'The function retries only when an alarm invoked it: run this command again, or finish by hand (docs/runbooks.md#emergency-stop).',
        );
      } else {
        ctx.print(
          `The emergency stop failed before reporting: ${error?.errorType ?? 'error'}: ${error?.errorMessage ?? payload}`,
        );
        ctx.print('Stop by hand now (docs/runbooks.md#emergency-stop).');
      }
      return 1;
    }
    const report = json as StopReport | undefined;
    if (!report?.steps) {
      ctx.print(`Unexpected answer from ${functionName}: ${payload}`);
      return 1;
    }
    for (const line of formatReport(report)) ctx.print(line);
    return report.ok ? 0 : 1;
  },
});
