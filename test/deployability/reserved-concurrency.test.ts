/**
 * Rule: reserved Lambda concurrency must leave the account its minimum unreserved concurrency.
 *
 * AWS Lambda Developer Guide, "Configuring reserved concurrency"
 * (https://docs.aws.amazon.com/lambda/latest/dg/configuration-concurrency.html): a reservation is
 * refused when it would take the account's unreserved concurrency below 100 ("…decreases account's
 * UnreservedConcurrentExecution below its minimum value"). New accounts often have a quota of 10, so
 * any reservation fails there. The quota is not in the template: `ops preflight` reads it
 * (`lambda:GetAccountSettings`) and refuses a deploy whose reservations, summed per account and region
 * as below, need more than it has. This test keeps the sum known and within the default quota.
 */
import { allResources, expectChecked } from './walk';

/** Unreserved concurrency Lambda keeps for every account. */
const MINIMUM_UNRESERVED = 100;
/** Lambda's default concurrency quota per account and region. */
const DEFAULT_QUOTA = 1000;

describe('rule: reservations fit the account quota (Lambda "Configuring reserved concurrency")', () => {
  test('each account and region needs at most the default quota: reservations + 100', () => {
    const needed = new Map<string, number>();
    const violations: string[] = [];
    let checked = 0;
    for (const { stack, resource, where } of allResources('AWS::Lambda::Function')) {
      const reserved = resource.Properties?.ReservedConcurrentExecutions;
      if (reserved === undefined) continue;
      checked++;
      if (!Number.isInteger(reserved) || reserved < 0)
        violations.push(`${where}: ReservedConcurrentExecutions ${reserved}`);
      const key = `${stack.account}/${stack.region}`;
      needed.set(key, (needed.get(key) ?? MINIMUM_UNRESERVED) + Number(reserved));
    }
    for (const [key, quota] of needed)
      if (quota > DEFAULT_QUOTA)
        violations.push(`${key}: needs a concurrency quota of ${quota}, above the default ${DEFAULT_QUOTA}`);
    expect(violations).toEqual([]);
    expectChecked(checked, 'function with reserved concurrency');
  });
});
