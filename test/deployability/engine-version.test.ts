/**
 * Rule: a template never pins an engine minor version that RDS may upgrade on its own.
 *
 * Amazon RDS User Guide, "Automatically upgrading the minor engine version"
 * (https://docs.aws.amazon.com/AmazonRDS/latest/UserGuide/USER_UpgradeDBInstance.Maintenance.html) and
 * aws/aws-cdk#15475: with `AutoMinorVersionUpgrade` RDS moves the instance to a newer minor version; a
 * template that still says the older one then makes the next deploy that sends it fail (RDS refuses
 * the downgrade). The policy (lib/database.ts `POSTGRES_MAJOR`): pin the major only and let RDS apply
 * minor versions; or, where a minor must be pinned, turn automatic minor upgrades off.
 */
import { allResources, expectChecked, resolve } from './walk';

describe('rule: engine version and automatic minor upgrades agree (RDS "Automatically upgrading the minor engine version")', () => {
  test('an instance that upgrades itself pins only the major; its parameter group family is that major', () => {
    const violations: string[] = [];
    let checked = 0;
    for (const { stack, resource, where } of allResources('AWS::RDS::DBInstance')) {
      const p = resource.Properties ?? {};
      const version = String(p.EngineVersion ?? '');
      checked++;
      // AutoMinorVersionUpgrade defaults to true in CloudFormation.
      if (p.AutoMinorVersionUpgrade !== false && !/^\d+$/.test(version)) {
        violations.push(
          `${where}: EngineVersion ${JSON.stringify(version)} with automatic minor upgrades goes stale at RDS's ` +
            'first upgrade; pin the major only (PostgresEngineVersion.of(major, major))',
        );
      }
      const group = resolve(stack, p.DBParameterGroupName);
      const major = version.split('.')[0];
      if (group && group.resource.Properties?.Family !== `${p.Engine}${major}`) {
        violations.push(
          `${where}: parameter group family ${group.resource.Properties?.Family} does not match ${p.Engine} ${major}`,
        );
      }
    }
    expect(violations).toEqual([]);
    expectChecked(checked, 'DB instance');
  });
});
