import { IamException } from './iam-reference';

const ECS_REF =
  'https://docs.aws.amazon.com/service-authorization/latest/reference/list_amazonelasticcontainerservice.html';
const EC2_REF = 'https://docs.aws.amazon.com/service-authorization/latest/reference/list_amazonec2.html';

/**
 * The one reviewed list of accepted parliament findings (IAM reference check, `npm run validate`).
 * Each names the issue, the action, why the finding is wrong or accepted, and the AWS Service
 * Authorization Reference page that shows it. An entry that no longer matches any finding fails the
 * validate run, so this list shrinks when the dataset or the policies catch up.
 */
export const IAM_REFERENCE_EXCEPTIONS: readonly IamException[] = [
  {
    issue: 'RESOURCE_STAR',
    action: 'cloudwatch:DescribeAlarms',
    reason:
      "ops status lists the environment's alarms by name prefix (AlarmNamePrefix), not by name; whether AWS authorizes such a listing against alarm ARNs is unverified offline, and a viewer who cannot see alarms during an incident is worse than read access to alarm definitions. Kept on * (lib/operator-access.ts) until tried on a real account.",
    reference:
      'https://docs.aws.amazon.com/service-authorization/latest/reference/list_amazoncloudwatch.html',
  },
  {
    issue: 'UNKNOWN_ACTION',
    action: 'ecs:StopServiceDeployment',
    reason:
      'Action newer than parliament 1.6.4 dataset (ECS service deployments, 2025); the rollback stops the in-flight deployment with it.',
    reference: ECS_REF,
  },
  {
    issue: 'RESOURCE_MISMATCH',
    action: 'ecs:DescribeServiceDeployments',
    reason:
      'AWS lists this action on the service-deployment resource type (service-deployment/cluster/service/id), which the policy uses; parliament 1.6.4 predates that type and expects service/*/*.',
    reference: ECS_REF,
  },
  {
    issue: 'RESOURCE_MISMATCH',
    action: 'ecs:DescribeServiceRevisions',
    reason:
      'AWS lists this action on the service-revision resource type (service-revision/cluster/service/id), which the policy uses; parliament 1.6.4 predates that type and expects service/*/*.',
    reference: ECS_REF,
  },
  ...[
    'ec2:AssignPrivateIpAddresses',
    'ec2:CreateNetworkInterface',
    'ec2:DeleteNetworkInterface',
    'ec2:UnassignPrivateIpAddresses',
  ].map((action) => ({
    issue: 'RESOURCE_MISMATCH',
    action,
    reason:
      'VPC Lambda ENI management is scoped to arn:aws:ec2:<region>:<account>:*/* (every EC2 resource type in this account and region, which includes network-interface/* and subnet/*); parliament does not match a wildcard resource-type segment.',
    reference: EC2_REF,
  })),
];
