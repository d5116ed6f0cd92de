import type { Client } from 'pg';
import { NIL_VERSION } from './plan';
import { concurrentIndexName, splitStatements, transactionBlocks } from './transaction';

/**
 * What to do about a dirty database, decided from evidence rather than assumed.
 *
 * golang-migrate's table says only `(V, dirty)`: a file was started and not finished. Whether that
 * file committed (the client died after the server committed it), rolled back (it failed), was a
 * down (the schema is then still at the higher version) or half-ran (own BEGIN/COMMIT,
 * CONCURRENTLY) cannot be read from it. The runner therefore records each attempt in a side table,
 * {@link ATTEMPTS_TABLE}, next to golang-migrate's (which stays exactly as golang-migrate writes
 * it):
 * - the attempt row is committed together with `(V, dirty)`;
 * - its `committed_at` is set by a statement appended to the file's own query, so it commits if and
 *   only if the file commits, whenever the file can be wrapped (transaction.ts).
 */

/** The side table, in the same schema as schema_migrations. */
export const ATTEMPTS_TABLE = 'cb_migration_attempts';

/** Its DDL; `%s` is the qualified name. One row per file the runner started. */
export const ATTEMPTS_DDL = (qualified: string) =>
  `CREATE TABLE IF NOT EXISTS ${qualified} (
    id bigserial PRIMARY KEY,
    version bigint NOT NULL,
    direction text NOT NULL,
    from_version bigint NOT NULL,
    target bigint NOT NULL,
    file text,
    not_wrapped_reason text,
    started_at timestamptz NOT NULL DEFAULT clock_timestamp(),
    committed_at timestamptz,
    blocks integer,
    committed_blocks integer,
    not_run text
  )`;

/**
 * Brings an older {@link ATTEMPTS_TABLE} (before the block and not-run evidence) up to date; only
 * sent when a column is missing.
 */
export const ATTEMPTS_UPGRADE = (qualified: string) =>
  `ALTER TABLE ${qualified} ADD COLUMN IF NOT EXISTS blocks integer,
     ADD COLUMN IF NOT EXISTS committed_blocks integer, ADD COLUMN IF NOT EXISTS not_run text`;

/** One row of {@link ATTEMPTS_TABLE}. */
export interface Attempt {
  readonly version: bigint;
  readonly direction: 'up' | 'down';
  /** schema_migrations before the file (-1: no row). */
  readonly fromVersion: bigint;
  /** schema_migrations after it. */
  readonly target: bigint;
  readonly file: string | null;
  /** Why the commit could not be recorded in the file's transaction; null when it was. */
  readonly notWrappedReason: string | null;
  readonly committed: boolean;
  /**
   * For a file of explicit transaction blocks (transaction.ts `transactionBlocks`): how many it has;
   * null for any other file.
   */
  readonly blocks?: number | null;
  /** How many of those blocks committed: each block carries its own record (runner.ts). */
  readonly committedBlocks?: number | null;
  /** Set when PostgreSQL refused the file before running any of it (a parse or encoding error). */
  readonly notRun?: string | null;
  /** The file's text, when the runner still has it (for the index name of a CONCURRENTLY file). */
  readonly body?: string;
}

/** One thing for a person to do. */
export type Action = { readonly force: bigint } | { readonly sql: string } | { readonly say: string };

/** The finding and the actions, in order. */
export interface Advice {
  /** What the evidence says happened. */
  readonly finding: string;
  readonly actions: readonly Action[];
  /** False when the evidence cannot decide and a person must inspect the schema. */
  readonly certain: boolean;
}

const versionName = (v: bigint) => (v === NIL_VERSION ? '-1 (no version)' : String(v));

/** Renders advice; `force(v)` is the command that forces v where the reader runs it. */
export function renderAdvice(advice: Advice, force: (version: bigint) => string): string {
  const steps = advice.actions.map((a, i) => {
    const text =
      'force' in a
        ? `run "${force(a.force)}" (sets version ${versionName(a.force)}, clears dirty, runs no SQL)`
        : 'sql' in a
          ? `run "${a.sql}" in the database`
          : a.say;
    return `${i + 1}. ${text}`;
  });
  return `${advice.finding} ${steps.join(' ')}`;
}

