import { imageTag, referencedIds, renderValue } from '../../lib/diff';
import { ecrImage } from './fixtures';

describe('template helpers', () => {
  test.each([
    ['a tag on a plain reference', 'public.ecr.aws/x/bot:v1.2.3', 'v1.2.3'],
    ['a registry with a port', 'registry.local:5000/bot:2026-07-01', '2026-07-01'],
    ['no tag (what the registry serves as latest)', 'registry.local:5000/bot', 'latest'],
    ['a digest', '123.dkr.ecr.eu-west-1.amazonaws.com/bot@sha256:abc123', 'sha256:abc123'],
  ])('imageTag reads %s', (_, image, tag) => {
    expect(imageTag(image)).toBe(tag);
  });

  test('imageTag reads the tag of an ECR image the CDK joins from intrinsics', () => {
    expect(imageTag(ecrImage('RegistryBotRepositoryC0DC0495', 'v1.2.3'))).toBe('v1.2.3');
  });

  test('referencedIds finds Ref, Fn::GetAtt (both forms) and ${Id} in Fn::Sub, and skips pseudo-parameters in Sub', () => {
    const value = {
      a: { Ref: 'Topic' },
      b: [{ 'Fn::GetAtt': ['Fn', 'Arn'] }, { 'Fn::GetAtt': 'Role.Arn' }],
      c: { 'Fn::Sub': ['arn:${AWS::Partition}:x:${Bucket.Arn}/${Name}', { Name: { Ref: 'Param' } }] },
    };
    expect([...referencedIds(value)].sort()).toEqual(['Bucket', 'Fn', 'Param', 'Role', 'Topic']);
  });

  test('renderValue shows references readably', () => {
    expect(
      renderValue({
        'Fn::Join': ['', ['arn:', { Ref: 'AWS::Partition' }, ':', { 'Fn::GetAtt': ['X', 'Arn'] }]],
      }),
    ).toBe('arn:${AWS::Partition}:${X.Arn}');
  });
});
