import { ENVIRONMENT_NAMES, synthesized } from '../helpers/app';

// Template JSON is walked generically; its shapes vary by resource type.
// eslint-disable-next-line @typescript-eslint/no-explicit-any
type Json = any;
type Resource = { Type: string; Properties?: Record<string, Json> };

const ENI_ACTIONS = [
  'ec2:AssignPrivateIpAddresses',
  'ec2:CreateNetworkInterface',
  'ec2:DeleteNetworkInterface',
  'ec2:DescribeNetworkInterfaces',
  'ec2:DescribeSubnets',
  'ec2:UnassignPrivateIpAddresses',
];

const asList = <T>(value: T | T[] | undefined): T[] =>
  value === undefined ? [] : Array.isArray(value) ? value : [value];

describe.each(ENVIRONMENT_NAMES)('%s: narrow rights and network paths of helpers and services', (name) => {
  const { template } = synthesized(name);
  const resources = template.toJSON().Resources as Record<string, Resource>;
  const ofType = (type: string) => Object.entries(resources).filter(([, r]) => r.Type === type);

  test('no role carries the AWS-managed AWSLambdaVPCAccessExecutionRole (logs:* on every log group)', () => {
    const roles = ofType('AWS::IAM::Role');
    expect(roles.length).toBeGreaterThan(0);
    for (const [id, role] of roles) {
      const managed = JSON.stringify(role.Properties?.ManagedPolicyArns ?? []);
      expect({ id, managed }).toEqual({
        id,
        managed: expect.not.stringContaining('AWSLambdaVPCAccessExecutionRole'),
      });
    }
  });

  // Lambda developer guide, "Giving Lambda functions access to resources in an Amazon VPC": the
  // execution role needs these ENI actions, in place before the function is created.
  test('every function in the VPC has exactly the ENI actions, inline in its role', () => {
    const inVpc = ofType('AWS::Lambda::Function').filter(([, f]) => f.Properties?.VpcConfig);
    expect(inVpc.length).toBeGreaterThan(0);
    for (const [id, fn] of inVpc) {
      const roleId = fn.Properties!.Role['Fn::GetAtt'][0] as string;
      const policies = asList(resources[roleId].Properties?.Policies) as {
        PolicyName: string;
        PolicyDocument: { Statement: { Action: string | string[]; Resource: unknown }[] };
      }[];
      const eni = policies.find((p) => p.PolicyName === 'VpcNetworkInterfaces');
      expect({ id, has: !!eni }).toEqual({ id, has: true });
      const actions = eni!.PolicyDocument.Statement.flatMap((s) => asList(s.Action)).sort();
      expect(actions).toEqual(ENI_ACTIONS);
      // Only the Describe calls (no resource-level permissions) are on "*".
      for (const statement of eni!.PolicyDocument.Statement) {
        if (statement.Resource === '*') {
          expect(asList(statement.Action).every((a) => a.startsWith('ec2:Describe'))).toBe(true);
        }
      }
    }
  });

  const serviceGroup = (logicalPrefix: string) => {
    const service = ofType('AWS::ECS::Service').find(([id]) => id.startsWith(logicalPrefix));
    expect(service).toBeDefined();
    const groups = service![1].Properties!.NetworkConfiguration.AwsvpcConfiguration.SecurityGroups as {
      'Fn::GetAtt': [string, string];
    }[];
    expect(groups).toHaveLength(1);
    return groups[0]['Fn::GetAtt'][0];
  };
  /** Every egress rule of a group: inline ones and separate AWS::EC2::SecurityGroupEgress resources. */
  const egressOf = (groupId: string) =>
    [
      ...asList(resources[groupId].Properties?.SecurityGroupEgress),
      ...ofType('AWS::EC2::SecurityGroupEgress')
        .filter(([, r]) => JSON.stringify(r.Properties?.GroupId).includes(`"${groupId}"`))
        .map(([, r]) => r.Properties!),
    ] as Record<string, Json>[];

  const databaseGroup = () => {
    const instance = ofType('AWS::RDS::DBInstance')[0][1];
    return instance.Properties!.VPCSecurityGroups[0]['Fn::GetAtt'][0] as string;
  };

  test.each([
    ['ml-service', 'ServicesMl'],
    ['bot', 'ServicesBot'],
  ])('%s may send only HTTPS out and PostgreSQL to the database, never every port', (_service, prefix) => {
    const rules = egressOf(serviceGroup(prefix));
    expect(rules.length).toBeGreaterThan(0);
    for (const rule of rules) {
      expect(rule.IpProtocol).toBe('tcp');
      if (rule.CidrIp !== undefined) {
        expect([rule.CidrIp, rule.FromPort, rule.ToPort]).toEqual(['0.0.0.0/0', 443, 443]);
      } else {
        expect(rule.DestinationSecurityGroupId['Fn::GetAtt'][0]).toBe(databaseGroup());
        expect([rule.FromPort, rule.ToPort]).toEqual([5432, 5432]);
      }
    }
    expect(rules.some((r) => r.DestinationSecurityGroupId)).toBe(true);
  });
});
