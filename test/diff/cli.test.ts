import { CloudFormationClient, GetTemplateCommand } from '@aws-sdk/client-cloudformation';
import { mockClient } from 'aws-sdk-client-mock';
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import {
  CfnTemplate,
  COMMENT_MARKER,
  deployedTemplate,
  exportCommit,
  readAssembly,
  regionOf,
  resolveRef,
} from '../../lib/diff';
import { appStackNames, DiffDeps, EXIT, parseDiffArgs, runDiff } from '../../lib/diff/cli';
import { sharedAssemblyDir } from '../helpers/shared-assembly';
import { appTemplate, changed } from './fixtures';

const made: string[] = [];
const tmp = (prefix: string) => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), prefix));
  made.push(dir);
  return dir;
};
// Tests leave nothing in /tmp.
afterAll(() => {
  for (const dir of made) fs.rmSync(dir, { recursive: true, force: true });
});

/** Writes a cloud assembly as `cdk synth` does: manifest.json plus one template per stack. */
function writeAssembly(dir: string, stacks: Record<string, CfnTemplate>): string {
  fs.mkdirSync(dir, { recursive: true });
  const artifacts: Record<string, unknown> = {};
  for (const [name, template] of Object.entries(stacks)) {
    fs.writeFileSync(path.join(dir, `${name}.template.json`), JSON.stringify(template));
    artifacts[name] = {
      type: 'aws:cloudformation:stack',
      environment: `aws://${name === 'StagingStack' ? '111111111111' : '222222222222'}/eu-west-1`,
      properties: { templateFile: `${name}.template.json` },
      displayName: name,
    };
  }
  artifacts.Tree = { type: 'cdk:tree', properties: { file: 'tree.json' } };
  fs.writeFileSync(path.join(dir, 'manifest.json'), JSON.stringify({ version: '48.0.0', artifacts }));
  return dir;
}

const BASE = appTemplate();
const RDS_REPLACED = changed(BASE, (r) => {
  r.DatabaseInstanceAA8A5FDE.Properties.DBName = 'trading';
});

interface Recorder {
  deps: DiffDeps;
  out: string[];
  err: string[];
  calls: string[];
}

function fakeDeps(overrides: Partial<DiffDeps> = {}): Recorder {
  const out: string[] = [];
  const err: string[] = [];
  const calls: string[] = [];
  const deps: DiffDeps = {
    projectRoot: '/project',
    synthesize: async (cwd, outDir) => {
      calls.push(`synth ${cwd}`);
      writeAssembly(outDir, {
        StagingStack: BASE,
        ProductionStack: cwd === '/project' ? RDS_REPLACED : BASE,
      });
      return undefined;
    },
    resolveRef: (_, ref) => {
      if (ref !== 'main') throw new Error(`--base ${ref}: not a commit`);
      return 'abc1234def';
    },
    appStackNames: () => ['StagingStack', 'ProductionStack'],
    exportCommit: (_, sha, dest) => calls.push(`export ${sha} ${path.basename(dest)}`),
    deployedTemplate: async (stackName, region) => {
      calls.push(`deployed ${stackName} ${region}`);
      return BASE;
    },
    out: (t) => out.push(t),
    err: (t) => err.push(t),
    ...overrides,
  };
  return { deps, out, err, calls };
}

describe('npm run diff: arguments', () => {
  test('reads a base ref, repeated and comma-separated stacks, flags and files', () => {
    expect(
      parseDiffArgs([
        '--base',
        'origin/main',
        '--stack',
        'StagingStack,ProductionStack',
        '--allow-destructive',
        '--markdown=c.md',
      ]),
    ).toEqual(
      expect.objectContaining({
        base: 'origin/main',
        stacks: ['StagingStack', 'ProductionStack'],
        allowDestructive: true,
        markdown: 'c.md',
        deployed: false,
      }),
    );
  });

  test('takes --allow-destructive=false as not allowed (what a workflow expression renders)', () => {
    expect(parseDiffArgs(['--base', 'x', '--allow-destructive=false']).allowDestructive).toBe(false);
  });

  test('reads the pull request labels, comma-separated and repeated; an empty list is allowed', () => {
    expect(parseDiffArgs(['--base', 'x', '--labels', 'a, allow-destructive', '--labels=b']).labels).toEqual([
      'a',
      'allow-destructive',
      'b',
    ]);
    expect(parseDiffArgs(['--base', 'x', '--labels=']).labels).toEqual([]);
  });

  test.each([
    [[], /exactly one base \(got 0\)/],
    [['--base', 'main', '--stack='], /--stack needs a value/],
    [['--base', 'main', '--deployed'], /exactly one base \(got 2\)/],
    [['--base'], /--base needs a value/],
    [['--base', 'main', '--colour'], /Unknown option --colour/],
    [['main'], /Unexpected argument "main"/],
  ])('fails on %j naming the fix', (argv, message) => {
    expect(() => parseDiffArgs(argv)).toThrow(message);
  });
});

