import { COMMENT_MARKER, renderMarkdown, renderText, summarizeStack } from '../../lib/diff';
import { appTemplate, changed } from './fixtures';

const BASE = appTemplate();
const rdsReplaced = changed(BASE, (r) => {
  r.DatabaseInstanceAA8A5FDE.Properties.DBName = 'trading';
});
const imageBump = changed(BASE, (r) => {
  r.ServicesBotTaskC531FB33.Properties.ContainerDefinitions[0].Image['Fn::Join'][1][7] = ':v1.2.4';
});

describe('pull-request comment (markdown)', () => {
  const stacks = [
    summarizeStack('StagingStack', BASE, imageBump),
    summarizeStack('ProductionStack', BASE, rdsReplaced),
  ];
  const md = renderMarkdown(stacks, { baseLabel: 'main (abc1234)', headLabel: 'def5678' });

  test('starts with the hidden marker the workflow finds its comment by', () => {
    expect(md.startsWith(`${COMMENT_MARKER}\n`)).toBe(true);
  });

  test('the first line after the marker is the headline naming the most serious finding', () => {
    expect(md.split('\n')[1]).toBe(
      '### ⛔ Blocked: ProductionStack: RDS DBInstance `DatabaseInstanceAA8A5FDE` would be replaced',
    );
  });

  test('names the label that lets the block pass', () => {
    expect(md).toContain('- If intended, the `allow-destructive` label lets `stateful-replaced` pass.');
  });

  test('puts an RDS replacement in bold, with its cause and fate', () => {
    expect(md).toContain(
      '- ⛔ **REPLACED**: RDS DBInstance `DatabaseInstanceAA8A5FDE` (DBName): stateful; a new physical ' +
        'resource is created and the old one is snapshotted, then deleted. (`stateful-replaced`)',
    );
  });

  test("names the bot's image change", () => {
    expect(md).toContain('- ℹ️ Bot image `v1.2.3` → `v1.2.4` (container app) (`image-changed`)');
  });

  test('puts every risk summary above the first raw diff, one collapsed raw diff per stack', () => {
    const firstDetails = md.indexOf('<details>');
    expect(md.indexOf('REPLACED')).toBeLessThan(firstDetails);
    expect(md.indexOf('Bot image')).toBeLessThan(firstDetails);
    expect(md.match(/<details><summary>Full diff of (\w+) \(logical ids\)<\/summary>/g)).toEqual([
      '<details><summary>Full diff of StagingStack (logical ids)</summary>',
      '<details><summary>Full diff of ProductionStack (logical ids)</summary>',
    ]);
  });

  test('says the destructive change is allowed when the label is set', () => {
    const allowed = renderMarkdown(stacks, { labels: ['allow-destructive'] });
    expect(allowed.split('\n')[1]).toBe(
      '### ⚠️ Allowed by `allow-destructive`: ProductionStack: RDS DBInstance `DatabaseInstanceAA8A5FDE` would be replaced',
    );
    expect(allowed).toContain('(`stateful-replaced`, allowed by `allow-destructive`)');
    expect(allowed).not.toContain('Blocked');
  });

  test('cuts raw diffs to fit a GitHub comment, keeping the summary whole', () => {
    const big = changed(BASE, (r) => {
      for (let i = 0; i < 400; i++) {
        r[`Param${i}`] = {
          Type: 'AWS::SSM::Parameter',
          Properties: { Type: 'String', Value: 'x'.repeat(50) },
        };
      }
    });
    const cut = renderMarkdown([summarizeStack('ProductionStack', rdsReplaced, big)], { maxLength: 8000 });
    expect(cut.length).toBeLessThanOrEqual(8000);
    expect(cut).toContain('cut to fit a comment');
    expect(cut).toContain('**REPLACED**: RDS DBInstance `DatabaseInstanceAA8A5FDE` (DBName)');
  });

  test('fences a raw diff with more backticks than it contains', () => {
    const note = (value: string) =>
      changed(BASE, (r) => {
        r.Note = { Type: 'AWS::SSM::Parameter', Properties: { Type: 'String', Value: value } };
      });
    const text = renderMarkdown([summarizeStack('StagingStack', note('plain'), note('```` not a fence'))]);
    expect(text).toContain('```` not a fence');
    expect(text).toContain('`````diff\n');
  });

  test('says so when nothing changes', () => {
    expect(renderMarkdown([summarizeStack('StagingStack', BASE, BASE)])).toContain(
      '✅ No changes to the stacks.',
    );
  });
});

describe('terminal output', () => {
  test('prints the headline first, the base, then per stack the summary followed by the CDK diff', () => {
    const text = renderText([summarizeStack('ProductionStack', BASE, rdsReplaced)], {
      baseLabel: 'HEAD~1 (abc1234)',
    });
    const lines = text.split('\n');
    expect(lines[0]).toBe(
      '⛔ Blocked: ProductionStack: RDS DBInstance `DatabaseInstanceAA8A5FDE` would be replaced',
    );
    expect(lines).toContain('Base HEAD~1 (abc1234) → working tree');
    expect(lines).toContain('=== ProductionStack: 1 change(s)');
    expect(text.indexOf('REPLACED')).toBeLessThan(
      text.indexOf('[~] AWS::RDS::DBInstance DatabaseInstanceAA8A5FDE replace'),
    );
    expect(text).not.toMatch(/\u001b\[/);
  });
});
