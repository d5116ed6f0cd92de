/**
 * Rule: a stack's first create can roll back to nothing, so the retry starts clean.
 *
 * AWS CloudFormation User Guide, "Choose how to handle failures when provisioning resources" and
 * "DeletionPolicy attribute": when a create fails, CloudFormation deletes every resource it created
 * (also under `RetainExceptOnCreate`). The services refuse to delete a resource whose own deletion
 * protection is on (RDS `DeleteDBInstance`: "Cannot delete protected DB Instance, please disable
 * deletion protection and try again"; ELBv2 `DeleteLoadBalancer` with `deletion_protection.enabled`:
 * OperationNotPermitted), so the stack ends in ROLLBACK_FAILED and the leftovers' fixed names block
 * the retry. "Protect CloudFormation stacks from being deleted": a stack with termination protection
 * cannot be deleted, and a stack in ROLLBACK_COMPLETE must be deleted before it is created again.
 *
 * The resource types come from the CloudFormation resource specification aws-cdk-lib ships
 * (`@aws-cdk/aws-service-spec`): every property named like deletion/termination protection, so a
 * type AWS adds is caught without editing this rule.
 */
import { loadAwsServiceSpec } from '@aws-cdk/aws-service-spec';
import { CloudAssembly } from 'aws-cdk-lib/cx-api';
import { environments } from '../../environments';
import { EnvironmentConfig } from '../../environments/types';
import { createTimeProtection, DELETION_PROTECTION_PROPERTIES } from '../../lib/deletion-protection';
import { sharedAssemblyDirOf } from '../helpers/shared-assembly';
import { CfnResource, expectChecked } from './walk';

interface Created {
  readonly name: string;
  readonly terminationProtection: boolean;
  readonly resources: Record<string, CfnResource>;
}

/**
 * Every stack as its first create sees it: each environment with `stackCreated` as given. Read from
 * the run's shared synthesis of those configs (test/helpers/shared-assembly.ts), which
 * test/stack/data.test.ts reads too, rather than a synthesis of this file's own.
 */
function synthesize(configs: readonly EnvironmentConfig[]): Created[] {
  return new CloudAssembly(sharedAssemblyDirOf(configs)).stacksRecursively.map((a) => ({
    name: a.stackName,
    terminationProtection: a.terminationProtection === true,
    resources: (a.template as { Resources?: Record<string, CfnResource> }).Resources ?? {},
  }));
}

/** The violations of the rule in `stacks`, and how many resources it looked at. */
export function createRollbackViolations(stacks: readonly Created[]): {
  violations: string[];
  checked: number;
} {
  const violations: string[] = [];
  let checked = 0;
  for (const stack of stacks) {
    if (stack.terminationProtection)
      violations.push(
        `${stack.name}: termination protection on at create: a failed create leaves a stack in ROLLBACK_COMPLETE that cannot be deleted for the retry`,
      );
    for (const [id, resource] of Object.entries(stack.resources)) {
      checked++;
      const on = createTimeProtection(resource);
      if (on)
        violations.push(
          `${stack.name}/${id} (${resource.Type}) is created with ${on}: a failed create cannot delete it ` +
            '(ROLLBACK_FAILED); switch it on only once the stack exists (stackCreated, lib/deletion-protection.ts)',
        );
    }
  }
  return { violations, checked };
}

describe('rule: a failed first create rolls back to nothing (CloudFormation "Choose how to handle failures")', () => {
  const firstCreate = synthesize(environments.map((e) => ({ ...e, stackCreated: false })));

  test('no stack of any environment creates a resource with deletion protection, nor itself with termination protection', () => {
    const { violations, checked } = createRollbackViolations(firstCreate);
    expect(violations).toEqual([]);
    expectChecked(checked, 'resource');
  });

  test('the rule sees the protections the environments ask for once their stacks exist', () => {
    // Non-vacuous: with stackCreated the same walk finds production's database and load balancer.
    const existing = synthesize(environments.map((e) => ({ ...e, stackCreated: true })));
    const { violations } = createRollbackViolations(existing);
    expect(violations).toEqual(
      expect.arrayContaining([
        expect.stringMatching(/^ProductionStack: termination protection on at create/),
        expect.stringMatching(
          /^ProductionStack\/\w+ \(AWS::RDS::DBInstance\) is created with DeletionProtection: true/,
        ),
        expect.stringMatching(
          /^ProductionStack\/\w+ \(AWS::ElasticLoadBalancingV2::LoadBalancer\) is created with LoadBalancerAttributes deletion_protection.enabled=true/,
        ),
      ]),
    );
  });

  test('fails on each kind of create-time protection the specification names', () => {
    const cases: CfnResource[] = [
      { Type: 'AWS::DynamoDB::Table', Properties: { DeletionProtectionEnabled: true } },
      { Type: 'AWS::Cognito::UserPool', Properties: { DeletionProtection: 'ACTIVE' } },
      { Type: 'AWS::OpenSearchServerless::Collection', Properties: { DeletionProtection: 'ENABLED' } },
      {
        Type: 'AWS::VerifiedPermissions::PolicyStore',
        Properties: { DeletionProtection: { Mode: 'ENABLED' } },
      },
      { Type: 'AWS::Logs::LogGroup', Properties: { DeletionProtectionEnabled: true } },
      { Type: 'AWS::EC2::Instance', Properties: { DisableApiTermination: true } },
      { Type: 'AWS::QLDB::Ledger', Properties: {} },
    ];
    for (const resource of cases) expect(createTimeProtection(resource)).toBeDefined();
    const off: CfnResource[] = [
      { Type: 'AWS::Cognito::UserPool', Properties: { DeletionProtection: 'INACTIVE' } },
      { Type: 'AWS::RDS::DBInstance', Properties: { DeletionProtection: false } },
      { Type: 'AWS::QLDB::Ledger', Properties: { DeletionProtection: false } },
      {
        Type: 'AWS::ElasticLoadBalancingV2::LoadBalancer',
        Properties: { LoadBalancerAttributes: [{ Key: 'deletion_protection.enabled', Value: 'false' }] },
      },
    ];
    for (const resource of off) expect(createTimeProtection(resource)).toBeUndefined();
  });

  test('the table of protected types is the CloudFormation specification’s, complete', async () => {
    const db = await loadAwsServiceSpec();
    const fromSpec: Record<string, string> = {};
    for (const r of db.all('resource'))
      for (const name of Object.keys(r.properties))
        if (/deletion.?protect|delete.?protect|termination.?protect|disableapitermination/i.test(name))
          fromSpec[r.cloudFormationType] = name;
    expectChecked(Object.keys(fromSpec).length, 'specification type with a protection property');
    expect(DELETION_PROTECTION_PROPERTIES).toEqual(fromSpec);
  });
});
