/**
 * `npm run bench:synth`: times `cdk synth` of every stack as this app runs it (cdk.json's "app":
 * ts-node with swc, no type-checking) against the same app run the `cdk init` way (`npx ts-node`,
 * type-checking), alternating runs in one script so both see the same machine load, and prints the
 * ratios for
 * - a repeated synth (the cdk.out of the previous synth kept, as in daily use: synth, diff, test);
 * - a cold synth (a fresh cdk.out: every Lambda bundled again).
 * Then where this app's synth time goes (bench/synth-phases.ts): start-up, imports, constructs,
 * bundling, each cdk-nag pack, the CloudFormation validation and the rest of synthesis.
 * Exits 1 when a ratio misses its target. Rounds: BENCH_ROUNDS (default 3).
 */
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { CHECK_PACKS } from '../lib/checks';
import { parseScriptArgs } from '../lib/cli/script-args';
import { scratchDir } from '../lib/cli/scratch-dir';

export const BENCH_SYNTH_USAGE = {
  command: 'npm run bench:synth',
  description:
    'Times `cdk synth` as cdk.json runs it against the type-checked `cdk init` way, repeated and cold, then ' +
    'where a synth spends its time. Exit 0: every target met; 1: a target missed; 2: usage. BENCH_ROUNDS sets the rounds (default 3).',
};
const { exit } = parseScriptArgs(process.argv.slice(2), BENCH_SYNTH_USAGE);
if (exit !== undefined) process.exit(exit);

const ROOT = path.join(__dirname, '..');
const rounds = Number(process.env.BENCH_ROUNDS ?? 3);
/** Targets: ratio of this app's median synth time to the type-checked one's, at most. */
const TARGETS = { repeated: 0.5, cold: 0.45 } as const;
const variants = {
  'type-checked (cdk init: npx ts-node)': 'npx ts-node --prefer-ts-exts bin/app.ts',
  'this app (cdk.json)': undefined,
};
type Variant = keyof typeof variants;
const names = Object.keys(variants) as Variant[];

const scratch = scratchDir('bench-synth-');
let dirs = 0;
const freshDir = () => fs.mkdtempSync(path.join(scratch, `${++dirs}-`));
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

function synthSeconds(variant: Variant, out: string): number {
  const app = variants[variant];
  const args = ['cdk', 'synth', '--quiet', '-o', out, ...(app ? ['-a', app] : [])];
  const start = process.hrtime.bigint();
  const res = spawnSync('npx', args, { cwd: ROOT, encoding: 'utf8' });
  const seconds = Number(process.hrtime.bigint() - start) / 1e9;
  if (res.status !== 0) throw new Error(`cdk synth failed (${variant}):\n${res.stderr}`);
  for (const stack of ['StagingStack', 'ProductionStack']) {
    if (!fs.existsSync(path.join(out, `${stack}.template.json`)))
      throw new Error(`${stack} was not synthesized`);
  }
  return seconds;
}

interface Phases {
  startupMs: number;
  importsMs: number;
  constructMs: number;
  synthMs: number;
}

/** One in-process synth of the app with the given packs and validation, timed by phase. */
function phases(outdir: string, packs: readonly string[], validation: boolean): Phases {
  const res = spawnSync(
    process.execPath,
    [
      path.join(ROOT, 'node_modules', 'ts-node', 'dist', 'bin.js'),
      '--swc',
      '--prefer-ts-exts',
      path.join(__dirname, 'synth-phases.ts'),
      JSON.stringify({ outdir, packs }),
    ],
    { cwd: ROOT, encoding: 'utf8', env: { ...process.env, CDK_VALIDATION: validation ? 'true' : 'false' } },
  );
  const line = res.stdout.split('\n').find((l) => l.startsWith('{'));
  if (res.status !== 0 || !line) throw new Error(`bench/synth-phases.ts failed:\n${res.stderr}`);
  return JSON.parse(line) as Phases;
}

