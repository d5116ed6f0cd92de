import type { CloudFormationCustomResourceEvent, CloudFormationCustomResourceUpdateEvent } from 'aws-lambda';
import { renderAdvice } from './advice';
import { PARTITION_MONTHS_AHEAD } from './operations';
import type { PartitionReport } from './partitions';
import { NoMigrationFoundError } from './plan';
import { PostMigrationStep, runPostMigrationSteps } from './post-migration';
import {
  DirtyDatabaseError,
  LockTimeoutError,
  MigrationFailedError,
  RunResult,
  TimeBudgetError,
} from './runner';
import { OpenSession, withSession } from './session';
import { MigrationRuleError } from './transaction';

/**
 * CloudFormation semantics of the migration custom resource, behind the CDK Provider framework
 * (which answers CloudFormation; this code only returns `{ PhysicalResourceId, Data }` or throws):
 * - Create and Update run `up`. The resource's properties carry a hash of migrations/, so every
 *   change to the files is an Update and re-runs it.
 * - The physical id never changes, so CloudFormation never "replaces" the resource and never sends
 *   a Delete for an old id.
 * - An update rollback is an ordinary Update with the old properties, possibly with older files.
 *   An Update whose `LatestVersion` goes backwards never fails and never writes (rollbackUpdate);
 *   any Update finding the database clean and ahead of its files, or dirty above them, succeeds
 *   without running anything. What needs a person is paged (`needsAttention`).
 * - Delete never touches the database.
 * - A dirty database, a failing file, a held lock or an unreachable database throw, with a message
 *   saying what to do; the framework turns that into FAILED with the message as the reason.
 */

/** The physical id of the one migration resource of a stack: fixed, so it is stable across updates. */
export const PHYSICAL_RESOURCE_ID = 'clever-better-db-migrations';

/** What the Provider framework expects back. `Data` stays far below CloudFormation's 4096 bytes. */
export interface ProviderResponse {
  readonly PhysicalResourceId: string;
  readonly Data?: Record<string, string>;
}

/** Names the environment in the commands the messages suggest. */
export interface DeployContext {
  /** e.g. `staging`; used in `npm run ops -- migrate … --env <env>`. */
  readonly environmentName: string;
  /** When the runner must have stopped (epoch ms). */
  readonly deadline: number;
  /** Receives a line per applied file. */
  readonly log: (line: string) => void;
  /** Pages on-call when an event succeeds but leaves something for a person. @default nothing */
  readonly needsAttention?: (what: string) => void;
  /** Receives the partition measurements after a successful migration. @default nothing */
  readonly partitions?: (report: PartitionReport) => void;
  /**
   * Steps run after the migration of every Create and Update, after the partition measurement
   * (e.g. the service logins), under post-migration.ts's rule. @default none
   */
  readonly afterMigration?: readonly PostMigrationStep[];
}

/** `LatestVersion` of a properties object (-1 for `none`), or undefined when absent or unreadable. */
function latestVersion(properties: Record<string, unknown> | undefined): bigint | undefined {
  const raw = properties?.LatestVersion;
  if (raw === 'none') return -1n;
  return typeof raw === 'string' && /^[0-9]+$/.test(raw) ? BigInt(raw) : undefined;
}

/**
 * Whether an Update moves the migration set backwards: what CloudFormation's update rollback sends
 * (the old properties after a failed forward Update), and a deliberate deploy of older code.
 */
export function isBackwardUpdate(event: CloudFormationCustomResourceUpdateEvent): boolean {
  const requested = latestVersion(event.ResourceProperties);
  const previous = latestVersion(event.OldResourceProperties);
  return requested !== undefined && previous !== undefined && requested < previous;
}

