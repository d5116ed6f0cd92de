/**
 * `npm run bench:synth`: times `cdk synth` of both stacks as this app runs it (ts-node with swc,
 * no type-checking) against the same app run the `cdk init` way (ts-node with type-checking),
 * alternating runs in one script so both see the same machine load, and prints the ratios for
 * - a repeated synth (the cdk.out of the previous synth kept, as in daily use: synth, diff, test);
 * - a cold synth (a fresh cdk.out: every Lambda bundled again).
 * Rounds: BENCH_ROUNDS (default 3).
 */
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

const ROOT = path.join(__dirname, '..');
const rounds = Number(process.env.BENCH_ROUNDS ?? 3);
const variants = {
  'type-checked (cdk init: ts-node)': 'npx ts-node --prefer-ts-exts bin/app.ts',
  'this app (ts-node --swc, no type-check)': undefined, // cdk.json's "app"
};
type Variant = keyof typeof variants;
const names = Object.keys(variants) as Variant[];

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

const tmp = () => fs.mkdtempSync(path.join(os.tmpdir(), 'bench-synth-'));
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
// One kept cdk.out per variant, filled by a warm-up synth.
const kept = Object.fromEntries(names.map((n) => [n, tmp()])) as Record<Variant, string>;
for (const n of names) synthSeconds(n, kept[n]);

const times = { repeated: {} as Record<Variant, number[]>, cold: {} as Record<Variant, number[]> };
for (const n of names) {
  times.repeated[n] = [];
  times.cold[n] = [];
}
for (let i = 0; i < rounds; i++) {
  for (const n of names) {
    times.repeated[n].push(synthSeconds(n, kept[n]));
    const fresh = tmp();
    times.cold[n].push(synthSeconds(n, fresh));
    fs.rmSync(fresh, { recursive: true, force: true });
    console.log(
      `round ${i + 1}: ${n}: repeated ${times.repeated[n][i].toFixed(2)} s, cold ${times.cold[n][i].toFixed(2)} s`,
    );
  }
}
for (const dir of Object.values(kept)) fs.rmSync(dir, { recursive: true, force: true });

const [baseline, candidate] = names;
console.log('');
for (const kind of ['repeated', 'cold'] as const) {
  const b = median(times[kind][baseline]);
  const c = median(times[kind][candidate]);
  console.log(
    `${kind} synth: type-checked ${b.toFixed(2)} s, this app ${c.toFixed(2)} s, ratio ${(c / b).toFixed(2)}`,
  );
}
console.log('(target: ratio <= 0.5)');
