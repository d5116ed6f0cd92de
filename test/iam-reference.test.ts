// IAM reference check (issue 11): the intrinsic resolution that makes parliament's resource-ARN
// matching meaningful, and the exception matching that keeps the accepted list honest. Return values
// follow the CloudFormation resource reference ("Return values" of each type); ARN formats follow the
// AWS Service Authorization Reference. The parliament run itself is in `npm run validate`.
import { renderReport } from '../scripts/compliance-report';
import {
  actionsOf,
  IamException,
  IamFinding,
  IamTemplate,
  judge,
  policiesOf,
  resolveIntrinsics,
} from '../scripts/iam-reference';
import { IAM_REFERENCE_EXCEPTIONS } from '../scripts/iam-reference-exceptions';

const template: IamTemplate = {
  Parameters: { Env: { Default: 'staging' } },
  Mappings: { Names: { staging: { topic: 'alerts-staging' } } },
  Resources: {
    Topic: { Type: 'AWS::SNS::Topic', Properties: { TopicName: 'alerts' } },
    Bucket: { Type: 'AWS::S3::Bucket' },
    Fn: { Type: 'AWS::Lambda::Function', Properties: { FunctionName: 'worker' } },
    Logs: { Type: 'AWS::Logs::LogGroup', Properties: { LogGroupName: '/aws/lambda/worker' } },
    Svc: { Type: 'AWS::ECS::Service', Properties: { ServiceName: 'bot' } },
    Secret: { Type: 'AWS::SecretsManager::Secret', Properties: { Name: 'db' } },
    Queue: { Type: 'AWS::SQS::Queue' },
    Widget: { Type: 'AWS::Custom::Widget' },
    Role: {
      Type: 'AWS::IAM::Role',
      Metadata: { 'aws:cdk:path': 'Stack/Worker/Role/Resource' },
      Properties: {
        Policies: [
          {
            PolicyName: 'Inline',
            PolicyDocument: {
              Statement: [{ Action: 'sns:Publish', Effect: 'Allow', Resource: { Ref: 'Topic' } }],
            },
          },
        ],
      },
    },
    Policy: {
      Type: 'AWS::IAM::Policy',
      Metadata: { 'aws:cdk:path': 'Stack/Worker/Role/DefaultPolicy/Resource' },
      Properties: {
        PolicyDocument: {
          Statement: [
            {
              Action: 's3:GetObject',
              Effect: 'Allow',
              Resource: { 'Fn::Join': ['', [{ 'Fn::GetAtt': ['Bucket', 'Arn'] }, '/*']] },
            },
          ],
        },
      },
    },
    Managed: {
      Type: 'AWS::IAM::ManagedPolicy',
      Properties: {
        PolicyDocument: {
          Statement: [{ Action: 'ecs:UpdateService', Effect: 'Allow', Resource: { Ref: 'Svc' } }],
        },
      },
    },
  },
};

const resolve = (v: unknown) =>
  resolveIntrinsics(v, template, { stack: 'Stack', region: 'eu-west-2', account: '123456789012' });

