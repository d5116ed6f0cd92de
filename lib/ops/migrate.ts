import { LambdaClient } from '@aws-sdk/client-lambda';
import { invokeFunction } from './invoke';
import type { OperatorResponse } from '../../lambda/db-migrate/operations';
import { registerCommand } from './commands';
import { OpsContext, requireOutput, UsageError } from './context';

/**
 * `npm run ops -- migrate <version|up|down N|goto V|force V> --env <env>`: the guide's
 * `migrate -path migrations -database … <verb>`, run by the migration function inside the VPC
 * (the same code the deploy's custom resource runs), printing what golang-migrate prints.
 * `down`, and `goto` to a lower version, first list the down files and ask.
 */

/** The request sent to the migration function (lambda/db-migrate/operations.ts). */
type MigrateRequest =
  | { command: 'version' }
  | { command: 'up'; limit?: number }
  | { command: 'down'; steps: number; endServiceSessions?: boolean }
  | { command: 'goto'; version: string; endServiceSessions?: boolean }
  | { command: 'force'; version: string }
  | { command: 'ensure-partitions' };

const VERBS = 'version | up [N] | down N | goto V | force V | ensure-partitions';

function wholeNumber(word: string | undefined, what: string, min: bigint, example: string): string {
  if (word === undefined || !/^-?[0-9]+$/.test(word) || BigInt(word) < min) {
    throw new UsageError(
      `${what} ${word === undefined ? 'is missing' : `"${word}" is not a whole number >= ${min}`}: e.g. npm run ops -- migrate ${example} --env <env>`,
    );
  }
  return String(BigInt(word));
}

/** Parses the words after `migrate`, golang-migrate style. */
export function parseMigrateArgs(words: readonly string[]): MigrateRequest {
  const [verb, arg, extra] = words;
  if (extra !== undefined) throw new UsageError(`too many arguments: migrate ${VERBS}`);
  switch (verb) {
    case 'version':
      if (arg !== undefined) throw new UsageError('version takes no argument');
      return { command: 'version' };
    case 'up':
      return arg === undefined
        ? { command: 'up' }
        : { command: 'up', limit: Number(wholeNumber(arg, 'N', 1n, 'up 1')) };
    case 'down':
      // golang-migrate's bare `down` undoes every migration; here the count is always explicit.
      return {
        command: 'down',
        steps: Number(wholeNumber(arg, 'N (how many migrations to undo)', 1n, 'down 1')),
      };
    case 'goto':
      return { command: 'goto', version: wholeNumber(arg, 'V', 0n, 'goto 20240115120000') };
    case 'force':
      return { command: 'force', version: wholeNumber(arg, 'V', -1n, 'force 20240115120000') };
    case 'ensure-partitions':
      // The daily upkeep by hand (docs/migrations.md, "Partition upkeep").
      if (arg !== undefined) throw new UsageError('ensure-partitions takes no argument');
      return { command: 'ensure-partitions' };
    default:
      throw new UsageError(
        `${verb === undefined ? 'a verb is missing' : `"${verb}" is not a migrate verb`}: use migrate ${VERBS}`,
      );
  }
}

async function invoke(
  lambda: LambdaClient,
  functionName: string,
  request: MigrateRequest & { dryRun?: boolean },
): Promise<OperatorResponse> {
  const { text: payload, json: parsed, error } = await invokeFunction(lambda, functionName, request);
  if (error) {
    // The function throws golang-migrate's own messages (e.g. "Dirty database version 3. Fix and
    // force version."); the CLI prints them after "error: ", as main() does with this one.
    throw new Error(error.errorMessage ?? payload);
  }
  const response = parsed as OperatorResponse | undefined;
  if (!response || !Array.isArray(response.output))
    throw new Error(`Unexpected answer from ${functionName}: ${payload}`);
  return response;
}

/** Lists the files a down-going command will run and asks; true when there is nothing to ask about. */
async function confirmDowns(ctx: OpsContext, plan: OperatorResponse): Promise<boolean> {
  const downs = plan.steps.filter((s) => s.direction === 'down');
  if (downs.length === 0) return true;
  ctx.print(
    `${ctx.env.name}: the database is at version ${plan.version}. These down migrations will run, in order ` +
      '(they can drop tables and the data in them):',
  );
  for (const step of plan.steps) {
    const after = step.target === '-1' ? 'no version' : `version ${step.target}`;
    ctx.print(
      `  ${step.file ?? `(no ${step.direction} file for ${step.version}; only the version changes)`}  -> ${after}`,
    );
  }
  for (const line of plan.output.filter((l) => l.startsWith('then fail'))) ctx.print(`  ${line}`);
  return ctx.confirm(`Run ${downs.length} down migration(s) on ${ctx.env.name}?`);
}

