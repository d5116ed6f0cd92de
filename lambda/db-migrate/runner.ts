import type { Client, DatabaseError } from 'pg';
import { MigrationFile, MigrationSet } from './files';
import { migrationLockId } from './lock';
import { describeStep, NIL_VERSION, Plan, planDown, planGoto, planUp, Step } from './plan';

/**
 * A golang-migrate v4 compatible runner for PostgreSQL (`migrate.go` + `database/postgres`):
 * - `schema_migrations (version bigint not null primary key, dirty boolean not null)` in
 *   `current_schema()`, holding at most one row;
 * - before each file `(target, dirty=true)` replaces the row in its own committed transaction
 *   (DELETE + INSERT where golang-migrate uses TRUNCATE + INSERT: same row, 10× cheaper), the whole file is
 *   sent as ONE simple-protocol query (so PostgreSQL runs it as one implicit transaction unless it
 *   has its own BEGIN/COMMIT), then `(target, false)` is committed;
 * - a dirty database is refused with `Dirty database version N. Fix and force version.`;
 * - `force V` rewrites only the row;
 * - everything runs under the session advisory lock the golang-migrate CLI takes (see lock.ts).
 */

/** What `schema_migrations` says. `version` is null when there is no row (golang-migrate's NilVersion). */
export interface VersionState {
  readonly version: bigint | null;
  readonly dirty: boolean;
}

/** One step that ran. */
export interface AppliedStep extends Step {
  /** How long it took, nanoseconds. */
  readonly durationNs: bigint;
}

/** What a run did. */
export interface RunResult {
  readonly applied: readonly AppliedStep[];
  /** golang-migrate's `no change`. */
  readonly noChange: boolean;
  /** The database was ahead of the files and `allowDatabaseAhead` made that a success. */
  readonly databaseAhead: boolean;
  /** schema_migrations afterwards. */
  readonly state: VersionState;
}

/** Commands with golang-migrate's meaning. */
export type RunnerCommand =
  | { readonly command: 'up'; readonly limit?: number }
  | { readonly command: 'down'; readonly steps: number }
  | { readonly command: 'goto'; readonly version: bigint }
  | { readonly command: 'force'; readonly version: bigint };

/** Settings of {@link Migrator}. */
export interface MigratorOptions {
  /** Name of the database connected to; part of the lock id (see lock.ts). */
  readonly database: string;
  /** Name of the version table. @default 'schema_migrations' */
  readonly table?: string;
  /** Milliseconds to wait for the migration lock; golang-migrate's `-lock-timeout`. @default 15000 */
  readonly lockTimeoutMs?: number;
  /**
   * Epoch milliseconds by which the runner must have stopped (the Lambda deadline minus a margin).
   * No file starts after it, and a running file is cancelled by PostgreSQL's statement_timeout at it,
   * so its implicit transaction rolls back. @default none
   */
  readonly deadline?: number;
  /** Receives one line per step, as the golang-migrate CLI prints them. @default discard */
  readonly log?: (line: string) => void;
}

/** golang-migrate's `ErrDirty`. */
export class DirtyDatabaseError extends Error {
  constructor(readonly version: bigint) {
    super(`Dirty database version ${version}. Fix and force version.`);
  }
}

/** golang-migrate's `ErrLockTimeout`. */
export class LockTimeoutError extends Error {
  constructor(readonly lockId: string) {
    super(`timeout: can't acquire database lock`);
  }
}

/** golang-migrate's `ErrInvalidVersion`. */
export class InvalidVersionError extends Error {
  constructor() {
    super('version must be >= -1');
  }
}

/** A file failed; schema_migrations now says `(target, dirty)`. */
export class MigrationFailedError extends Error {
  constructor(
    message: string,
    readonly step: Step,
    readonly cause?: unknown,
  ) {
    super(message);
  }
}

/** The time budget ran out between two files; the database is clean at the last applied version. */
export class TimeBudgetError extends Error {}

