import { LambdaClient } from '@aws-sdk/client-lambda';
import { invokeFunction } from './invoke';
import { formatReport, reportFromErrorMessage, StopReport } from '../../lambda/emergency-stop/report';
import { registerCommand } from './commands';
import { requireOutput, UsageError } from './context';

/** Who asked: `--by`, else the login name. Recorded in the config secret and the notification. */
export function requester(by: string | boolean | undefined): string {
  const name = typeof by === 'string' ? by.trim() : process.env.USER?.trim();
  if (!name)
    throw new UsageError('--by <name> is required when $USER is not set: the stop records who asked');
  return name;
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
    const functionName = await requireOutput(ctx, 'EmergencyStopFunctionName');
    ctx.print(
      `Stopping all trading in ${ctx.env.name} (${functionName}), requested by ${requestedBy}: ${reason}`,
    );

    const lambda = new LambdaClient({ region: ctx.env.region });
    // Synchronous, so the steps' outcomes come back here; the run has its own step deadlines.
    const {
      text: payload,
      json,
      error,
    } = await invokeFunction(lambda, functionName, {
      source: 'manual',
      reason,
      requestedBy,
    });
    if (error) {
      const report = reportFromErrorMessage(error?.errorMessage ?? '');
      if (report) {
        for (const line of formatReport(report)) ctx.print(line);
        ctx.print(
          'The function retries only when an alarm invoked it: run this command again, or finish by hand (README "Emergency stop").',
        );
      } else {
        ctx.print(
          `The emergency stop failed before reporting: ${error?.errorType ?? 'error'}: ${error?.errorMessage ?? payload}`,
        );
        ctx.print('Stop by hand now (README "Emergency stop").');
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
