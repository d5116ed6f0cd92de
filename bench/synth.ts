/**
 * `npm run bench:synth`: times `cdk synth` of both stacks as this app runs it (ts-node with swc,
 * no type-checking) against the same app run the `cdk init` way (ts-node with type-checking),
 * alternating runs in one script so both see the same machine load, and prints the ratio.
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

function synthSeconds(app: string | undefined): number {
  const out = fs.mkdtempSync(path.join(os.tmpdir(), 'bench-synth-'));
  const args = ['cdk', 'synth', '--quiet', '-o', out, ...(app ? ['-a', app] : [])];
  const start = process.hrtime.bigint();
  const res = spawnSync('npx', args, { cwd: ROOT, encoding: 'utf8' });
  const seconds = Number(process.hrtime.bigint() - start) / 1e9;
  if (res.status !== 0) throw new Error(`cdk synth failed (${app ?? 'cdk.json app'}):\n${res.stderr}`);
  for (const stack of ['StagingStack', 'ProductionStack']) {
    if (!fs.existsSync(path.join(out, `${stack}.template.json`)))
      throw new Error(`${stack} was not synthesized`);
  }
  fs.rmSync(out, { recursive: true, force: true });
  return seconds;
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const times: Record<string, number[]> = Object.fromEntries(Object.keys(variants).map((k) => [k, []]));

// One warm-up of each so the first measured run does not pay for cold disk caches.
for (const app of Object.values(variants)) synthSeconds(app);
for (let i = 0; i < rounds; i++) {
  for (const [name, app] of Object.entries(variants)) {
    const s = synthSeconds(app);
    times[name].push(s);
    console.log(`round ${i + 1}: ${name}: ${s.toFixed(2)} s`);
  }
}
const [baselineName, candidateName] = Object.keys(variants);
const baseline = median(times[baselineName]);
const candidate = median(times[candidateName]);
console.log(`\nmedian ${baselineName}: ${baseline.toFixed(2)} s`);
console.log(`median ${candidateName}: ${candidate.toFixed(2)} s`);
console.log(`ratio (this app / type-checked): ${(candidate / baseline).toFixed(2)}  (target <= 0.5)`);
