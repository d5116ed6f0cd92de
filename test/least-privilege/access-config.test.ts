import { environmentProblems, staging } from '../../environments';
import { EnvironmentConfig } from '../../environments/types';

const withAccess = (access: Partial<EnvironmentConfig['access']>): EnvironmentConfig => ({
  ...staging,
  access: { ...staging.access, ...access },
});

describe('access: who may assume the operator and viewer roles', () => {
  test('the committed environments are valid', () => {
    expect(environmentProblems(staging).filter((p) => p.field.includes('.access.'))).toEqual([]);
  });

  test('accepts account ids and IAM role ARNs, including an Identity Center role', () => {
    const config = withAccess({
      operatorPrincipals: [
        '123456789012',
        'arn:aws:iam::123456789012:role/aws-reserved/sso.amazonaws.com/eu-west-1/AWSReservedSSO_Operator_0123abcd',
      ],
    });
    expect(environmentProblems(config).filter((p) => p.field.includes('.access.'))).toEqual([]);
  });

  test.each([
    [{ operatorPrincipals: [] }, 'staging.access.operatorPrincipals', [], /at least one principal/],
    [{ viewerPrincipals: ['*'] }, 'staging.access.viewerPrincipals', '*', /not a 12-digit account id/],
    [
      { operatorPrincipals: ['arn:aws:iam::123456789012:role/*'] },
      'staging.access.operatorPrincipals',
      'arn:aws:iam::123456789012:role/*',
      /no wildcards/,
    ],
    [
      { viewerPrincipals: ['12345'] },
      'staging.access.viewerPrincipals',
      '12345',
      /not a 12-digit account id/,
    ],
    [
      { viewerPrincipals: ['111111111111', '111111111111'] },
      'staging.access.viewerPrincipals',
      ['111111111111', '111111111111'],
      /twice/,
    ],
  ])('fails on %j, naming the field, the value and the fix', (access, field, value, problem) => {
    const problems = environmentProblems(withAccess(access)).filter((p) => p.field === field);
    expect(problems).toEqual([
      expect.objectContaining({ field, value, problem: expect.stringMatching(problem) }),
    ]);
    expect(problems[0].fix.length).toBeGreaterThan(10);
  });
});
