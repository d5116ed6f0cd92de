/**
 * docs/first-deploy.md is a procedure people run against empty accounts: every command in it must
 * exist. ops commands: `--help` runs and every option shown is declared (the CLI rejects others);
 * cdk commands: `--help` of the installed CLI runs, lists every option shown, and every stack named
 * is one this app defines. aws commands are checked against the AWS CLI's models in
 * first-deploy.integration.test.ts.
 */
import { CloudAssembly } from 'aws-cdk-lib/cx-api';
import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { main, parseArgs } from '../../lib/ops';
import { sharedAssemblyDir } from '../helpers/shared-assembly';
import { docCommands } from './commands';

const DOC = 'docs/first-deploy.md';
const commands = docCommands(DOC);
const ROOT = path.join(__dirname, '..', '..');

test('the procedure is numbered and has a command per step', () => {
  const text = fs.readFileSync(path.join(ROOT, DOC), 'utf8');
  const steps = [...text.matchAll(/^(\d+)\. /gm)].map((m) => Number(m[1]));
  expect(steps.slice(0, 22)).toEqual(Array.from({ length: 22 }, (_, i) => i + 1));
  expect(commands.length).toBeGreaterThanOrEqual(22);
  expect(new Set(commands.map((c) => c.tool))).toEqual(new Set(['ops', 'cdk', 'aws', 'docker']));
});

describe.each(commands.filter((c) => c.tool === 'ops').map((c) => [c.line, c] as const))('%s', (_line, c) => {
  test('exists, its --help runs, and it accepts exactly the options shown', async () => {
    const out = jest.spyOn(process.stdout, 'write').mockImplementation(() => true);
    try {
      expect(await main([c.words[0], '--help'])).toBe(0);
      expect(out.mock.calls.join('')).toContain(`Usage: npm run ops -- ${c.words[0]} `);
    } finally {
      out.mockRestore();
    }
    expect(() => parseArgs(c.words)).not.toThrow();
  });
});

describe('cdk commands', () => {
  // The stacks the app defines (lib/app.ts), from the run's one synthesis of it.
  const stackNames = new CloudAssembly(sharedAssemblyDir()).stacks.map((s) => s.stackName);
  const cdk = commands.filter((c) => c.tool === 'cdk');
  const help = new Map<string, string>();
  // Each `cdk <sub> --help` is a Node start of the CLI: all at once, not one after another.
  beforeAll(
    () =>
      Promise.all(
        [...new Set(cdk.map((c) => c.words[0]))].map(
          (sub) =>
            new Promise<void>((resolve) => {
              const child = spawn(
                process.execPath,
                [path.join(ROOT, 'node_modules', 'aws-cdk', 'bin', 'cdk'), sub, '--help'],
                { cwd: ROOT, env: { ...process.env, CDK_DISABLE_VERSION_CHECK: 'true' } },
              );
              let stdout = '';
              let stderr = '';
              child.stdout.on('data', (c) => (stdout += c));
              child.stderr.on('data', (c) => (stderr += c));
              child.on('error', (e) => {
                help.set(sub, `exit null: ${String(e)}`);
                resolve();
              });
              child.on('close', (status) => {
                help.set(sub, status === 0 ? stdout + stderr : `exit ${status}: ${stderr}`);
                resolve();
              });
            }),
        ),
      ),
    120_000,
  );

  test.each(cdk.map((c) => [c.line, c] as const))(
    '%s: --help runs, options exist, stacks exist',
    (_line, c) => {
      const [sub, ...rest] = c.words;
      expect(help.get(sub)).not.toMatch(/^exit /);
      for (const word of rest) {
        if (word.startsWith('--')) expect(help.get(sub)).toContain(word.split('=')[0]);
        else if (!word.startsWith('aws://')) expect(stackNames).toContain(word);
      }
    },
  );

  test('the registry stacks are named as the document says', () => {
    expect(stackNames).toEqual(
      expect.arrayContaining(['StagingRegistry', 'StagingStack', 'ProductionRegistry', 'ProductionStack']),
    );
  });
});

test('docker commands are the three the procedure needs (login, build, push)', () => {
  for (const c of commands.filter((x) => x.tool === 'docker'))
    expect(['login', 'build', 'push']).toContain(c.words[0]);
});

test("README's Deployment section points to the procedure", () => {
  const readme = fs.readFileSync(path.join(ROOT, 'README.md'), 'utf8');
  const deployment = readme.slice(
    readme.indexOf('## Deployment'),
    readme.indexOf('\n## ', readme.indexOf('## Deployment') + 3),
  );
  expect(deployment).toContain('(docs/first-deploy.md)');
  expect(deployment).not.toContain('--import-existing-resources');
});
