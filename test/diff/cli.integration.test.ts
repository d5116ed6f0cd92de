import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { COMMENT_MARKER } from '../../lib/diff';

// The real thing, as an operator runs it in a clone: two `cdk synth` runs (the last commit, exported
// with git archive, and the working tree), no AWS credentials at all. About a minute on two cores.
const ROOT = path.resolve(__dirname, '..', '..');

describe('npm run diff -- --base HEAD (real synth, no AWS credentials)', () => {
  const markdown = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'cb-diff-it-')), 'comment.md');
  const env = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('AWS_')));
  let result: ReturnType<typeof spawnSync>;

  beforeAll(() => {
    result = spawnSync(
      'npx',
      ['ts-node', '--transpile-only', 'bin/diff.ts', '--base', 'HEAD', '--markdown', markdown],
      {
        cwd: ROOT,
        env: {
          ...env,
          AWS_EC2_METADATA_DISABLED: 'true',
          AWS_CONFIG_FILE: '/dev/null',
          AWS_SHARED_CREDENTIALS_FILE: '/dev/null',
        },
        encoding: 'utf8',
        timeout: 9 * 60_000,
      },
    );
  }, 10 * 60_000);

  test('exits 0 or 1 (blocked), never with an error', () => {
    // On failure, show why: the tail of what the diff (and synth) printed.
    const status = [0, 1].includes(result.status ?? -1)
      ? 'ok'
      : `exit ${result.status}: ${String(result.stderr).slice(-3000)}`;
    expect(status).toBe('ok');
  });

  test('prints the base commit, then a summary and diff section for each stack', () => {
    const out = String(result.stdout);
    expect(out).toMatch(/^Base HEAD \([0-9a-f]{7}\) → working tree$/m);
    expect(out).toMatch(/^=== StagingStack: \d+ change\(s\)$/m);
    expect(out).toMatch(/^=== ProductionStack: \d+ change\(s\)$/m);
  });

  test('writes the pull-request comment with its marker', () => {
    expect(fs.readFileSync(markdown, 'utf8').startsWith(COMMENT_MARKER)).toBe(true);
  });
});