const quoteIdentifier = (name: string): string => `"${name.replace(/\0.*$/s, '').replace(/"/g, '""')}"`;

export class Migrator {
  readonly lockId: string;
  private readonly table: string;
  private readonly tableName: string;
  private readonly lockTimeoutMs: number;
  private readonly log: (line: string) => void;

  private constructor(
    private readonly client: Client,
    readonly source: MigrationSet,
    readonly schema: string,
    private readonly options: MigratorOptions,
  ) {
    const table = options.table ?? 'schema_migrations';
    this.lockId = migrationLockId(options.database, schema, table);
    this.table = `${quoteIdentifier(schema)}.${quoteIdentifier(table)}`;
    this.lockTimeoutMs = options.lockTimeoutMs ?? 15_000;
    this.log = options.log ?? (() => undefined);
    this.tableName = table;
  }

  /** Binds a connected client (one session: the advisory lock is per session) to a source. */
  static async open(client: Client, source: MigrationSet, options: MigratorOptions): Promise<Migrator> {
    const { rows } = await client.query<{ schema: string | null }>('SELECT current_schema() AS schema');
    const schema = rows[0]?.schema;
    if (!schema) throw new Error('no schema: current_schema() is null; check the search_path of the user');
    return new Migrator(client, source, schema, options);
  }

  /** Reads schema_migrations without taking the lock, so it answers even while a migration runs. */
  async version(): Promise<VersionState> {
    try {
      const { rows } = await this.client.query<{ version: string; dirty: boolean }>(
        `SELECT version, dirty FROM ${this.table} LIMIT 1`,
      );
      return rows.length === 0
        ? { version: null, dirty: false }
        : { version: BigInt(rows[0].version), dirty: rows[0].dirty };
    } catch (err) {
      if ((err as DatabaseError).code === '42P01') return { version: null, dirty: false }; // undefined_table
      throw err;
    }
  }

  /** The steps a command would run now, without running them or taking the lock (a dry run). */
  async plan(command: RunnerCommand): Promise<{ state: VersionState; plan: Plan }> {
    const state = await this.version();
    if (command.command === 'force') {
      if (command.version < NIL_VERSION) throw new InvalidVersionError();
      return { state, plan: { steps: [], noChange: false } };
    }
    if (state.dirty) throw new DirtyDatabaseError(state.version ?? NIL_VERSION);
    return { state, plan: this.planFrom(state.version ?? NIL_VERSION, command) };
  }

  /**
   * Runs a command under the migration lock. With `allowDatabaseAhead`, an `up` on a database whose
   * version is above every file (a CloudFormation rollback to older files) succeeds without
   * running anything, where golang-migrate would fail with `no migration found for version N`.
   */
  async run(command: RunnerCommand, options: { allowDatabaseAhead?: boolean } = {}): Promise<RunResult> {
    if (command.command === 'force' && command.version < NIL_VERSION) throw new InvalidVersionError();
    await this.lock();
    let failure: unknown;
    try {
      await this.ensureVersionTable();
      if (command.command === 'force') {
        await this.setVersion(command.version, false);
        return { applied: [], noChange: false, databaseAhead: false, state: await this.version() };
      }
      const current = await this.version();
      if (current.dirty) throw new DirtyDatabaseError(current.version ?? NIL_VERSION);
      const from = current.version ?? NIL_VERSION;
      const last = this.source.last;
      if (
        options.allowDatabaseAhead &&
        command.command === 'up' &&
        from !== NIL_VERSION &&
        !this.source.has(from) &&
        last !== undefined &&
        from > last
      ) {
        return { applied: [], noChange: true, databaseAhead: true, state: current };
      }
      const plan = this.planFrom(from, command);
      const applied = await this.execute(plan);
      if (plan.error) throw plan.error;
      return { applied, noChange: plan.noChange, databaseAhead: false, state: await this.version() };
    } catch (err) {
      failure = err;
      throw err;
    } finally {
      await this.unlock().catch((err) => {
        // A failed unlock after a failed run must not hide the run's error; the session end frees it.
        if (!failure) throw err;
      });
    }
  }

