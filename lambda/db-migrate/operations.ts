import { MAX_VERSION } from './files';
import { PartitionReport, PartitionUpkeepError } from './partitions';
import { describeStep, NIL_VERSION, Step } from './plan';
import { Migrator, RunnerCommand } from './runner';

/**
 * Direct invocations by operators (`npm run ops -- migrate …`), the guide's golang-migrate verbs:
 * `{ command: 'version' }`, `{ command: 'up' }`, `{ command: 'down', steps: N }`,
 * `{ command: 'goto', version: V }`, `{ command: 'force', version: V }`, each optionally with
 * `dryRun: true` to list the files it would run without running them or taking the lock.
 * `{ command: 'ensure-partitions' }` (the stack's daily schedule) creates the coming months'
 * partitions of the time-series tables; it runs no migration.
 */

/** Months ahead the daily schedule keeps partitioned; a late run then still finds its month created. */
export const PARTITION_MONTHS_AHEAD = 3;

export const OPERATOR_COMMANDS = ['version', 'up', 'down', 'goto', 'force', 'ensure-partitions'] as const;
export type OperatorCommandName = (typeof OPERATOR_COMMANDS)[number];

/** A validated operator request. */
export type OperatorRequest = {
  readonly dryRun: boolean;
  /**
   * For `down` and `goto`: when a down file drops roles that have live sessions (the services'),
   * take LOGIN from those roles and end the sessions first instead of refusing (runner.ts
   * `checkRoleSessions`). @default false
   */
  readonly endServiceSessions?: boolean;
} & (
  | { readonly command: 'version' }
  | { readonly command: 'ensure-partitions' }
  | Extract<RunnerCommand, { command: 'up' | 'down' | 'goto' | 'force' }>
);

/** One file a command runs (or would run). */
export interface StepSummary {
  readonly version: string;
  /** Version recorded afterwards; "-1" means no row. */
  readonly target: string;
  readonly direction: 'up' | 'down';
  /** The file, or null when the version has no file in that direction (golang-migrate records it anyway). */
  readonly file: string | null;
}

/** The function's answer to an operator. */
export interface OperatorResponse {
  readonly command: OperatorCommandName;
  readonly dryRun: boolean;
  /** schema_migrations after the command (before it, for a dry run); version null = no row. */
  readonly version: string | null;
  readonly dirty: boolean;
  /** Files run (or, for a dry run, to run), in order. */
  readonly steps: readonly StepSummary[];
  /** What the golang-migrate CLI would print (it prints to stderr; the ops command prints these). */
  readonly output: readonly string[];
  /** The CLI's exit code for this outcome (1 for `version` with no row: `error: no migration`). */
  readonly exitCode: 0 | 1;
  /**
   * Every version the deployed migration files have, ascending: `ops status` tells a database behind
   * them or at a version none of them has, and `ops migrate force` refuses such a version.
   */
  readonly deployedVersions: readonly string[];
}

/** A request that cannot be run; the message names the field, the value and the fix. */
export class RequestError extends Error {}

function integerField(event: Record<string, unknown>, field: string, min: bigint, example: string): bigint {
  const raw = event[field];
  const fix = `Fix: pass ${field} as a whole number >= ${min}, e.g. { "command": "${event.command}", "${field}": ${example} }`;
  if (typeof raw === 'number' && !Number.isSafeInteger(raw)) {
    throw new RequestError(
      `${field} = ${raw} is not a whole number that survives JSON; pass it as a string. ${fix}`,
    );
  }
  if ((typeof raw !== 'number' && typeof raw !== 'string') || !/^-?[0-9]+$/.test(String(raw))) {
    throw new RequestError(`${field} = ${JSON.stringify(raw) ?? 'undefined'} is not a whole number. ${fix}`);
  }
  const value = BigInt(raw);
  if (value < min || value > MAX_VERSION) throw new RequestError(`${field} = ${raw} is out of range. ${fix}`);
  return value;
}

