import * as fs from 'node:fs';
import * as path from 'node:path';
import { FINDING_PROVIDERS, LABELS, protectionsTable, RULES } from '../../lib/diff';

// docs/deployment.md is where reviewers look up a rule and its label: it must say what the code does.
const DOC = fs.readFileSync(path.join(__dirname, '..', '..', 'docs', 'deployment.md'), 'utf8');

const cells = (line: string) =>
  line
    .split(/(?<!\\)\|/)
    .slice(1, -1)
    .map((c) => c.trim());

describe('docs/deployment.md lists the diff rules', () => {
  const table = DOC.slice(DOC.indexOf('<!-- diff-rules:start -->'), DOC.indexOf('<!-- diff-rules:end -->'));
  const rows = table
    .split('\n')
    .filter((l) => l.startsWith('| `'))
    .map(cells);

  test('every rule, in order, with its severity and override label', () => {
    expect(rows.map(([id, severity, override]) => [id, severity, override])).toEqual(
      RULES.map((r) => [
        `\`${r.id}\``,
        r.severity,
        r.severity === 'block' ? (r.override ? `\`${r.override}\`` : 'none') : '',
      ]),
    );
  });

  test('with the reason and source the code gives', () => {
    for (const [i, rule] of RULES.entries()) {
      expect(rows[i].slice(4)).toEqual([
        rule.reason.replace(/\|/g, '\\|'),
        rule.source.replace(/\|/g, '\\|'),
      ]);
    }
  });

  test('the labels table names, per label, exactly the rules and providers’ rules it lets pass', () => {
    for (const label of Object.values(LABELS)) {
      const line = DOC.split('\n').find((l) => l.startsWith(`| \`${label}\``));
      const listed = (line ? cells(line)[1] : '').match(/`[a-z:-]+`/g) ?? [];
      expect([label, listed.sort()]).toEqual([
        label,
        [
          ...RULES.filter((r) => r.override === label).map((r) => r.id),
          ...FINDING_PROVIDERS.flatMap((p) => Object.entries(p.overrides))
            .filter(([, l]) => l === label)
            .map(([id]) => id),
        ]
          .map((id) => `\`${id}\``)
          .sort(),
      ]);
    }
  });
});

describe('docs/deployment.md shows the protections table the code has', () => {
  const section = (text: string) =>
    text
      .split('\n')
      .filter((l) => l.startsWith('| `'))
      .map(cells);
  const doc = DOC.slice(DOC.indexOf('<!-- protections:start -->'), DOC.indexOf('<!-- protections:end -->'));

  test('every row, in order, cell by cell (prettier may pad them)', () => {
    const generated = section(protectionsTable());
    expect(generated.length).toBeGreaterThan(15);
    expect(section(doc)).toEqual(generated);
  });
});
