import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

const ROOT = path.join(__dirname, '..');

/** Runs bin/github-oidc.ts as `cdk synth -a` would (CDK_OUTDIR set), with extra context. */
async function synthOidc(context: Record<string, string>): Promise<{
  status: number | null;
  stderr: string;
  out: string[];
}> {
  const outdir = fs.mkdtempSync(path.join(os.tmpdir(), 'cb-oidc-cli-'));
  try {
    const { status, stderr } = await new Promise<{ status: number | null; stderr: string }>((resolve) => {
      const child = spawn(
        process.execPath,
        [path.join(ROOT, 'node_modules', 'ts-node', 'dist', 'bin.js'), '--swc', 'bin/github-oidc.ts'],
        {
          cwd: ROOT,
          // CDK_VALIDATION=false: aws-cdk-lib's CloudFormation validation would build its engine in
          // each process (seconds) and, without cdk.json's validateAgainstDefaultRules, could only
          // print warnings this test does not read; test/github-oidc.test.ts validates the stack.
          env: {
            ...process.env,
            CDK_OUTDIR: outdir,
            CDK_CONTEXT_JSON: JSON.stringify(context),
            CDK_VALIDATION: 'false',
          },
          stdio: ['ignore', 'ignore', 'pipe'],
        },
      );
      let err = '';
      child.stderr.on('data', (c) => (err += c));
      child.on('error', (e) => resolve({ status: null, stderr: String(e) }));
      child.on('exit', (code) => resolve({ status: code, stderr: err }));
    });
    return { status, stderr, out: fs.readdirSync(outdir) };
  } finally {
    fs.rmSync(outdir, { recursive: true, force: true });
  }
}

describe('bin/github-oidc.ts', () => {
  // Both synths at once: each is one Node process, and the suite's worker leaves the other core idle.
  const placeholder = synthOidc({});
  const real = synthOidc({ githubRepository: 'acme/clever-better-infra' });

  test('warns when the roles would trust the placeholder repository', async () => {
    const { status, stderr, out } = await placeholder;
    expect(status).toBe(0);
    expect(stderr).toContain('WARNING: githubRepository is the placeholder');
    expect(out).toEqual(expect.arrayContaining(['StagingGitHubOidc.template.json']));
  }, 180_000);

  test('is quiet for a real repository', async () => {
    const { status, stderr } = await real;
    expect(status).toBe(0);
    expect(stderr).not.toContain('WARNING: githubRepository');
  }, 180_000);
});
