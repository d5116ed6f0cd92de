/**
 * Rule: the blocks from which Secrets Manager generates a secret's value do not change unnoticed.
 *
 * AWS CloudFormation User Guide, `AWS::SecretsManager::Secret` `GenerateSecretString`
 * (https://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/aws-resource-secretsmanager-secret.html):
 * any change to it (or to its `SecretStringTemplate`) makes CloudFormation generate a new value. That
 * overwrites Betfair credentials set by hand and desynchronises the RDS master password. The blocks are
 * recorded in generated-secrets.json beside this file; a change must be deliberate: update the record
 * in the same pull request, with the runbook step that re-sets the value.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { allResources, expectChecked } from './walk';

const RECORD = path.join(__dirname, 'generated-secrets.json');

/** `<stack> <secret name>` → its GenerateSecretString, for every generated secret of the app. */
function current(): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const { stack, resource, where } of allResources('AWS::SecretsManager::Secret')) {
    const generate = resource.Properties?.GenerateSecretString;
    if (generate === undefined) continue;
    out[`${stack.name} ${resource.Properties?.Name ?? where}`] = generate;
  }
  return out;
}

describe('rule: generated secrets keep their generator (CloudFormation GenerateSecretString)', () => {
  test('every GenerateSecretString equals its record in generated-secrets.json', () => {
    const recorded = JSON.parse(fs.readFileSync(RECORD, 'utf8')) as Record<string, unknown>;
    const now = current();
    const violations: string[] = [];
    for (const [key, block] of Object.entries(now)) {
      if (!(key in recorded))
        violations.push(`${key}: generated secret not recorded in ${path.basename(RECORD)}`);
      else if (JSON.stringify(recorded[key]) !== JSON.stringify(block))
        violations.push(
          `${key}: GenerateSecretString changed, so CloudFormation would generate a new value ` +
            `(recorded ${JSON.stringify(recorded[key])}, now ${JSON.stringify(block)})`,
        );
    }
    for (const key of Object.keys(recorded))
      if (!(key in now))
        violations.push(`${key}: recorded but no longer generated; remove it from the record`);
    expect(violations).toEqual([]);
    expectChecked(Object.keys(now).length, 'generated secret');
  });
});