/**
 * `goto V` to a version the deployed files do not have: golang-migrate's own words ("no migration
 * found for version V: read down for version V .: file does not exist") name neither the mistake
 * nor the fix, and nothing has run yet, so say both before running anything.
 */
function refuseUnknownTarget(version: string, plan: OperatorResponse): void {
  const missing = plan.output.find((l) => l.includes(`no migration found for version ${version}`));
  if (!missing || plan.steps.length > 0) return;
  throw new UsageError(
    `goto ${version}: ${version} is not a version of the deployed migrations (the database is at ` +
      `${plan.version ?? 'no version'}); nothing was run. A version is the number before "_" in ` +
      'migrations/<version>_<title>.up.sql, e.g. migrate goto 20240115120000',
  );
}

/**
 * `force V` records V without running anything, so it must be a version the deployed files have (or
 * -1, no version): otherwise every later `up` starts from a version no file has. Functions deployed
 * before `deployedVersions` existed do not send it; then only golang-migrate's own checks apply.
 */
function refuseUnknownForce(version: string, plan: OperatorResponse): void {
  const deployed = plan.deployedVersions;
  if (version === '-1' || !Array.isArray(deployed) || deployed.includes(version)) return;
  const range =
    deployed.length === 0 ? 'none are deployed' : `they go from ${deployed[0]} to ${deployed.at(-1)}`;
  throw new UsageError(
    `force ${version}: ${version} is not a version of the deployed migrations (${range}; the database is at ` +
      `${plan.version ?? 'no version'}${plan.dirty ? ', dirty' : ''}); nothing was changed. Force the version ` +
      'whose files last ran cleanly (docs/migrations.md), or -1 for no version.',
  );
}

/** One line that says what the command did, after golang-migrate's own lines (some print none, e.g. force). */
function outcome(ctx: OpsContext, request: MigrateRequest, result: OperatorResponse): string {
  const now = `${result.version ?? 'no version'}${result.dirty ? ' (dirty)' : ''}`;
  const ran = result.steps.length;
  const did =
    request.command === 'force'
      ? `forced the recorded version to ${request.version}, no migration ran`
      : request.command === 'ensure-partitions'
        ? 'partition upkeep done'
        : `${ran} migration file(s) ran`;
  return `${ctx.env.name}: migrate ${request.command} done: ${did}; the database is at version ${now}`;
}

registerCommand('migrate', {
  usage:
    `migrate <${VERBS}> --env <env> [--yes] [--end-service-sessions]   golang-migrate's verbs, run inside the VPC ` +
    'by the migration function; --end-service-sessions lets a down past the service roles end their sessions',
  options: { yes: 'flag', 'end-service-sessions': 'flag' },
  maxPositionals: 2,
  async run(args, ctx) {
    const request = parseMigrateArgs(args.positionals);
    if (args.options['end-service-sessions'] === true) {
      // A down past the service roles refuses while they are connected; this ends their sessions.
      if (request.command !== 'down' && request.command !== 'goto') {
        throw new UsageError('--end-service-sessions applies only to down and goto');
      }
      request.endServiceSessions = true;
    }
    const functionName = await requireOutput(ctx, 'MigrationFunctionName');
    // One attempt: an SDK retry after a slow answer would run the migration a second time.
    const lambda = new LambdaClient({ region: ctx.env.region, maxAttempts: 1 });
    if (request.command === 'force') {
      const plan = await invoke(lambda, functionName, { ...request, dryRun: true });
      refuseUnknownForce(request.version, plan);
      const now = `${plan.version ?? 'no version'}${plan.dirty ? ' (dirty)' : ''}`;
      const to = request.version === '-1' ? 'no version' : `version ${request.version}`;
      if (
        !(await ctx.confirm(`Record ${to} on ${ctx.env.name} without running any migration (now ${now})?`))
      ) {
        ctx.print('Not forcing the version: nothing changed (confirm interactively, or pass --yes).');
        return 1;
      }
    }
    if (request.command === 'down' || request.command === 'goto') {
      const plan = await invoke(lambda, functionName, { ...request, dryRun: true });
      if (request.command === 'goto') refuseUnknownTarget(request.version, plan);
      if (!(await confirmDowns(ctx, plan))) {
        ctx.print('Not applying down migrations: nothing changed (confirm interactively, or pass --yes).');
        return 1;
      }
    }
    const result = await invoke(lambda, functionName, request);
    for (const line of result.output) ctx.print(line);
    if (request.command !== 'version') ctx.print(outcome(ctx, request, result));
    return result.exitCode;
  },
});
