import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import type { EnvironmentConfig } from '../../environments/types';
import type { CfnTemplate } from '../diff/template';
import { EnvironmentEstimate, estimateEnvironment } from './environment';
import { renderReport } from './render';

export const USAGE = `Usage: npm run cost -- [--dir <cdk.out>] [--env <name>] [--summary]

Prints what each environment costs a month: fixed costs from the synthesized templates and
environments/, and usage-based costs from each environment's cost.usage assumptions, apart.
Offline: no AWS credentials, no price lookups (prices: lib/cost/prices.ts).

  --dir <cdk.out>   read an already synthesized cloud assembly (default: synthesize the app first)
  --env <name>      only this environment (repeatable; default: every environment)
  --summary         service totals only, without the line per resource

Exit status: 0 fine, 1 a resource type has no entry in lib/cost/coverage.ts, 2 usage or synth error.`;

/** Parsed options of `npm run cost`. */
export interface CostArgs {
  readonly dir?: string;
  readonly envs: readonly string[];
  readonly summary: boolean;
  readonly help: boolean;
}

/** A usage error: the message names the option, the value and the fix. */
export class CostUsageError extends Error {}

/** Parses `npm run cost` arguments strictly: an unknown option or a missing value is an error. */
export function parseCostArgs(argv: readonly string[], known: readonly string[]): CostArgs {
  let dir: string | undefined;
  const envs: string[] = [];
  let summary = false;
  let help = false;
  for (let i = 0; i < argv.length; i++) {
    const match = /^--([a-z-]+)(?:=(.*))?$/s.exec(argv[i]);
    if (!match)
      throw new CostUsageError(`Unexpected argument "${argv[i]}". Fix: options start with --; see --help.`);
    const [, name, inline] = match;
    if (name === 'summary' || name === 'help') {
      if (inline !== undefined)
        throw new CostUsageError(`--${name}=${inline}: a flag takes no value. Fix: --${name}.`);
      if (name === 'summary') summary = true;
      else help = true;
      continue;
    }
    if (name !== 'dir' && name !== 'env')
      throw new CostUsageError(`Unknown option --${name}. Fix: see --help.`);
    const value = inline ?? argv[++i];
    if (value === undefined || value === '' || value.startsWith('--')) {
      throw new CostUsageError(
        `--${name} needs a value. Fix: --${name} <${name === 'dir' ? 'cdk.out' : 'name'}>.`,
      );
    }
    if (name === 'dir') dir = value;
    else {
      if (!known.includes(value)) {
        throw new CostUsageError(`--env ${value}: no such environment. Fix: one of ${known.join(', ')}.`);
      }
      envs.push(value);
    }
  }
  if (dir !== undefined && !fs.existsSync(path.join(dir, 'manifest.json'))) {
    throw new CostUsageError(
      `--dir ${dir}: not a cloud assembly (no manifest.json). Fix: point at the output of \`cdk synth\`, or leave --dir out to synthesize.`,
    );
  }
  return { dir, envs, summary, help };
}

/** What the command does to the outside world; tests replace it. */
export interface CostDeps {
  readonly projectRoot: string;
  readonly environments: readonly EnvironmentConfig[];
  synthesize(cwd: string, outDir: string, label: string): Promise<string | undefined>;
  out(text: string): void;
  err(text: string): void;
}

// lib/diff/assembly loads the CloudFormation SDK client (a third of a second) for --deployed,
// which the estimate never needs: load it only when a function of it runs.
// eslint-disable-next-line @typescript-eslint/no-require-imports
const assembly = (): typeof import('../diff/assembly') => require('../diff/assembly');

/** Templates of a cloud assembly by stack name. */
export function templatesIn(dir: string): Map<string, CfnTemplate> {
  return new Map([...assembly().readAssembly(dir)].map(([name, stack]) => [name, stack.template]));
}

/** Runs `npm run cost`; returns the exit status. */
export async function runCost(argv: readonly string[], deps: CostDeps): Promise<number> {
  let args: CostArgs;
  try {
    args = parseCostArgs(
      argv,
      deps.environments.map((e) => e.name),
    );
  } catch (err) {
    deps.err(`error: ${(err as Error).message}\n\n${USAGE}\n`);
    return 2;
  }
  if (args.help) {
    deps.out(`${USAGE}\n`);
    return 0;
  }
  const work = args.dir ? undefined : fs.mkdtempSync(path.join(os.tmpdir(), 'cb-cost-'));
  try {
    let dir = args.dir;
    if (work) {
      dir = path.join(work, 'cdk.out');
      const warning = await deps.synthesize(deps.projectRoot, dir, 'the working tree');
      if (warning) deps.err(`warning: ${warning.split('\n')[0]}\n`);
    }
    const templates = templatesIn(dir!);
    const chosen = deps.environments.filter((e) => args.envs.length === 0 || args.envs.includes(e.name));
    const estimates: EnvironmentEstimate[] = chosen.map((config) => estimateEnvironment(config, templates));
    deps.out(`${renderReport(estimates, { detailed: !args.summary })}\n`);
    return estimates.some((e) => e.stacks.some((s) => s.uncovered.length > 0)) ? 1 : 0;
  } catch (err) {
    deps.err(`error: ${(err as Error).message}\n`);
    return 2;
  } finally {
    if (work) fs.rmSync(work, { recursive: true, force: true });
  }
}

/** The real world: this project's environments and `cdk synth`. */
export function defaultCostDeps(environments: readonly EnvironmentConfig[]): CostDeps {
  return {
    projectRoot: path.resolve(__dirname, '..', '..'),
    environments,
    synthesize: (cwd, outDir, label) => assembly().synthesize(cwd, outDir, label),
    out: (text) => process.stdout.write(text),
    err: (text) => process.stderr.write(text),
  };
}
