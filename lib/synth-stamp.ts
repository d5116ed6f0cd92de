import * as fs from 'node:fs';
import * as path from 'node:path';
import type { App } from 'aws-cdk-lib';

/** A file in the cloud assembly that says a synthesis of this app finished, and with which checks. */
export const SYNTH_STAMP = 'clever-better-synth.json';

/** What {@link SYNTH_STAMP} holds. */
export interface SynthStamp {
  /** ISO time the synthesis finished. */
  readonly finishedAt: string;
  /** Whether aws-cdk-lib's CloudFormation validation ran (off with `CDK_VALIDATION=false`). */
  readonly cloudFormationValidation: boolean;
  /** The cdk-nag packs applied (lib/checks.ts `CHECK_PACKS` names). */
  readonly checks: readonly string[];
}

/** Removes the stamp an earlier synthesis left in `outdir` (the CLI's `CDK_OUTDIR`), if any. */
export function forgetLastSynthesis(outdir: string | undefined): void {
  if (outdir) fs.rmSync(path.join(outdir, SYNTH_STAMP), { force: true });
}

/**
 * Writes a new stamp, from `stamp()`, once this synthesis has finished (the App synthesizes on
 * `beforeExit`, registered before this listener). The earlier stamp is already gone:
 * bin/synth-start.ts removes it before the app's modules load, so an app that fails even then
 * leaves none.
 * A synthesis that fails (a cdk-nag error, a validation finding, a crash) exits before the new stamp
 * is written, so `npm run validate -- --synthesized` can tell a finished cdk.out from a stale one.
 */
export function stampSynthesis(app: App, stamp: () => Omit<SynthStamp, 'finishedAt'>): void {
  const file = path.join(app.outdir, SYNTH_STAMP);
  process.once('beforeExit', () => {
    if (!fs.existsSync(path.join(app.outdir, 'manifest.json'))) return;
    const written: SynthStamp = { ...stamp(), finishedAt: new Date().toISOString() };
    fs.writeFileSync(file, `${JSON.stringify(written, null, 2)}\n`);
  });
}