try {
  // 1. The ratios. One kept cdk.out per variant, filled by a warm-up synth.
  const kept = Object.fromEntries(names.map((n) => [n, freshDir()])) as Record<Variant, string>;
  for (const n of names) synthSeconds(n, kept[n]);
  const times = { repeated: {} as Record<Variant, number[]>, cold: {} as Record<Variant, number[]> };
  for (const n of names) {
    times.repeated[n] = [];
    times.cold[n] = [];
  }
  for (let i = 0; i < rounds; i++) {
    for (const n of names) {
      times.repeated[n].push(synthSeconds(n, kept[n]));
      times.cold[n].push(synthSeconds(n, freshDir()));
      console.log(
        `round ${i + 1}: ${n}: repeated ${times.repeated[n][i].toFixed(2)} s, cold ${times.cold[n][i].toFixed(2)} s`,
      );
    }
  }

  // 2. The breakdown: each configuration adds one thing to the bare app; its cost is the difference.
  const packs = Object.keys(CHECK_PACKS);
  const configs: [string, readonly string[], boolean, boolean][] = [
    ['bare (no packs, no validation), warm', [], false, false],
    ['bare, cold', [], false, true],
    ...packs.map((p): [string, readonly string[], boolean, boolean] => [`+ ${p}`, [p], false, false]),
    ['+ CloudFormation validation', [], true, false],
    ['everything (as cdk synth), warm', packs, true, false],
  ];
  const warmDir = freshDir();
  phases(warmDir, [], false); // fills warmDir's bundles
  const runs = configs.map(() => [] as Phases[]);
  for (let i = 0; i < rounds; i++)
    configs.forEach(([, p, validation, cold], k) =>
      runs[k].push(phases(cold ? freshDir() : warmDir, p, validation)),
    );
  const med = (k: number, key: keyof Phases) => median(runs[k].map((r) => r[key]));
  const ms = (x: number) => `${Math.round(x)} ms`.padStart(8);
  const bare = { synth: med(0, 'synthMs'), construct: med(0, 'constructMs') };
  console.log('\nwhere this app spends a synth (median in-process times; cost = difference to bare):');
  console.log(`${ms(med(0, 'startupMs'))}  node + ts-node (swc) start-up`);
  console.log(`${ms(med(0, 'importsMs'))}  imports (aws-cdk-lib, cdk-nag, lib/)`);
  console.log(`${ms(bare.construct)}  constructs, both stacks (bundles reused)`);
  console.log(`${ms(med(1, 'constructMs') - bare.construct)}  bundling the Lambda functions (cold only)`);
  console.log(`${ms(bare.synth)}  synthesis: aspects, templates, assets, writing cdk.out`);
  packs.forEach((p, i) => console.log(`${ms(med(2 + i, 'synthMs') - bare.synth)}  cdk-nag ${p} pack`));
  console.log(
    `${ms(med(2 + packs.length, 'synthMs') - bare.synth)}  CloudFormation validation (aws-cdk-lib)`,
  );
  console.log(`${ms(med(configs.length - 1, 'synthMs'))}  synthesis with everything on`);

  // 3. The verdict.
  const [baseline, candidate] = names;
  let missed = false;
  console.log('');
  for (const kind of ['repeated', 'cold'] as const) {
    const b = median(times[kind][baseline]);
    const c = median(times[kind][candidate]);
    const ratio = c / b;
    const ok = ratio <= TARGETS[kind];
    missed ||= !ok;
    console.log(
      `${kind} synth: type-checked ${b.toFixed(2)} s, this app ${c.toFixed(2)} s, ratio ${ratio.toFixed(2)} ` +
        `(target <= ${TARGETS[kind]}: ${ok ? 'met' : 'MISSED'})`,
    );
  }
  process.exitCode = missed ? 1 : 0;
} finally {
  fs.rmSync(scratch, { recursive: true, force: true });
}
