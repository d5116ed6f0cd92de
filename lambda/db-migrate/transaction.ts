/**
 * Whether a migration file can carry the runner's commit record in its own implicit transaction.
 *
 * The runner sends a file as one simple-protocol query: PostgreSQL runs all of its statements in
 * one implicit transaction. Appending `UPDATE <attempts> SET committed_at = …` to that query puts
 * the record in the same transaction, so the record exists exactly when the file committed. That
 * holds only for files without transaction control of their own, and would break statements that
 * refuse to run in a transaction block (PostgreSQL runs a multi-statement query as one, so
 * `CREATE INDEX CONCURRENTLY` alone in a file works, and followed by the record would not).
 */

/** Statements (first words) that control transactions or refuse a transaction block. */
const LEADING = [
  ['BEGIN', 'its own BEGIN/COMMIT'],
  ['START TRANSACTION', 'its own BEGIN/COMMIT'],
  ['COMMIT', 'its own BEGIN/COMMIT'],
  ['END', 'its own BEGIN/COMMIT'],
  ['ROLLBACK', 'its own BEGIN/COMMIT'],
  ['ABORT', 'its own BEGIN/COMMIT'],
  ['SAVEPOINT', 'its own BEGIN/COMMIT'],
  ['RELEASE', 'its own BEGIN/COMMIT'],
  ['PREPARE TRANSACTION', 'its own BEGIN/COMMIT'],
  ['CALL', 'a CALL (a procedure may commit)'],
  ['VACUUM', 'VACUUM (not allowed in a transaction block)'],
  ['REINDEX', 'REINDEX'],
  ['CLUSTER', 'CLUSTER'],
  ['CREATE DATABASE', 'CREATE DATABASE'],
  ['DROP DATABASE', 'DROP DATABASE'],
  ['CREATE TABLESPACE', 'CREATE TABLESPACE'],
  ['DROP TABLESPACE', 'DROP TABLESPACE'],
  ['ALTER SYSTEM', 'ALTER SYSTEM'],
  ['CREATE SUBSCRIPTION', 'a subscription command'],
  ['ALTER SUBSCRIPTION', 'a subscription command'],
  ['DROP SUBSCRIPTION', 'a subscription command'],
  ['DISCARD', 'DISCARD'],
] as const;

/**
 * Replaces comments, string literals and dollar-quoted bodies with spaces, so keywords inside them
 * (a function body's BEGIN) do not count; quoted identifiers are kept as they are. Returns undefined when one of them is
 * not closed: the file's structure is then unknown and it is not wrapped.
 */
export function maskSql(sql: string): string | undefined {
  let out = '';
  let i = 0;
  const n = sql.length;
  while (i < n) {
    const c = sql[i];
    const next = sql[i + 1];
    let end = -1;
    if (c === '-' && next === '-') {
      end = sql.indexOf('\n', i);
      if (end === -1) end = n;
    } else if (c === '/' && next === '*') {
      let depth = 1;
      let j = i + 2;
      while (j < n && depth > 0) {
        if (sql[j] === '/' && sql[j + 1] === '*') [depth, j] = [depth + 1, j + 2];
        else if (sql[j] === '*' && sql[j + 1] === '/') [depth, j] = [depth - 1, j + 2];
        else j++;
      }
      if (depth > 0) return undefined;
      end = j;
    } else if (c === "'" || c === '"') {
      // '' and "" escape the quote; E'…' backslash escapes are handled below.
      const escaped = c === "'" && /[eE]/.test(sql[i - 1] ?? '') && !/[\w$]/.test(sql[i - 2] ?? '');
      let j = i + 1;
      for (;;) {
        if (j >= n) return undefined;
        if (escaped && sql[j] === '\\') j += 2;
        else if (sql[j] === c && sql[j + 1] === c) j += 2;
        else if (sql[j] === c) break;
        else j++;
      }
      end = j + 1;
    } else if (c === '$' && !/[\w$]/.test(sql[i - 1] ?? '')) {
      const tag = /^\$([A-Za-z_\u0080-\uffff][\w\u0080-\uffff]*)?\$/.exec(sql.slice(i, i + 200));
      if (tag) {
        const close = sql.indexOf(tag[0], i + tag[0].length);
        if (close === -1) return undefined;
        end = close + tag[0].length;
      }
    }
    if (end === -1) {
      out += c;
      i++;
    } else if (c === '"') {
      // A quoted identifier stays (an index name is read from it); only its quotes matter here.
      out += sql.slice(i, end);
      i = end;
    } else {
      out += sql.slice(i, end).replace(/[^\n]/g, ' ');
      i = end;
    }
  }
  return out;
}

/**
 * Why `sql` cannot be wrapped (e.g. "CREATE INDEX CONCURRENTLY"), or undefined when it can: every
 * statement then runs in the one implicit transaction, together with the record the runner appends.
 */
export function whyNotWrappable(sql: string): string | undefined {
  const masked = maskSql(sql);
  if (masked === undefined) return 'an unterminated comment, string or dollar-quoted body';
  if (/\bCONCURRENTLY\b/i.test(masked)) return 'CONCURRENTLY (not allowed in a transaction block)';
  for (const statement of masked.split(';')) {
    const words = statement.trim().split(/\s+/).slice(0, 2).join(' ').toUpperCase();
    for (const [keyword, reason] of LEADING) {
      if (words === keyword || words.startsWith(`${keyword} `)) return reason;
    }
  }
  return undefined;
}

