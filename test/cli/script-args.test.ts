import { spawn } from 'node:child_process';
import * as path from 'node:path';
import { parseScriptArgs, ScriptSpec, scriptUsage } from '../../lib/cli/script-args';

const SPEC: ScriptSpec = { command: 'npm run x', description: 'Does x.', flags: { write: 'write it' } };

function parse(argv: string[]) {
  const out: string[] = [];
  const err: string[] = [];
  const result = parseScriptArgs(argv, SPEC, { out: (t) => out.push(t), err: (t) => err.push(t) });
  return { ...result, out: out.join(''), err: err.join('') };
}

describe('the npm scripts share one grammar with ops: -h/--help, and nothing undeclared', () => {
  test.each([[['-h']], [['--help']], [['--write', '--help']]])(
    '%j prints the usage on stdout, exit 0',
    (argv) => {
      const r = parse(argv);
      expect(r.exit).toBe(0);
      expect(r.out).toBe(`${scriptUsage(SPEC)}\n`);
      expect(r.out).toMatch(
        /^Usage: npm run x \[--write\]\n\nDoes x\.\n\nOptions:\n {2}--write {7}write it\n {2}-h, --help/,
      );
    },
  );

  test('declared flags are returned, in any order', () => {
    const given = parse(['--write']);
    expect([given.exit, [...given.flags]]).toEqual([undefined, ['write']]);
    const none = parse([]);
    expect([none.exit, [...none.flags]]).toEqual([undefined, []]);
  });

  test.each([[['--dry-run']], [['run']], [['-x']]])('%j is a usage error naming the word, exit 2', (argv) => {
    const r = parse(argv);
    expect(r.exit).toBe(2);
    expect(r.err).toContain(`npm run x does not take "${argv[0]}": it accepts --write, -h/--help`);
  });

  test('a flag given twice is a usage error', () => {
    expect(parse(['--write', '--write'])).toMatchObject({
      exit: 2,
      err: '--write is given twice: give it once\n',
    });
  });

  // The drill itself, as a person runs it: --help must not start it (scripts/local.ts has the same
  // two-line guard; one spawn keeps the suite's time down). Through ts-node's own command line like
  // `npm run drill`, but transpiled by swc (as `npm run diff` and cdk.json run TypeScript): the
  // TypeScript transpiler costs 3 s of CPU here and is not what this checks.
  test.each(['scripts/drill.ts'])(
    '%s --help prints its usage and exits 0 without starting anything; a stray word exits 2',
    async (script) => {
      const run = (arg: string) =>
        new Promise<{ code: number | null; out: string; err: string }>((resolve) => {
          const root = path.join(__dirname, '..', '..');
          const tsNode = require.resolve('ts-node/dist/bin');
          const child = spawn(process.execPath, [tsNode, '--swc', script, arg], { cwd: root });
          let out = '';
          let err = '';
          child.stdout.on('data', (c) => (out += c));
          child.stderr.on('data', (c) => (err += c));
          child.on('exit', (code) => resolve({ code, out, err }));
        });
      const [help, stray] = await Promise.all([run('--help'), run('--now')]);
      expect(help).toMatchObject({ code: 0, err: '' });
      expect(help.out).toMatch(/^Usage: npm run (drill|local)\n/);
      expect(stray.code).toBe(2);
      expect(stray.err).toMatch(/does not take "--now"/);
    },
    60_000,
  );
});