describe('resolveIntrinsics', () => {
  test('Ref gives what each type returns: an ARN for a topic, secret and service, a name for a bucket and function', () => {
    expect(resolve({ Ref: 'Topic' })).toBe('arn:aws:sns:eu-west-2:123456789012:alerts');
    expect(resolve({ Ref: 'Secret' })).toBe('arn:aws:secretsmanager:eu-west-2:123456789012:secret:db-AbCdEf');
    expect(resolve({ Ref: 'Svc' })).toBe('arn:aws:ecs:eu-west-2:123456789012:service/cluster/bot');
    expect(resolve({ Ref: 'Bucket' })).toBe('bucket');
    expect(resolve({ Ref: 'Fn' })).toBe('worker');
    expect(resolve({ Ref: 'Queue' })).toBe('https://sqs.eu-west-2.amazonaws.com/123456789012/queue');
  });

  test('Fn::GetAtt Arn gives the ARN format of the type (S3 has no region or account; log groups end in :*)', () => {
    expect(resolve({ 'Fn::GetAtt': ['Bucket', 'Arn'] })).toBe('arn:aws:s3:::bucket');
    expect(resolve({ 'Fn::GetAtt': 'Fn.Arn' })).toBe('arn:aws:lambda:eu-west-2:123456789012:function:worker');
    expect(resolve({ 'Fn::GetAtt': ['Logs', 'Arn'] })).toBe(
      'arn:aws:logs:eu-west-2:123456789012:log-group:/aws/lambda/worker:*',
    );
  });

  test('pseudo parameters, parameters, Join, Sub (with and without variables), Select/Split and FindInMap', () => {
    expect(
      resolve({
        'Fn::Join': [
          ':',
          [
            'arn',
            { Ref: 'AWS::Partition' },
            'ecr',
            { Ref: 'AWS::Region' },
            { Ref: 'AWS::AccountId' },
            'repository/x',
          ],
        ],
      }),
    ).toBe('arn:aws:ecr:eu-west-2:123456789012:repository/x');
    expect(
      resolve({ 'Fn::Sub': 'arn:${AWS::Partition}:ssm:${AWS::Region}:${AWS::AccountId}:parameter/${Env}/x' }),
    ).toBe('arn:aws:ssm:eu-west-2:123456789012:parameter/staging/x');
    expect(resolve({ 'Fn::Sub': '${Bucket.Arn}/*' })).toBe('arn:aws:s3:::bucket/*');
    expect(resolve({ 'Fn::Sub': ['${A}-${!Literal}', { A: { Ref: 'Fn' } }] })).toBe('worker-${Literal}');
    expect(resolve({ 'Fn::Select': [1, { 'Fn::Split': ['/', 'a/b/c'] }] })).toBe('b');
    expect(resolve({ 'Fn::FindInMap': ['Names', { Ref: 'Env' }, 'topic'] })).toBe('alerts-staging');
  });

  test('a type or attribute it cannot shape is an error naming it and where to add it, not a guess', () => {
    expect(() => resolve({ 'Fn::GetAtt': ['Widget', 'Arn'] })).toThrow(
      /Widget of type AWS::Custom::Widget.*add its return values to SHAPES in scripts\/iam-reference\.ts/,
    );
    expect(() => resolve({ 'Fn::GetAtt': ['Bucket', 'WebsiteURL'] })).toThrow(
      /attribute WebsiteURL of AWS::S3::Bucket/,
    );
    expect(() => resolve({ Ref: 'Missing' })).toThrow(/Missing, which the template does not have/);
    expect(() => resolve({ 'Fn::ImportValue': 'x' })).toThrow(/intrinsic Fn::ImportValue/);
  });
});

