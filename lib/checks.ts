import { App, Validations } from 'aws-cdk-lib';
import { AwsSolutionsChecks, NIST80053R5Checks, ServerlessChecks } from 'cdk-nag';

/**
 * The rule packs every synth runs: AwsSolutions, NIST 800-53 rev 5 and Serverless. Acknowledgements
 * sit next to the resources they concern, so a real `cdk synth` and the tests see the same findings,
 * and are written into the template metadata (`cdk_nag`) so docs/compliance.md can list them.
 */
export function applyChecks(app: App): void {
  const options = { writeSuppressionsToCloudFormation: true };
  Validations.of(app).addPlugins(
    new AwsSolutionsChecks(app, options),
    new NIST80053R5Checks(app, options),
    new ServerlessChecks(app, options),
  );
}
