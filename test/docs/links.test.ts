/**
 * Every relative link and heading anchor in README.md and docs/ resolves, and every `npm run <script>`
 * and `npm run ops -- <command>` they name exists: a newcomer who follows the entrance never lands
 * on a missing file, a missing section or a command that is not there. Anchors are GitHub's: the
 * heading lower-cased, punctuation but `-` and `_` dropped, spaces to `-`, duplicates numbered.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { commands } from '../../lib/ops/commands';
import '../../lib/ops';

const ROOT = path.join(__dirname, '..', '..');
const DOCS = ['README.md', ...fs.readdirSync(path.join(ROOT, 'docs')).map((f) => `docs/${f}`)].filter((f) =>
  f.endsWith('.md'),
);
const read = (file: string) => fs.readFileSync(path.join(ROOT, file), 'utf8');
/** Markdown without fenced code blocks (a `#` comment in a shell block is no heading). */
const prose = (text: string) => text.replace(/```[\s\S]*?```/g, '');

export function githubAnchors(markdown: string): Set<string> {
  const seen = new Map<string, number>();
  const anchors = new Set<string>();
  for (const m of prose(markdown).matchAll(/^#{1,6}\s+(.+?)\s*#*\s*$/gm)) {
    const base = m[1]
      .replace(/\[([^\]]*)\]\([^)]*\)/g, '$1')
      .toLowerCase()
      .replace(/[^\p{L}\p{N}\s_-]/gu, '')
      .replace(/\s/g, '-');
    const n = seen.get(base) ?? 0;
    seen.set(base, n + 1);
    anchors.add(n === 0 ? base : `${base}-${n}`);
  }
  return anchors;
}

function links(file: string): { target: string; anchor?: string }[] {
  const out: { target: string; anchor?: string }[] = [];
  for (const m of prose(read(file)).matchAll(/\]\(([^)\s]+)\)/g)) {
    const href = m[1];
    if (/^[a-z]+:/i.test(href)) continue; // https:, mailto:
    const [target, anchor] = href.split('#');
    out.push({ target: target ? path.normalize(path.join(path.dirname(file), target)) : file, anchor });
  }
  return out;
}

describe('README and docs/: links, anchors and commands resolve', () => {
  test('GitHub anchors are computed as GitHub does', () => {
    expect([
      ...githubAnchors("# A `b` c\n## Betfair's heartbeat: the stop\n## X\n## X\n```\n# no\n```"),
    ]).toEqual(['a-b-c', 'betfairs-heartbeat-the-stop', 'x', 'x-1']);
  });

  test.each(DOCS)(
    '%s: every relative link names an existing file, and its anchor a heading there',
    (file) => {
      const broken: string[] = [];
      for (const { target, anchor } of links(file)) {
        if (!fs.existsSync(path.join(ROOT, target))) broken.push(`${target} does not exist`);
        else if (anchor !== undefined && target.endsWith('.md') && !githubAnchors(read(target)).has(anchor))
          broken.push(`${target}#${anchor}: no such heading`);
      }
      expect(broken).toEqual([]);
    },
  );

  test('the docs link to something at all (the check is not vacuous)', () => {
    expect(DOCS.flatMap(links).length).toBeGreaterThan(30);
  });

  test('every `npm run <script>` they name is a package.json script, every ops command a registered one', () => {
    const scripts = Object.keys(JSON.parse(read('package.json')).scripts as Record<string, string>);
    const missing: string[] = [];
    let named = 0;
    for (const file of DOCS) {
      for (const m of read(file).matchAll(/npm run ([a-z][\w:-]*)(?: -- ([a-z][\w-]*))?/g)) {
        named++;
        if (!scripts.includes(m[1])) missing.push(`${file}: npm run ${m[1]}`);
        else if (m[1] === 'ops' && m[2] && m[2] !== 'help' && !commands.has(m[2]))
          missing.push(`${file}: npm run ops -- ${m[2]}`);
      }
    }
    expect(named).toBeGreaterThan(20);
    expect(missing).toEqual([]);
  });

  test('README is an entrance: at most about 200 lines, Quick start with exactly two commands', () => {
    const readme = read('README.md');
    expect(readme.split('\n').length).toBeLessThanOrEqual(200);
    const quick = readme.slice(
      readme.indexOf('## Quick start'),
      readme.indexOf('\n## ', readme.indexOf('## Quick start') + 3),
    );
    const blocks = [...quick.matchAll(/```bash\n([\s\S]*?)```/g)].map((b) => b[1].trim().split('\n'));
    expect(blocks).toEqual([['npm ci && npx cdk synth', 'npm test']]);
  });

  test('the previous Terraform deployment guide is named once, and no doc points at it as a file', () => {
    const all = DOCS.map((f) => read(f)).join('\n');
    expect(all.match(/previous Terraform deployment guide/g)).toHaveLength(1);
    // Any other way of naming it ("the deployment guide", "the guide's runbook") is a second mention.
    expect(
      all.match(/(?<!previous Terraform )\bdeployment guide\b|\bthe guide\b|\bthe guide's\b/gi) ?? [],
    ).toEqual([]);
    expect(all).not.toMatch(/deployment-guide\.md|seed\//);
  });
});