describe('policiesOf', () => {
  test('finds IAM::Policy, IAM::ManagedPolicy and inline role policies, resolved, with construct paths', () => {
    const found = policiesOf(template, { stack: 'Stack' });
    expect(found.map((p) => p.path).sort()).toEqual([
      'Managed',
      'Stack/Worker/Role/DefaultPolicy',
      'Stack/Worker/Role/Inline',
    ]);
    expect(JSON.stringify(found)).not.toMatch(/"Ref"|"Fn::/);
    const s3 = found.find((p) => p.path.endsWith('DefaultPolicy'))!.document as {
      Statement: { Resource: string }[];
    };
    expect(s3.Statement[0].Resource).toBe('arn:aws:s3:::bucket/*');
  });
});

// Finding shapes as parliament 1.6.4 prints them through scripts/iam-reference.py.
const unknown = (action: string): IamFinding => ({
  stack: 'S',
  path: 'S/Rollback/Function/Role/DefaultPolicy',
  issue: 'UNKNOWN_ACTION',
  detail: JSON.stringify(`Unknown action ${action}`),
  location: JSON.stringify({ column: 1, filepath: null, line: 1, string: action }),
});
const mismatch = (...actions: string[]): IamFinding => ({
  stack: 'S',
  path: 'S/Fn/Role/Inline',
  issue: 'RESOURCE_MISMATCH',
  detail: JSON.stringify(actions.map((action) => ({ action, required_format: 'arn:*:x:*:*:y/*' }))),
  location: JSON.stringify({ column: 1, filepath: null, line: 1 }),
});
const exc = (issue: string, action: string): IamException => ({
  issue,
  action,
  reason: 'why',
  reference: 'https://docs.aws.amazon.com/x',
});

describe('judge (exception matching)', () => {
  test('actionsOf reads the action from both finding shapes', () => {
    expect(actionsOf(unknown('ecs:StopServiceDeployment'))).toEqual(['ecs:stopservicedeployment']);
    expect(actionsOf(mismatch('ec2:CreateNetworkInterface', 'ec2:DeleteNetworkInterface'))).toEqual([
      'ec2:createnetworkinterface',
      'ec2:deletenetworkinterface',
    ]);
    // RESOURCE_STAR lists its actions as a plain JSON array.
    expect(actionsOf({ detail: '["cloudwatch:DescribeAlarms"]', location: '{}' })).toEqual([
      'cloudwatch:describealarms',
    ]);
  });

  test('a finding is accepted only by an exception with the same issue and action', () => {
    const v = judge(
      [
        unknown('ecs:StopServiceDeployment'),
        unknown('ecs:MadeUpAction'),
        mismatch('ecs:StopServiceDeployment'),
      ],
      [exc('UNKNOWN_ACTION', 'ecs:StopServiceDeployment')],
    );
    expect(v.accepted).toHaveLength(1);
    expect(v.accepted[0].findings).toHaveLength(1);
    expect(v.unexplained.map((f) => `${f.issue} ${actionsOf(f)}`)).toEqual([
      'UNKNOWN_ACTION ecs:madeupaction',
      'RESOURCE_MISMATCH ecs:stopservicedeployment',
    ]);
    expect(v.unused).toEqual([]);
  });

  test('a finding naming several actions needs every one explained', () => {
    const f = mismatch('ec2:CreateNetworkInterface', 'ec2:DeleteNetworkInterface');
    expect(judge([f], [exc('RESOURCE_MISMATCH', 'ec2:CreateNetworkInterface')]).unexplained).toEqual([f]);
    const both = judge(
      [f],
      [
        exc('RESOURCE_MISMATCH', 'ec2:CreateNetworkInterface'),
        exc('RESOURCE_MISMATCH', 'ec2:DeleteNetworkInterface'),
      ],
    );
    expect(both.unexplained).toEqual([]);
    expect(both.accepted).toHaveLength(2);
  });

  test('a finding with no action to match (e.g. a parliament crash) is never explained', () => {
    const crash: IamFinding = {
      stack: 'S',
      path: 'p',
      issue: 'EXCEPTION',
      detail: '"TypeError"',
      location: '{}',
    };
    expect(judge([crash], [exc('EXCEPTION', 'x:Y')]).unexplained).toEqual([crash]);
  });

  test('an exception that matches nothing is reported as unused (validate fails on it)', () => {
    const stale = exc('UNKNOWN_ACTION', 'ecs:OldThing');
    expect(judge([], [stale]).unused).toEqual([stale]);
  });

  test('the reviewed list gives every exception a reason and a Service Authorization Reference page, once each', () => {
    expect(IAM_REFERENCE_EXCEPTIONS.length).toBeGreaterThan(0);
    for (const e of IAM_REFERENCE_EXCEPTIONS) {
      expect(e.reason.length).toBeGreaterThan(30);
      expect(e.reference).toMatch(
        /^https:\/\/docs\.aws\.amazon\.com\/service-authorization\/latest\/reference\/list_/,
      );
      expect(e.action).toMatch(/^[a-z0-9-]+:[A-Za-z0-9]+$/);
    }
    const keys = IAM_REFERENCE_EXCEPTIONS.map((e) => `${e.issue} ${e.action.toLowerCase()}`);
    expect(new Set(keys).size).toBe(keys.length);
  });
});

test('the report lists policies checked, findings, and each accepted finding with its reason', () => {
  const md = renderReport({
    stacks: ['A', 'B'],
    results: {},
    exceptions: [],
    versions: { parliament: '1.6.4' },
    iam: {
      policies: { A: 3, B: 2 },
      findings: 4,
      unexplained: 0,
      accepted: [
        { ...exc('UNKNOWN_ACTION', 'ecs:StopServiceDeployment'), reason: 'newer | than dataset', count: 4 },
      ],
    },
  });
  expect(md).toContain('Policies checked: 5 (A 3, B 2).');
  expect(md).toContain('Findings: 4; accepted with a reason: 4; unexplained: 0.');
  expect(md).toContain(
    '| UNKNOWN_ACTION | ecs:StopServiceDeployment | 4 | newer \\| than dataset | https://docs.aws.amazon.com/x |',
  );
});
