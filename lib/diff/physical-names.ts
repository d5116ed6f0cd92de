import { CfnResource, CfnTemplate, referencedIds, renderValue } from './template';

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
 * The construct path of a resource without its stack and the CDK's `Resource`/`Default` leaf
 * (`EmergencyStop/Function/Function`), when the template records it (`aws:cdk:path` metadata).
 */
export function constructPath(resource: CfnResource | undefined): string | undefined {
  const meta = (resource?.Metadata as Record<string, unknown> | undefined)?.['aws:cdk:path'];
  if (typeof meta !== 'string') return undefined;
  const parts = meta.split('/').slice(1);
  if (['Resource', 'Default'].includes(parts.at(-1) ?? '')) parts.pop();
  // `Function/Function` (a construct wrapping one of the same id) reads better once.
  const deduped = parts.filter((p, i) => p !== parts[i - 1]);
  return deduped.length ? deduped.join('/') : undefined;
}

/** Names of the stack outputs whose value is this resource (how `npm run ops` finds a generated name). */
export function outputsNaming(template: CfnTemplate | undefined, logicalId: string): string[] {
  const outputs = (template?.Outputs ?? {}) as Record<string, { Value?: unknown }>;
  return Object.entries(outputs)
    .filter(([, o]) => {
      // Only the resource itself (`Ref`), not an attribute of it.
      const v = o?.Value;
      return typeof v === 'object' && v !== null && 'Ref' in v && referencedIds(v).has(logicalId);
    })
    .map(([name]) => name)
    .sort();
}

/**
 * How a finding names a resource: its physical name in backticks; for a generated name, its
 * construct path and the stack output that gives the name (`EmergencyStop/Function` (output
 * `EmergencyStopFunctionName`)); else its logical id (the raw diff below always has the logical id).
 */
export function subjectOf(
  logicalId: string,
  resource: CfnResource | undefined,
  template?: CfnTemplate,
): string {
  const name = physicalName(resource);
  if (name) return `\`${name}\``;
  const where = constructPath(resource);
  const outputs = outputsNaming(template, logicalId);
  const output = outputs.length
    ? ` (generated name: stack output ${outputs.map((o) => `\`${o}\``).join(', ')})`
    : '';
  return where ? `\`${where}\`${output}` : `\`${logicalId}\`${output}`;
}