/** Validates an operator event. */
export function parseOperatorRequest(event: Record<string, unknown>): OperatorRequest {
  const command = event.command;
  if (!OPERATOR_COMMANDS.includes(command as OperatorCommandName)) {
    throw new RequestError(
      `command = ${JSON.stringify(command) ?? 'undefined'} is not a migrate command. Fix: one of ${OPERATOR_COMMANDS.join(', ')}`,
    );
  }
  if (event.dryRun !== undefined && typeof event.dryRun !== 'boolean') {
    throw new RequestError(`dryRun = ${JSON.stringify(event.dryRun)} is not a boolean. Fix: true or false`);
  }
  const dryRun = event.dryRun === true;
  if (event.endServiceSessions !== undefined) {
    if (command !== 'down' && command !== 'goto') {
      throw new RequestError(
        `endServiceSessions is given with command ${JSON.stringify(command)}. Fix: it only applies to down and goto`,
      );
    }
    if (typeof event.endServiceSessions !== 'boolean') {
      throw new RequestError(
        `endServiceSessions = ${JSON.stringify(event.endServiceSessions)} is not a boolean. Fix: true or false`,
      );
    }
  }
  const endServiceSessions = event.endServiceSessions === true;
  switch (command as OperatorCommandName) {
    case 'version':
      return { command: 'version', dryRun };
    case 'ensure-partitions':
      return { command: 'ensure-partitions', dryRun };
    case 'up':
      return event.limit === undefined
        ? { command: 'up', dryRun }
        : { command: 'up', limit: Number(integerField(event, 'limit', 1n, '1')), dryRun };
    case 'down':
      // The guide's `down 1`; golang-migrate's bare `down` (everything) is not offered.
      return {
        command: 'down',
        steps: Number(integerField(event, 'steps', 1n, '1')),
        dryRun,
        endServiceSessions,
      };
    case 'goto':
      return {
        command: 'goto',
        version: integerField(event, 'version', 0n, '"20240115120000"'),
        dryRun,
        endServiceSessions,
      };
    case 'force':
      return {
        command: 'force',
        version: integerField(event, 'version', NIL_VERSION, '"20240115120000"'),
        dryRun,
      };
  }
}

const summarize = (step: Step): StepSummary => ({
  version: String(step.version),
  target: String(step.target),
  direction: step.direction,
  file: step.file?.name ?? null,
});

/** `N`, `N (dirty)`, or the CLI's `error: no migration` (also for `(-1, dirty)`, as the CLI prints it). */
function versionOutput(
  version: bigint | null,
  dirty: boolean,
): Pick<OperatorResponse, 'output' | 'exitCode'> {
  if (version === null || version === NIL_VERSION) return { output: ['error: no migration'], exitCode: 1 };
  return { output: [dirty ? `${version} (dirty)` : String(version)], exitCode: 0 };
}

/** Runs (or, with dryRun, plans) one operator request. Errors propagate with golang-migrate's messages. */
export async function runOperatorRequest(
  request: OperatorRequest,
  migrator: Migrator,
  lines: readonly string[],
  onPartitions: (report: PartitionReport) => void = () => undefined,
): Promise<OperatorResponse> {
  const base = {
    command: request.command,
    dryRun: request.dryRun,
    deployedVersions: migrator.source.versions.map(String),
  };
  if (request.command === 'version') {
    const state = await migrator.version();
    return {
      ...base,
      ...versionOutput(state.version, state.dirty),
      version: str(state.version),
      dirty: state.dirty,
      steps: [],
    };
  }
  if (request.command === 'ensure-partitions') {
    let report: PartitionReport | null = null;
    if (!request.dryRun) {
      try {
        report = await migrator.ensurePartitions(PARTITION_MONTHS_AHEAD);
      } catch (err) {
        // The tables that were done are measured too, so the alarms see them.
        if (err instanceof PartitionUpkeepError) onPartitions(err.report);
        throw err;
      }
      if (report) onPartitions(report);
    }
    const state = await migrator.version();
    return {
      ...base,
      version: str(state.version),
      dirty: state.dirty,
      steps: [],
      output: request.dryRun
        ? [`would create the missing partitions up to ${PARTITION_MONTHS_AHEAD} months ahead`]
        : report === null
          ? ['no partition maintenance: the schema has no time-series tables (not migrated yet)']
          : report.managedBy === 'timescaledb'
            ? report.tables.map(
                (t) =>
                  `${t.table}: managed by TimescaleDB (chunks are created as rows arrive); horizon reported as ` +
                  `${t.horizonDays} days`,
              )
            : report.tables.map(
                (t) =>
                  `${t.table}: created ${t.created} partition${t.created === 1 ? '' : 's'}` +
                  `${t.moved ? `, moved ${t.moved} row(s) out of the DEFAULT partition` : ''}; ` +
                  `horizon ${Math.floor(t.horizonDays)} days; ${t.defaultRows} row(s) in the DEFAULT partition`,
              ),
      exitCode: 0,
    };
  }
  if (request.dryRun) {
    const { state, plan } = await migrator.plan(request);
    const output =
      request.command === 'force'
        ? [`would set version ${request.version} (no migration runs; dirty cleared)`]
        : plan.noChange
          ? ['no change']
          : [
              ...plan.steps.map(
                (s) => `would run ${describeStep(s)}${s.file ? ` (${s.file.name})` : ' (no file)'}`,
              ),
              ...(plan.error ? [`then fail: ${plan.error.message}`] : []),
            ];
    return {
      ...base,
      version: str(state.version),
      dirty: state.dirty,
      steps: plan.steps.map(summarize),
      output,
      exitCode: plan.error ? 1 : 0,
    };
  }
  const result = await migrator.run(request, { endRoleSessions: request.endServiceSessions === true });
  return {
    ...base,
    version: str(result.state.version),
    dirty: result.state.dirty,
    steps: result.applied.map(summarize),
    output: result.noChange ? ['no change'] : [...lines],
    exitCode: 0,
  };
}

const str = (v: bigint | null): string | null => (v === null ? null : String(v));