describe('npm run diff: run', () => {
  test('with --base: exports the commit, synthesizes both sides and fails on a destructive change', async () => {
    const r = fakeDeps();
    const code = await runDiff(['--base', 'main'], r.deps);
    expect(code).toBe(EXIT.blocked);
    expect(r.calls).toEqual(
      expect.arrayContaining([
        'export abc1234def base-src',
        'synth /project',
        expect.stringMatching(/^synth .*base-src$/),
      ]),
    );
    const text = r.out.join('');
    expect(text).toContain('Base main (abc1234) → working tree');
    expect(text).toContain('=== StagingStack: 0 change(s)');
    expect(text.split('\n')[0]).toBe(
      '⛔ Blocked: ProductionStack: RDS DBInstance `DatabaseInstanceAA8A5FDE` would be replaced',
    );
  });

  test('--allow-destructive passes the same change and still reports it', async () => {
    const r = fakeDeps();
    expect(await runDiff(['--base', 'main', '--allow-destructive'], r.deps)).toBe(EXIT.ok);
    expect(r.out.join('')).toMatch(/^⚠️ Allowed by `allow-destructive`: ProductionStack/);
  });

  test('with --base-dir and --head-dir: no synthesis, writes the comment to --markdown', async () => {
    const dir = tmp('cb-diff-cli-');
    const base = writeAssembly(path.join(dir, 'base'), { StagingStack: BASE });
    const head = writeAssembly(path.join(dir, 'head'), { StagingStack: BASE });
    const md = path.join(dir, 'comment.md');
    const r = fakeDeps();
    const code = await runDiff(['--base-dir', base, '--head-dir', head, '--markdown', md], r.deps);
    expect(code).toBe(EXIT.ok);
    expect(r.calls).toEqual([]);
    expect(fs.readFileSync(md, 'utf8').startsWith(COMMENT_MARKER)).toBe(true);
  });

  test('with --deployed: reads each chosen stack from CloudFormation in its synthesized region', async () => {
    const dir = tmp('cb-diff-cli-');
    const head = writeAssembly(path.join(dir, 'head'), { StagingStack: BASE, ProductionStack: BASE });
    const r = fakeDeps();
    expect(await runDiff(['--deployed', '--head-dir', head, '--stack', 'ProductionStack'], r.deps)).toBe(
      EXIT.ok,
    );
    expect(r.calls).toEqual(['deployed ProductionStack eu-west-1']);
  });

  describe('Lambda assets built in two directories', () => {
    const lambdaTemplate = (hash: string) => ({
      Resources: {
        EmergencyStopFunction: {
          Type: 'AWS::Lambda::Function',
          Properties: { Description: 'emergency stop', Code: { S3Bucket: 'assets', S3Key: `${hash}.zip` } },
          Metadata: { 'aws:asset:path': `asset.${hash}` },
        },
      },
    });
    const assembly = (dir: string, hash: string, code: string, sourceMap: string) => {
      writeAssembly(dir, { StagingStack: lambdaTemplate(hash) });
      fs.mkdirSync(path.join(dir, `asset.${hash}`));
      fs.writeFileSync(path.join(dir, `asset.${hash}`, 'index.js'), code);
      fs.writeFileSync(path.join(dir, `asset.${hash}`, 'index.js.map'), sourceMap);
      return dir;
    };
    const [A, B] = ['a'.repeat(64), 'b'.repeat(64)];

    test('the same code whose source maps differ (they hold build paths) is no change', async () => {
      const dir = tmp('cb-diff-assets-');
      const base = assembly(
        path.join(dir, 'base'),
        A,
        'exports.handler=1',
        '{"sources":["../../base-src/x.ts"]}',
      );
      const head = assembly(path.join(dir, 'head'), B, 'exports.handler=1', '{"sources":["../../x.ts"]}');
      const r = fakeDeps();
      expect(await runDiff(['--base-dir', base, '--head-dir', head], r.deps)).toBe(EXIT.ok);
      expect(r.out.join('').split('\n')[0]).toBe('✅ No changes to the stacks.');
      expect(r.out.join('')).toContain('=== StagingStack: 0 change(s)');
    });

    test('changed code is still a change to the emergency stop', async () => {
      const dir = tmp('cb-diff-assets-');
      const base = assembly(path.join(dir, 'base'), A, 'exports.handler=1', '{}');
      const head = assembly(path.join(dir, 'head'), B, 'exports.handler=2', '{}');
      const r = fakeDeps();
      await runDiff(['--base-dir', base, '--head-dir', head], r.deps);
      expect(r.out.join('')).toContain(
        'ℹ️ Emergency stop function `EmergencyStopFunction` updated: Code: new bundle (`emergency-stop-changed`)',
      );
    });
  });

  test('fails with exit 2 on an unknown stack, listing the known ones', async () => {
    const dir = tmp('cb-diff-cli-');
    const head = writeAssembly(path.join(dir, 'head'), { StagingStack: BASE });
    const r = fakeDeps();
    expect(await runDiff(['--base-dir', head, '--head-dir', head, '--stack', 'Prod'], r.deps)).toBe(
      EXIT.error,
    );
    expect(r.err.join('')).toMatch(/--stack Prod: no such stack. Fix: one of StagingStack/);
  });

  test('fails with exit 2 and the synth output when a synthesis fails', async () => {
    const r = fakeDeps({
      synthesize: async () => {
        throw new Error('cdk synth of main failed (exit 1):\nAwsSolutions-EC23 ...');
      },
    });
    expect(await runDiff(['--base', 'main'], r.deps)).toBe(EXIT.error);
    expect(r.err.join('')).toMatch(/cdk synth of main failed/);
  });

  test('compares the templates a synth wrote despite cdk-nag errors, saying so in the output and the comment', async () => {
    const dir = tmp('cb-diff-cli-');
    const md = path.join(dir, 'comment.md');
    const r = fakeDeps({
      synthesize: async (cwd, outDir, label) => {
        writeAssembly(outDir, { StagingStack: BASE });
        return cwd === '/project'
          ? undefined
          : `cdk synth of ${label} reported 2 error(s) (cdk-nag or validation findings); its templates are compared anyway.\nERROR ...`;
      },
    });
    expect(await runDiff(['--base', 'main', '--markdown', md], r.deps)).toBe(EXIT.ok);
    expect(r.out.join('')).toContain('warning: cdk synth of main reported 2 error(s)');
    expect(r.err.join('')).toContain('ERROR ...');
    expect(fs.readFileSync(md, 'utf8')).toContain('> ⚠️ cdk synth of main reported 2 error(s)');
  });

  describe('arguments are checked before anything is synthesized', () => {
    test('--stack Nope: exit 2 naming the known stacks, no synth, no export', async () => {
      const r = fakeDeps();
      expect(await runDiff(['--base', 'main', '--stack', 'Nope'], r.deps)).toBe(EXIT.error);
      expect(r.err.join('')).toMatch(
        /^error: --stack Nope: no such stack. Fix: one of ProductionStack, StagingStack\./,
      );
      expect(r.calls).toEqual([]);
    });

    test('--base nosuchref: exit 2 with the fix, no synth of the working tree', async () => {
      const r = fakeDeps();
      expect(await runDiff(['--base', 'nosuchref'], r.deps)).toBe(EXIT.error);
      expect(r.err.join('')).toMatch(/^error: --base nosuchref: not a commit/);
      expect(r.calls).toEqual([]);
    });

    test('an unknown option: exit 2, no synth', async () => {
      const r = fakeDeps();
      expect(await runDiff(['--base', 'main', '--allow-everything'], r.deps)).toBe(EXIT.error);
      expect(r.err.join('')).toMatch(/Unknown option --allow-everything/);
      expect(r.calls).toEqual([]);
    });

    test('--markdown into a missing directory: exit 2, no synth', async () => {
      const r = fakeDeps();
      expect(await runDiff(['--base', 'main', '--markdown', '/no/such/dir/c.md'], r.deps)).toBe(EXIT.error);
      expect(r.err.join('')).toMatch(/--markdown .*does not exist/);
      expect(r.calls).toEqual([]);
    });

    test('--head-dir that is not a cloud assembly: exit 2 before the base is synthesized', async () => {
      const r = fakeDeps();
      expect(await runDiff(['--base', 'main', '--head-dir', tmp('cb-diff-cli-')], r.deps)).toBe(EXIT.error);
      expect(r.err.join('')).toMatch(/no manifest.json/);
      expect(r.calls).toEqual([]);
    });
  });

  test('the labels decide: the same destructive change passes with --labels allow-destructive', async () => {
    const r = fakeDeps();
    expect(await runDiff(['--base', 'main', '--labels', 'docs,allow-destructive'], r.deps)).toBe(EXIT.ok);
  });

  describe('migrations read from the assemblies', () => {
    const withMigrations = (dir: string, files: Record<string, string>) => {
      const template = changed(BASE, (r) => {
        r.MigrationsFunction = {
          Type: 'AWS::Lambda::Function',
          Properties: { Code: { S3Bucket: 'b', S3Key: 'k.zip' } },
          Metadata: { 'aws:asset:path': 'asset.m' },
        };
      });
      writeAssembly(dir, { ProductionStack: template });
      fs.mkdirSync(path.join(dir, 'asset.m', 'migrations'), { recursive: true });
      for (const [name, sql] of Object.entries(files)) {
        fs.writeFileSync(path.join(dir, 'asset.m', 'migrations', name), sql);
      }
      return dir;
    };
    const baseFiles = {
      '20240110090000_a.up.sql': 'select 1;',
      '20240110090000_a.down.sql': 'select 1;',
      '20240201090000_b.up.sql': 'select 2;',
    };

    test('an out-of-order file blocks (exit 1) unless labelled allow-out-of-order-migration', async () => {
      const dir = tmp('cb-diff-cli-');
      const base = withMigrations(path.join(dir, 'base'), baseFiles);
      const head = withMigrations(path.join(dir, 'head'), {
        ...baseFiles,
        '20240115000000_late.up.sql': 'select 3;',
      });
      const r = fakeDeps();
      expect(await runDiff(['--base-dir', base, '--head-dir', head], r.deps)).toBe(EXIT.blocked);
      expect(r.out.join('').split('\n')[0]).toBe(
        '⛔ Blocked: ProductionStack: migration `20240115000000_late.up.sql` is out of order (below 20240201090000)',
      );
      const labelled = fakeDeps();
      const args = ['--base-dir', base, '--head-dir', head, '--labels', 'allow-out-of-order-migration'];
      expect(await runDiff(args, labelled.deps)).toBe(EXIT.ok);
    });

    test('a new migration above the base is listed by file name and passes', async () => {
      const dir = tmp('cb-diff-cli-');
      const base = withMigrations(path.join(dir, 'base'), baseFiles);
      const head = withMigrations(path.join(dir, 'head'), {
        ...baseFiles,
        '20260101090000_new.up.sql': 'select 4;',
      });
      const r = fakeDeps();
      expect(await runDiff(['--base-dir', base, '--head-dir', head], r.deps)).toBe(EXIT.ok);
      expect(r.out.join('')).toContain(
        "New migration(s), applied to this stack's database on deploy: `20260101090000_new.up.sql`",
      );
    });
  });

  test('prints usage for --help and exits 0', async () => {
    const r = fakeDeps();
    expect(await runDiff(['--help'], r.deps)).toBe(EXIT.ok);
    expect(r.out.join('')).toMatch(/^Usage: npm run diff/);
  });
});