/** Reads the latest attempt, or undefined when the table or a row is missing. */
export async function latestAttempt(client: Client, qualified: string): Promise<Attempt | undefined> {
  try {
    const { rows } = await client.query<{
      version: string;
      direction: 'up' | 'down';
      from_version: string;
      target: string;
      file: string | null;
      not_wrapped_reason: string | null;
      committed: boolean;
      blocks: number | null;
      committed_blocks: number | null;
      not_run: string | null;
    }>(
      // to_jsonb(a) reads the evidence columns of an older table as null instead of failing.
      `SELECT version, direction, from_version, target, file, not_wrapped_reason,
              committed_at IS NOT NULL AS committed, (to_jsonb(a) ->> 'blocks')::int AS blocks,
              (to_jsonb(a) ->> 'committed_blocks')::int AS committed_blocks, to_jsonb(a) ->> 'not_run' AS not_run
         FROM ${qualified} a ORDER BY id DESC LIMIT 1`,
    );
    const r = rows[0];
    if (!r) return undefined;
    return {
      version: BigInt(r.version),
      direction: r.direction,
      fromVersion: BigInt(r.from_version),
      target: BigInt(r.target),
      file: r.file,
      notWrappedReason: r.not_wrapped_reason,
      committed: r.committed,
      blocks: r.blocks,
      committedBlocks: r.committed_blocks,
      notRun: r.not_run,
    };
  } catch (err) {
    if ((err as { code?: string }).code === '42P01') return undefined; // undefined_table
    throw err;
  }
}

/** INVALID indexes in `schema`: what a failed CREATE INDEX CONCURRENTLY leaves behind. */
async function invalidIndexes(client: Client, schema: string): Promise<string[]> {
  const { rows } = await client.query<{ name: string }>(
    `SELECT c.relname AS name FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid
      JOIN pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname = $1 AND NOT i.indisvalid ORDER BY 1`,
    [schema],
  );
  return rows.map((r) => r.name);
}

const quoteIdent = (name: string) =>
  /^[a-z_][a-z0-9_$]*$/.test(name) ? name : `"${name.replace(/"/g, '""')}"`;

/**
 * Advice for `(dirtyVersion, dirty)`, from the latest attempt (and the catalog where the file could
 * not record its commit). `describeFile(v, dir)` names a file for the messages.
 */
