import { loadModule, parseSync } from 'libpg-query';

// What a migration's SQL does, read with PostgreSQL's own grammar (libpg-query embeds the server's
// parser, as WebAssembly: no native build). Statements are classified by their parse tree, never by
// regular expressions, so `DrOp   TABLE "bet_events"` and a statement split over lines read the same.

/** What a statement does to the data or to the services using it. */
export type SqlRisk =
  /** Loses data or breaks the services' queries: blocks. */
  | 'destructive'
  /** Takes a lock that stops the services' writes (and, while it waits, their reads): warns. */
  | 'locks'
  /** The file does not parse: nothing in it would run, and nothing can be judged: blocks. */
  | 'unparsable'
  /** Code the parser cannot see into (a `DO` block's PL/pgSQL body): warns, review by hand. */
  | 'opaque';

/** One risky statement of a migration file. */
export interface SqlFinding {
  readonly file: string;
  readonly risk: SqlRisk;
  /** The statement as written (whitespace collapsed, cut to 200 characters). */
  readonly statement: string;
  /** What it does and why that matters. */
  readonly why: string;
}

/** The tables the services' database roles may use (any privilege) and write (INSERT, UPDATE, DELETE). */
export interface ServiceTables {
  readonly used: ReadonlySet<string>;
  readonly written: ReadonlySet<string>;
  /** A grant on every table of a schema (or to PUBLIC): every table counts. */
  readonly all: boolean;
  /** The service roles the grants were read for: a REVOKE from one of them is destructive. */
  readonly roles?: readonly string[];
}

let loaded: Promise<void> | undefined;
let ready = false;

/** Loads the parser (WebAssembly) once; call before {@link analyzeSql}. */
export function loadSqlParser(): Promise<void> {
  loaded ??= loadModule().then(() => {
    ready = true;
  });
  return loaded;
}

type Node = Record<string, unknown>;

function parse(sql: string): { stmts?: { stmt: Node; stmt_location?: number; stmt_len?: number }[] } {
  if (!ready)
    throw new Error('The SQL parser is not loaded. Fix: await loadSqlParser() before analyzing migrations.');
  return parseSync(sql);
}

const one = (n: unknown, key: string) => (n as Node | undefined)?.[key] as Node | undefined;
const list = (v: unknown) => (Array.isArray(v) ? (v as Node[]) : []);
const relName = (rv: unknown) => String((rv as Node | undefined)?.relname ?? '');
const sval = (n: unknown) => String(one(n, 'String')?.sval ?? '');

/**
 * Functions whose value differs per row (PostgreSQL `pg_proc.provolatile = 'v'`): as a column
 * default they make `ADD COLUMN` rewrite the whole table under ACCESS EXCLUSIVE. Since PostgreSQL 11
 * a non-volatile default (a constant, `now()`) is stored once and needs no rewrite.
 */
const VOLATILE_FUNCTIONS = new Set([
  'random',
  'gen_random_uuid',
  'uuid_generate_v1',
  'uuid_generate_v1mc',
  'uuid_generate_v4',
  'clock_timestamp',
  'timeofday',
  'nextval',
  'setseed',
  'txid_current',
]);

/** Whether an expression calls a volatile function (or a function the list does not know: unknown is treated as volatile). */
function volatileCall(expr: unknown, known: { unknown?: string }): boolean {
  let found = false;
  const walk = (v: unknown) => {
    if (found || v === null || typeof v !== 'object') return;
    if (Array.isArray(v)) return v.forEach(walk);
    const call = (v as Node).FuncCall as Node | undefined;
    if (call) {
      const name = list(call.funcname).map(sval).at(-1) ?? '';
      if (VOLATILE_FUNCTIONS.has(name)) found = true;
      else if (!NON_VOLATILE_FUNCTIONS.has(name)) {
        known.unknown = name;
        found = true;
      }
    }
    Object.values(v as Node).forEach(walk);
  };
  walk(expr);
  return found;
}

/** Common defaults that are immutable or stable: no rewrite. */
const NON_VOLATILE_FUNCTIONS = new Set([
  'now',
  'transaction_timestamp',
  'statement_timestamp',
  'current_setting',
  'lower',
  'upper',
  'coalesce',
  'jsonb_build_object',
  'json_build_object',
  'make_interval',
  'to_timestamp',
]);

