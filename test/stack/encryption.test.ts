import { Match } from 'aws-cdk-lib/assertions';
import { ENVIRONMENT_NAMES, synthesized } from '../helpers/app';

describe.each(ENVIRONMENT_NAMES)('%s encryption at rest', (name) => {
  const { template } = synthesized(name);
  const stackKey = () => {
    const keys = template.findResources('AWS::KMS::Key', {
      Properties: { Description: 'Clever Better: secrets, logs and the on-call topic' },
    });
    expect(Object.keys(keys)).toHaveLength(1);
    return Object.keys(keys)[0];
  };

  test('the stack key rotates and is kept when the stack is deleted', () => {
    template.hasResource('AWS::KMS::Key', {
      Properties: Match.objectLike({ EnableKeyRotation: true }),
      DeletionPolicy: 'RetainExceptOnCreate',
    });
  });

  test('every log group is encrypted with the stack key', () => {
    const key = stackKey();
    const groups = Object.values(template.findResources('AWS::Logs::LogGroup'));
    expect(groups.length).toBeGreaterThan(0);
    for (const group of groups) expect(group.Properties.KmsKeyId).toEqual({ 'Fn::GetAtt': [key, 'Arn'] });
  });

  test('every secret is encrypted with the stack key', () => {
    const key = stackKey();
    for (const secret of Object.values(template.findResources('AWS::SecretsManager::Secret'))) {
      expect(secret.Properties.KmsKeyId).toEqual({ 'Fn::GetAtt': [key, 'Arn'] });
    }
  });

  test('the on-call topic is encrypted with the stack key', () => {
    template.hasResourceProperties('AWS::SNS::Topic', {
      KmsMasterKeyId: { 'Fn::GetAtt': [stackKey(), 'Arn'] },
    });
  });

  test('the key lets CloudWatch Logs use it only for this account log groups, and alarms publish', () => {
    template.hasResourceProperties('AWS::KMS::Key', {
      KeyPolicy: {
        Statement: Match.arrayWith([
          Match.objectLike({
            Principal: { Service: 'logs.eu-west-1.amazonaws.com' },
            Condition: {
              ArnLike: {
                'kms:EncryptionContext:aws:logs:arn': Match.stringLikeRegexp(':log-group:\\*$'),
              },
            },
          }),
          Match.objectLike({
            Principal: { Service: 'cloudwatch.amazonaws.com' },
            Action: ['kms:Decrypt', 'kms:GenerateDataKey*'],
          }),
        ]),
      },
    });
  });
});