export async function onCustomResourceEvent(
  event: CloudFormationCustomResourceEvent,
  open: OpenSession,
  context: DeployContext,
): Promise<ProviderResponse> {
  if (event.RequestType === 'Delete') {
    // Removing the resource (or the stack) must never drop data; the schema stays as it is.
    return { PhysicalResourceId: event.PhysicalResourceId };
  }
  const rollback = event.RequestType === 'Update' && isBackwardUpdate(event);
  const response = rollback
    ? await rollbackUpdate(event as CloudFormationCustomResourceUpdateEvent, open, context)
    : await forwardEvent(event, open, context);
  // The same rule as the migration's: a forward failure fails the deploy, a rollback's pages.
  await runPostMigrationSteps([partitionStep(open, context), ...(context.afterMigration ?? [])], {
    rollback,
    page: (what) => page(context, what),
    log: context.log,
  });
  return response;
}

/**
 * The partition measurement as a post-migration step: the partition alarms get a data point from
 * the first deploy on (the daily upkeep measures again).
 */
function partitionStep(open: OpenSession, context: DeployContext): PostMigrationStep {
  return {
    name: 'partition measurement',
    async run() {
      if (!context.partitions) return { lines: [] };
      const report = await withSession(open, context, (migrator) =>
        migrator.measurePartitions(PARTITION_MONTHS_AHEAD),
      );
      if (!report) return { lines: ['no time-series tables yet'] };
      context.partitions(report);
      return {
        lines: report.tables.map(
          (t) => `${t.table}: horizon ${Math.floor(t.horizonDays)} days, ${t.defaultRows} row(s) in DEFAULT`,
        ),
      };
    },
  };
}

/** Create, or an Update that does not move the files backwards: `up`. */
async function forwardEvent(
  event: Exclude<CloudFormationCustomResourceEvent, { RequestType: 'Delete' }>,
  open: OpenSession,
  context: DeployContext,
): Promise<ProviderResponse> {
  const physicalId = event.RequestType === 'Update' ? event.PhysicalResourceId : PHYSICAL_RESOURCE_ID;
  return withSession(open, context, async (migrator) => {
    try {
      const result = await migrator.run(
        { command: 'up' },
        // A dirty database above every deployed file is a rollback's business, not this Update's.
        { allowDatabaseAhead: true, allowDirtyAhead: event.RequestType === 'Update' },
      );
      if (result.dirty) {
        page(context, dirtyAheadText(result.dirty, migrator.source.last, context.environmentName));
      }
      return { PhysicalResourceId: physicalId, Data: responseData(result, migrator.source.last) };
    } catch (err) {
      throw explain(err, context.environmentName);
    }
  });
}

const opsCommand = (env: string) => (args: string) => `npm run ops -- migrate ${args} --env ${env}`;
const forceCommand = (env: string) => (version: bigint) => opsCommand(env)(`force ${version}`);

function page(context: DeployContext, what: string): void {
  context.needsAttention?.(what);
}

function dirtyAheadText(err: DirtyDatabaseError, last: bigint | undefined, env: string): string {
  return (
    `The database is dirty at ${err.version}, above the files this Update deployed (latest ${last ?? 'none'}): ` +
    'nothing was run, so the update (rollback) could finish. A person must clean it before the next forward ' +
    `deploy: ${err.advice ? renderAdvice(err.advice, forceCommand(env)) : `${err.message}`} ` +
    '(docs/migrations.md, "Dirty database").'
  );
}

/**
 * An Update that moves the files backwards never fails, so CloudFormation's update rollback cannot
 * end in UPDATE_ROLLBACK_FAILED because of this resource. It runs nothing (no down migration, no
 * up) and writes nothing: it reads the version, and pages with what a person must do when the
 * database is dirty, behind the files, or cannot be reached.
 */
