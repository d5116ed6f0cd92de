import { FormatStream, formatDifferences, TemplateDiff } from '@aws-cdk/cloudformation-diff';
import { RiskSummary, StackDiff } from './summary';

/** Hidden marker by which the workflow finds its own comment to update instead of adding one. */
export const COMMENT_MARKER = '<!-- clever-better:cdk-diff -->';

/** The pull-request label that lets a destructive change pass. */
export const ALLOW_DESTRUCTIVE_LABEL = 'allow-destructive';

/** GitHub refuses comments over 65,536 characters; leave room for the marker and headers. */
const DEFAULT_MAX_LENGTH = 60_000;

/** Options of {@link renderMarkdown} and {@link renderText}. */
export interface RenderOptions {
  /** What the base templates are, e.g. `origin/main (3e8d746)`. @default none shown */
  readonly baseLabel?: string;
  /** What the new templates are. @default none shown */
  readonly headLabel?: string;
  /** Destructive changes were allowed (label or flag). @default false */
  readonly allowDestructive?: boolean;
  /** Longest markdown produced, in characters; raw diffs are cut to fit. @default 60000 */
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

const REMOVAL_LABEL = {
  replace: 'REPLACED',
  'may-replace': 'MAY BE REPLACED',
  destroy: 'DELETED',
  orphan: 'REMOVED FROM THE STACK',
} as const;

/** The risk summary of one stack as markdown bullet lines (also readable in a terminal). */
export function summaryLines(s: RiskSummary): string[] {
  const lines: string[] = [];
  for (const r of s.removals) {
    const causes = r.causes.length ? ` (${r.causes.join(', ')})` : '';
    if (r.stateful) {
      lines.push(
        `- ⛔ **${REMOVAL_LABEL[r.impact]}: ${code(r.logicalId)} ${r.type}${causes}**: stateful; ${r.fate}.`,
      );
    } else {
      lines.push(`- ${REMOVAL_LABEL[r.impact].toLowerCase()}: ${code(r.logicalId)} ${r.type}${causes}`);
    }
  }
  for (const u of s.statefulUpdates) {
    lines.push(`- Stateful, updated in place: ${code(u.logicalId)} ${u.type}: ${u.details.join('; ')}`);
  }
  for (const w of s.iamWidening) {
    const on = w.resources.length ? ` on ${w.resources.map(code).join(', ')}` : '';
    const condition = w.condition ? ` when ${code(w.condition.replace(/\s+/g, ' '))}` : '';
    lines.push(
      `- ${w.wildcard ? '⚠️ **IAM widening (wildcard)**' : '**IAM widening**'}: ${code(w.principal)} may now ` +
        `${w.actions.map(code).join(', ')}${on}${condition}`,
    );
  }
  for (const g of s.securityGroupWidening) {
    const peer = g.world ? `**${g.peer}**` : code(g.peer);
    lines.push(
      `- ${g.world ? '⚠️ **Security group open to the internet**' : '**Security group widening**'}: new ` +
        `${g.direction} ${g.protocol} ${g.direction === 'ingress' ? 'from' : 'to'} ${peer} on ${code(g.group)}`,
    );
  }
  for (const t of s.taskDefinitions) {
    const who = t.service === 'bot' ? "**Bot's task definition**" : 'ML task definition';
    const tags = t.imageTags.map(
      (i) =>
        `image tag ${i.from ? code(i.from) : '(none)'} → ${i.to ? code(i.to) : '(none)'} (container ${i.container})`,
    );
    const change = t.change === 'updated' ? '' : ` ${t.change}`;
    lines.push(
      `- ${who}${change} (${code(t.logicalId)}): ${[...tags, ...t.details].join('; ') || 'changed'}`,
    );
  }
  for (const l of s.liveTrading) {
    const flag = (v: unknown) => (v === undefined ? '(unset)' : v === true ? '**true**' : code(String(v)));
    const what =
      l.change === 'removed'
        ? 'the secret leaves the template'
        : `${code('live_trading_enabled')} ${l.change === 'added' ? 'created as' : `${flag(l.from)} →`} ${flag(l.to)}`;
    lines.push(
      `- **Live-trading flag** (${code(l.secretName)}): ${what}. A deploy writes this value over the live one, ` +
        'including an emergency stop’s `false`.',
    );
  }
  for (const c of s.counts) {
    const v = (x: unknown) => (x === undefined ? '(none)' : code(JSON.stringify(x)));
    const warning = c.warning ? `. ⚠️ ${c.warning}` : '';
    lines.push(
      `- **${c.service} ${c.property}**: ${v(c.from)} → ${v(c.to)} (${code(c.logicalId)})${warning}`,
    );
  }
  for (const e of s.emergencyStop) {
    const details = e.details.length ? `: ${e.details.join('; ')}` : '';
    lines.push(`- **Emergency stop** ${e.part} ${code(e.logicalId)} ${e.type} ${e.change}${details}`);
  }
  return lines;
}

function status(stacks: readonly StackDiff[], allowDestructive: boolean): string {
  const destructive = stacks.some((s) => s.summary.destructive.length > 0);
  if (destructive && !allowDestructive) {
    return (
      '⛔ **Blocked: a stateful resource would be replaced or deleted.** If that is intended (a restore, a ' +
      `planned migration), add the ${code(ALLOW_DESTRUCTIVE_LABEL)} label; locally pass ${code('--allow-destructive')}.`
    );
  }
  if (destructive) return `⚠️ Destructive changes allowed by ${code(ALLOW_DESTRUCTIVE_LABEL)}.`;
  if (stacks.every((s) => s.summary.changeCount === 0)) return '✅ No changes to the stacks.';
  return 'No destructive change. Review the risk summary before merging.';
}

function fence(text: string): string {
  const longest = Math.max(2, ...[...text.matchAll(/`+/g)].map((m) => m[0].length));
  const f = '`'.repeat(longest + 1);
  return `${f}diff\n${text}\n${f}`;
}

/** The pull-request comment: the marker, a status line, each stack's risk summary, then each raw diff. */
export function renderMarkdown(stacks: readonly StackDiff[], options: RenderOptions = {}): string {
  const max = options.maxLength ?? DEFAULT_MAX_LENGTH;
  const head: string[] = [COMMENT_MARKER, '## `cdk diff`', ''];
  if (options.baseLabel || options.headLabel) {
    head.push(`Base ${code(options.baseLabel ?? '?')} → ${code(options.headLabel ?? 'this change')}`, '');
  }
  head.push(status(stacks, options.allowDestructive === true), '');
  for (const note of options.notes ?? []) head.push(`> ⚠️ ${note}`, '');
  head.push(
    '| Stack | Changes | Replaced / deleted (stateful) | Risk items |',
    '| --- | ---: | ---: | ---: |',
  );
  for (const { summary: s } of stacks) {
    const items = summaryLines(s).length;
    head.push(
      `| ${s.stackName} | ${s.changeCount} | ${s.removals.length} (${s.destructive.length}) | ${items} |`,
    );
  }
  const summaries = stacks.map(({ summary: s }) => {
    const lines = summaryLines(s);
    const body =
      s.changeCount === 0 ? ['No changes.'] : lines.length ? lines : ['Nothing risky: see the full diff.'];
    return [`### ${s.stackName}`, '', ...body, ''].join('\n');
  });
  const fixed = [...head, '', ...summaries].join('\n');
  const raws = stacks.map((s) => (s.summary.changeCount === 0 ? '' : rawDiff(s.diff)));
  const wrapper = (name: string, body: string) =>
    `<details><summary>Full diff of ${name}</summary>\n\n${body}\n\n</details>\n`;
  const overhead = stacks.reduce((n, s) => n + wrapper(s.summary.stackName, fence('')).length + 200, 0);
  const budget = Math.max(
    0,
    Math.floor((max - fixed.length - overhead) / Math.max(1, raws.filter(Boolean).length)),
  );
  const details = stacks.map((s, i) => {
    if (!raws[i]) return '';
    let raw = raws[i];
    if (raw.length > budget) {
      raw = `${raw.slice(0, budget)}\n… cut to fit a comment: run \`npm run diff\` or see the workflow run for the rest`;
    }
    return wrapper(s.summary.stackName, fence(raw));
  });
  return [fixed, ...details.filter(Boolean)].join('\n');
}

/** What `npm run diff` prints: the same summary, then each stack's raw diff. */
export function renderText(stacks: readonly StackDiff[], options: RenderOptions = {}): string {
  const out: string[] = [];
  if (options.baseLabel || options.headLabel) {
    out.push(`Base ${options.baseLabel ?? '?'} → ${options.headLabel ?? 'working tree'}`, '');
  }
  out.push(status(stacks, options.allowDestructive === true).replace(/\*\*/g, ''), '');
  for (const note of options.notes ?? []) out.push(`warning: ${note}`, '');
  for (const { summary, diff } of stacks) {
    out.push(`=== ${summary.stackName}: ${summary.changeCount} change(s)`);
    const lines = summaryLines(summary);
    out.push(
      ...(summary.changeCount === 0 ? ['No changes.'] : lines.length ? lines : ['Nothing risky.']),
      '',
    );
    if (summary.changeCount > 0) out.push(rawDiff(diff), '');
  }
  return out.join('\n');
}
