import { CfnResource, renderValue } from './template';

/**
 * The property that holds a resource type's physical name, where the project sets one. Reviewers
 * know `clever-better-production-emergency-stop-loss-limit`, not `EmergencyStopLossLimit951DE093`.
 */
const NAME_PROPERTY: Readonly<Record<string, string>> = {
  'AWS::CloudWatch::Alarm': 'AlarmName',
  'AWS::CloudWatch::CompositeAlarm': 'AlarmName',
  'AWS::SecretsManager::Secret': 'Name',
  'AWS::Lambda::Function': 'FunctionName',
  'AWS::Logs::LogGroup': 'LogGroupName',
  'AWS::ECR::Repository': 'RepositoryName',
  'AWS::ECS::Service': 'ServiceName',
  'AWS::ECS::TaskDefinition': 'Family',
  'AWS::ECS::Cluster': 'ClusterName',
  'AWS::RDS::DBInstance': 'DBInstanceIdentifier',
  'AWS::RDS::DBSubnetGroup': 'DBSubnetGroupName',
  'AWS::SNS::Topic': 'TopicName',
  'AWS::S3::Bucket': 'BucketName',
  'AWS::IAM::Role': 'RoleName',
  'AWS::DynamoDB::Table': 'TableName',
  'AWS::ElasticLoadBalancingV2::LoadBalancer': 'Name',
  'AWS::Events::Rule': 'Name',
  'AWS::SSM::Parameter': 'Name',
};

/** The fixed physical name of a resource, when the template sets one (intrinsics rendered). */
export function physicalName(resource: CfnResource | undefined): string | undefined {
  const key = resource && NAME_PROPERTY[resource.Type];
  const value = key ? resource.Properties?.[key] : undefined;
  if (value === undefined || value === null) return undefined;
  const text = renderValue(value);
  return text.startsWith('{') ? undefined : text;
}

/** `AWS::RDS::DBInstance` → `RDS DBInstance`. */
export function shortType(type: string): string {
  return type.replace(/^AWS::/, '').replace(/::/g, ' ');
}

/**
 * How a finding names a resource: its physical name in backticks, else its logical id (the raw diff
 * below always has the logical id).
 */
export function subjectOf(logicalId: string, resource: CfnResource | undefined): string {
  return `\`${physicalName(resource) ?? logicalId}\``;
}
