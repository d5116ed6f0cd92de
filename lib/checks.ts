import { App, Validations } from 'aws-cdk-lib';
import { AwsSolutionsChecks, NIST80053R5Checks, NagPack, NagPackProps, ServerlessChecks } from 'cdk-nag';

/** The rule packs every synth runs, by the name `npm run bench:synth` reports them under. */
export const CHECK_PACKS: Readonly<Record<string, new (app: App, props: NagPackProps) => NagPack>> = {
  AwsSolutions: AwsSolutionsChecks,
  'NIST 800-53 R5': NIST80053R5Checks,
  Serverless: ServerlessChecks,
};

/**
 * The rule packs every synth runs: AwsSolutions, NIST 800-53 rev 5 and Serverless. Acknowledgements
 * sit next to the resources they concern, so a real `cdk synth` and the tests see the same findings,
 * and are written into the template metadata (`cdk_nag`) so docs/compliance.md can list them.
 * `packs` exists for the synth benchmark's breakdown, which times each pack alone. @default all
 */
export function applyChecks(app: App, packs: readonly string[] = Object.keys(CHECK_PACKS)): void {
  const options = { writeSuppressionsToCloudFormation: true };
  Validations.of(app).addPlugins(...packs.map((name) => new CHECK_PACKS[name](app, options)));
}