  private planFrom(from: bigint, command: Exclude<RunnerCommand, { command: 'force' }>): Plan {
    switch (command.command) {
      case 'up':
        return planUp(this.source, from, command.limit ?? -1);
      case 'down':
        return planDown(this.source, from, command.steps);
      case 'goto':
        return planGoto(this.source, from, command.version);
    }
  }

  private async execute(plan: Plan): Promise<AppliedStep[]> {
    const applied: AppliedStep[] = [];
    for (const step of plan.steps) {
      if (this.options.deadline !== undefined && Date.now() >= this.options.deadline) {
        const at = applied.length > 0 ? applied[applied.length - 1].target : 'the version it had before';
        throw new TimeBudgetError(
          `stopped before ${describeStep(step).trim()}: the time budget is spent. The database is clean at ` +
            `${at}; run up again to continue`,
        );
      }
      const started = process.hrtime.bigint();
      await this.setVersion(step.target, true);
      if (step.file) await this.runFile(step, step.file);
      await this.setVersion(step.target, false);
      const durationNs = process.hrtime.bigint() - started;
      applied.push({ ...step, durationNs });
      this.log(`${describeStep(step)} (${goDuration(durationNs)})`);
    }
    return applied;
  }

  private async runFile(step: Step, file: MigrationFile): Promise<void> {
    const body = this.source.body(file);
    // golang-migrate skips a whitespace-only body; a comment-only body is sent (and does nothing).
    if (body.trim() === '') return;
    const send = async () => {
      try {
        // No parameters: node-postgres sends the simple query protocol, one implicit transaction.
        await this.client.query(body);
      } catch (err) {
        throw new MigrationFailedError(migrationFailedMessage(err, body, file), step, err);
      }
    };
    const deadline = this.options.deadline;
    if (deadline === undefined) return send();
    await this.client.query(`SET statement_timeout = ${Math.max(1, deadline - Date.now())}`);
    await this.resetAfter('statement_timeout', send);
  }

  /**
   * golang-migrate `SetVersion`: empty the table and insert the row in one committed transaction, in
   * one round trip. golang-migrate empties it with TRUNCATE; DELETE leaves the same single row in the
   * same transaction, and costs 0.2 ms where TRUNCATE (a new table file every time) costs 2–3 ms,
   * twice per migration (bench/migrate.ts).
   */
  private async setVersion(version: bigint, dirty: boolean): Promise<void> {
    // Both values are a bigint and a boolean produced here, never text from outside.
    const insert =
      version >= 0n || (version === NIL_VERSION && dirty)
        ? `INSERT INTO ${this.table} (version, dirty) VALUES (${version}, ${dirty});`
        : '';
    await this.client.query(`BEGIN; DELETE FROM ${this.table}; ${insert} COMMIT;`);
  }

  private async ensureVersionTable(): Promise<void> {
    const { rows } = await this.client.query<{ count: string }>(
      'SELECT COUNT(1) AS count FROM information_schema.tables WHERE table_schema = $1 AND table_name = $2 LIMIT 1',
      [this.schema, this.tableName],
    );
    if (rows[0]?.count === '1') return;
    await this.client.query(
      `CREATE TABLE IF NOT EXISTS ${this.table} (version bigint not null primary key, dirty boolean not null)`,
    );
  }

  /**
   * Creates the coming months' partitions of the partitioned time-series tables
   * (`cb_ensure_all_partitions`, from the baseline schema), under the migration lock so it never runs
   * beside a migration. Returns how many it created, or null where the schema has no such function
   * (not migrated yet). Must run well before each month starts: a row that lands in a table's DEFAULT
   * partition makes creating its month's partition fail.
   */
  async ensurePartitions(monthsAhead: number): Promise<number | null> {
    await this.lock();
    try {
      const { rows } = await this.client.query<{ present: boolean }>(
        "SELECT to_regprocedure('cb_ensure_all_partitions(integer)') IS NOT NULL AS present",
      );
      if (!rows[0]?.present) return null;
      const created = await this.client.query<{ created: number }>(
        'SELECT cb_ensure_all_partitions($1) AS created',
        [monthsAhead],
      );
      return Number(created.rows[0]?.created ?? 0);
    } finally {
      await this.unlock();
    }
  }

