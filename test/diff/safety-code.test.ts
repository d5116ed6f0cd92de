import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import {
  bundleSources,
  changedLambdaFiles,
  headline,
  projectFunctions,
  safetyCodeChanges,
  summarizeStack,
} from '../../lib/diff';
import { changed } from './fixtures';
import { ruleTemplate } from './rule-fixtures';

// A change to the emergency stop's code shows in the template only as a new asset hash. The diff
// lists the source files of the bundle (from its source map) that git says changed, as a warning
// naming the function, in every stack.

const dirs: string[] = [];
const tmp = () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'cb-safety-'));
  dirs.push(dir);
  return dir;
};
afterAll(() => dirs.forEach((d) => fs.rmSync(d, { recursive: true, force: true })));

const STOP = 'OperationsStopFunction4F1E2D3C';
const BASE = ruleTemplate();
const withCode = (key: string) =>
  changed(BASE, (r) => {
    r[STOP].Properties.Code = { S3Bucket: 'cdk-assets', S3Key: key };
    r[STOP].Metadata = { 'aws:asset:path': `asset.${key}` };
  });

/** An assembly directory whose stop-function asset has a source map naming these sources. */
function assembly(key: string, sources: string[]): string {
  const dir = tmp();
  fs.mkdirSync(path.join(dir, `asset.${key}`));
  fs.writeFileSync(path.join(dir, `asset.${key}`, 'index.js'), '');
  fs.writeFileSync(
    path.join(dir, `asset.${key}`, 'index.js.map'),
    JSON.stringify({ version: 3, sources: sources.map((s) => `../../${s}`) }),
  );
  return dir;
}

const SOURCES = [
  'lambda/emergency-stop/index.ts',
  'lambda/emergency-stop/steps.ts',
  'lambda/emergency-stop/stop.ts',
  'node_modules/@aws-sdk/client-ecs/dist-es/index.js',
];

describe('safety code', () => {
  test('a bundle’s lambda/ sources come from its source map (node_modules left out), copied files by their path', () => {
    const dir = assembly('new', SOURCES);
    fs.mkdirSync(path.join(dir, 'asset.new', 'migrations'));
    fs.writeFileSync(path.join(dir, 'asset.new', 'migrations', '1_a.up.sql'), 'select 1;');
    expect(bundleSources(path.join(dir, 'asset.new'))).toEqual([
      ...SOURCES.slice(0, 3),
      'migrations/1_a.up.sql',
    ]);
  });

  test('a changed stop bundle warns, names the function and lists the changed files', () => {
    const head = withCode('new');
    const functions = projectFunctions(assembly('new', SOURCES), head);
    const safetyCode = safetyCodeChanges(
      withCode('old'),
      head,
      functions,
      new Set(['lambda/emergency-stop/stop.ts', 'README.md']),
    );
    expect(safetyCode).toEqual([
      {
        logicalId: STOP,
        folder: 'lambda/emergency-stop',
        files: ['lambda/emergency-stop/stop.ts'],
        known: true,
      },
    ]);
    for (const stack of ['ProductionStack', 'StagingStack']) {
      const d = summarizeStack(stack, withCode('old'), head, { safetyCode });
      const f = d.summary.findings.find((x) => x.rule === 'safety-code-changed')!;
      expect([f.severity, d.summary.blocked]).toEqual(['warn', false]);
      expect(f.message).toContain('changed files: `lambda/emergency-stop/stop.ts`');
      expect(f.message).toContain('`lambda/emergency-stop`');
      expect(headline([d])).toMatch(
        /^⚠️ \w+Stack: safety code of `OperationsStopFunction4F1E2D3C` \(lambda\/emergency-stop\) changed$/,
      );
    }
  });

  test('an unchanged bundle is not reported, and without git the files are said to be unknown', () => {
    const functions = new Map([[STOP, SOURCES.slice(0, 3)]]);
    expect(safetyCodeChanges(withCode('same'), withCode('same'), functions, new Set(SOURCES))).toEqual([]);
    const [unknown] = safetyCodeChanges(withCode('old'), withCode('new'), functions, undefined);
    const f = summarizeStack('ProductionStack', withCode('old'), withCode('new'), {
      safetyCode: [unknown],
    }).summary.findings.find((x) => x.rule === 'safety-code-changed')!;
    expect(f.message).toMatch(/unknown without git/);
  });

  test('git lists changed and new files against a commit', () => {
    const repo = tmp();
    const git = (...args: string[]) => execFileSync('git', args, { cwd: repo, encoding: 'utf8' });
    git('init', '-q');
    fs.mkdirSync(path.join(repo, 'lambda', 'emergency-stop'), { recursive: true });
    fs.writeFileSync(path.join(repo, 'lambda', 'emergency-stop', 'stop.ts'), 'a');
    fs.writeFileSync(path.join(repo, 'lambda', 'emergency-stop', 'steps.ts'), 'a');
    git('add', '.');
    git('-c', 'user.name=t', '-c', 'user.email=t@t', 'commit', '-qm', 'base');
    const base = git('rev-parse', 'HEAD').trim();
    fs.writeFileSync(path.join(repo, 'lambda', 'emergency-stop', 'stop.ts'), 'b');
    fs.writeFileSync(path.join(repo, 'lambda', 'emergency-stop', 'new.ts'), 'c');
    fs.mkdirSync(path.join(repo, 'migrations'));
    fs.writeFileSync(path.join(repo, 'migrations', '2_b.up.sql'), 'select 2;');
    expect([...changedLambdaFiles(repo, base)].sort()).toEqual([
      'lambda/emergency-stop/new.ts',
      'lambda/emergency-stop/stop.ts',
      'migrations/2_b.up.sql',
    ]);
  });
});