/** The tables the service roles may use and write, from the GRANT and REVOKE statements of `files`, in order. */
export function serviceTablesOf(files: readonly { sql?: string }[], roles: readonly string[]): ServiceTables {
  const used = new Set<string>();
  const written = new Set<string>();
  let all = false;
  for (const f of files) {
    if (f.sql === undefined) continue;
    let stmts;
    try {
      stmts = parse(f.sql).stmts ?? [];
    } catch {
      continue; // reported as unparsable where it matters (an added file)
    }
    for (const { stmt } of stmts) {
      const g = one(stmt, 'GrantStmt');
      if (!g || g.objtype !== 'OBJECT_TABLE') continue;
      const grantees = list(g.grantees).map((r) => one(r, 'RoleSpec'));
      const toService = grantees.some(
        (r) => r?.roletype === 'ROLESPEC_PUBLIC' || roles.includes(String(r?.rolename ?? '')),
      );
      if (!toService) continue;
      const privileges = list(g.privileges).map((p) => String(one(p, 'AccessPriv')?.priv_name ?? ''));
      const writes =
        privileges.length === 0 ||
        privileges.some((p) => ['insert', 'update', 'delete', 'truncate'].includes(p));
      if (g.targtype === 'ACL_TARGET_ALL_IN_SCHEMA') {
        if (g.is_grant) all = true;
        continue;
      }
      for (const o of list(g.objects)) {
        const name = relName(one(o, 'RangeVar'));
        if (g.is_grant) {
          used.add(name);
          if (writes) written.add(name);
        } else if (privileges.length === 0) {
          used.delete(name);
          written.delete(name);
        }
      }
    }
  }
  // Nothing known about grants (no SQL at hand): every table counts, the safe side.
  return { used, written, all: all || (used.size === 0 && written.size === 0), roles };
}

const uses = (t: ServiceTables, table: string) => t.all || t.used.has(table);
const writes = (t: ServiceTables, table: string) => t.all || t.written.has(table);

/** Classifies every statement of one migration file. */
export function analyzeSql(file: string, sql: string, tables: ServiceTables): SqlFinding[] {
  let stmts;
  try {
    stmts = parse(sql).stmts ?? [];
  } catch (err) {
    const details = (err as { sqlDetails?: { cursorPosition?: number } }).sqlDetails;
    const at = details?.cursorPosition;
    const line = at === undefined ? undefined : sql.slice(0, at).split('\n').length;
    if (/not loaded/.test((err as Error).message)) throw err;
    return [
      {
        file,
        risk: 'unparsable',
        statement: at === undefined ? '' : text(sql, Math.max(0, at - 40), 80),
        why: `does not parse as PostgreSQL: ${(err as Error).message}${line ? ` (line ${line})` : ''}. The whole file runs as one query, so none of it would run`,
      },
    ];
  }
  const out: SqlFinding[] = [];
  for (const { stmt, stmt_location = 0, stmt_len } of stmts) {
    const statement = text(sql, stmt_location, stmt_len ?? sql.length - stmt_location);
    // Every node of the tree, not only the top statement: a DELETE in a data-modifying CTE
    // (`WITH g AS (DELETE FROM bets RETURNING 1) SELECT 1`) runs all the same.
    const walk = (v: unknown): void => {
      if (v === null || typeof v !== 'object') return;
      if (Array.isArray(v)) return v.forEach(walk);
      for (const [kind, child] of Object.entries(v as Node)) {
        if (child !== null && typeof child === 'object' && !Array.isArray(child))
          out.push(...classify(file, statement, kind, child as Node, tables));
        walk(child);
      }
    };
    walk(stmt);
  }
  return out;
}

