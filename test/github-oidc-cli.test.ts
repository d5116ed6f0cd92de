import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

const ROOT = path.join(__dirname, '..');

/** Runs bin/github-oidc.ts as `cdk synth -a` would (CDK_OUTDIR set), with extra context. */
function synthOidc(context: Record<string, string>): {
  status: number | null;
  stderr: string;
  out: string[];
} {
  const outdir = fs.mkdtempSync(path.join(os.tmpdir(), 'cb-oidc-cli-'));
  try {
    const res = spawnSync(
      process.execPath,
      [path.join(ROOT, 'node_modules', 'ts-node', 'dist', 'bin.js'), '--swc', 'bin/github-oidc.ts'],
      {
        cwd: ROOT,
        encoding: 'utf8',
        env: { ...process.env, CDK_OUTDIR: outdir, CDK_CONTEXT_JSON: JSON.stringify(context) },
      },
    );
    return { status: res.status, stderr: res.stderr, out: fs.readdirSync(outdir) };
  } finally {
    fs.rmSync(outdir, { recursive: true, force: true });
  }
}

describe('bin/github-oidc.ts', () => {
  test('warns when the roles would trust the placeholder repository', () => {
    const { status, stderr, out } = synthOidc({});
    expect(status).toBe(0);
    expect(stderr).toContain('WARNING: githubRepository is the placeholder');
    expect(out).toEqual(expect.arrayContaining(['StagingGitHubOidc.template.json']));
  });

  test('is quiet for a real repository', () => {
    const { status, stderr } = synthOidc({ githubRepository: 'acme/clever-better-infra' });
    expect(status).toBe(0);
    expect(stderr).not.toContain('WARNING: githubRepository');
  });
});
