import { FormatStream, formatDifferences, TemplateDiff } from '@aws-cdk/cloudformation-diff';
import { blocks, sortFindings } from './rules';
import { Finding, LABELS, Severity } from './types';
import { RiskSummary, StackDiff } from './summary';

/** Hidden marker by which the workflow finds its own comment to update instead of adding one. */
export const COMMENT_MARKER = '<!-- clever-better:cdk-diff -->';

/** The pull-request label that lets a planned destructive change pass. */
export const ALLOW_DESTRUCTIVE_LABEL = LABELS.destructive;

/** GitHub refuses comments over 65,536 characters; leave room for the marker and headers. */
const DEFAULT_MAX_LENGTH = 60_000;

/** Options of {@link renderMarkdown} and {@link renderText}. */
export interface RenderOptions {
  /** What the base templates are, e.g. `origin/main (3e8d746)`. @default none shown */
  readonly baseLabel?: string;
  /** What the new templates are. @default none shown */
  readonly headLabel?: string;
  /** Same as the `allow-destructive` label in {@link labels}. @default false */
  readonly allowDestructive?: boolean;
  /** The pull request's labels (each blocking rule names the one that lets it pass). @default none */
  readonly labels?: readonly string[];
  /**
   * Longest markdown produced, in characters (GitHub refuses comments over 65,536). Raw diffs are cut
   * to fit; findings never are (info lines give way only if block and warn lines alone fill it).
   * @default 60000
   */
  readonly maxLength?: number;
  /** Warnings about how the templates were obtained, shown under the status. @default none */
  readonly notes?: readonly string[];
}

const ANSI = /\u001b\[[0-9;]*m/g;

/** The CDK's own rendering of the diff (what `cdk diff` prints), without colours. */
export function rawDiff(diff: TemplateDiff): string {
  let text = '';
  // formatDifferences only calls write(); collecting into a string keeps the output ours to place.
  const stream = {
    write(chunk: string | Uint8Array) {
      text += chunk.toString();
      return true;
    },
  } as unknown as FormatStream;
  formatDifferences(stream, diff);
  return text.replace(ANSI, '').trimEnd();
}

const code = (s: string) => `\`${s.replace(/`/g, "'")}\``;

const ICON: Readonly<Record<Severity, string>> = { block: '⛔', warn: '⚠️', info: 'ℹ️' };

function labelSet(options: RenderOptions): Set<string> {
  return new Set([...(options.labels ?? []), ...(options.allowDestructive ? [ALLOW_DESTRUCTIVE_LABEL] : [])]);
}

/** One summary line for a finding: icon, message, rule id (and the label that let a block pass). */
export function findingLine(f: Finding, labels: ReadonlySet<string> = new Set()): string {
  const allowed = f.severity === 'block' && !blocks(f, labels) ? `, allowed by ${code(f.override!)}` : '';
  return `- ${ICON[f.severity]} ${f.message} (${code(f.rule)}${allowed})${f.consequence ? ` ${f.consequence}` : ''}`;
}

/** The risk summary of one stack as markdown bullet lines (also readable in a terminal). */
export function summaryLines(s: RiskSummary, labels: ReadonlySet<string> = new Set()): string[] {
  return s.findings.map((f) => findingLine(f, labels));
}

function allFindings(stacks: readonly StackDiff[]): Finding[] {
  return sortFindings(stacks.flatMap((s) => s.summary.findings));
}

/**
 * The first line of the comment and of `npm run diff`: the most serious finding, by name.
 * "No destructive change" only when nothing is `warn` or above.
 */
export function headline(stacks: readonly StackDiff[], options: RenderOptions = {}): string {
  const labels = labelSet(options);
  const findings = allFindings(stacks);
  const blocking = findings.filter((f) => blocks(f, labels));
  const more = (n: number, what: string) => (n > 1 ? ` (and ${n - 1} more ${what})` : '');
  const top = (f: Finding) => `${f.stackName}: ${f.headline}`;
  if (blocking.length) return `⛔ Blocked: ${top(blocking[0])}${more(blocking.length, 'blocking')}`;
  const allowed = findings.filter((f) => f.severity === 'block');
  if (allowed.length) {
    const used = [...new Set(allowed.map((f) => f.override!))].map(code).join(', ');
    return `⚠️ Allowed by ${used}: ${top(allowed[0])}${more(allowed.length, 'allowed')}`;
  }
  const warnings = findings.filter((f) => f.severity === 'warn');
  if (warnings.length) return `⚠️ ${top(warnings[0])}${more(warnings.length, 'warnings')}`;
  if (findings.length === 0 && stacks.every((s) => s.summary.changeCount === 0)) {
    return '✅ No changes to the stacks.';
  }
  if (findings.length)
    return `✅ No destructive change: ${top(findings[0])}${more(findings.length, 'notes')}`;
  return '✅ No destructive change. Review the full diff.';
}

