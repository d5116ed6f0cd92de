import type { ConfigProblem } from './problem';
import { AccessConfig, EnvironmentConfig } from './types';

const ACCOUNT_ID = /^\d{12}$/;
/** A role or user of this account, written without the account (`role/…`, `user/…`). */
const RELATIVE = /^(role|user)\/[\w+=,.@/-]+$/;
/** A full IAM role, user or root ARN. */
const FULL = /^arn:aws(-[a-z]+)*:iam::(\d{12}):(root|role\/[\w+=,.@/-]+|user\/[\w+=,.@/-]+)$/;
/** The path IAM Identity Center gives its permission sets' roles. */
const SSO_ROLE = /:role\/aws-reserved\/sso\.amazonaws\.com\//;

/** One principal of the roles' trust, resolved against the environment's account. */
export interface ResolvedPrincipal {
  /** The principal ARN (`arn:aws:iam::<account>:root` for an account). */
  readonly arn: string;
  /** The account the principal belongs to. */
  readonly account: string;
  /** An account root: that account's IAM decides who. */
  readonly accountRoot: boolean;
  /** An IAM Identity Center permission set's role: its sign-in enforces the second factor. */
  readonly ssoSession: boolean;
}

/**
 * The principals of one role, resolved: relative entries get `account`, an empty list is the
 * account's root. Values only; validation ({@link accessProblems}) says what is allowed.
 */
export function resolvePrincipals(
  env: Pick<EnvironmentConfig, 'account'>,
  list: readonly string[],
): ResolvedPrincipal[] {
  const entries = list.length === 0 ? [env.account] : list;
  return entries.map((p) => {
    const arn = ACCOUNT_ID.test(p)
      ? `arn:aws:iam::${p}:root`
      : RELATIVE.test(p)
        ? `arn:aws:iam::${env.account}:${p}`
        : p;
    const account = FULL.exec(arn)?.[2] ?? '';
    return { arn, account, accountRoot: arn.endsWith(':root'), ssoSession: SSO_ROLE.test(arn) };
  });
}

/**
 * An environment trades real money while people sleep when live trading is on in it, whatever its
 * name (and production always counts): an account root is refused there unless acknowledged or a sandbox.
 */
export const tradesRealMoney = (env: EnvironmentConfig) =>
  env.liveTradingEnabled || env.name === 'production';

/** Problems in the `access` section of one environment, empty when it is valid. */
export function accessProblems(env: EnvironmentConfig): ConfigProblem[] {
  const problems: ConfigProblem[] = [];
  const file = `environments/${env.name}.ts`;
  const access: AccessConfig | undefined = env.access;
  const crossAccounts = access?.crossAccountPrincipalAccounts ?? [];
  for (const a of crossAccounts) {
    if (!ACCOUNT_ID.test(a) || a === env.account)
      problems.push({
        field: `${env.name}.access.crossAccountPrincipalAccounts`,
        value: a,
        problem:
          a === env.account
            ? 'is this environment’s own account (its principals need no listing)'
            : 'is not a 12-digit account id',
        fix: `list only other accounts whose principals may run ops here, in ${file}`,
      });
  }
  for (const field of ['operatorPrincipals', 'viewerPrincipals'] as const) {
    const list = access?.[field];
    const name = `${env.name}.access.${field}`;
    if (!Array.isArray(list)) {
      problems.push({
        field: name,
        value: list,
        problem: 'must be a list of principals',
        fix: `e.g. ['role/aws-reserved/sso.amazonaws.com/${env.region}/AWSReservedSSO_Operator_0123abcd'] in ${file}`,
      });
      continue;
    }
    for (const principal of list) {
      const valid =
        typeof principal === 'string' &&
        !principal.includes('*') &&
        (ACCOUNT_ID.test(principal) || RELATIVE.test(principal) || FULL.test(principal));
      if (!valid) {
        problems.push({
          field: name,
          value: principal,
          problem:
            'is not a role or user of this account (role/…, user/…), an IAM role, user or root ARN, or a 12-digit account id (no wildcards)',
          fix: `use e.g. 'role/aws-reserved/sso.amazonaws.com/${env.region}/AWSReservedSSO_Operator_0123abcd' (this account's Identity Center role)`,
        });
      }
    }
    if (new Set(list).size !== list.length) {
      problems.push({
        field: name,
        value: list,
        problem: 'lists a principal twice',
        fix: `remove the duplicate in ${file}`,
      });
    }
    // A malformed `account` is reported on its own; nothing resolves against it.
    if (problems.some((p) => p.field === name) || !ACCOUNT_ID.test(env.account)) continue;
    for (const p of resolvePrincipals(env, list)) {
      if (p.account !== env.account && !crossAccounts.includes(p.account)) {
        problems.push({
          field: name,
          value: p.arn,
          problem: `belongs to account ${p.account}, not this environment's account ${env.account}`,
          fix: `write it as a role of this account (role/…), or, if another account's principals should run ops here, list ${p.account} in access.crossAccountPrincipalAccounts in ${file}`,
        });
      }
      if (p.accountRoot && tradesRealMoney(env) && !env.sandbox && !access.acknowledgeAccountRootTrust) {
        problems.push({
          field: name,
          value: list.length === 0 ? [] : p.arn,
          problem: `trusts the whole account ${p.account} (its root) in ${env.name}, where live trading can run: anyone its IAM lets assume roles could turn live trading on or run migrate down`,
          fix: `name the people's roles (e.g. 'role/aws-reserved/sso.amazonaws.com/${env.region}/AWSReservedSSO_Operator_0123abcd') in ${file}, or set access.acknowledgeAccountRootTrust: true beside it`,
        });
      }
    }
  }
  return problems;
}
