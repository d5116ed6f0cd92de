/**
 * Rule: a resource kept on delete must not be kept when its stack's *create* rolls back.
 *
 * AWS CloudFormation User Guide, "DeletionPolicy attribute"
 * (https://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/aws-attribute-deletionpolicy.html):
 * `Retain` also applies when a create rolls back, so a fixed-name resource (secret, repository, log
 * group) survives and the retry fails on its name; a deleted secret even keeps its name for 7–30 days
 * and cannot be adopted by `--import-existing-resources` (read-only primary identifier).
 * `RetainExceptOnCreate` (CDK `RemovalPolicy.RETAIN_ON_UPDATE_OR_DELETE`) keeps the resource on
 * update and delete exactly like `Retain`, and deletes it only when it was created by the operation
 * that is rolling back, where nothing of value can be in it yet.
 */
import { allResources, expectChecked } from './walk';

/** The property that gives each resource type a physical name of its own choosing. */
const NAME_PROPERTY: Record<string, string> = {
  'AWS::SecretsManager::Secret': 'Name',
  'AWS::ECR::Repository': 'RepositoryName',
  'AWS::Logs::LogGroup': 'LogGroupName',
  'AWS::ECS::Cluster': 'ClusterName',
  'AWS::ECS::Service': 'ServiceName',
  'AWS::RDS::DBInstance': 'DBInstanceIdentifier',
  'AWS::RDS::DBSubnetGroup': 'DBSubnetGroupName',
  'AWS::RDS::DBParameterGroup': 'DBParameterGroupName',
  'AWS::S3::Bucket': 'BucketName',
  'AWS::IAM::Role': 'RoleName',
  'AWS::IAM::ManagedPolicy': 'ManagedPolicyName',
  'AWS::Lambda::Function': 'FunctionName',
  'AWS::SNS::Topic': 'TopicName',
  'AWS::SQS::Queue': 'QueueName',
  'AWS::CloudWatch::Alarm': 'AlarmName',
  'AWS::CloudWatch::Dashboard': 'DashboardName',
  'AWS::KMS::Alias': 'AliasName',
  'AWS::Events::Rule': 'Name',
};

describe('rule: nothing is retained when its create rolls back (CloudFormation "DeletionPolicy attribute")', () => {
  test('every fixed-name resource that is kept on delete uses RetainExceptOnCreate', () => {
    const violations: string[] = [];
    let checked = 0;
    for (const { resource, where } of allResources()) {
      const nameProperty = NAME_PROPERTY[resource.Type];
      const name = nameProperty === undefined ? undefined : resource.Properties?.[nameProperty];
      if (name === undefined || resource.DeletionPolicy === undefined) continue;
      if (resource.DeletionPolicy === 'Delete') continue;
      checked++;
      if (resource.DeletionPolicy !== 'RetainExceptOnCreate' && resource.DeletionPolicy !== 'Snapshot') {
        violations.push(
          `${where} (${resource.Type} ${nameProperty}=${JSON.stringify(name)}): DeletionPolicy ` +
            `${resource.DeletionPolicy} leaves the name taken after a failed create; use RemovalPolicy.RETAIN_ON_UPDATE_OR_DELETE`,
        );
      }
    }
    expect(violations).toEqual([]);
    expectChecked(checked, 'fixed-name resource kept on delete');
  });

  test('no resource of any stack uses plain Retain (an unnamed one would be orphaned by a failed create)', () => {
    const violations: string[] = [];
    let checked = 0;
    for (const { resource, where } of allResources()) {
      if (resource.DeletionPolicy === undefined || resource.DeletionPolicy === 'Delete') continue;
      checked++;
      if (resource.DeletionPolicy === 'Retain') {
        violations.push(
          `${where} (${resource.Type}): DeletionPolicy Retain; use RemovalPolicy.RETAIN_ON_UPDATE_OR_DELETE`,
        );
      }
    }
    expect(violations).toEqual([]);
    expectChecked(checked, 'resource kept on delete');
  });
});