export async function adviseDirty(
  client: Client,
  schema: string,
  dirtyVersion: bigint,
  attempt: Attempt | undefined,
): Promise<Advice> {
  if (!attempt || attempt.target !== dirtyVersion) {
    return {
      finding:
        `No record of the run that left (${dirtyVersion}, dirty): it was not this runner (the golang-migrate CLI, ` +
        'or a runner older than the record), so whether its file committed is unknown. Inspect before forcing:',
      actions: [
        {
          say:
            `compare the schema with the file that ran: for an up, migrations/${dirtyVersion}_*.up.sql; for a down, ` +
            `the down file of the version after ${dirtyVersion}.`,
        },
        {
          say:
            'If all of its changes are there, force the version it leads to; if none are, force the version it ' +
            'started from; if some are, finish or undo them by hand first.',
        },
      ],
      certain: false,
    };
  }
  const file = attempt.file ?? `version ${attempt.version} (${attempt.direction}, no file)`;
  const what = attempt.direction === 'up' ? `up ${file}` : `down ${file}`;
  if (attempt.committed) {
    return {
      finding:
        `The ${what} committed (its commit record, written in the file's own transaction, exists), but the runner ` +
        `stopped before it cleared the dirty flag. The schema is at ${versionName(attempt.target)}; do NOT run the ` +
        'file again.',
      actions: [
        { force: attempt.target },
        { say: 'Deploy again (or "up") to continue with the next files.' },
      ],
      certain: true,
    };
  }
  if (attempt.notRun) {
    return {
      finding:
        `Nothing of the ${what} ran: PostgreSQL refused the whole file before running any statement of it ` +
        `(${attempt.notRun}). The schema is at ${versionName(attempt.fromVersion)}; do NOT force ` +
        `${versionName(attempt.target)}, which would mark a file that never ran as applied.`,
      actions: [
        { say: `Fix ${file} (the error names the line; a byte-order mark or a misspelt keyword is enough).` },
        { force: attempt.fromVersion },
        { say: attempt.direction === 'up' ? 'Deploy again (or "up").' : 'Run the down again once fixed.' },
      ],
      certain: true,
    };
  }
  const stillAt =
    attempt.direction === 'up'
      ? `The schema is at ${versionName(attempt.fromVersion)}, the version before it.`
      : `The schema is still at ${versionName(attempt.fromVersion)}, the version the down started from.`;
  if (attempt.notWrappedReason === null) {
    return {
      finding: `The ${what} ran in one transaction and did not commit: none of it is in the database. ${stillAt}`,
      actions: [
        { say: `Fix ${file} if it failed (the error names the line).` },
        { force: attempt.fromVersion },
        {
          say:
            attempt.direction === 'up'
              ? 'Deploy again (or "up").'
              : 'Run the down again once the file is fixed, if you still want it.',
        },
      ],
      certain: true,
    };
  }
  if (attempt.blocks != null && attempt.committedBlocks != null) {
    return blockAdvice(client, attempt as Attempt & { blocks: number; committedBlocks: number }, what, file);
  }
  const index = attempt.body ? concurrentIndexName(attempt.body) : undefined;
  if (index !== undefined && attempt.direction === 'up') {
    const { rows } = await client.query<{ valid: boolean }>(
      `SELECT i.indisvalid AS valid FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid
        JOIN pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname = $1 AND c.relname = $2`,
      [schema, index],
    );
    if (rows[0]?.valid) {
      return {
        finding: `${file} builds index ${index} CONCURRENTLY (outside a transaction); the index exists and is valid, so the build finished.`,
        actions: [{ force: attempt.target }, { say: 'Deploy again (or "up").' }],
        certain: true,
      };
    }
    return {
      finding:
        `${file} builds index ${index} CONCURRENTLY (outside a transaction). ` +
        (rows.length > 0
          ? `The failed build left ${index} INVALID: it is not used, but blocks the next attempt ("already exists").`
          : `The index does not exist: the build did not start.`) +
        ` ${stillAt}`,
      actions: [
        ...(rows.length > 0 ? [{ sql: `DROP INDEX CONCURRENTLY IF EXISTS ${quoteIdent(index)}` }] : []),
        { say: 'Fix the cause (e.g. duplicate rows for a UNIQUE index; the error names it).' },
        { force: attempt.fromVersion },
        { say: 'Deploy again (or "up").' },
      ],
      certain: true,
    };
  }
  const invalid = await invalidIndexes(client, schema);
  const objects = attempt.body ? await catalogue(client, attempt.body) : undefined;
  return {
    finding:
      `The ${what} has ${attempt.notWrappedReason}, so it ran outside one transaction and parts of it may have ` +
      `committed; the runner cannot know which.` +
      (invalid.length > 0 ? ` INVALID indexes in ${schema}: ${invalid.join(', ')}.` : '') +
      (objects ? ` ${objects}` : ''),
    actions: [
      { say: `Inspect which statements of ${file} took effect (tables, columns, indexes, data).` },
      {
        say:
          `If all did, force ${versionName(attempt.target)}; if none did, force ${versionName(attempt.fromVersion)}; ` +
          'otherwise finish or undo the rest by hand first, then force.',
      },
    ],
    certain: false,
  };
}

/** Advice when the connection broke while the file ran: the server may still commit or roll back. */
export function lostConnectionAdvice(attempt: Pick<Attempt, 'target' | 'file'>): Advice {
  return {
    finding:
      `The connection to PostgreSQL broke while ${attempt.file ?? 'the file'} ran, so whether the server committed ` +
      'it is not known yet.',
    actions: [
      {
        say:
          'Deploy again (or run "up"): the runner then waits for the lock, which the old session holds until the ' +
          'server has finished, reads the commit record and says which version to force.',
      },
    ],
    certain: false,
  };
}

/** The line (1-based) of character index `at` of `text`. */
const lineOf = (text: string, at: number) => text.slice(0, at).split('\n').length;

/**
 * Advice for a file of explicit transaction blocks, from the record each block commits with it
 * (runner.ts) and a catalogue check of what the file creates. Never says to force past, or run
 * again, a block that committed.
 */