/** What one node of a parse tree does (nothing for nodes that are not statements). */
function classify(
  file: string,
  statement: string,
  kind: string,
  node: Node,
  tables: ServiceTables,
): SqlFinding[] {
  const at = (risk: SqlRisk, why: string): SqlFinding[] => [{ file, risk, statement, why }];
  switch (kind) {
    case 'DropStmt': {
      const type = String(node.removeType);
      if (type === 'OBJECT_TABLE') return at('destructive', 'drops a table and its data');
      if (type === 'OBJECT_SCHEMA') return at('destructive', 'drops a schema and every table in it');
      const what =
        type === 'OBJECT_MATVIEW'
          ? 'materialized view'
          : type
              .replace(/^OBJECT_/, '')
              .replace(/_/g, ' ')
              .toLowerCase();
      return at(
        'destructive',
        `drops ${/^[aeiou]/.test(what) ? 'an' : 'a'} ${what}: the services' queries (or their speed) may depend on it`,
      );
    }
    case 'TruncateStmt':
      return at('destructive', 'deletes every row');
    case 'DeleteStmt':
      return noWhere(node.whereClause) ? at('destructive', 'DELETE without WHERE deletes every row') : [];
    case 'UpdateStmt':
      return noWhere(node.whereClause) ? at('destructive', 'UPDATE without WHERE overwrites every row') : [];
    case 'RenameStmt': {
      const table = relName(node.relation);
      const type = String(node.renameType);
      if ((type === 'OBJECT_TABLE' || type === 'OBJECT_COLUMN') && uses(tables, table)) {
        return at(
          'destructive',
          `renames ${type === 'OBJECT_TABLE' ? 'table' : `column ${String(node.subname)} of`} ${table}, which the services use: their queries fail until they are redeployed`,
        );
      }
      return [];
    }
    case 'IndexStmt': {
      const table = relName(node.relation);
      if (!node.concurrent && writes(tables, table)) {
        return at(
          'locks',
          `builds an index on ${table} without CONCURRENTLY: the services' writes to ${table} wait until it is built`,
        );
      }
      return [];
    }
    case 'AlterTableStmt':
      return list(node.cmds).flatMap((c) =>
        alterTable(file, statement, relName(node.relation), one(c, 'AlterTableCmd') ?? {}, tables),
      );
    case 'AlterDefaultPrivilegesStmt':
      // Its action is a GrantStmt's fields without the GrantStmt key.
      return classify(file, statement, 'GrantStmt', one(node, 'action') ?? {}, tables);
    case 'GrantStmt':
    case 'GrantRoleStmt': {
      if (node.is_grant) return [];
      const from = list(kind === 'GrantRoleStmt' ? node.grantee_roles : node.grantees)
        .map((r) => one(r, 'RoleSpec'))
        .filter(
          (r) =>
            r?.roletype === 'ROLESPEC_PUBLIC' || (tables.roles ?? []).includes(String(r?.rolename ?? '')),
        )
        .map((r) => (r?.roletype === 'ROLESPEC_PUBLIC' ? 'PUBLIC' : String(r?.rolename)));
      return from.length > 0
        ? at(
            'destructive',
            `revokes privileges from ${from.join(', ')}: the services' queries fail with permission denied`,
          )
        : [];
    }
    case 'VacuumStmt': {
      const full = list(node.options).some(
        (o) => String(one(o, 'DefElem')?.defname ?? '').toLowerCase() === 'full',
      );
      return full
        ? at(
            'locks',
            "VACUUM FULL rewrites each table under an ACCESS EXCLUSIVE lock: the services' reads and writes wait",
          )
        : [];
    }
    case 'DoStmt':
      return at(
        'opaque',
        'a DO block (PL/pgSQL) cannot be analysed, review by hand: it can do anything a migration can',
      );
    default:
      return [];
  }
}

/** A WHERE that is absent or always true (`WHERE true`, `WHERE 1 = 1`): every row. */
function noWhere(where: unknown): boolean {
  return where === undefined || where === null || constantTrue(where);
}

const stripLocations = (v: unknown): unknown =>
  v === null || typeof v !== 'object'
    ? v
    : Array.isArray(v)
      ? v.map(stripLocations)
      : Object.fromEntries(
          Object.entries(v as Node)
            .filter(([k]) => k !== 'location')
            .map(([k, x]) => [k, stripLocations(x)]),
        );

/** A constant (possibly cast), as comparable JSON; undefined when `v` is not one. */
function constant(v: unknown): string | undefined {
  const c = one(v, 'A_Const');
  if (c) return JSON.stringify(stripLocations(c));
  const cast = one(v, 'TypeCast');
  if (cast) {
    const inner = constant(cast.arg);
    return inner === undefined ? undefined : JSON.stringify([inner, stripLocations(cast.typeName)]);
  }
  return undefined;
}

