import { spawnSync } from 'node:child_process';
import * as os from 'node:os';
import * as path from 'node:path';

// Issue 15: `npm run diff -- --stack Nope` took 14.5 s (a full synth) to say "no such stack". The
// arguments are now checked first. This runs the real entry point as `npm run diff` does
// (ts-node --swc), with a preload that reports the process's CPU time.
const ROOT = path.resolve(__dirname, '..', '..');
const BUDGET_MS = 5_000;

function runDiffProcess(args: string[]) {
  const started = Date.now();
  // The npm script's command line: ts-node --swc bin/diff.ts.
  const tsNode = require.resolve('ts-node/dist/bin');
  const preload = path.join(__dirname, 'support', 'cpu-report.js');
  const result = spawnSync(process.execPath, ['-r', preload, tsNode, '--swc', 'bin/diff.ts', ...args], {
    cwd: ROOT,
    encoding: 'utf8',
    timeout: 60_000,
  });
  const cpu = Number(/cpu-ms (\d+)/.exec(result.stderr)?.[1] ?? NaN);
  return { status: result.status, stderr: result.stderr, wall: Date.now() - started, cpu };
}

describe.each([
  [['--stack', 'Nope', '--base', 'HEAD'], /--stack Nope: no such stack. Fix: one of .*ProductionStack/],
  [['--base', 'nosuchref'], /--base nosuchref: not a commit .*Fix:/],
  [['--base', 'HEAD', '--colour'], /Unknown option --colour/],
])('npm run diff -- %j', (args, message) => {
  const result = runDiffProcess(args);

  test('fails with exit 2 and a message naming the fix', () => {
    expect(result.status).toBe(2);
    expect(result.stderr).toMatch(message);
  });

  test(`within ${BUDGET_MS / 1000} s`, () => {
    // CPU time is what the check costs; wall time also waits for the other processes of a loaded
    // machine, so its bound grows with the load average beyond the number of cores.
    expect(result.cpu).toBeLessThan(BUDGET_MS);
    const load = Math.max(1, os.loadavg()[0] / os.cpus().length);
    expect(result.wall).toBeLessThan(BUDGET_MS * load);
  });
});