async function blockAdvice(
  client: Client,
  attempt: Attempt & { blocks: number; committedBlocks: number },
  what: string,
  file: string,
): Promise<Advice> {
  const { blocks: n, committedBlocks: k, body } = attempt;
  const objects = body ? await catalogue(client, body) : undefined;
  const seen = objects ? ` Catalogue check: ${objects}` : '';
  const structure = body ? transactionBlocks(body) : undefined;
  const statements = body ? splitStatements(body) : undefined;
  const lastClose = structure && structure.length > 0 ? structure[structure.length - 1].closeAt : -1;
  const trailing = statements ? statements.some((s) => s.start > lastClose) : true;
  if (k === 0) {
    return {
      finding:
        `None of the ${n} transaction block(s) of the ${what} committed (each block commits its own record, and ` +
        `none exists): nothing of it is in the database.${seen} The schema is at ${versionName(attempt.fromVersion)}.`,
      actions: [
        { say: `Fix ${file} if it failed (the error names the line).` },
        { force: attempt.fromVersion },
        { say: attempt.direction === 'up' ? 'Deploy again (or "up").' : 'Run the down again once fixed.' },
      ],
      certain: true,
    };
  }
  if (k === n && !trailing) {
    return {
      finding:
        `All ${n} transaction block(s) of the ${what} committed (each block's own record exists) and nothing ` +
        `follows them: the file is applied.${seen} Do NOT run it again.`,
      actions: [
        { force: attempt.target },
        { say: 'Deploy again (or "up") to continue with the next files.' },
      ],
      certain: true,
    };
  }
  const from =
    body && structure && structure[k - 1] !== undefined
      ? ` (everything after line ${lineOf(body, structure[k - 1].closeAt)})`
      : '';
  return {
    finding:
      `The ${what} is half applied: ${k} of its ${n} transaction block(s) committed (each block's own record ` +
      `says so), the rest of the file${from} did not.${seen} Forcing either version would be wrong, and running ` +
      'the file again would repeat the committed blocks.',
    actions: [
      {
        say:
          `Either finish by hand what did not run${from} and force ${versionName(attempt.target)}, or undo by hand ` +
          `what the ${k} committed block(s) did and force ${versionName(attempt.fromVersion)}.`,
      },
      { say: 'Then deploy again (or "up").' },
    ],
    certain: false,
  };
}

const CREATES =
  /^CREATE\s+(?:OR\s+REPLACE\s+)?(?:(?:GLOBAL|LOCAL)\s+)?(?:TEMP(?:ORARY)?\s+|UNLOGGED\s+)?(?:UNIQUE\s+)?(TABLE|INDEX|VIEW|MATERIALIZED\s+VIEW|SEQUENCE|SCHEMA|TYPE|FUNCTION|PROCEDURE)\s+(?:CONCURRENTLY\s+)?(?:IF\s+NOT\s+EXISTS\s+)?("(?:[^"]|"")+"(?:\."(?:[^"]|"")+"|\.[A-Za-z_][\w$]*)?|[A-Za-z_][\w$]*(?:\.(?:"(?:[^"]|"")+"|[A-Za-z_][\w$]*))?)/i;

/**
 * Which of the objects `sql` creates (tables, indexes, views, sequences, schemas, types,
 * functions) exist now: "present: a, b; absent: c". Undefined when it creates none.
 */
export async function catalogue(client: Client, sql: string): Promise<string | undefined> {
  const created: { kind: string; name: string }[] = [];
  for (const s of splitStatements(sql) ?? []) {
    const m = CREATES.exec(s.masked);
    if (m) created.push({ kind: m[1].toUpperCase().replace(/\s+/g, ' '), name: m[2] });
  }
  if (created.length === 0) return undefined;
  const present: string[] = [];
  const absent: string[] = [];
  for (const { kind, name } of created) {
    const unquoted = name.replace(/"/g, '');
    const probe =
      kind === 'SCHEMA'
        ? 'SELECT EXISTS (SELECT 1 FROM pg_namespace WHERE nspname = $1) AS found'
        : kind === 'TYPE'
          ? 'SELECT to_regtype($1) IS NOT NULL AS found'
          : kind === 'FUNCTION' || kind === 'PROCEDURE'
            ? "SELECT EXISTS (SELECT 1 FROM pg_proc WHERE proname = split_part($1, '.', -1)) AS found"
            : 'SELECT to_regclass($1) IS NOT NULL AS found';
    const arg = kind === 'SCHEMA' || kind === 'FUNCTION' || kind === 'PROCEDURE' ? unquoted : name;
    const { rows } = await client.query<{ found: boolean }>(probe, [arg]);
    (rows[0]?.found ? present : absent).push(`${kind.toLowerCase()} ${unquoted}`);
  }
  return `present: ${present.join(', ') || 'none'}; absent: ${absent.join(', ') || 'none'}.`;
}