async function rollbackUpdate(
  event: CloudFormationCustomResourceUpdateEvent,
  open: OpenSession,
  context: DeployContext,
): Promise<ProviderResponse> {
  const physicalId = event.PhysicalResourceId;
  const env = context.environmentName;
  const requested = latestVersion(event.ResourceProperties)!;
  const answer = (version: string, outcome: string): ProviderResponse => ({
    PhysicalResourceId: physicalId,
    Data: { Version: version, Applied: '0', Outcome: outcome },
  });
  try {
    return await withSession(open, context, async (migrator) => {
      const state = await migrator.version();
      const version = state.version ?? -1n;
      const shown = state.version === null ? 'none' : String(state.version);
      if (state.dirty) {
        page(context, dirtyAheadText(await migrator.dirtyError(version), requested, env));
        return answer(shown, `rollback: nothing run; database dirty at ${shown}, on-call paged`);
      }
      if (version < requested) {
        page(
          context,
          `During an update rollback the database is at ${shown}, behind the files rolled back to (latest ${requested}): ` +
            `nothing was run. The restored code may expect tables it lacks. Check "${opsCommand(env)('version')}", ` +
            `then run "${opsCommand(env)('up')}".`,
        );
        return answer(
          shown,
          `rollback: nothing run; database at ${shown} is behind ${requested}, on-call paged`,
        );
      }
      return answer(
        shown,
        `database at ${shown} is ahead of the deployed files (latest ${requested}): rollback, nothing run`,
      );
    });
  } catch (err) {
    page(
      context,
      `During an update rollback the database could not be checked (${(err as Error).message}); the rollback was ` +
        `let through without touching it. Check "${opsCommand(env)('version')}" once the database answers; if ` +
        'it says dirty, follow the advice of the next deploy (docs/migrations.md, "Dirty database").',
    );
    return answer('unknown', 'rollback: database not reachable, nothing run, on-call paged');
  }
}

function responseData(result: RunResult, latestFile: bigint | undefined): Record<string, string> {
  const version = result.state.version === null ? 'none' : String(result.state.version);
  const outcome = result.dirty
    ? `database dirty at ${version}, above the deployed files (latest ${latestFile}): nothing run, on-call paged`
    : result.databaseAhead
      ? `database at ${version} is ahead of the deployed files (latest ${latestFile}): rollback, nothing run`
      : result.noChange
        ? 'no change'
        : `applied ${result.applied.length} migration(s)`;
  return { Version: version, Applied: String(result.applied.length), Outcome: outcome };
}

/** Adds to golang-migrate's message what happened to the deploy and what the operator does next. */
function explain(err: unknown, env: string): Error {
  const ops = opsCommand(env);
  const stopped = 'The deploy stopped before any new service version started.';
  if (err instanceof DirtyDatabaseError) {
    const advice = err.advice
      ? renderAdvice(err.advice, forceCommand(env))
      : `Check the schema, run "${ops('force <that version>')}".`;
    return new Error(
      `${err.message} ${stopped} An earlier migration to version ${err.version} did not finish. ${advice} ` +
        '(docs/migrations.md, "Dirty database").',
    );
  }
  if (err instanceof MigrationFailedError) {
    const advice = err.advice ? renderAdvice(err.advice, forceCommand(env)) : '';
    return new Error(
      `${err.message}. ${stopped} schema_migrations now says (${err.step.target}, dirty). ${advice} ` +
        '(docs/migrations.md, "Dirty database").',
    );
  }
  if (err instanceof NoMigrationFoundError) {
    return new Error(
      `${err.message}. ${stopped} The database is at version ${err.version}, which is not among the deployed ` +
        'files but below the latest one: a migration file was renamed or removed. Fix: restore the file ' +
        `${err.version}_*.up.sql in migrations/ and deploy again.`,
    );
  }
  if (err instanceof LockTimeoutError) {
    return new Error(
      `${err.message} (advisory lock ${err.lockId}). ${stopped} Another migration holds the lock: the ` +
        `golang-migrate CLI or "${ops('…')}". Let it finish, check "${ops('version')}", and deploy again.`,
    );
  }
  if (err instanceof TimeBudgetError)
    return new Error(`${err.message}. ${stopped} Deploy again to continue.`);
  if (err instanceof MigrationRuleError) return new Error(`${err.message}. ${stopped}`);
  return err instanceof Error ? err : new Error(String(err));
}
