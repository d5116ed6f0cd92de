import { CloudFormationClient } from '@aws-sdk/client-cloudformation';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import {
  AssemblyStack,
  deployedTemplate,
  equivalentAssets,
  exportCommit,
  readAssembly,
  regionOf,
  resolveRef,
  synthesize,
  withAssetHashes,
} from './assembly';
import { labelProblem } from './labels';
import { MigrationFile, migrationFilesOf } from './migrations';
import { protectionsTable } from './protections';
import { ALLOW_DESTRUCTIVE_LABEL, renderMarkdown, renderText } from './render';
import { changedLambdaFiles, projectFunctions, safetyCodeChanges } from './safety-code';
import { loadSqlParser } from './sql';
import { StackDiff, summarizeStack } from './summary';
import { CfnTemplate } from './template';

/** Exit codes of `npm run diff`. */
export const EXIT = { ok: 0, blocked: 1, error: 2 } as const;

export const USAGE = `Usage: npm run diff -- (--base <git-ref> | --base-dir <cdk.out> | --deployed) [options]

Compares the app's synthesized templates with a base and prints a risk summary and the diff of each
stack. Needs no AWS credentials except with --deployed.

  --base <git-ref>       synthesize the app at this commit (git archive + the installed node_modules)
  --base-dir <dir>       use an already synthesized cloud assembly as the base
  --deployed             use the templates CloudFormation holds (credentials with cloudformation:GetTemplate
                         in the stack's account; combine with --stack)
  --head-dir <dir>       use this cloud assembly as the new side (default: synthesize the working tree)
  --stack <name>         only this stack (repeatable; default: every stack of either side)
  --labels <a,b,...>     the pull request's labels; each blocking rule names the label that lets it
                         pass (allow-destructive, override-trading-safety, allow-out-of-order-migration,
                         allow-public-ingress; docs/deployment.md "Diff rules"). Other labels are ignored.
  --allow-destructive    same as --labels allow-destructive
  --markdown <file>      also write the pull-request comment (markdown) to this file
  --base-label <text>    how to name the base in the output (default: the ref and its commit)
  --head-label <text>    how to name the new side (default: "working tree" or the --head-dir path)
  --protections-table    print the protections table (docs/deployment.md) and exit; needs no base

Arguments (the ref, the stacks, the directories) are checked before anything is synthesized.
Exit status: 0 fine, 1 blocked (a blocking finding without its label), 2 usage or synth error.`;

/** Parsed options of `npm run diff`. */
export interface DiffArgs {
  readonly base?: string;
  readonly baseDir?: string;
  readonly deployed: boolean;
  readonly headDir?: string;
  readonly stacks: readonly string[];
  readonly allowDestructive: boolean;
  /** The pull request's labels (`--labels`, comma-separated, repeatable; empty allowed). */
  readonly labels: readonly string[];
  readonly markdown?: string;
  readonly baseLabel?: string;
  readonly headLabel?: string;
  readonly help: boolean;
  /** Print the protections table (markdown) and exit. */
  readonly protectionsTable: boolean;
}

/** A usage error: the message names the option, the value and the fix. */
export class DiffUsageError extends Error {}

const VALUE_OPTIONS = [
  'base',
  'base-dir',
  'head-dir',
  'stack',
  'labels',
  'markdown',
  'base-label',
  'head-label',
];
/** Options whose value may be empty: a pull request without labels renders `--labels=`. */
const EMPTY_ALLOWED = ['labels'];
const FLAG_OPTIONS = ['deployed', 'allow-destructive', 'help', 'protections-table'];

export function parseDiffArgs(argv: readonly string[]): DiffArgs {
  const values: Record<string, string[]> = {};
  const flags = new Set<string>();
  for (let i = 0; i < argv.length; i++) {
    const word = argv[i];
    const match = /^--([a-z-]+)(?:=(.*))?$/s.exec(word);
    if (!match) throw new DiffUsageError(`Unexpected argument "${word}". Fix: options start with --.`);
    const [, name, inline] = match;
    if (FLAG_OPTIONS.includes(name)) {
      if (inline !== undefined && inline !== 'true' && inline !== 'false') {
        throw new DiffUsageError(`--${name}=${inline}: a flag takes no value other than true or false.`);
      }
      if (inline !== 'false') flags.add(name);
    } else if (VALUE_OPTIONS.includes(name)) {
      const value = inline ?? argv[++i];
      if (value === undefined || (value === '' && !EMPTY_ALLOWED.includes(name))) {
        throw new DiffUsageError(`--${name} needs a value. Fix: --${name} <value>.`);
      }
      (values[name] ??= []).push(value);
    } else throw new DiffUsageError(`Unknown option --${name}. Fix: see --help.`);
  }
  const one = (name: string) => values[name]?.at(-1);
  const args: DiffArgs = {
    base: one('base'),
    baseDir: one('base-dir'),
    deployed: flags.has('deployed'),
    headDir: one('head-dir'),
    stacks: (values.stack ?? []).flatMap((s) => s.split(',')).filter(Boolean),
    allowDestructive: flags.has('allow-destructive'),
    labels: (values.labels ?? [])
      .flatMap((s) => s.split(','))
      .map((s) => s.trim())
      .filter(Boolean),
    markdown: one('markdown'),
    baseLabel: one('base-label'),
    headLabel: one('head-label'),
    help: flags.has('help'),
    protectionsTable: flags.has('protections-table'),
  };
  const badLabel = labelProblem(args.labels);
  if (badLabel) throw new DiffUsageError(badLabel);
  const sources = [args.base !== undefined, args.baseDir !== undefined, args.deployed].filter(Boolean).length;
  if (!args.help && !args.protectionsTable && sources !== 1) {
    throw new DiffUsageError(
      `Give exactly one base (got ${sources}). Fix: --base <git-ref> (e.g. --base origin/main), --base-dir <cdk.out> or --deployed.`,
    );
  }
  return args;
}

