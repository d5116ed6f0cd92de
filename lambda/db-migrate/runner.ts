import type { Client, DatabaseError } from 'pg';
import {
  Advice,
  adviseDirty,
  ATTEMPTS_DDL,
  ATTEMPTS_TABLE,
  ATTEMPTS_UPGRADE,
  Attempt,
  latestAttempt,
  lostConnectionAdvice,
} from './advice';
import { MigrationFile, MigrationSet } from './files';
import { migrationLockId } from './lock';
import { ensurePartitionsTableByTable, measurePartitions, PartitionReport } from './partitions';
import { describeStep, NIL_VERSION, Plan, planDown, planGoto, planUp, Step } from './plan';
import { checkFileRules, transactionBlocks, whyNotWrappable } from './transaction';
import { startWatchdog } from './watchdog';

/**
 * A golang-migrate v4 compatible runner for PostgreSQL (`migrate.go` + `database/postgres`):
 * - `schema_migrations (version bigint not null primary key, dirty boolean not null)` in
 *   `current_schema()`, holding at most one row;
 * - before each file `(target, dirty=true)` replaces the row in its own committed transaction
 *   (DELETE + INSERT where golang-migrate uses TRUNCATE + INSERT: same row, 10× cheaper), the whole file is
 *   sent as ONE simple-protocol query (so PostgreSQL runs it as one implicit transaction unless it
 *   has its own BEGIN/COMMIT), then `(target, false)` is committed: with the file's last part when
 *   the file is one transaction or a file of BEGIN … COMMIT blocks (runFile), else in a transaction
 *   of its own;
 * - before anything runs, every file of the plan is checked: UTF-8, the one-CONCURRENTLY-per-file
 *   rule (transaction.ts), and a down that drops roles with live sessions (checkRoleSessions);
 * - every statement waits at most `tableLockTimeoutMs` for a table lock; a file that timed out and
 *   committed nothing is tried again until the deadline (runWithLockRetries);
 * - a dirty database is refused with `Dirty database version N. Fix and force version.`, plus advice
 *   from the evidence the runner records beside golang-migrate's table (advice.ts);
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
  /** Set when `allowDirtyAhead` accepted a dirty database above the files: what a person must do. */
  readonly dirty?: DirtyDatabaseError;
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
   * Milliseconds any statement of the session (every migration file) waits for a table lock
   * (PostgreSQL `lock_timeout`). A statement waiting for `ACCESS EXCLUSIVE` blocks every later
   * reader of that table, so this bounds how long a migration can hold up the services at a time;
   * a file that times out rolls back and is tried again after a backoff, until the deadline.
   * @default 5000
   */
  readonly tableLockTimeoutMs?: number;
  /** Milliseconds before the second try of a file that timed out on a table lock; doubles, at most 15 s. @default 1000 */
  readonly lockRetryBackoffMs?: number;
  /** Tries of such a file when there is no deadline. @default 5 */
  readonly lockRetryAttempts?: number;
  /**
   * Epoch milliseconds by which the runner must have stopped (the Lambda deadline minus a margin).
   * No file starts after it, and a file still running at it is cancelled as a whole (watchdog.ts,
   * through `openWatchdog`), so its implicit transaction rolls back. @default none
   */
  readonly deadline?: number;
  /**
   * Opens a second connection to the same database, used only at the deadline to cancel the running
   * file. Without it only the session's `statement_timeout` (the whole budget, per statement) applies.
   * @default none
   */
  readonly openWatchdog?: () => Promise<Client>;
  /**
   * Milliseconds between the server's checks that this client is still there while a query runs
   * (`client_connection_check_interval`, PostgreSQL >= 14), so a killed function's file is aborted
   * rather than committed minutes later; 0 turns the check off. @default 1000
   */
  readonly connectionCheckIntervalMs?: number;
  /** Receives one line per step, as the golang-migrate CLI prints them. @default discard */
  readonly log?: (line: string) => void;
}

