/**
 * Rule: a key policy that lets an AWS service use the key says on whose behalf.
 *
 * IAM User Guide, "The confused deputy problem"
 * (https://docs.aws.amazon.com/IAM/latest/UserGuide/confused-deputy.html) and AWS KMS Developer Guide,
 * "AWS global condition keys" (https://docs.aws.amazon.com/kms/latest/developerguide/conditions-aws.html):
 * a statement granting a service principal without `aws:SourceAccount`/`aws:SourceArn` (or a KMS
 * context key that pins the caller's resources) lets that service use the key for any account's
 * resources. CloudWatch alarms publishing to the encrypted on-call topic are scoped to this
 * account's alarms; CloudWatch Logs to this account's log groups (`kms:EncryptionContext:aws:logs:arn`).
 */
import { conditionKeys, expectChecked, keyPolicyStatements } from './walk';

/** Condition keys that tie a service's use of the key to this account's resources. */
const SOURCE_KEYS = [
  'aws:sourceaccount',
  'aws:sourcearn',
  'aws:sourceorgid',
  'kms:viaservice',
  'kms:calleraccount',
  'kms:encryptioncontext:aws:logs:arn',
  'kms:encryptioncontext:aws:sns:topicarn',
];

describe('rule: key-policy statements for AWS services carry source conditions (IAM "confused deputy")', () => {
  test('each Allow to a service principal is conditioned on this account or its resources', () => {
    const violations: string[] = [];
    let checked = 0;
    for (const { statement, where, stack } of keyPolicyStatements()) {
      const principal = statement.Principal as { Service?: unknown } | undefined;
      if (statement.Effect !== 'Allow' || principal?.Service === undefined) continue;
      checked++;
      const keys = conditionKeys(statement);
      const source = keys.filter((k) => SOURCE_KEYS.includes(k));
      if (source.length === 0) {
        violations.push(
          `${where}: ${JSON.stringify(principal.Service)} may use the key for any account (no ${SOURCE_KEYS.join('/')})`,
        );
      }
      const account = statement.Condition?.StringEquals?.['aws:SourceAccount'];
      if (account !== undefined && account !== stack.account) {
        violations.push(`${where}: aws:SourceAccount ${JSON.stringify(account)} is not ${stack.account}`);
      }
    }
    expect(violations).toEqual([]);
    expectChecked(checked, 'key-policy statement for a service principal');
  });
});
