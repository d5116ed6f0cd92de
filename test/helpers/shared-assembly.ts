/**
 * The cloud assembly of the real app (every stack lib/app.ts defines, as `cdk synth` builds them but
 * without bundling Lambda code), synthesized ONCE per jest run and read by every test file that needs
 * only templates. Before this, each of ~25 template test files built and synthesized the whole app
 * itself (twice, through `Template.fromStack` per stack): most of `npm test`'s time.
 *
 * The first file that asks synthesizes into the run's temporary directory (test/helpers/run-tmpdir.ts,
 * which globalTeardown deletes); other workers that ask meanwhile wait for it. Lazily, so a run of
 * test files that need no template (test/ops/, test/diff/labels) pays nothing. Outside a jest run
 * (no run directory) each process synthesizes its own copy and removes it on exit.
 *
 * Path metadata (`aws:cdk:path`) is on, as `cdk synth` has it, for the messages of
 * test/deployability/; {@link templateOf} strips it so templates equal `Template.fromStack`'s.
 *
 * aws-cdk-lib's CloudFormation validation is off for the app's own assembly: building its engine
 * takes seconds per process, the output is the same with or without it, and
 * test/stack/checks.test.ts validates the real app (as `cdk synth` does). The variants of
 * {@link sharedAssemblyDirOf} keep it (with cdk.json's validateAgainstDefaultRules a finding fails
 * the synth): no other test validates templates such as production's once `stackCreated` is true.
 *
 * {@link sharedAssemblyDirOf} does the same for changed configs (e.g. every stack as it reads once it
 * exists, `stackCreated: true`): one synthesis per distinct config per run, shared by the files that ask.
 */
import * as crypto from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

import type { EnvironmentConfig } from '../../environments/types';

const RUN_DIR_KEY = 'CLEVER_BETTER_RUN_TMPDIR';
/** Written last: its presence means the assembly is whole. */
const COMPLETE = '.complete';
/** How long a worker waits for another one's synthesis before giving up. */
const WAIT_MS = 10 * 60_000;

/** Outside a jest run: this process's own assemblies, by variant key. */
const local = new Map<string, string>();

/** cdk.json's feature flags: the CLI passes them to the app, so the tests must too. */
export function cdkJsonContext(): Record<string, unknown> {
  return JSON.parse(fs.readFileSync(path.join(__dirname, '..', '..', 'cdk.json'), 'utf8')).context;
}

/** `configs` undefined: the app as lib/app.ts defines it; else the stacks of exactly those configs. */
function synthesizeInto(outdir: string, configs?: readonly EnvironmentConfig[]): void {
  // Required here, not imported: a test file that needs no template never loads the app's code.
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const { App } = require('aws-cdk-lib') as typeof import('aws-cdk-lib');
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const { addEnvironmentStacks, defineStacks } = require('../../lib/app') as typeof import('../../lib/app');
  const app = new App({
    outdir,
    builtinCloudFormationValidation: configs !== undefined,
    context: { ...cdkJsonContext(), 'aws:cdk:bundling-stacks': [], 'aws:cdk:enable-path-metadata': true },
  });
  if (configs) addEnvironmentStacks(app, configs);
  else defineStacks(app);
  app.synth();
  fs.writeFileSync(path.join(outdir, COMPLETE), `${process.pid}\n`);
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

const sleep = (ms: number) => Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);

/** The directory of the shared cloud assembly (`manifest.json`, `<Stack>.template.json`). */
export function sharedAssemblyDir(): string {
  return assemblyDir('app-assembly');
}

/**
 * The shared cloud assembly of the stacks of `configs` (lib/app.ts `addEnvironmentStacks`), as
 * {@link sharedAssemblyDir} synthesizes the app: once per run for each distinct `configs`, whichever
 * file asks first. Configs equal to environments/ give the app's own assembly.
 */
export function sharedAssemblyDirOf(configs: readonly EnvironmentConfig[]): string {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const { environments } = require('../../environments') as typeof import('../../environments');
  const text = JSON.stringify(configs);
  if (text === JSON.stringify(environments)) return sharedAssemblyDir();
  const key = crypto.createHash('sha256').update(text).digest('hex').slice(0, 16);
  return assemblyDir(`app-assembly-${key}`, configs);
}

function assemblyDir(name: string, configs?: readonly EnvironmentConfig[]): string {
  const runDir = process.env[RUN_DIR_KEY];
  if (!runDir) {
    let own = local.get(name);
    if (!own) {
      own = fs.mkdtempSync(path.join(os.tmpdir(), `cb-${name}-`));
      const dir = own;
      process.once('exit', () => fs.rmSync(dir, { recursive: true, force: true }));
      synthesizeInto(own, configs);
      local.set(name, own);
    }
    return own;
  }
  const dir = path.join(runDir, name);
  const lock = `${dir}.lock`;
  const deadline = Date.now() + WAIT_MS;
  while (!fs.existsSync(path.join(dir, COMPLETE))) {
    try {
      fs.mkdirSync(lock); // atomic: one worker wins
    } catch {
      // Another worker synthesizes; take over if it died (its pid is in the lock).
      let owner = 0;
      try {
        owner = Number(fs.readFileSync(path.join(lock, 'pid'), 'utf8'));
      } catch {
        // Not written yet, or the lock is gone already: look again.
      }
      if (owner > 0 && !alive(owner)) fs.rmSync(lock, { recursive: true, force: true });
      else if (Date.now() > deadline)
        throw new Error(`waited ${WAIT_MS / 1000} s for process ${owner} to synthesize the app into ${dir}`);
      else sleep(200);
      continue;
    }
    try {
      fs.writeFileSync(path.join(lock, 'pid'), String(process.pid));
      const tmp = `${dir}.${process.pid}`;
      fs.rmSync(tmp, { recursive: true, force: true });
      synthesizeInto(tmp, configs);
      fs.renameSync(tmp, dir);
    } finally {
      fs.rmSync(lock, { recursive: true, force: true });
    }
  }
  return dir;
}

/**
 * A stack's template as synthesized in the shared assembly (or in `dir`, another assembly of
 * {@link sharedAssemblyDirOf}), with path metadata removed.
 */
export function templateOf(stackName: string, dir: string = sharedAssemblyDir()): Record<string, unknown> {
  const file = path.join(dir, `${stackName}.template.json`);
  const template = JSON.parse(fs.readFileSync(file, 'utf8')) as {
    Resources?: Record<string, { Metadata?: Record<string, unknown> }>;
  };
  for (const resource of Object.values(template.Resources ?? {})) {
    if (!resource.Metadata || !('aws:cdk:path' in resource.Metadata)) continue;
    delete resource.Metadata['aws:cdk:path'];
    if (Object.keys(resource.Metadata).length === 0) delete resource.Metadata;
  }
  return template;
}
