/**
 * Every npm script shares one command-line grammar: -h/--help prints its usage and exits 0 before
 * any work, anything undeclared exits 2. Derived from package.json, so a new script is covered the
 * day it is added: a TypeScript entry point must parse its arguments with lib/cli/script-args.ts,
 * unless it is one of the three CLIs with a grammar of their own (tested in test/ops, test/diff,
 * test/cost); a shell entry point is run with --help and an unknown option.
 */
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { scratchDir } from '../../lib/cli/scratch-dir';

const ROOT = path.join(__dirname, '..', '..');
const scripts = JSON.parse(fs.readFileSync(path.join(ROOT, 'package.json'), 'utf8')).scripts as Record<
  string,
  string
>;
/** Entry points with a grammar of their own, and the test file that proves it. */
const OWN_GRAMMAR: Record<string, string> = {
  'bin/ops.ts': 'test/ops/cli.test.ts',
  'bin/diff.ts': 'test/diff/cli.test.ts',
  'bin/cost.ts': 'test/cost/app.test.ts',
};

const entries = Object.entries(scripts).flatMap(([name, command]) => {
  const ts = /ts-node\b.*?\s(\S+\.ts)\b/.exec(command)?.[1];
  const sh = /^bash (\S+\.sh)\b/.exec(command)?.[1];
  return ts ? [{ name, kind: 'ts', file: ts }] : sh ? [{ name, kind: 'sh', file: sh }] : [];
});

describe('npm scripts: one grammar, read from package.json', () => {
  test('finds the TypeScript and shell entry points (the reader works)', () => {
    expect(entries.filter((e) => e.kind === 'ts').length).toBeGreaterThanOrEqual(10);
    expect(entries).toContainEqual({ name: 'tools', kind: 'sh', file: 'scripts/tools.sh' });
  });

  test('every TypeScript entry point parses its arguments with parseScriptArgs, or has its own tested grammar', () => {
    const loose = entries
      .filter((e) => e.kind === 'ts')
      .filter((e) => {
        const own = OWN_GRAMMAR[e.file];
        if (own) return !fs.existsSync(path.join(ROOT, own));
        return !fs.readFileSync(path.join(ROOT, e.file), 'utf8').includes('parseScriptArgs(');
      })
      .map((e) => `npm run ${e.name} (${e.file})`);
    expect(loose).toEqual([]);
  });

  test.each(entries.filter((e) => e.kind === 'sh'))(
    'npm run $name: --help prints its usage and exits 0, an unknown option exits 2, before any work',
    ({ name, file }) => {
      const run = (arg: string) =>
        spawnSync('bash', [file, arg], { cwd: ROOT, encoding: 'utf8', timeout: 30_000 });
      const help = run('--help');
      expect([help.status, help.stdout.split('\n')[0]]).toEqual([0, `Usage: npm run ${name}`]);
      const bad = run('--bogus');
      expect(bad.status).toBe(2);
      expect(bad.stderr).toContain(`npm run ${name} does not take "--bogus"`);
    },
  );
});

describe('scratchDir: scripts leave nothing in the temporary directory', () => {
  test.each([
    ['SIGINT', 130],
    ['SIGTERM', 143],
  ] as const)('ended by %s: the directory is removed and the process exits %i', (signal, code) => {
    const before = new Set(process.listeners(signal));
    const exit = jest.spyOn(process, 'exit').mockImplementation(() => undefined as never);
    try {
      const dir = scratchDir('cb-scratch-test-');
      expect(fs.existsSync(dir)).toBe(true);
      const added = process.listeners(signal).filter((l) => !before.has(l));
      expect(added).toHaveLength(1);
      (added[0] as (s: string) => void)(signal);
      expect(fs.existsSync(dir)).toBe(false);
      expect(exit).toHaveBeenCalledWith(code);
    } finally {
      exit.mockRestore();
      // The listeners this test added stay with the worker otherwise.
      for (const s of ['SIGINT', 'SIGTERM'] as const)
        for (const l of process.listeners(s))
          if (!before.has(l) && s === signal) process.removeListener(s, l);
    }
  });
});