/** Under the headline: which labels would let the blocks pass, and which blocks no label passes. */
function overrideHint(stacks: readonly StackDiff[], options: RenderOptions): string[] {
  const labels = labelSet(options);
  const blocking = allFindings(stacks).filter((f) => blocks(f, labels));
  if (!blocking.length) return [];
  const byLabel = new Map<string, Set<string>>();
  const fixed = new Set<string>();
  for (const f of blocking) {
    if (f.override)
      (byLabel.get(f.override) ?? byLabel.set(f.override, new Set()).get(f.override)!).add(f.rule);
    else fixed.add(f.rule);
  }
  const lines = [...byLabel].map(
    ([label, rules]) =>
      `- If intended, the ${code(label)} label lets ${[...rules].map(code).join(', ')} pass.`,
  );
  if (fixed.size)
    lines.push(
      `- ${[...fixed].map(code).join(', ')}: no label passes this (the deploy would fail); change the pull request.`,
    );
  lines.push('- Rules, severities and labels: `docs/deployment.md` ("Diff rules").');
  return lines;
}

function fence(text: string): string {
  const longest = Math.max(2, ...[...text.matchAll(/`+/g)].map((m) => m[0].length));
  const f = '`'.repeat(longest + 1);
  return `${f}diff\n${text}\n${f}`;
}

/** The pull-request comment: the marker, the headline, each stack's findings, then each raw diff. */
export function renderMarkdown(stacks: readonly StackDiff[], options: RenderOptions = {}): string {
  const max = options.maxLength ?? DEFAULT_MAX_LENGTH;
  const labels = labelSet(options);
  const head: string[] = [COMMENT_MARKER, `### ${headline(stacks, options)}`, ''];
  head.push(...overrideHint(stacks, options));
  if (head.at(-1) !== '') head.push('');
  if (options.baseLabel || options.headLabel) {
    head.push(
      `\`cdk diff\`: base ${code(options.baseLabel ?? '?')} → ${code(options.headLabel ?? 'this change')}`,
      '',
    );
  }
  for (const note of options.notes ?? []) head.push(`> ⚠️ ${note}`, '');
  head.push('| Stack | Changes | ⛔ Block | ⚠️ Warn | ℹ️ Info |', '| --- | ---: | ---: | ---: | ---: |');
  for (const { summary: s } of stacks) {
    const n = (sev: string) => s.findings.filter((f) => f.severity === sev).length;
    head.push(`| ${s.stackName} | ${s.changeCount} | ${n('block')} | ${n('warn')} | ${n('info')} |`);
  }
  const section = (s: RiskSummary, keepInfo: boolean) => {
    const shown = keepInfo ? s.findings : s.findings.filter((f) => f.severity !== 'info');
    const lines = shown.map((f) => findingLine(f, labels));
    const hidden = s.findings.length - shown.length;
    if (hidden) lines.push(`- … ${hidden} info finding(s) left out to fit a comment: run \`npm run diff\`.`);
    const body = lines.length
      ? lines
      : s.changeCount === 0
        ? ['No changes.']
        : ['Nothing risky: see the full diff.'];
    return [`#### ${s.stackName}`, '', ...body, ''].join('\n');
  };
  let fixed = [...head, '', ...stacks.map(({ summary }) => section(summary, true))].join('\n');
  // Findings are never cut. Only when they alone would not fit do info lines give way (block and
  // warn lines always stay), and then no raw diff is attached.
  if (fixed.length > max) {
    fixed = [...head, '', ...stacks.map(({ summary }) => section(summary, false))].join('\n');
  }
  const raws = stacks.map((s) => (s.summary.changeCount === 0 ? '' : rawDiff(s.diff)));
  const wrapper = (name: string, body: string) =>
    `<details><summary>Full diff of ${name} (logical ids)</summary>\n\n${body}\n\n</details>\n`;
  const overhead = stacks.reduce((n, s) => n + wrapper(s.summary.stackName, fence('')).length + 200, 0);
  const budget = Math.max(
    0,
    Math.floor((max - fixed.length - overhead) / Math.max(1, raws.filter(Boolean).length)),
  );
  const details = stacks.map((s, i) => {
    if (!raws[i] || budget < 200) return '';
    let raw = raws[i];
    if (raw.length > budget) {
      raw = `${raw.slice(0, budget)}\n… cut to fit a comment: run \`npm run diff\` or see the workflow run for the rest`;
    }
    return wrapper(s.summary.stackName, fence(raw));
  });
  return [fixed, ...details.filter(Boolean)].join('\n');
}

/** What `npm run diff` prints: the headline first, then the same summary and each stack's raw diff. */
export function renderText(stacks: readonly StackDiff[], options: RenderOptions = {}): string {
  const labels = labelSet(options);
  const plain = (t: string) => t.replace(/\*\*/g, '');
  const out: string[] = [plain(headline(stacks, options))];
  out.push(...overrideHint(stacks, options).map(plain), '');
  if (options.baseLabel || options.headLabel) {
    out.push(`Base ${options.baseLabel ?? '?'} → ${options.headLabel ?? 'working tree'}`, '');
  }
  for (const note of options.notes ?? []) out.push(`warning: ${note}`, '');
  for (const { summary, diff } of stacks) {
    out.push(`=== ${summary.stackName}: ${summary.changeCount} change(s)`);
    const lines = summaryLines(summary, labels).map(plain);
    out.push(
      ...(lines.length ? lines : summary.changeCount === 0 ? ['No changes.'] : ['Nothing risky.']),
      '',
    );
    if (summary.changeCount > 0) out.push(rawDiff(diff), '');
  }
  return out.join('\n');
}