/** The index a `CREATE [UNIQUE] INDEX CONCURRENTLY [IF NOT EXISTS] name` file builds, if it is one. */
export function concurrentIndexName(sql: string): string | undefined {
  const masked = maskSql(sql) ?? sql;
  const match =
    /\bCREATE\s+(?:UNIQUE\s+)?INDEX\s+CONCURRENTLY\s+(?:IF\s+NOT\s+EXISTS\s+)?("(?:[^"]|"")+"|[A-Za-z_][\w$]*)/i.exec(
      masked,
    );
  if (!match) return undefined;
  const raw = match[1];
  return raw.startsWith('"') ? raw.slice(1, -1).replace(/""/g, '"') : raw.toLowerCase();
}

/** One statement of a file: its character range in the file and its first words, upper-cased. */
export interface Statement {
  /** Index (UTF-16) of its first character in the file (after comments and blanks). */
  readonly start: number;
  /** Index just past its terminating semicolon (or the end of the file). */
  readonly end: number;
  /** The masked text (comments and literals blanked), trimmed. */
  readonly masked: string;
  /** Its first two words, upper-case ("BEGIN", "COMMIT", "CREATE INDEX", …). */
  readonly head: string;
}

/** The statements of `sql`, split at the semicolons outside comments, strings and dollar quotes. */
export function splitStatements(sql: string): Statement[] | undefined {
  const masked = maskSql(sql);
  if (masked === undefined) return undefined;
  const statements: Statement[] = [];
  let start = 0;
  for (let i = 0; i <= masked.length; i++) {
    if (i < masked.length && masked[i] !== ';') continue;
    const raw = masked.slice(start, i);
    const text = raw.trim();
    if (text !== '') {
      const head = text.split(/\s+/).slice(0, 2).join(' ').toUpperCase();
      const first = start + raw.length - raw.trimStart().length;
      statements.push({ start: first, end: Math.min(i + 1, masked.length), masked: text, head });
    }
    start = i + 1;
  }
  return statements;
}

const startsWith = (head: string, keyword: string) => head === keyword || head.startsWith(`${keyword} `);
const OPENS = ['BEGIN', 'START TRANSACTION'];
const CLOSES = ['COMMIT', 'END', 'ROLLBACK', 'ABORT'];

/** A file that breaks a rule the runner enforces before anything runs. */
export class MigrationRuleError extends Error {}

/**
 * The one-`CONCURRENTLY`-per-file rule (golang-migrate's PostgreSQL documentation: a statement that
 * cannot run in a transaction block goes in a file of its own). A multi-statement file is one
 * implicit transaction, so `CREATE INDEX CONCURRENTLY` beside anything else fails there; beside an
 * explicit `BEGIN … COMMIT` block it fails after that block committed, leaving the file half done.
 * Throws {@link MigrationRuleError} naming the file, the rule and the fix.
 */
export function checkFileRules(name: string, sql: string): void {
  const statements = splitStatements(sql);
  if (statements === undefined) return; // unterminated text: PostgreSQL refuses it before anything runs
  const concurrent = statements.filter((s) => /\bCONCURRENTLY\b/i.test(s.masked));
  if (concurrent.length === 0 || statements.length === 1) return;
  const others = statements.length - concurrent.length;
  const blocks = statements.some((s) => OPENS.some((k) => startsWith(s.head, k)));
  throw new MigrationRuleError(
    `migration file ${name} breaks the one-CONCURRENTLY-per-file rule: it has ${concurrent.length} ` +
      `CONCURRENTLY statement(s) beside ${others} other statement(s)${blocks ? ', including a BEGIN … COMMIT block' : ''}. ` +
      'A CONCURRENTLY statement cannot run in a transaction block, and a file runs as one (golang-migrate, ' +
      '"PostgreSQL": one such statement per file); beside a BEGIN … COMMIT block it fails after the block ' +
      'committed. Nothing ran. Fix: move each CONCURRENTLY statement into a migration file of its own, with no ' +
      'other statement (docs/migrations.md, "Writing migrations")',
  );
}

/**
 * A file made only of balanced explicit transaction blocks and plain statements (no SAVEPOINT,
 * PREPARE TRANSACTION or statements that refuse a transaction block): where each of its blocks
 * ends, the index (in the file) of the closing statement and whether it commits. Undefined for any
 * other file.
 *
 * Every statement of such a file belongs to exactly one unit that commits or not as a whole:
 * statements before a BEGIN join that block (PostgreSQL, "Multiple Statements in a Simple Query"),
 * and statements after the last block form one implicit transaction.
 */
export function transactionBlocks(sql: string): { closeAt: number; commits: boolean }[] | undefined {
  const statements = splitStatements(sql);
  if (statements === undefined) return undefined;
  const blocks: { closeAt: number; commits: boolean }[] = [];
  let open = false;
  for (const s of statements) {
    if (OPENS.some((k) => startsWith(s.head, k))) {
      if (open) return undefined;
      open = true;
    } else if (CLOSES.some((k) => startsWith(s.head, k))) {
      if (!open) return undefined;
      open = false;
      blocks.push({
        closeAt: s.start,
        commits: startsWith(s.head, 'COMMIT') || startsWith(s.head, 'END'),
      });
    } else if (whyNotWrappable(s.masked) !== undefined) {
      return undefined;
    }
  }
  return open ? undefined : blocks;
}
