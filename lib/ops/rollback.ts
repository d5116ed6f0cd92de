import { LambdaClient } from '@aws-sdk/client-lambda';
import { invokeFunction } from './invoke';
import { formatReport } from '../../lambda/rollback/report';
import { RollbackInput, RollbackReport, SERVICE_KEYS, ServiceKey } from '../../lambda/rollback/types';
import { registerCommand } from './commands';
import { OpsContext, requireOutput, UsageError } from './context';

/** Outcomes after which there is nothing left for the operator to do. */
const DONE = new Set<RollbackReport['outcome']>([
  'rolled-back',
  'deployment-stopped',
  'already-on-target',
  'already-rolling-back',
]);

async function invoke(
  lambda: LambdaClient,
  functionName: string,
  input: RollbackInput,
): Promise<RollbackReport> {
  const { text: payload, json: parsed, error } = await invokeFunction(lambda, functionName, input);
  if (error) throw new Error(`${functionName} failed: ${error.errorMessage ?? payload}`);
  const report = parsed as RollbackReport | undefined;
  if (!report?.outcome) throw new Error(`Unexpected answer from ${functionName}: ${payload}`);
  return report;
}

function print(ctx: OpsContext, report: RollbackReport): void {
  for (const line of formatReport(report)) ctx.print(line);
}

registerCommand('rollback', {
  usage:
    'rollback --env <env> --service <bot|ml-service> [--yes] [--reason "<why>"] [--by <name>]   show the rollback plan; --yes rolls back to the last successful deployment',
  options: { service: 'value', yes: 'flag', reason: 'value', by: 'value' },
  async run(args, ctx) {
    const service = args.options.service;
    if (!SERVICE_KEYS.includes(service as ServiceKey))
      throw new UsageError(
        `--service ${typeof service === 'string' ? `"${service}" is not a service` : 'is missing'}: use --service ${SERVICE_KEYS.join(' | ')}`,
      );
    const requestedBy =
      (typeof args.options.by === 'string' ? args.options.by : process.env.USER)?.trim() ||
      'unknown operator';
    const reason = typeof args.options.reason === 'string' ? args.options.reason : undefined;
    const functionName = await requireOutput(ctx, 'RollbackFunctionName');
    // One attempt: an SDK retry after a slow response would invoke the rollback a second time.
    const lambda = new LambdaClient({ region: ctx.env.region, maxAttempts: 1 });
    const base = { service: service as ServiceKey, requestedBy, reason };

    const plan = await invoke(lambda, functionName, { ...base, dryRun: true });
    print(ctx, plan);
    if (plan.action === 'none') return plan.outcome === 'refused' ? 1 : 0;
    if (args.options.yes !== true) {
      ctx.print('');
      ctx.print('Dry run: nothing was changed. To do it:');
      ctx.print(`  npm run ops -- rollback --env ${ctx.env.name} --service ${service} --yes`);
      return 0;
    }

    ctx.print('');
    ctx.print(`Rolling back ${service} in ${ctx.env.name} (waits until the service is stable)…`);
    // The plan's revisions travel with the request: the function refuses if the service moved since
    // the dry run, and does nothing if it already runs the target.
    const result = await invoke(lambda, functionName, {
      ...base,
      dryRun: false,
      targetTaskDefinition: plan.to?.taskDefinitionArn,
      expectedCurrentTaskDefinition:
        plan.action === 'update-service' ? plan.from?.taskDefinitionArn : undefined,
    });
    print(ctx, result);
    return DONE.has(result.outcome) && result.stable !== false ? 0 : 1;
  },
});