function constantTrue(v: unknown): boolean {
  const c = one(v, 'A_Const');
  if (c) return one(c, 'boolval')?.boolval === true;
  const cast = one(v, 'TypeCast');
  if (cast) {
    const arg = one(one(cast.arg, 'A_Const'), 'sval')?.sval;
    return constantTrue(cast.arg) || ['t', 'true', 'y', 'yes', 'on', '1'].includes(String(arg).toLowerCase());
  }
  const e = one(v, 'A_Expr');
  if (e && e.kind === 'AEXPR_OP') {
    const op = list(e.name).map(sval).at(-1) ?? '';
    const [l, r] = [constant(e.lexpr), constant(e.rexpr)];
    if (l === undefined || r === undefined) return false;
    if (['=', '<=', '>='].includes(op)) return l === r;
    return false;
  }
  const b = one(v, 'BoolExpr');
  if (b) {
    const args = list(b.args);
    if (b.boolop === 'OR_EXPR') return args.some(constantTrue);
    if (b.boolop === 'AND_EXPR') return args.length > 0 && args.every(constantTrue);
  }
  const n = one(v, 'NullTest');
  if (n)
    return (
      n.nulltesttype === 'IS_NOT_NULL' && constant(n.arg) !== undefined && !one(n.arg, 'A_Const')?.isnull
    );
  return false;
}

function alterTable(
  file: string,
  statement: string,
  table: string,
  cmd: Node,
  tables: ServiceTables,
): SqlFinding[] {
  const at = (risk: SqlRisk, why: string): SqlFinding[] => [{ file, risk, statement, why }];
  const lock = `ACCESS EXCLUSIVE lock on ${table}, which the services write: their reads and writes wait`;
  switch (cmd.subtype) {
    case 'AT_DropColumn':
      return at('destructive', `drops column ${String(cmd.name)} of ${table} and its data`);
    case 'AT_AlterColumnType':
      return at(
        'destructive',
        `changes the type of ${table}.${String(cmd.name)}: rewrites the table under an ${lock.replace(', which the services write', '')}, and can fail or lose precision on existing rows`,
      );
    case 'AT_AddColumn': {
      if (!writes(tables, table)) return [];
      const constraints = list(one(cmd.def, 'ColumnDef')?.constraints).map((c) => one(c, 'Constraint') ?? {});
      const defaults = constraints.filter((c) => c.contype === 'CONSTR_DEFAULT');
      const known: { unknown?: string } = {};
      if (defaults.some((d) => volatileCall(d.raw_expr, known))) {
        const what = known.unknown
          ? `a default calling ${known.unknown}() (not known to be non-volatile)`
          : 'a volatile default';
        return at('locks', `adds a column with ${what}: rewrites every row under an ${lock}`);
      }
      return [];
    }
    case 'AT_AddConstraint': {
      const c = one(cmd.def, 'Constraint') ?? {};
      const validates = ['CONSTR_CHECK', 'CONSTR_FOREIGN'].includes(String(c.contype)) && !c.skip_validation;
      if (validates && writes(tables, table)) {
        return at(
          'locks',
          `adds a constraint and validates every row at once: writes to ${table} wait (add it NOT VALID, then VALIDATE CONSTRAINT separately)`,
        );
      }
      if (
        ['CONSTR_PRIMARY', 'CONSTR_UNIQUE', 'CONSTR_EXCLUSION'].includes(String(c.contype)) &&
        writes(tables, table)
      ) {
        return at(
          'locks',
          `adds a ${String(c.contype).replace('CONSTR_', '').toLowerCase()} constraint: builds its index under an ${lock}`,
        );
      }
      return [];
    }
    case 'AT_ValidateConstraint':
      return writes(tables, table)
        ? at(
            'locks',
            `validates a constraint: scans all of ${table} while holding a lock that blocks schema changes and autovacuum`,
          )
        : [];
    case 'AT_SetNotNull':
      return writes(tables, table) ? at('locks', `SET NOT NULL scans all of ${table} under an ${lock}`) : [];
    default:
      return [];
  }
}

/** A statement of a file as one line. */
function text(sql: string, from: number, length: number): string {
  // The parser counts a statement from the end of the previous one: leading comments are not it.
  const s = sql
    .slice(from, from + length)
    .replace(/^(\s*(--[^\n]*\n?|\/\*[\s\S]*?\*\/))+/, '')
    .replace(/\s+/g, ' ')
    .trim();
  return s.length > 200 ? `${s.slice(0, 199)}…` : s;
}