/** What the CLI does to the outside world; tests replace it. */
export interface DiffDeps {
  /** Root of the project (where cdk.json and node_modules are). */
  readonly projectRoot: string;
  /** Synthesizes the app in `cwd` into `outDir`; resolves to a warning when it wrote templates despite errors. */
  synthesize(cwd: string, outDir: string, label: string): Promise<string | undefined>;
  /** Resolves a git ref to a commit. */
  resolveRef(projectRoot: string, ref: string): string;
  /** Writes a commit's files into `dest`, with node_modules linked. */
  exportCommit(projectRoot: string, sha: string, dest: string): void;
  /**
   * The stack names the working tree's app synthesizes, known without synthesizing (from
   * environments/), so a wrong --stack fails at once.
   */
  appStackNames(projectRoot: string): string[];
  /** The deployed template of a stack. */
  deployedTemplate(stackName: string, region: string | undefined): Promise<CfnTemplate>;
  /**
   * Files under lambda/ that differ between a commit and the working tree (git).
   * @default unknown: safety-code findings then say the files could not be listed
   */
  changedLambdaFiles?(projectRoot: string, sha: string): Set<string>;
  out(text: string): void;
  err(text: string): void;
}

export const defaultDeps: DiffDeps = {
  projectRoot: path.resolve(__dirname, '..', '..'),
  synthesize,
  resolveRef,
  exportCommit,
  appStackNames,
  deployedTemplate: (stackName, region) => deployedTemplate(stackName, new CloudFormationClient({ region })),
  changedLambdaFiles,
  out: (text) => process.stdout.write(text),
  err: (text) => process.stderr.write(text),
};

/**
 * The stack names the app at `projectRoot` defines, from its environments/ and lib/stack-names.ts
 * (no aws-cdk-lib, no synth).
 */
export function appStackNames(projectRoot: string): string[] {
  /* eslint-disable @typescript-eslint/no-require-imports */
  const { environments } = require(
    path.join(projectRoot, 'environments'),
  ) as typeof import('../../environments');
  const names = require(path.join(projectRoot, 'lib', 'stack-names')) as typeof import('../stack-names');
  /* eslint-enable @typescript-eslint/no-require-imports */
  return names.appStackNames(environments);
}

/** The two sides, resolved and checked before any synthesis. */
interface Plan {
  readonly baseSha?: string;
  readonly baseLabel?: string;
  readonly baseAssembly?: Map<string, AssemblyStack>;
  readonly headAssembly?: Map<string, AssemblyStack>;
}

/** Everything that can be wrong with the arguments, found in well under a second (no synth). */
function plan(args: DiffArgs, deps: DiffDeps): Plan {
  let baseSha: string | undefined;
  let baseLabel = args.baseLabel;
  if (args.base !== undefined) {
    baseSha = deps.resolveRef(deps.projectRoot, args.base);
    baseLabel ??= `${args.base} (${baseSha.slice(0, 7)})`;
  }
  const baseAssembly = args.baseDir ? readAssembly(path.resolve(args.baseDir)) : undefined;
  const headAssembly = args.headDir ? readAssembly(path.resolve(args.headDir)) : undefined;
  if (args.markdown && !fs.existsSync(path.dirname(path.resolve(args.markdown)))) {
    throw new DiffUsageError(
      `--markdown ${args.markdown}: directory ${path.dirname(path.resolve(args.markdown))} does not exist. Fix: create it or write elsewhere.`,
    );
  }
  if (args.stacks.length) {
    const known = new Set([
      ...(headAssembly ? headAssembly.keys() : deps.appStackNames(deps.projectRoot)),
      ...(baseAssembly?.keys() ?? []),
    ]);
    const unknown = args.stacks.filter((n) => !known.has(n));
    if (unknown.length) {
      throw new DiffUsageError(
        `--stack ${unknown.join(', ')}: no such stack. Fix: one of ${[...known].sort().join(', ')}.`,
      );
    }
  }
  return { baseSha, baseLabel, baseAssembly, headAssembly };
}

