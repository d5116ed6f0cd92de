import { App, Validations } from 'aws-cdk-lib';
import { AwsSolutionsChecks } from 'cdk-nag';

/**
 * The rule packs every synth runs. Acknowledgements sit next to the resources they concern, so a real
 * `cdk synth` and the tests see the same findings.
 */
export function applyChecks(app: App): void {
  Validations.of(app).addPlugins(new AwsSolutionsChecks(app));
}
