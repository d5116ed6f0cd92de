import type { CloudFormationCustomResourceEvent } from 'aws-lambda';
import { NoMigrationFoundError } from './plan';
import {
  DirtyDatabaseError,
  LockTimeoutError,
  MigrationFailedError,
  Migrator,
  RunResult,
  TimeBudgetError,
} from './runner';
import { OpenSession, withSession } from './session';

/**
 * CloudFormation semantics of the migration custom resource, behind the CDK Provider framework
 * (which answers CloudFormation; this code only returns `{ PhysicalResourceId, Data }` or throws):
 * - Create and Update run `up`. The resource's properties carry a hash of migrations/, so every
 *   change to the files is an Update and re-runs it.
 * - The physical id never changes, so CloudFormation never "replaces" the resource and never sends
 *   a Delete for an old id.
 * - An update rollback is an ordinary Update with the old properties, possibly with older files:
 *   a database ahead of the files is then a success with no down migration.
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
  const physicalId = event.RequestType === 'Update' ? event.PhysicalResourceId : PHYSICAL_RESOURCE_ID;
  return withSession(open, context, async (migrator) => {
    try {
      const result = await migrator.run({ command: 'up' }, { allowDatabaseAhead: true });
      return { PhysicalResourceId: physicalId, Data: responseData(result, migrator.source.last) };
    } catch (err) {
      throw explain(err, migrator, context.environmentName);
    }
  });
}

function responseData(result: RunResult, latestFile: bigint | undefined): Record<string, string> {
  const version = result.state.version === null ? 'none' : String(result.state.version);
  const outcome = result.databaseAhead
    ? `database at ${version} is ahead of the deployed files (latest ${latestFile}): rollback, nothing run`
    : result.noChange
      ? 'no change'
      : `applied ${result.applied.length} migration(s)`;
  return { Version: version, Applied: String(result.applied.length), Outcome: outcome };
}

/** Adds to golang-migrate's message what happened to the deploy and what the operator does next. */
function explain(err: unknown, migrator: Migrator, env: string): Error {
  const ops = (args: string) => `npm run ops -- migrate ${args} --env ${env}`;
  const stopped = 'The deploy stopped before any new service version started.';
  if (err instanceof DirtyDatabaseError) {
    return new Error(
      `${err.message} ${stopped} An earlier migration to version ${err.version} failed part-way. Fix: check the ` +
        `schema; a file without its own BEGIN/COMMIT was rolled back whole, so the schema is at the version before ` +
        `it. Then run "${ops('force <that version>')}" and deploy again (docs/migrations.md, "Dirty database").`,
    );
  }
  if (err instanceof MigrationFailedError) {
    const previous =
      err.step.direction === 'up' ? (migrator.source.prev(err.step.version) ?? -1n) : err.step.version;
    return new Error(
      `${err.message}. ${stopped} schema_migrations now says (${err.step.target}, dirty). A file without its ` +
        `own BEGIN/COMMIT was rolled back whole: fix the file, run "${ops(`force ${previous}`)}", and deploy ` +
        'again (docs/migrations.md, "Dirty database").',
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
  return err instanceof Error ? err : new Error(String(err));
}