/** Migration files of a stack in an assembly, or undefined when the assembly is not at hand. */
function migrationsIn(
  dir: string | undefined,
  stack: AssemblyStack | undefined,
): MigrationFile[] | undefined {
  if (!dir) return undefined;
  return stack ? migrationFilesOf(dir, stack.template) : [];
}

/** Runs `npm run diff`; returns the exit status. */
export async function runDiff(argv: readonly string[], deps: DiffDeps = defaultDeps): Promise<number> {
  let args: DiffArgs;
  let planned: Plan;
  try {
    args = parseDiffArgs(argv);
    if (args.help) {
      deps.out(`${USAGE}\n`);
      return EXIT.ok;
    }
    if (args.protectionsTable) {
      deps.out(`${protectionsTable()}\n`);
      return EXIT.ok;
    }
    planned = plan(args, deps);
  } catch (err) {
    deps.err(`error: ${(err as Error).message}\n\n${USAGE}\n`);
    return EXIT.error;
  }
  const work = fs.mkdtempSync(path.join(os.tmpdir(), 'cb-diff-'));
  try {
    const notes: string[] = [];
    const synth = (cwd: string, outDir: string, label: string) =>
      deps.synthesize(cwd, outDir, label).then((warning) => {
        if (warning) {
          deps.err(`warning: ${warning}\n`);
          notes.push(warning.split('\n')[0]);
        }
        return outDir;
      });
    const headJob = args.headDir
      ? Promise.resolve(path.resolve(args.headDir))
      : synth(deps.projectRoot, path.join(work, 'head.out'), 'the working tree');
    let baseJob: Promise<string | undefined> = Promise.resolve(args.baseDir && path.resolve(args.baseDir));
    if (planned.baseSha !== undefined) {
      const src = path.join(work, 'base-src');
      deps.exportCommit(deps.projectRoot, planned.baseSha, src);
      baseJob = synth(src, path.join(work, 'base.out'), args.base!);
    }
    // Both syntheses at once: each is mostly one busy Node process.
    // Both finish before anything is read or the work directory is removed, even when one fails.
    const settled = await Promise.allSettled([headJob, baseJob]);
    const failed = settled.find((s): s is PromiseRejectedResult => s.status === 'rejected');
    if (failed) throw failed.reason;
    const [headDir, baseDir] = settled.map((s) => (s as PromiseFulfilledResult<string | undefined>).value);
    const head = planned.headAssembly ?? readAssembly(headDir!);
    const base = planned.baseAssembly ?? (baseDir ? readAssembly(baseDir) : new Map<string, AssemblyStack>());
    const sameAssets = baseDir ? equivalentAssets(baseDir, headDir!) : new Map<string, string>();
    const names = args.stacks.length ? args.stacks : [...new Set([...head.keys(), ...base.keys()])];
    const unknown = names.filter((n) => !head.has(n) && !base.has(n));
    if (unknown.length) {
      throw new DiffUsageError(
        `--stack ${unknown.join(', ')}: no such stack. Fix: one of ${[...head.keys()].join(', ')}.`,
      );
    }
    const labels = [...args.labels, ...(args.allowDestructive ? [ALLOW_DESTRUCTIVE_LABEL] : [])];
    await loadSqlParser();
    // Which lambda/ files changed: git knows only when the base is a commit of this clone.
    const changedFiles =
      planned.baseSha !== undefined
        ? deps.changedLambdaFiles?.(deps.projectRoot, planned.baseSha)
        : undefined;
    const results: StackDiff[] = [];
    for (const name of names) {
      const oldTemplate = args.deployed
        ? await deps.deployedTemplate(name, regionOf(head.get(name)?.environment))
        : base.has(name)
          ? withAssetHashes(base.get(name)!.template, sameAssets)
          : undefined;
      const headMigrations = migrationsIn(headDir, head.get(name));
      const migrations = headMigrations && {
        head: headMigrations,
        base: args.deployed ? undefined : migrationsIn(baseDir, base.get(name)),
      };
      const newTemplate = head.get(name)?.template;
      const safetyCode = newTemplate
        ? safetyCodeChanges(oldTemplate, newTemplate, projectFunctions(headDir!, newTemplate), changedFiles)
        : [];
      results.push(summarizeStack(name, oldTemplate, newTemplate, { labels, migrations, safetyCode }));
    }
    const rendering = {
      baseLabel: planned.baseLabel ?? (args.deployed ? 'deployed stacks' : args.baseDir),
      headLabel: args.headLabel ?? (args.headDir ? args.headDir : 'working tree'),
      labels,
      notes,
    };
    deps.out(`${renderText(results, rendering)}\n`);
    if (args.markdown) fs.writeFileSync(args.markdown, `${renderMarkdown(results, rendering)}\n`);
    return results.some((r) => r.summary.blocked) ? EXIT.blocked : EXIT.ok;
  } catch (err) {
    deps.err(`error: ${(err as Error).message}\n`);
    return EXIT.error;
  } finally {
    fs.rmSync(work, { recursive: true, force: true });
  }
}