/** golang-migrate's `ErrDirty` (its message), with advice from the runner's evidence. */
export class DirtyDatabaseError extends Error {
  constructor(
    readonly version: bigint,
    readonly advice?: Advice,
  ) {
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
    /** What happened and what to do, from the evidence. */
    readonly advice?: Advice,
    /** The watchdog cancelled the file at the deadline. */
    readonly cancelledAtDeadline = false,
    /** It waited too long for a table lock (or deadlocked) and nothing of it committed: safe to try again. */
    readonly retryable = false,
  ) {
    super(message);
  }
}

/** A `down` would drop roles that still have sessions; nothing ran. */
export class RoleSessionsError extends Error {}

/** The time budget ran out between two files (or waiting for a lock); the database is clean. */
export class TimeBudgetError extends Error {}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** The SQLSTATEs of a lock wait that timed out and of a deadlock: transient, worth another try. */
const TRANSIENT_LOCK_CODES: ReadonlySet<string> = new Set(['55P03', '40P01']);

/**
 * A server error raised by PostgreSQL's raw parser for the query itself (scan.l, gram.y), not for
 * SQL run later (a DO block's or a function's body carries a `where` context): the server refused
 * the whole query string before running any of it.
 */
function refusedBeforeRunning(err: unknown): boolean {
  const e = err as Partial<DatabaseError>;
  return (e.file === 'scan.l' || e.file === 'gram.y') && !e.where && !e.internalQuery;
}

const quoteIdentifier = (name: string): string => `"${name.replace(/\0.*$/s, '').replace(/"/g, '""')}"`;

export class Migrator {
  readonly lockId: string;
  private readonly table: string;
  /** The side table with the evidence of each attempt (advice.ts). */
  private readonly attempts: string;
  private readonly tableName: string;
  private readonly lockTimeoutMs: number;
  private readonly tableLockTimeoutMs: number;
  private readonly log: (line: string) => void;

  private constructor(
    private readonly client: Client,
    readonly source: MigrationSet,
    readonly schema: string,
    private readonly options: MigratorOptions,
    /** This session's backend, which the watchdog cancels. */
    private readonly pid: number,
  ) {
    const table = options.table ?? 'schema_migrations';
    this.lockId = migrationLockId(options.database, schema, table);
    this.table = `${quoteIdentifier(schema)}.${quoteIdentifier(table)}`;
    this.attempts = `${quoteIdentifier(schema)}.${quoteIdentifier(ATTEMPTS_TABLE)}`;
    this.lockTimeoutMs = options.lockTimeoutMs ?? 15_000;
    this.tableLockTimeoutMs = Math.max(1, Math.floor(options.tableLockTimeoutMs ?? 5_000));
    this.log = options.log ?? (() => undefined);
    this.tableName = table;
  }

  /** Binds a connected client (one session: the advisory lock is per session) to a source. */
  static async open(client: Client, source: MigrationSet, options: MigratorOptions): Promise<Migrator> {
    // One round trip: the schema, this backend's pid, and the session settings that make the server
    // abort (not commit) a file whose client vanished: the check while a query runs, and TCP
    // keepalives for a peer that disappears without closing (a frozen sandbox): 10 s + 3 × 5 s.
    const interval = Math.max(0, Math.floor(options.connectionCheckIntervalMs ?? 1000));
    // A second bound, should the watchdog be unable to connect: no statement outlives the whole
    // budget (set once for the session; per file it would cost two round trips). At least 1 s, so
    // a spent budget still lets the runner read the table and report TimeBudgetError.
    const statementTimeout =
      options.deadline === undefined ? '0' : String(Math.max(1000, options.deadline - Date.now()));
    const { rows } = await client.query<{ schema: string | null; pid: number }>(
      `SELECT current_schema() AS schema, pg_backend_pid() AS pid,
              CASE WHEN current_setting('server_version_num')::int >= 140000
                   THEN set_config('client_connection_check_interval', $1, false) END AS check_interval,
              set_config('tcp_keepalives_idle', '10', false), set_config('tcp_keepalives_interval', '5', false),
              set_config('tcp_keepalives_count', '3', false),
              CASE WHEN $2 <> '0' THEN set_config('statement_timeout', $2, false) END AS statement_timeout,
              set_config('lock_timeout', $3, false) AS lock_timeout`,
      [
        String(interval),
        statementTimeout,
        String(Math.max(1, Math.floor(options.tableLockTimeoutMs ?? 5_000))),
      ],
    );
    const schema = rows[0]?.schema;
    if (!schema) throw new Error('no schema: current_schema() is null; check the search_path of the user');
    return new Migrator(client, source, schema, options, rows[0].pid);
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
    if (state.dirty) throw await this.dirtyError(state.version ?? NIL_VERSION);
    return { state, plan: this.planFrom(state.version ?? NIL_VERSION, command) };
  }

