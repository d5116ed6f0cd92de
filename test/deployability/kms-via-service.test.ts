/**
 * Rule: a role's right to use a KMS key is limited to the AWS service that needs it.
 *
 * AWS KMS Developer Guide, "AWS KMS condition keys: kms:ViaService"
 * (https://docs.aws.amazon.com/kms/latest/developerguide/conditions-kms.html#conditions-kms-via-service):
 * without the condition, a role that may `kms:Decrypt` for one service (SNS publishing, a secret read)
 * may decrypt anything encrypted with the same key, directly: the stack key also protects every
 * secret and log group. CDK's `topic.grantPublish` and `SnsDestination` grant the key without it;
 * `Alerting.grantPublish` / `Alerting.asDestination` add it.
 */
import { asList, expectChecked, identityStatements } from './walk';

describe('rule: every identity-policy KMS right carries kms:ViaService (KMS "kms:ViaService")', () => {
  test('each Allow statement with a kms: action names the service it may be used through', () => {
    const violations: string[] = [];
    let checked = 0;
    for (const { statement, where } of identityStatements()) {
      if (statement.Effect !== 'Allow') continue;
      const kmsActions = asList(statement.Action).filter((a) => a.toLowerCase().startsWith('kms:'));
      if (kmsActions.length === 0) continue;
      checked++;
      const viaService = Object.values(statement.Condition ?? {}).some((byKey) =>
        Object.keys(byKey).some((k) => k.toLowerCase() === 'kms:viaservice'),
      );
      if (!viaService) {
        violations.push(
          `${where}: ${kmsActions.join(', ')} without a kms:ViaService condition; grant through the service ` +
            '(Alerting.grantPublish, secret.grantRead) or add the condition',
        );
      }
    }
    expect(violations).toEqual([]);
    expectChecked(checked, 'identity-policy statement with a kms: action');
  });
});
