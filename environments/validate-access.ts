import type { ConfigProblem } from './problem';
import { EnvironmentConfig } from './types';

/** An account id, or an IAM role/user (or account root) ARN: what a role's trust policy accepts as AWS principal. */
const PRINCIPAL = /^(\d{12}|arn:aws(-[a-z]+)*:iam::\d{12}:(root|role\/[\w+=,.@/-]+|user\/[\w+=,.@/-]+))$/;

/** Problems in the `access` section of one environment, empty when it is valid. */
export function accessProblems(env: EnvironmentConfig): ConfigProblem[] {
  const problems: ConfigProblem[] = [];
  for (const field of ['operatorPrincipals', 'viewerPrincipals'] as const) {
    const list = env.access?.[field];
    if (!Array.isArray(list) || list.length === 0) {
      problems.push({
        field: `${env.name}.access.${field}`,
        value: list,
        problem: 'must name at least one principal (nobody could assume the role)',
        fix: `e.g. ['${env.account}'] (this account's IAM then decides who) in environments/${env.name}.ts`,
      });
      continue;
    }
    for (const principal of list) {
      if (typeof principal !== 'string' || !PRINCIPAL.test(principal) || principal.includes('*')) {
        problems.push({
          field: `${env.name}.access.${field}`,
          value: principal,
          problem: 'is not a 12-digit account id or an IAM role, user or root ARN (no wildcards)',
          fix: "use e.g. '123456789012' or 'arn:aws:iam::123456789012:role/aws-reserved/sso.amazonaws.com/eu-west-1/AWSReservedSSO_Operator_0123abcd'",
        });
      }
    }
    if (new Set(list).size !== list.length) {
      problems.push({
        field: `${env.name}.access.${field}`,
        value: list,
        problem: 'lists a principal twice',
        fix: `remove the duplicate in environments/${env.name}.ts`,
      });
    }
  }
  return problems;
}
