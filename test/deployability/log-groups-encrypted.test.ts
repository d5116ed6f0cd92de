/**
 * Rule: every log group the environment writes to is created by the stack, encrypted with a key and
 * with a retention, including the ones AWS would otherwise create on its own.
 *
 * Amazon RDS User Guide, "Publishing database logs to Amazon CloudWatch Logs"
 * (https://docs.aws.amazon.com/AmazonRDS/latest/UserGuide/USER_LogAccess.Procedural.UploadtoCloudWatch.html):
 * RDS exports each log type to `/aws/rds/instance/<DBInstanceIdentifier>/<type>` and creates that
 * group itself, unencrypted and kept forever, unless it exists already. CloudWatch Logs User Guide,
 * "Encrypt log data in CloudWatch Logs using AWS KMS"
 * (https://docs.aws.amazon.com/AmazonCloudWatch/latest/logs/encrypt-log-data-kms.html): a key is set
 * on the group. What AWS still creates outside the stack is listed in docs/compliance.md.
 */
import { allResources, dependsOn, expectChecked } from './walk';

describe('rule: log groups are the stack\'s own, encrypted and expiring (RDS "Publishing database logs")', () => {
  test('each RDS log export goes to a log group the stack creates before the instance', () => {
    const violations: string[] = [];
    let checked = 0;
    for (const { stack, resource, where } of allResources('AWS::RDS::DBInstance')) {
      const p = resource.Properties ?? {};
      for (const type of (p.EnableCloudwatchLogsExports ?? []) as string[]) {
        checked++;
        if (typeof p.DBInstanceIdentifier !== 'string') {
          violations.push(
            `${where}: exports ${type} but has no fixed DBInstanceIdentifier to pre-create its log group`,
          );
          continue;
        }
        const name = `/aws/rds/instance/${p.DBInstanceIdentifier}/${type}`;
        const group = Object.entries(stack.resources).find(
          ([, r]) => r.Type === 'AWS::Logs::LogGroup' && r.Properties?.LogGroupName === name,
        );
        if (!group)
          violations.push(`${where}: no log group ${name} in ${stack.name}; RDS would create it unencrypted`);
        else if (!dependsOn(resource).includes(group[0]))
          violations.push(`${where}: does not depend on ${name}, so RDS may create the group first`);
      }
    }
    expect(violations).toEqual([]);
    expectChecked(checked, 'RDS log export');
  });

  test('every log group has a KMS key and a retention', () => {
    const violations: string[] = [];
    const groups = allResources('AWS::Logs::LogGroup');
    for (const { resource, where } of groups) {
      if (resource.Properties?.KmsKeyId === undefined) violations.push(`${where}: no KmsKeyId`);
      if (resource.Properties?.RetentionInDays === undefined) violations.push(`${where}: no RetentionInDays`);
    }
    expect(violations).toEqual([]);
    expectChecked(groups.length, 'log group');
  });
});
