import { LambdaClient } from '@aws-sdk/client-lambda';
import { invokeFunction } from './invoke';
import { formatReport } from '../../lambda/rollback/report';
import { NothingToDo, ROLLBACK_OUTPUTS, RollbackInput, RollbackReport } from '../../lambda/rollback/types';
import { registerCommand } from './commands';
import { OpsContext, requireOutput, UsageError } from './context';
import { parseService, SERVICE_USAGE } from './service-names';

/** Nothing-to-do reasons after which the operator has nothing left to do (exit 0). */
const SETTLED = new Set<NothingToDo>([
  'already-rolled-back',
  'undone-by-ecs',
  'rollback-in-progress',
  'already-on-target',
]);

/** Lambda refused to start the function: its one-at-a-time slot is taken, or the account is throttled. */
class Busy extends Error {}

async function invoke(
  lambda: LambdaClient,
  functionName: string,
  input: RollbackInput,
): Promise<RollbackReport> {
  let answer;
  try {
    answer = await invokeFunction(lambda, functionName, input);
  } catch (err) {
    if ((err as { name?: string }).name === 'TooManyRequestsException')
      throw new Busy((err as Error).message);
    throw err;
  }
  const { text: payload, json: parsed, error } = answer;
  if (error) throw new Error(`${functionName} failed: ${error.errorMessage ?? payload}`);
  const report = parsed as RollbackReport | undefined;
  if (!report?.outcome) throw new Error(`Unexpected answer from ${functionName}: ${payload}`);
  return report;
}

function print(ctx: OpsContext, report: RollbackReport): void {
  for (const line of formatReport(report)) ctx.print(line);
}

function exitCode(report: RollbackReport): number {
  if (report.notificationError) return 1;
  if (report.outcome === 'nothing-to-do') return report.why && SETTLED.has(report.why) ? 0 : 1;
  return report.outcome === 'rolled-back' || report.outcome === 'planned' ? 0 : 1;
}

registerCommand('rollback', {
  usage: `rollback --env <env> --service ${SERVICE_USAGE} [--to <revision>] [--dry-run | --yes] [--reason "<why>"] [--by <name>]   show the rollback plan; --yes carries it out; --to names a revision (how to roll forward, or further back)`,
  options: { service: 'value', yes: 'flag', 'dry-run': 'flag', to: 'value', reason: 'value', by: 'value' },
  conflicts: [['dry-run', 'yes']],
  async run(args, ctx) {
    const service = parseService(args.options.service);
    const to = args.options.to as string | undefined;
    if (
      to !== undefined &&
      !/^([A-Za-z0-9_-]{1,255}:)?\d{1,9}$|^arn:aws[a-z-]*:ecs:.+:task-definition\/.+:\d+$/.test(to)
    )
      throw new UsageError(
        `--to "${to}" is not a revision: use a revision number (--to 11), <family>:<revision> or a task-definition ARN`,
      );
    const requestedBy =
      (typeof args.options.by === 'string' ? args.options.by : process.env.USER)?.trim() ||
      'unknown operator';
    const reason = typeof args.options.reason === 'string' ? args.options.reason : undefined;
    const planner = await requireOutput(ctx, ROLLBACK_OUTPUTS.plan);
    // One attempt: an SDK retry after a slow response would invoke the rollback a second time.
    const lambda = new LambdaClient({ region: ctx.env.region, maxAttempts: 1 });
    const base = { service, requestedBy, reason, ...(to ? { to } : {}) };
    const again = `npm run ops -- rollback --env ${ctx.env.name} --service ${service}${to ? ` --to ${to}` : ''}`;

    let plan: RollbackReport;
    try {
      plan = await invoke(lambda, planner, { ...base, dryRun: true });
    } catch (err) {
      if (err instanceof Busy)
        throw new Error(
          `Lambda is throttling the account's functions right now (${err.message}): nothing was changed. Try again in a minute.`,
        );
      throw err;
    }
    print(ctx, plan);
    if (plan.outcome === 'nothing-to-do' || !plan.plan) return exitCode(plan);
    if (args.options.yes !== true) {
      ctx.print('');
      ctx.print('Dry run: nothing was changed. To do it:');
      ctx.print(`  ${again} --yes`);
      return 0;
    }

    ctx.print('');
    ctx.print(`Rolling ${service} in ${ctx.env.name} as planned (waits until the service is stable)…`);
    const actor = await requireOutput(ctx, ROLLBACK_OUTPUTS[service]);
    const started = new Date();
    let result: RollbackReport;
    try {
      // The plan travels with the request: the function acts only while it is still the plan.
      result = await invoke(lambda, actor, { ...base, dryRun: false, plan: plan.plan });
    } catch (err) {
      if (!(err instanceof Busy)) throw err;
      const bound = ctx.env.rollback.waitForStableMinutes + 3;
      const latest = new Date(started.getTime() + bound * 60_000);
      ctx.print(
        `A ${service} rollback is already running (one at a time per service; an alarm may have started it): this command changed nothing.`,
      );
      const now = await invoke(lambda, planner, { ...base, dryRun: true }).catch(() => undefined);
      if (now) ctx.print(`What ECS shows now: ${now.summary}`);
      ctx.print(
        `Try again after ${latest.toISOString()} at the latest (a run lasts at most ${bound} min), or as soon as ${again} no longer shows a rollback in progress.`,
      );
      return 1;
    }
    print(ctx, result);
    if (result.why === 'stale-plan') {
      ctx.print('');
      ctx.print(`The plan above replaces the one you confirmed. Read it, then run: ${again} --yes`);
    }
    return exitCode(result);
  },
});
