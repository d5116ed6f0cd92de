import {
  exceptionKey,
  exceptionsOf,
  renderReport,
  reportedExceptionKeys,
  Template,
} from '../scripts/compliance-report';

const template: Template = {
  Resources: {
    Bucket: {
      Type: 'AWS::S3::Bucket',
      Metadata: {
        'aws:cdk:path': 'Stack/Logs/Resource',
        cdk_nag: { rules_to_suppress: [{ id: 'AwsSolutions-S1', reason: 'It is the log bucket | itself' }] },
        checkov: { skip: [{ id: 'CKV_AWS_18', comment: 'It is the log bucket itself' }] },
      },
    },
    Subnet: {
      Type: 'AWS::EC2::Subnet',
      Metadata: {
        'aws:cdk:path': 'Stack/Vpc/Subnet1/Subnet',
        cdk_nag: { rules_to_suppress: [{ id: 'CloudFormation-Validate::W3010', reason: 'Pinned zones' }] },
        'cfn-lint': { config: { ignore_checks: ['W3010'] }, reasons: { W3010: 'Pinned zones' } },
      },
    },
    Plain: { Type: 'AWS::SNS::Topic' },
  },
};

describe('compliance report', () => {
  test('reads every kind of exception from resource metadata, with its reason and path', () => {
    const found = exceptionsOf('Stack', template);
    expect(found).toEqual([
      {
        tool: 'cdk-nag',
        rule: 'AwsSolutions-S1',
        reason: 'It is the log bucket | itself',
        stack: 'Stack',
        path: 'Stack/Logs',
      },
      {
        tool: 'checkov',
        rule: 'CKV_AWS_18',
        reason: 'It is the log bucket itself',
        stack: 'Stack',
        path: 'Stack/Logs',
      },
      {
        tool: 'CloudFormation validation',
        rule: 'W3010',
        reason: 'Pinned zones',
        stack: 'Stack',
        path: 'Stack/Vpc/Subnet1/Subnet',
      },
      {
        tool: 'cfn-lint',
        rule: 'W3010',
        reason: 'Pinned zones',
        stack: 'Stack',
        path: 'Stack/Vpc/Subnet1/Subnet',
      },
    ]);
  });

  test('a rendered report lists exactly the exceptions it was given, pipes and all', () => {
    const exceptions = exceptionsOf('Stack', template);
    const report = renderReport({
      stacks: ['Stack'],
      results: { Stack: { checkov: { passed: 10, failed: 0, skipped: 1 } } },
      exceptions,
      versions: { checkov: '3.3.30' },
    });
    expect(report).toContain('| Stack | checkov | 10 | 0 | 1 |');
    expect(reportedExceptionKeys(report)).toEqual(new Set(exceptions.map(exceptionKey)));
  });

  test('fails to find an exception the report does not list', () => {
    const report = renderReport({
      stacks: ['Stack'],
      results: {},
      exceptions: exceptionsOf('Stack', template).slice(1),
      versions: {},
    });
    expect(reportedExceptionKeys(report).has(exceptionKey(exceptionsOf('Stack', template)[0]))).toBe(false);
  });
});
