import { environmentProblems, production, staging as committedStaging } from '../../environments';
import { base } from '../../environments/base';
import { EnvironmentConfig } from '../../environments/types';
import { resolvePrincipals } from '../../environments/validate-access';

/**
 * The tests' own non-production environment (not the committed staging: editing staging's access
 * on purpose must not break these tests): account 111111111111, no live trading, default access.
 */
const staging: EnvironmentConfig = {
  ...base,
  name: 'staging',
  stackName: 'AccessConfigTestStack',
  account: '111111111111',
  alarmEmail: 'ops@example.com',
  liveTradingEnabled: false,
  sandbox: false,
  access: { operatorPrincipals: [], viewerPrincipals: [] },
};

const SSO_OPERATOR = 'role/aws-reserved/sso.amazonaws.com/eu-west-1/AWSReservedSSO_Operator_0123abcd';

const withAccess = (
  base: EnvironmentConfig,
  access: Partial<EnvironmentConfig['access']>,
  more: Partial<EnvironmentConfig> = {},
): EnvironmentConfig => ({ ...base, ...more, access: { ...base.access, ...access } });

const accessProblems = (config: EnvironmentConfig) =>
  environmentProblems(config).filter((p) => p.field.includes('.access.'));

describe('access: who may assume the operator and viewer roles', () => {
  test('the committed environments are valid', () => {
    expect(accessProblems(committedStaging)).toEqual([]);
    expect(accessProblems(production)).toEqual([]);
  });

  test('production names its people’s roles, not the account root', () => {
    for (const list of [production.access.operatorPrincipals, production.access.viewerPrincipals]) {
      const resolved = resolvePrincipals(production, list);
      expect(resolved.length).toBeGreaterThan(0);
      expect(resolved.filter((p) => p.accountRoot)).toEqual([]);
    }
  });

  test('principals default to the environment’s own account: changing `account` leaves no stale id', () => {
    const moved = { ...staging, account: '333333333333' };
    expect(resolvePrincipals(moved, moved.access.operatorPrincipals).map((p) => p.arn)).toEqual([
      'arn:aws:iam::333333333333:root',
    ]);
    const named = withAccess(moved, { operatorPrincipals: [SSO_OPERATOR] });
    expect(resolvePrincipals(named, named.access.operatorPrincipals).map((p) => p.arn)).toEqual([
      `arn:aws:iam::333333333333:${SSO_OPERATOR}`,
    ]);
    expect(accessProblems(named)).toEqual([]);
  });

  test('accepts account ids, relative role names and full role ARNs of this account', () => {
    const config = withAccess(staging, {
      operatorPrincipals: [staging.account, SSO_OPERATOR, `arn:aws:iam::${staging.account}:user/alice`],
    });
    expect(accessProblems(config)).toEqual([]);
  });

  test.each([
    [{ viewerPrincipals: ['*'] }, 'staging.access.viewerPrincipals', '*', /not a role or user/],
    [
      { operatorPrincipals: ['arn:aws:iam::123456789012:role/*'] },
      'staging.access.operatorPrincipals',
      'arn:aws:iam::123456789012:role/*',
      /no wildcards/,
    ],
    [{ viewerPrincipals: ['12345'] }, 'staging.access.viewerPrincipals', '12345', /12-digit account id/],
    [
      { viewerPrincipals: ['111111111111', '111111111111'] },
      'staging.access.viewerPrincipals',
      ['111111111111', '111111111111'],
      /twice/,
    ],
    [
      { operatorPrincipals: ['arn:aws:iam::444444444444:role/ops'] },
      'staging.access.operatorPrincipals',
      'arn:aws:iam::444444444444:role/ops',
      /belongs to account 444444444444, not this environment's account 111111111111/,
    ],
    [
      { viewerPrincipals: ['444444444444'] },
      'staging.access.viewerPrincipals',
      'arn:aws:iam::444444444444:root',
      /belongs to account 444444444444/,
    ],
    [
      { crossAccountPrincipalAccounts: ['111111111111'] },
      'staging.access.crossAccountPrincipalAccounts',
      '111111111111',
      /own account/,
    ],
  ])('fails on %j, naming the field, the value and the fix', (access, field, value, problem) => {
    const problems = accessProblems(withAccess(staging, access)).filter((p) => p.field === field);
    expect(problems).toEqual([
      expect.objectContaining({ field, value, problem: expect.stringMatching(problem) }),
    ]);
    expect(problems[0].fix.length).toBeGreaterThan(10);
  });

  test('a principal of another account is accepted when that account is listed as cross-account on purpose', () => {
    const config = withAccess(staging, {
      operatorPrincipals: ['arn:aws:iam::444444444444:role/ops'],
      crossAccountPrincipalAccounts: ['444444444444'],
    });
    expect(accessProblems(config)).toEqual([]);
  });

  describe('an account root in production', () => {
    test.each([
      [
        'production with the account id',
        withAccess(production, { operatorPrincipals: [production.account] }),
      ],
      ['production with the default (empty) list', withAccess(production, { viewerPrincipals: [] })],
    ])('fails for %s, naming the fix', (_label, config) => {
      const problems = accessProblems(config).filter((p) => /whole account/.test(p.problem));
      expect(problems).toEqual([
        expect.objectContaining({ fix: expect.stringMatching(/acknowledgeAccountRootTrust/) }),
      ]);
    });

    test('is accepted with acknowledgeAccountRootTrust, or in a sandbox', () => {
      expect(
        accessProblems(withAccess(production, { operatorPrincipals: [], acknowledgeAccountRootTrust: true })),
      ).toEqual([]);
      expect(accessProblems(withAccess(production, { operatorPrincipals: [] }, { sandbox: true }))).toEqual(
        [],
      );
    });
  });

  test('an account root is refused wherever live trading is on, whatever the environment is called', () => {
    const live = withAccess(
      staging,
      { operatorPrincipals: [], viewerPrincipals: [SSO_OPERATOR] },
      { liveTradingEnabled: true },
    );
    expect(accessProblems(live).filter((p) => /whole account/.test(p.problem))).toEqual([
      expect.objectContaining({
        field: 'staging.access.operatorPrincipals',
        fix: expect.stringMatching(/acknowledgeAccountRootTrust/),
      }),
    ]);
    expect(accessProblems(withAccess(live, { acknowledgeAccountRootTrust: true }))).toEqual([]);
    expect(accessProblems({ ...live, sandbox: true })).toEqual([]);
    // Live trading off and not production: the account root is fine.
    expect(accessProblems(staging)).toEqual([]);
  });

  test('an unknown key under access is an error', () => {
    const config = withAccess(staging, { operatorPrincipal: ['x'] } as never);
    expect(environmentProblems(config)).toEqual(
      expect.arrayContaining([
        expect.objectContaining({ field: expect.stringContaining('access.operatorPrincipal') }),
      ]),
    );
  });
});