describe('npm run diff: cloud assemblies, git and CloudFormation', () => {
  test('readAssembly returns the stacks of a cdk.out by stack name, with their environment', () => {
    const dir = writeAssembly(tmp('cb-asm-'), { StagingStack: BASE });
    const stacks = readAssembly(dir);
    expect([...stacks.keys()]).toEqual(['StagingStack']);
    expect(regionOf(stacks.get('StagingStack')!.environment)).toBe('eu-west-1');
  });

  test('readAssembly fails on a directory that is not a cloud assembly, naming the fix', () => {
    expect(() => readAssembly(tmp('cb-asm-'))).toThrow(
      /no manifest.json\). Fix: point at the output of `cdk synth`/,
    );
  });

  describe('git', () => {
    const repo = tmp('cb-git-');
    const git = (...args: string[]) =>
      execFileSync('git', ['-c', 'user.name=t', '-c', 'user.email=t@example.com', ...args], {
        cwd: repo,
      }).toString();
    git('init', '--quiet');
    fs.writeFileSync(path.join(repo, 'cdk.json'), '{"app":"old"}');
    git('add', '.');
    git('commit', '--quiet', '-m', 'first');
    const first = git('rev-parse', 'HEAD').trim();
    fs.writeFileSync(path.join(repo, 'cdk.json'), '{"app":"new"}');
    fs.mkdirSync(path.join(repo, 'node_modules'));

    test('resolveRef names the commit of a ref, and fails on an unknown one with the fix', () => {
      expect(resolveRef(repo, 'HEAD')).toBe(first);
      expect(() => resolveRef(repo, 'no-such-branch')).toThrow(
        /--base no-such-branch: not a commit .* fetch-depth: 0/,
      );
    });

    test("exportCommit writes the commit's files, not the working tree's, with node_modules linked", () => {
      const dest = path.join(tmp('cb-export-'), 'src');
      exportCommit(repo, first, dest);
      expect(fs.readFileSync(path.join(dest, 'cdk.json'), 'utf8')).toBe('{"app":"old"}');
      expect(fs.realpathSync(path.join(dest, 'node_modules'))).toBe(
        fs.realpathSync(path.join(repo, 'node_modules')),
      );
    });
  });

  describe('deployedTemplate', () => {
    const cfn = mockClient(CloudFormationClient);
    afterEach(() => cfn.reset());

    test("reads the stack's original template", async () => {
      cfn.on(GetTemplateCommand, { StackName: 'StagingStack', TemplateStage: 'Original' }).resolves({
        TemplateBody: JSON.stringify(BASE),
      });
      await expect(
        deployedTemplate('StagingStack', new CloudFormationClient({ region: 'eu-west-1' })),
      ).resolves.toEqual(BASE);
    });

    test('fails on a stack missing from the account, naming the fix', async () => {
      cfn.on(GetTemplateCommand).rejects(new Error('Stack with id StagingStack does not exist'));
      await expect(
        deployedTemplate('StagingStack', new CloudFormationClient({ region: 'eu-west-1' })),
      ).rejects.toThrow(/does not exist in the account of these credentials. Fix:/);
    });
  });
});

describe('npm run diff: stack names before synth', () => {
  test('appStackNames lists exactly the stacks the real app defines', () => {
    const root = path.resolve(__dirname, '..', '..');
    // The stacks of the run's one synthesis of the real app (lib/app.ts defineStacks), by the name the
    // CDK CLI deploys each under: its manifest's stackName, else its artifact id. Reading it costs
    // nothing; building the app's construct tree here cost 2 s.
    const manifest = JSON.parse(fs.readFileSync(path.join(sharedAssemblyDir(), 'manifest.json'), 'utf8')) as {
      artifacts: Record<string, { type: string; properties?: { stackName?: string } }>;
    };
    const defined = Object.entries(manifest.artifacts)
      .filter(([, a]) => a.type === 'aws:cloudformation:stack')
      .map(([id, a]) => a.properties?.stackName ?? id)
      .sort();
    expect(defined.length).toBeGreaterThan(0);
    expect(appStackNames(root).sort()).toEqual(defined);
  });
});
