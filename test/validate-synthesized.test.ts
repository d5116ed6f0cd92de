/**
 * `npm run validate -- --synthesized` (CI, right after Quick start's `npx cdk synth`) reads cdk.out
 * instead of synthesizing again: it must refuse what the synth's own exit would have refused, and a
 * cdk.out that is older than the code.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { synthesizedErrors, VALIDATE_USAGE } from '../scripts/validate';
import { parseScriptArgs } from '../lib/cli/script-args';
import { CHECK_PACKS } from '../lib/checks';
import { SYNTH_STAMP } from '../lib/synth-stamp';

let dir: string;
let source: string;
beforeEach(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'cb-validate-'));
  source = path.join(dir, 'source.ts');
  fs.writeFileSync(source, '// a source file\n');
  fs.mkdirSync(path.join(dir, 'cdk.out'));
});
afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

/** Writes cdk.out/manifest.json, the finished synthesis's stamp and optionally the validation report after the source. */
function assembly(
  metadata: Record<string, { type: string; data: unknown }[]>,
  report?: object,
  stamp: object | null = {
    cloudFormationValidation: true,
    checks: Object.keys(CHECK_PACKS),
    finishedAt: 'now',
  },
): string {
  const out = path.join(dir, 'cdk.out');
  const past = new Date(Date.now() - 60_000);
  fs.utimesSync(source, past, past);
  fs.writeFileSync(
    path.join(out, 'manifest.json'),
    JSON.stringify({ artifacts: { StagingStack: { type: 'aws:cloudformation:stack', metadata } } }),
  );
  if (report) fs.writeFileSync(path.join(out, 'validation-report.json'), JSON.stringify(report));
  if (stamp) fs.writeFileSync(path.join(out, SYNTH_STAMP), JSON.stringify(stamp));
  return out;
}

describe('validate --synthesized', () => {
  test('a whole, fresh assembly without errors passes', () => {
    const out = assembly({ '/StagingStack/Bot': [{ type: 'aws:cdk:info', data: 'fine' }] });
    expect(synthesizedErrors(out, [source])).toEqual([]);
  });

  test("cdk-nag's error annotations in the manifest fail it, naming stack, construct and finding", () => {
    const out = assembly({
      '/StagingStack/Open': [
        { type: 'aws:cdk:error', data: '[Error at /StagingStack/Open] AwsSolutions-EC23' },
      ],
    });
    expect(synthesizedErrors(out, [source])).toEqual([
      'StagingStack: /StagingStack/Open: [Error at /StagingStack/Open] AwsSolutions-EC23',
    ]);
  });

  test('violations in the CloudFormation validation report fail it', () => {
    const out = assembly(
      {},
      { pluginReports: [{ pluginName: 'cfn-guard', violations: [{ ruleName: 'E3012' }] }] },
    );
    expect(synthesizedErrors(out, [source])).toEqual(['cfn-guard: E3012']);
  });

  test('a cdk.out older than a source is refused with the fix', () => {
    const out = assembly({});
    fs.writeFileSync(source, '// changed after the synth\n');
    const later = new Date(Date.now() + 1_000);
    fs.utimesSync(source, later, later);
    expect(() => synthesizedErrors(out, [source])).toThrow(
      /--synthesized: .*cdk\.out is older than .*source\.ts\. Run `npx cdk synth` again, or drop --synthesized\./,
    );
  });

  test('a synthesis that did not finish (no stamp: it failed, or another app wrote cdk.out) is refused', () => {
    const out = assembly({}, undefined, null);
    expect(() => synthesizedErrors(out, [source])).toThrow(
      /--synthesized: the last synthesis into .*cdk\.out did not finish \(no clever-better-synth\.json/,
    );
  });

  test('a synthesis without the CloudFormation validation or without a cdk-nag pack is refused', () => {
    const noValidation = assembly({}, undefined, {
      cloudFormationValidation: false,
      checks: Object.keys(CHECK_PACKS),
    });
    expect(() => synthesizedErrors(noValidation, [source])).toThrow(/without the CloudFormation validation/);
    const noNist = assembly({}, undefined, {
      cloudFormationValidation: true,
      checks: Object.keys(CHECK_PACKS).filter((p) => !p.startsWith('NIST')),
    });
    expect(() => synthesizedErrors(noNist, [source])).toThrow(/without the cdk-nag pack\(s\) NIST 800-53 R5/);
  });

  test('no manifest: refused with the command that writes one', () => {
    expect(() => synthesizedErrors(path.join(dir, 'cdk.out'), [source])).toThrow(
      /manifest\.json does not exist\. Run `npx cdk synth` first\./,
    );
  });

  test('its command line is strict: an unknown option is a usage error', () => {
    const err: string[] = [];
    const r = parseScriptArgs(['--synthesised'], VALIDATE_USAGE, { out: () => {}, err: (t) => err.push(t) });
    expect(r.exit).toBe(2);
    expect(err.join('')).toContain(
      'does not take "--synthesised" (did you mean --synthesized?): it accepts --write, --synthesized',
    );
  });
});