  /**
   * Runs a command under the migration lock. With `allowDatabaseAhead`, an `up` on a database whose
   * version is above every file (a CloudFormation rollback to older files) succeeds without
   * running anything, where golang-migrate would fail with `no migration found for version N`.
   */
  async run(
    command: RunnerCommand,
    options: {
      allowDatabaseAhead?: boolean;
      allowDirtyAhead?: boolean;
      /**
       * A down that drops roles with live sessions: end those sessions first (the roles lose LOGIN,
       * then their backends are terminated) instead of refusing. @default false
       */
      endRoleSessions?: boolean;
    } = {},
  ): Promise<RunResult> {
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
      const from = current.version ?? NIL_VERSION;
      const last = this.source.last;
      if (current.dirty) {
        const error = await this.dirtyError(from);
        // A CloudFormation rollback to older files while a newer file is dirty: nothing to run here.
        if (options.allowDirtyAhead && last !== undefined && from > last) {
          return { applied: [], noChange: true, databaseAhead: true, state: current, dirty: error };
        }
        throw error;
      }
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
      const applied = await this.execute(plan, from, options.endRoleSessions ?? false);
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

  private async execute(plan: Plan, from: bigint, endRoleSessions: boolean): Promise<AppliedStep[]> {
    // Every file of the plan is read (checked to be UTF-8, and against the file rules) before the
    // first one runs, so a bad file stops the run before anything changes.
    const bodies = plan.steps.map((step) => (step.file ? this.source.body(step.file) : ''));
    plan.steps.forEach((step, i) => step.file && checkFileRules(step.file.name, bodies[i]));
    await this.checkRoleSessions(plan, bodies, endRoleSessions);
    const applied: AppliedStep[] = [];
    let current = from;
    for (const [i, step] of plan.steps.entries()) {
      if (this.options.deadline !== undefined && Date.now() >= this.options.deadline) {
        const at = applied.length > 0 ? applied[applied.length - 1].target : 'the version it had before';
        throw new TimeBudgetError(
          `stopped before ${describeStep(step).trim()}: the time budget is spent. The database is clean at ` +
            `${at}; run up again to continue`,
        );
      }
      const started = process.hrtime.bigint();
      // golang-migrate skips a whitespace-only body; a comment-only body is sent (and does nothing).
      const body = step.file && bodies[i].trim() !== '' ? bodies[i] : undefined;
      let clean = false;
      if (body === undefined) {
        await this.client.query(this.startAttemptSql(step, current, false, undefined, undefined));
      } else {
        clean = await this.runWithLockRetries(step, body, current);
      }
      if (!clean) await this.setVersion(step.target, false);
      current = step.target;
      const durationNs = process.hrtime.bigint() - started;
      applied.push({ ...step, durationNs });
      this.log(`${describeStep(step)} (${goDuration(durationNs)})`);
    }
    return applied;
  }

  /**
   * Runs one file; a try that waited longer than `lock_timeout` for a table lock (or deadlocked) and
   * committed nothing is tried again after a backoff, until the deadline. Giving up leaves the
   * database clean at the version before the file (nothing of it ran) and names the budget.
   */
  private async runWithLockRetries(step: Step, body: string, from: bigint): Promise<boolean> {
    const deadline = this.options.deadline;
    const backoff = this.options.lockRetryBackoffMs ?? 1000;
    const maxTries = deadline === undefined ? (this.options.lockRetryAttempts ?? 5) : Infinity;
    const notWrapped = whyNotWrappable(body);
    const blocks = notWrapped === undefined ? undefined : transactionBlocks(body);
    for (let tries = 1; ; tries++) {
      try {
        return await this.runFile(step, step.file!, body, from, notWrapped, blocks);
      } catch (err) {
        if (!(err instanceof MigrationFailedError) || !err.retryable) throw err;
        const wait = Math.min(backoff * 2 ** (tries - 1), 15_000);
        // Another try only when its whole lock wait fits before the deadline: a try cut short by
        // the watchdog would end as a cancelled file instead of this clean stop.
        const outOfTime = deadline !== undefined && Date.now() + wait + this.tableLockTimeoutMs >= deadline;
        if (!outOfTime && tries < maxTries) {
          this.log(
            `${step.file!.name}: ${(err.cause as Error).message} (lock_timeout ${this.tableLockTimeoutMs} ms, try ${tries}); ` +
              `rolled back, trying again in ${wait} ms`,
          );
          await sleep(wait);
          continue;
        }
        // Nothing of the file committed: the row goes back to where it was, clean.
        await this.setVersion(from, false);
        const why =
          `${step.file!.name} could not get its table locks: ${tries} tries of lock_timeout ` +
          `${this.tableLockTimeoutMs} ms each (${(err.cause as Error).message}); each rolled back, so the ` +
          'services waited at most one lock_timeout at a time. A long transaction holds the table: find it in ' +
          'pg_stat_activity.';
        if (outOfTime) {
          throw new TimeBudgetError(
            `stopped at ${describeStep(step).trim()}: the time budget (until ${new Date(deadline!).toISOString()}) ` +
              `is spent. ${why} The database is clean at ${from === NIL_VERSION ? 'no version' : from}; run up again to continue`,
          );
        }
        throw new MigrationFailedError(
          `${why} The database is clean at ${from === NIL_VERSION ? 'no version' : from}`,
          step,
          err.cause,
        );
      }
    }
  }

  /**
   * A `down` whose file drops roles (`DROP ROLE`) while those roles have sessions: PostgreSQL drops
   * them under the live sessions, which then fail (`invalid role OID`) until they reconnect, and an
   * open transaction of theirs still commits. Refused before anything runs, naming the roles,
   * unless `endSessions`: the roles then lose LOGIN (no reconnecting) and their sessions are ended.
   * The roles are those of the server whose names the down file contains.
   */
  private async checkRoleSessions(plan: Plan, bodies: string[], endSessions: boolean): Promise<void> {
    const dropping = plan.steps
      .map((step, i) => ({ step, body: bodies[i] }))
      .filter(({ step, body }) => step.direction === 'down' && /\bDROP\s+ROLE\b/i.test(body));
    if (dropping.length === 0) return;
    const { rows: roles } = await this.client.query<{ name: string }>(
      'SELECT rolname AS name FROM pg_roles WHERE rolname <> current_user',
    );
    const named = roles
      .map((r) => r.name)
      .filter((name) =>
        dropping.some(({ body }) =>
          new RegExp(`(^|[^\\w$])${name.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}($|[^\\w$])`, 'i').test(body),
        ),
      );
    if (named.length === 0) return;
    const sessions = async () =>
      (
        await this.client.query<{ role: string; pids: number[] }>(
          `SELECT usename AS role, array_agg(pid ORDER BY pid) AS pids FROM pg_stat_activity
            WHERE usename = ANY($1) AND pid <> pg_backend_pid() GROUP BY usename ORDER BY usename`,
          [named],
        )
      ).rows;
    const live = await sessions();
    if (live.length === 0) return;
    const files = dropping.map(({ step }) => step.file!.name).join(', ');
    const list = live
      .map((r) => `${r.role} (${r.pids.length} session(s), pids ${r.pids.join(', ')})`)
      .join('; ');
    if (!endSessions) {
      throw new RoleSessionsError(
        `refused: ${files} drops roles that are connected now: ${list}. PostgreSQL would drop them under the live ` +
          'sessions, which then fail (invalid role OID) while an open transaction of theirs still commits. ' +
          'Nothing ran. Fix: stop the services first (scale them to 0), or pass --end-service-sessions to take ' +
          'LOGIN from those roles and end their sessions before the down runs (docs/migrations.md, "Down past ' +
          'the service roles")',
      );
    }
    for (const r of live) {
      await this.client.query(`ALTER ROLE ${this.client.escapeIdentifier(r.role)} NOLOGIN`);
    }
    await this.client.query(
      'SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE usename = ANY($1) AND pid <> pg_backend_pid()',
      [named],
    );
    for (let i = 0; i < 50 && (await sessions()).length > 0; i++) await sleep(100);
    const left = await sessions();
    if (left.length > 0) {
      throw new RoleSessionsError(
        `could not end the sessions of ${left.map((r) => r.role).join(', ')} within 5 s; nothing ran. Fix: check ` +
          'pg_stat_activity and the rights of the migration user (pg_signal_backend)',
      );
    }
    this.log(`ended ${list} before ${files}; those roles no longer have LOGIN`);
  }

  /**
   * golang-migrate's `SetVersion(target, dirty=true)` and the attempt's evidence row, in one
   * committed transaction and one round trip. A step without SQL is committed at once.
   */
  private startAttemptSql(
    step: Step,
    from: bigint,
    runsSql: boolean,
    notWrapped: string | undefined,
    blocks: number | undefined,
    notRun?: string,
  ): string {
    const file = step.file ? this.client.escapeLiteral(step.file.name) : 'NULL';
    const reason = notWrapped === undefined ? 'NULL' : this.client.escapeLiteral(notWrapped);
    const blockCount = blocks === undefined ? 'NULL' : String(blocks);
    const committedBlocks = blocks === undefined ? 'NULL' : '0';
    return (
      `BEGIN; DELETE FROM ${this.table}; ${this.insertVersion(step.target, true)}` +
      `INSERT INTO ${this.attempts} (version, direction, from_version, target, file, not_wrapped_reason, ` +
      `committed_at, blocks, committed_blocks, not_run) ` +
      `VALUES (${step.version}, '${step.direction}', ${from}, ${step.target}, ${file}, ${reason}, ` +
      `${runsSql ? 'NULL' : 'clock_timestamp()'}, ${blockCount}, ${committedBlocks}, ` +
      `${notRun === undefined ? 'NULL' : this.client.escapeLiteral(notRun)}); COMMIT;\n`
    );
  }

  /**
   * Runs one file. Returns true when golang-migrate's clean write `(target, false)` committed with it.
   *
   * No parameters: node-postgres sends the simple query protocol. A file without transaction
   * control of its own is one implicit transaction; the commit record (advice.ts) and
   * golang-migrate's clean write ride in it, so the row turns clean exactly when the file commits.
   * A file of explicit `BEGIN … COMMIT` blocks gets a record inside each block, before its COMMIT,
   * so the record says how many blocks committed. Both kinds are sent in one query with the dirty
   * mark in front: PostgreSQL parses the whole string before running any of it, so a file that
   * does not parse leaves no mark, which is how the runner knows nothing of it ran. Any other file
   * (a lone CONCURRENTLY statement, VACUUM, …) is sent alone after the mark.
   */
  private async runFile(
    step: Step,
    file: MigrationFile,
    body: string,
    from: bigint,
    notWrapped: string | undefined,
    blocks: { closeAt: number; commits: boolean }[] | undefined,
  ): Promise<boolean> {
    const wrapped = notWrapped === undefined;
    const pipelined = wrapped || blocks !== undefined;
    const committing = blocks?.filter((b) => b.commits) ?? [];
    const start = this.startAttemptSql(step, from, true, notWrapped, blocks && committing.length);
    if (!pipelined) await this.client.query(start);
    const current = `WHERE id = currval(pg_get_serial_sequence(${this.client.escapeLiteral(this.attempts)}, 'id'))`;
    // Each committing block records itself just before its COMMIT.
    const inserts: { at: number; text: string }[] = committing.map((b, i) => ({
      at: b.closeAt,
      text: `UPDATE ${this.attempts} SET committed_blocks = ${i + 1} ${current};\n`,
    }));
    let instrumented = body;
    for (const insert of [...inserts].reverse()) {
      instrumented = instrumented.slice(0, insert.at) + insert.text + instrumented.slice(insert.at);
    }
    const query = pipelined
      ? `${start}${instrumented}\n;UPDATE ${this.attempts} SET committed_at = clock_timestamp() ${current}; ` +
        `DELETE FROM ${this.table}; ${this.insertVersion(step.target, false)}`
      : body;
    const attempt: Attempt = {
      version: step.version,
      direction: step.direction,
      fromVersion: from,
      target: step.target,
      file: file.name,
      notWrappedReason: notWrapped ?? null,
      committed: false,
      blocks: blocks ? committing.length : null,
      committedBlocks: blocks ? 0 : null,
      body,
    };
    const deadline = this.options.deadline;
    const watchdog =
      deadline !== undefined && this.options.openWatchdog
        ? startWatchdog(deadline, this.pid, this.options.openWatchdog)
        : undefined;
    let failure: unknown;
    try {
      await this.client.query(query);
    } catch (err) {
      failure = err;
    }
    const { fired } = (await watchdog?.stop()) ?? { fired: false };
    if (failure === undefined) return pipelined;
    const code = (failure as DatabaseError).code;
    // The watchdog, or statement_timeout (the second bound, when the watchdog could not connect).
    const cancelled = code === '57014' && (fired || (deadline !== undefined && Date.now() >= deadline));
    const notRun = await this.recordIfNotRun(failure, step, from, pipelined, notWrapped, attempt);
    const advice = await this.adviseFailure(failure, { ...attempt, notRun });
    const located = shiftPosition(
      failure,
      pipelined ? [...start].length : 0,
      inserts.map((x) => ({ at: [...body.slice(0, x.at)].length, length: [...x.text].length })),
    );
    const message = cancelled
      ? `migration cancelled at the deadline: ${file.name} was still running when the time budget ran out ` +
        `(${deadline !== undefined ? new Date(deadline).toISOString() : ''}); it was rolled back where it ran in ` +
        'one transaction'
      : migrationFailedMessage(located, body, file) +
        (notRun ? ' (nothing of the file ran: PostgreSQL refused it before running any statement)' : '');
    const retryable =
      !cancelled &&
      code !== undefined &&
      TRANSIENT_LOCK_CODES.has(code) &&
      (wrapped || (blocks !== undefined && advice.certain && (await this.committedBlocks()) === 0));
    throw new MigrationFailedError(message, step, failure, advice, cancelled, retryable);
  }

  /** committed_blocks of the latest attempt. */
  private async committedBlocks(): Promise<number | null | undefined> {
    return (await latestAttempt(this.client, this.attempts))?.committedBlocks;
  }

  /**
   * When PostgreSQL refused the file before running any of it (a parse or encoding error), records
   * that, and leaves `(target, dirty)` as golang-migrate's CLI leaves it. Returns the reason, or null.
   * A pipelined file's dirty mark shares its query: no mark means the string never ran.
   */
  private async recordIfNotRun(
    failure: unknown,
    step: Step,
    from: bigint,
    pipelined: boolean,
    notWrapped: string | undefined,
    attempt: Attempt,
  ): Promise<string | null> {
    if (typeof (failure as DatabaseError).code !== 'string') return null;
    const reason = `${(failure as DatabaseError).message}`;
    try {
      await this.client.query('ROLLBACK');
      if (pipelined) {
        const state = await this.version();
        if (state.version === step.target && state.dirty) return null;
        await this.client.query(
          this.startAttemptSql(step, from, true, notWrapped, attempt.blocks ?? undefined, reason),
        );
        return reason;
      }
      if (!refusedBeforeRunning(failure)) return null;
      await this.client.query(
        `UPDATE ${this.attempts} SET not_run = $1 WHERE id = (SELECT max(id) FROM ${this.attempts})`,
        [reason],
      );
      return reason;
    } catch {
      return null;
    }
  }

  /** Advice right after a file failed: from the record when the session still answers. */
  private async adviseFailure(failure: unknown, attempt: Attempt): Promise<Advice> {
    const serverError = typeof (failure as DatabaseError).code === 'string';
    try {
      if (!serverError) throw failure;
      // A file with its own BEGIN may leave its failed transaction open; end it as closing would.
      await this.client.query('ROLLBACK');
      const recorded = await latestAttempt(this.client, this.attempts);
      const ours = recorded?.target === attempt.target && recorded.file === attempt.file;
      return await adviseDirty(this.client, this.schema, attempt.target, {
        ...attempt,
        committed: ours ? recorded.committed : false,
        committedBlocks: ours ? recorded.committedBlocks : attempt.committedBlocks,
      });
    } catch {
      return lostConnectionAdvice(attempt);
    }
  }

  /** golang-migrate's dirty error, with advice from the latest attempt; reads only, takes no lock. */
  async dirtyError(version: bigint): Promise<DirtyDatabaseError> {
    const attempt = await latestAttempt(this.client, this.attempts);
    const file = attempt && this.source.file(attempt.version, attempt.direction);
    const body = file && file.name === attempt?.file ? this.safeBody(file) : undefined;
    const advice = await adviseDirty(this.client, this.schema, version, attempt && { ...attempt, body });
    return new DirtyDatabaseError(version, advice);
  }

  private safeBody(file: MigrationFile): string | undefined {
    try {
      return this.source.body(file);
    } catch {
      return undefined;
    }
  }

  private insertVersion(version: bigint, dirty: boolean): string {
    // Both values are a bigint and a boolean produced here, never text from outside.
    return version >= 0n || (version === NIL_VERSION && dirty)
      ? `INSERT INTO ${this.table} (version, dirty) VALUES (${version}, ${dirty}); `
      : '';
  }

  /**
   * golang-migrate `SetVersion`: empty the table and insert the row in one committed transaction, in
   * one round trip. golang-migrate empties it with TRUNCATE; DELETE leaves the same single row in the
   * same transaction, and costs 0.2 ms where TRUNCATE (a new table file every time) costs 2–3 ms,
   * twice per migration (bench/migrate.ts).
   */
  private async setVersion(version: bigint, dirty: boolean): Promise<void> {
    await this.client.query(`BEGIN; DELETE FROM ${this.table}; ${this.insertVersion(version, dirty)}COMMIT;`);
  }

  private async ensureVersionTable(): Promise<void> {
    const { rows } = await this.client.query<{ versions: string; attempts: string; current: string }>(
      `SELECT (SELECT COUNT(1) FROM information_schema.tables WHERE table_schema = $1 AND table_name = $2) AS versions,
              (SELECT COUNT(1) FROM information_schema.tables WHERE table_schema = $1 AND table_name = $3) AS attempts,
              (SELECT COUNT(1) FROM pg_attribute WHERE attrelid = to_regclass($4) AND attname = 'not_run'
                  AND NOT attisdropped) AS current`,
      // The column check reads pg_attribute: information_schema.columns costs tens of ms per run.
      [this.schema, this.tableName, ATTEMPTS_TABLE, this.attempts],
    );
    if (rows[0]?.versions !== '1') {
      await this.client.query(
        `CREATE TABLE IF NOT EXISTS ${this.table} (version bigint not null primary key, dirty boolean not null)`,
      );
    }
    if (rows[0]?.attempts !== '1') await this.client.query(ATTEMPTS_DDL(this.attempts));
    else if (rows[0]?.current !== '1') await this.client.query(ATTEMPTS_UPGRADE(this.attempts));
  }

  /**
   * Creates the coming months' partitions of each partitioned time-series table, table by table
   * (partitions.ts), under the migration lock so it never runs beside a migration. Returns null
   * where the schema has no time-series tables yet (not migrated).
   */
  async ensurePartitions(monthsAhead: number): Promise<PartitionReport | null> {
    await this.lock();
    try {
      return await ensurePartitionsTableByTable(this.client, monthsAhead, this.options.deadline);
    } finally {
      await this.unlock();
    }
  }

  /** Measures the partitions for the alarms, changing nothing and taking no lock. */
  measurePartitions(monthsAhead: number): Promise<PartitionReport | null> {
    return measurePartitions(this.client, monthsAhead);
  }

  private async lock(): Promise<void> {
    // The wait for the advisory lock has its own bound (golang-migrate's -lock-timeout), cut to what
    // is left of the budget, so the deadline ends it with the budget's message rather than
    // statement_timeout's raw one. Afterwards the session's table lock_timeout applies again.
    const deadline = this.options.deadline;
    const left = deadline === undefined ? Infinity : Math.max(1, deadline - Date.now());
    const wait = Math.max(1, Math.floor(Math.min(this.lockTimeoutMs, left)));
    let failed = false;
    try {
      await this.client.query(`SET lock_timeout = ${wait}`);
      await this.client.query('SELECT pg_advisory_lock($1)', [this.lockId]);
    } catch (err) {
      failed = true;
      const code = (err as DatabaseError).code;
      const budgetSpent =
        deadline !== undefined && (code === '57014' || (code === '55P03' && wait < this.lockTimeoutMs));
      if (budgetSpent) {
        throw new TimeBudgetError(
          `stopped waiting for the migration lock (advisory lock ${this.lockId}): the time budget (until ` +
            `${new Date(deadline).toISOString()}) is spent after ${wait} ms of waiting. Another migration holds ` +
            'the lock (the golang-migrate CLI or ops migrate); nothing ran and schema_migrations is unchanged',
        );
      }
      if (code === '55P03') throw new LockTimeoutError(this.lockId); // lock_not_available
      throw err;
    } finally {
      await this.client.query(`SET lock_timeout = ${this.tableLockTimeoutMs}`).catch((err) => {
        if (!failed) throw err;
      });
    }
  }

  private async unlock(): Promise<void> {
    await this.client.query('SELECT pg_advisory_unlock($1)', [this.lockId]);
  }
}

/**
 * The error with its position made relative to the file: the query started with `shift` characters
 * of the runner's, and the runner's `inserts` (at a character offset of the file) were added in it.
 */
function shiftPosition(err: unknown, shift: number, inserts: { at: number; length: number }[] = []): unknown {
  const position = Number((err as Partial<DatabaseError>).position);
  if ((!shift && inserts.length === 0) || !Number.isInteger(position)) return err;
  let p = position - shift;
  // p counts from 1; once the earlier inserts are taken off, an insert covers [at, at + length).
  for (const insert of inserts) {
    if (p - 1 < insert.at + insert.length) break;
    p -= insert.length;
  }
  const e = err as DatabaseError;
  return { message: e.message, detail: e.detail, position: String(p) };
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
