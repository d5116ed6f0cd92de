import { code } from './rule-text';
import { Finding, FindingDraft, FindingProvider, LABELS, RuleContext } from './types';

// Rules about the migration set: order, edits, additions. What the SQL does is in sql-rules.ts.

export function migrationOutOfOrder(ctx: RuleContext): FindingDraft[] {
  const m = ctx.migrations;
  if (!m || m.outOfOrder.length === 0) return [];
  return [
    {
      resources: [],
      message: `**Out-of-order migration**: ${m.outOfOrder.map((f) => code(f.name)).join(', ')} ${m.outOfOrder.length === 1 ? 'is' : 'are'} below the base's highest version ${code(m.baseLatest!)}. golang-migrate (and the runner) only apply versions above the database's, so ${m.outOfOrder.length === 1 ? 'it is' : 'they are'} silently skipped wherever the base already ran. Rename with a version above ${m.baseLatest}.`,
      headline: `migration ${m.outOfOrder.map((f) => code(f.name)).join(', ')} is out of order (below ${m.baseLatest})`,
    },
  ];
}

export function migrationEdited(ctx: RuleContext): FindingDraft[] {
  const m = ctx.migrations;
  if (!m || m.edited.length === 0) return [];
  return [
    {
      resources: [],
      message: `Applied migration file(s) edited: ${m.edited.map((f) => code(f.name)).join(', ')}. A database at or past that version never re-runs it; write a new migration instead.`,
      headline: `migration ${m.edited.map((f) => code(f.name)).join(', ')} edited after it was applied`,
    },
  ];
}

export function migrationAdded(ctx: RuleContext): FindingDraft[] {
  const m = ctx.migrations;
  const inOrder = (m?.added ?? []).filter((f) => !m!.outOfOrder.includes(f));
  if (inOrder.length === 0) return [];
  return [
    {
      resources: [],
      message: `New migration(s), applied to this stack's database on deploy: ${inOrder.map((f) => code(f.name)).join(', ')}`,
      headline: `new migration ${inOrder.map((f) => code(f.name)).join(', ')}`,
    },
  ];
}

// ---------------------------------------------------------------------------------------------
// What the new files' SQL does (lib/diff/sql.ts)

/**
 * Destructive statements and files that do not parse block (`allow-destructive`), in every
 * environment: the same files run on staging and production. Lock-heavy statements warn.
 */
function migrationSql(ctx: RuleContext): Finding[] {
  return (ctx.migrations?.sql ?? []).map((s) => {
    const rule =
      s.risk === 'destructive'
        ? 'migration-sql-destructive'
        : s.risk === 'locks' || s.risk === 'opaque'
          ? 'migration-sql-lock'
          : 'migration-sql-unparsable';
    // Opaque code (a DO block) warns under the lock rule: nothing in it can be judged either way.
    const blocks = s.risk === 'destructive' || s.risk === 'unparsable';
    const quoted = s.statement ? `: ${code(s.statement)}` : '';
    return {
      rule,
      severity: blocks ? 'block' : 'warn',
      stackName: ctx.stackName,
      override: blocks ? LABELS.destructive : undefined,
      resources: [],
      message:
        s.risk === 'unparsable'
          ? `**Migration does not parse**: ${code(s.file)} ${s.why}${quoted}.`
          : s.risk === 'opaque'
            ? `Migration cannot be analysed: ${code(s.file)}${quoted}: ${s.why}.`
            : `${s.risk === 'destructive' ? '**Destructive migration**' : 'Migration takes a blocking lock'}: ${code(s.file)}${quoted}: ${s.why}.`,
      headline:
        s.risk === 'unparsable'
          ? `migration ${code(s.file)} does not parse`
          : `migration ${code(s.file)}: ${s.statement.split(' ').slice(0, 4).join(' ')}${s.risk === 'destructive' ? ' (destructive)' : s.risk === 'opaque' ? ' (review by hand)' : ' (blocking lock)'}`,
    };
  });
}

/** The migrations' SQL as a finding provider (rules.ts runs it). */
export const MIGRATION_SQL_PROVIDER: FindingProvider = {
  id: 'migration-sql',
  ruleIds: ['migration-sql-unparsable', 'migration-sql-destructive', 'migration-sql-lock'],
  overrides: {
    'migration-sql-unparsable': LABELS.destructive,
    'migration-sql-destructive': LABELS.destructive,
  },
  detect: migrationSql,
};
