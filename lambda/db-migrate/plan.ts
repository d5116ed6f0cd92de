import { Direction, MigrationFile, MigrationSet } from './files';

/**
 * Which files a command runs, decided exactly as golang-migrate v4's `migrate.go` does
 * (`readUp`, `readDown`, `read`). Pure: no database. The runner executes a plan; a dry run shows it.
 */

/** golang-migrate's NilVersion: no row in schema_migrations. */
export const NIL_VERSION = -1n;

/** One migration to run: `version`'s file in `direction`, leaving the database at `target`. */
export interface Step {
  readonly version: bigint;
  /** Version recorded when the step is done; -1 (no row) after the first version's down. */
  readonly target: bigint;
  readonly direction: Direction;
  /** Undefined when the version has no file in this direction: golang-migrate still records the step. */
  readonly file?: MigrationFile;
}

/**
 * Steps to run, then an error to raise after them (golang-migrate streams: `up 5` with 3 files left
 * applies the 3, then fails with `limit 2 short`). `noChange` is golang-migrate's ErrNoChange.
 */
export interface Plan {
  readonly steps: readonly Step[];
  readonly noChange: boolean;
  readonly error?: Error;
}

/**
 * `no migration found for version N`: the database is at a version the files do not have. Worded
 * as the CLI prints it (its source reports the failed read of the down file, path `.`).
 */
export class NoMigrationFoundError extends Error {
  constructor(readonly version: bigint) {
    super(
      `no migration found for version ${version}: read down for version ${version} .: file does not exist`,
    );
  }
}

/** golang-migrate's `ErrShortLimit`. */
export class ShortLimitError extends Error {
  constructor(readonly short: number) {
    super(`limit ${short} short`);
  }
}

/** golang-migrate's `os.ErrNotExist` cases (nothing to go up or down to). */
export class NothingToMigrateError extends Error {
  constructor(what: string) {
    super(`${what}: file does not exist`);
  }
}

const upStep = (source: MigrationSet, version: bigint): Step => ({
  version,
  target: version,
  direction: 'up',
  file: source.file(version, 'up'),
});

const downStep = (source: MigrationSet, version: bigint, target: bigint): Step => ({
  version,
  target,
  direction: 'down',
  file: source.file(version, 'down'),
});

const done = (steps: Step[], error?: Error): Plan => ({ steps, noChange: false, error });
const noChange: Plan = { steps: [], noChange: true };

function checkExists(source: MigrationSet, version: bigint): Error | undefined {
  return version >= 0n && !source.has(version) ? new NoMigrationFoundError(version) : undefined;
}

/** `up` (limit -1) and `up N` from version `from` (golang-migrate `readUp`). */
export function planUp(source: MigrationSet, from: bigint, limit: number): Plan {
  const missing = checkExists(source, from);
  if (missing) return done([], missing);
  if (limit === 0) return noChange;
  const steps: Step[] = [];
  let current = from;
  while (limit === -1 || steps.length < limit) {
    if (current === NIL_VERSION) {
      const first = source.first;
      if (first === undefined) return done(steps, new NothingToMigrateError(`first ${source.location}`));
      steps.push(upStep(source, first));
      current = first;
      continue;
    }
    const next = source.next(current);
    if (next === undefined) {
      if (limit === -1) return steps.length === 0 ? noChange : done(steps);
      if (steps.length === 0) return done(steps, new NothingToMigrateError(`next after ${current}`));
      return done(steps, new ShortLimitError(limit - steps.length));
    }
    steps.push(upStep(source, next));
    current = next;
  }
  return done(steps);
}

/** `down N` (and `down` with limit -1) from version `from` (golang-migrate `readDown`). */
export function planDown(source: MigrationSet, from: bigint, limit: number): Plan {
  const missing = checkExists(source, from);
  if (missing) return done([], missing);
  if (limit === 0) return noChange;
  if (from === NIL_VERSION) {
    return limit === -1 ? noChange : done([], new NothingToMigrateError('no version to migrate down from'));
  }
  const steps: Step[] = [];
  let current = from;
  while (limit === -1 || steps.length < limit) {
    const prev = source.prev(current);
    if (prev === undefined) {
      steps.push(downStep(source, source.first!, NIL_VERSION));
      if (limit !== -1 && steps.length < limit) return done(steps, new ShortLimitError(limit - steps.length));
      return done(steps);
    }
    steps.push(downStep(source, current, prev));
    current = prev;
  }
  return done(steps);
}

/** `goto V` from version `from` (golang-migrate `read`). */
export function planGoto(source: MigrationSet, from: bigint, to: bigint): Plan {
  const missing = checkExists(source, from) ?? checkExists(source, to);
  if (missing) return done([], missing);
  if (from === to) return noChange;
  const steps: Step[] = [];
  let current = from;
  if (current < to) {
    if (current === NIL_VERSION) {
      current = source.first!;
      steps.push(upStep(source, current));
    }
    while (current < to) {
      current = source.next(current)!;
      steps.push(upStep(source, current));
    }
  } else {
    while (current > to && current >= 0n) {
      const prev = source.prev(current);
      steps.push(downStep(source, current, prev ?? NIL_VERSION));
      if (prev === undefined) break;
      current = prev;
    }
  }
  return done(steps);
}

/** golang-migrate's `Migration.LogString()`: `20240115120000/u price_history`. */
export function describeStep(step: Step): string {
  // A version without a file in this direction is golang-migrate's body-less migration, whose
  // identifier is "<empty>"; a file with an empty title (`1_.up.sql`) prints nothing.
  return `${step.version}/${step.target < step.version ? 'd' : 'u'} ${step.file ? step.file.identifier : '<empty>'}`;
}