  private async lock(): Promise<void> {
    // lock_timeout bounds the wait for the advisory lock, and only that statement: migrations
    // themselves wait for table locks as long as golang-migrate's would.
    await this.client.query(`SET lock_timeout = ${Math.max(1, Math.floor(this.lockTimeoutMs))}`);
    await this.resetAfter('lock_timeout', async () => {
      try {
        await this.client.query('SELECT pg_advisory_lock($1)', [this.lockId]);
      } catch (err) {
        if ((err as DatabaseError).code === '55P03') throw new LockTimeoutError(this.lockId); // lock_not_available
        throw err;
      }
    });
  }

  /** Runs `work`, then RESETs `setting`; a failing RESET never hides the error of `work`. */
  private async resetAfter(setting: string, work: () => Promise<void>): Promise<void> {
    let failed = false;
    try {
      await work();
    } catch (err) {
      failed = true;
      throw err;
    } finally {
      await this.client.query(`RESET ${setting}`).catch((err) => {
        if (!failed) throw err;
      });
    }
  }

  private async unlock(): Promise<void> {
    await this.client.query('SELECT pg_advisory_unlock($1)', [this.lockId]);
  }
}

/**
 * golang-migrate's message (`postgres.go` runStatement): `migration failed: <message> (column C),
 * <detail> in line L: <file>`; the file's name stands where golang-migrate prints its whole text.
 */
function migrationFailedMessage(err: unknown, body: string, file: MigrationFile): string {
  const pgErr = err as Partial<DatabaseError>;
  let message = `migration failed: ${pgErr.message ?? String(err)}`;
  let line = 0;
  const position = pgErr.position ? Number(pgErr.position) : NaN;
  if (Number.isInteger(position)) {
    const located = lineAndColumn(body, position);
    if (located) {
      line = located.line;
      message += ` (column ${located.column})`;
    }
  }
  if (pgErr.detail) message += `, ${pgErr.detail}`;
  return `${message} in line ${line}: ${file.name}`;
}

/** golang-migrate's `computeLineFromPos`: PostgreSQL positions count characters from 1. */
export function lineAndColumn(text: string, position: number): { line: number; column: number } | undefined {
  const chars = [...text.replace(/\r\n/g, '\n')];
  if (position > chars.length) return undefined;
  const before = chars.slice(0, position);
  const lastNewline = before.lastIndexOf('\n');
  return { line: before.filter((c) => c === '\n').length + 1, column: position - 1 - lastNewline };
}

/** Go's `time.Duration.String()`, which the golang-migrate CLI prints after each file. */
export function goDuration(ns: bigint): string {
  if (ns === 0n) return '0s';
  const fraction = (value: bigint, digits: number): string => {
    const scale = 10n ** BigInt(digits);
    const frac = (value % scale).toString().padStart(digits, '0').replace(/0+$/, '');
    return `${value / scale}${frac ? `.${frac}` : ''}`;
  };
  if (ns < 1_000n) return `${ns}ns`;
  if (ns < 1_000_000n) return `${fraction(ns, 3)}µs`;
  if (ns < 1_000_000_000n) return `${fraction(ns, 6)}ms`;
  const hours = ns / 3_600_000_000_000n;
  const minutes = (ns / 60_000_000_000n) % 60n;
  const seconds = `${fraction(ns % 60_000_000_000n, 9)}s`;
  if (hours > 0n) return `${hours}h${minutes}m${seconds}`;
  if (minutes > 0n) return `${minutes}m${seconds}`;
  return seconds;
}
