import { AspectPriority, Aspects, CfnResource, IAspect, Stack, Validations } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import { IConstruct } from 'constructs';

/**
 * Exceptions to the independent template checks (checkov, cfn-lint), written into the resource's
 * template metadata next to the resource, each with its reason. `npm run validate` lists every one of
 * them in docs/compliance.md; cdk-nag acknowledgements use `Validations.of(...).acknowledge` instead.
 */

function cfnResourceOf(scope: IConstruct): CfnResource {
  const resource = CfnResource.isCfnResource(scope) ? scope : scope.node.defaultChild;
  if (!resource || !CfnResource.isCfnResource(resource)) {
    throw new Error(`${scope.node.path} has no CloudFormation resource to attach a check exception to`);
  }
  return resource;
}

/** Skips one checkov check on `scope`'s resource, with the reason checkov prints as its comment. */
export function skipCheckov(scope: IConstruct, id: string, comment: string): void {
  if (comment.length < 20)
    throw new Error(`checkov skip ${id} on ${scope.node.path} needs a specific reason`);
  const resource = cfnResourceOf(scope);
  const existing =
    (resource.getMetadata('checkov') as { skip?: { id: string; comment: string }[] } | undefined)?.skip ?? [];
  if (existing.some((s) => s.id === id)) return;
  resource.addMetadata('checkov', { skip: [...existing, { id, comment }] });
}

/** Ignores one cfn-lint rule on `scope`'s resource; the reason is kept beside cfn-lint's own config. */
export function ignoreCfnLint(scope: IConstruct, id: string, reason: string): void {
  if (reason.length < 20)
    throw new Error(`cfn-lint ignore ${id} on ${scope.node.path} needs a specific reason`);
  const resource = cfnResourceOf(scope);
  const current = (resource.getMetadata('cfn-lint') as
    { config: { ignore_checks: string[] }; reasons: Record<string, string> } | undefined) ?? {
    config: { ignore_checks: [] },
    reasons: {},
  };
  if (current.config.ignore_checks.includes(id)) return;
  resource.addMetadata('cfn-lint', {
    config: { ignore_checks: [...current.config.ignore_checks, id] },
    reasons: { ...current.reasons, [id]: reason },
  });
}

/**
 * Why a Lambda function departs from the Lambda rules that cdk-nag's NIST and Serverless packs and
 * checkov share. Each reason given answers every rule of its row; leave a field out where the
 * function complies.
 */
export interface FunctionExceptions {
  /** No dead-letter queue: NIST and Serverless `LambdaDLQ`, checkov CKV_AWS_116. */
  readonly noDeadLetterQueue?: string;
  /** Outside the VPC: NIST `LambdaInsideVPC`, checkov CKV_AWS_117. */
  readonly outsideVpc?: string;
  /** No reserved concurrency: NIST `LambdaConcurrency`, checkov CKV_AWS_115. */
  readonly noReservedConcurrency?: string;
  /** No X-Ray tracing: Serverless `LambdaTracing`. */
  readonly noTracing?: string;
  /** Environment not encrypted with a customer-managed key: checkov CKV_AWS_173. */
  readonly environmentWithoutCmk?: string;
}

const FUNCTION_RULES: Record<keyof FunctionExceptions, { nag: string[]; checkov: string[] }> = {
  noDeadLetterQueue: { nag: ['NIST.800.53.R5-LambdaDLQ', 'Serverless-LambdaDLQ'], checkov: ['CKV_AWS_116'] },
  outsideVpc: { nag: ['NIST.800.53.R5-LambdaInsideVPC'], checkov: ['CKV_AWS_117'] },
  noReservedConcurrency: { nag: ['NIST.800.53.R5-LambdaConcurrency'], checkov: ['CKV_AWS_115'] },
  noTracing: { nag: ['Serverless-LambdaTracing'], checkov: [] },
  environmentWithoutCmk: { nag: [], checkov: ['CKV_AWS_173'] },
};

/** Records, next to `fn`, each accepted Lambda-rule finding with its reason, for every tool at once. */
export function acceptFunctionExceptions(fn: IConstruct, reasons: FunctionExceptions): void {
  for (const [key, reason] of Object.entries(reasons) as [keyof FunctionExceptions, string | undefined][]) {
    if (reason === undefined) continue;
    for (const id of FUNCTION_RULES[key].nag) Validations.of(fn).acknowledge({ id, reason });
    for (const id of FUNCTION_RULES[key].checkov) skipCheckov(fn, id, reason);
  }
}

/**
 * The CDK's own singleton helpers (the default-security-group restrictor, the log-retention function)
 * are not ours to change. This aspect records, next to each, why its findings are accepted.
 */
class CdkInternalExceptions implements IAspect {
  visit(node: IConstruct): void {
    if (!CfnResource.isCfnResource(node)) return;
    const id = Stack.of(node).getLogicalId(node);
    const internal =
      /^(CustomVpcRestrictDefaultSGCustomResourceProvider|LogRetentionaae0aa3c5b4d4f87b02d85b201efdd8a)/.test(
        id,
      );
    if (!internal) return;
    const what = id.startsWith('LogRetention')
      ? 'the CDK LogRetention function, which sets retention on the log groups RDS creates'
      : 'the CDK custom resource that removes the default security group rules';
    if (node.cfnResourceType === 'AWS::Lambda::Function') {
      skipCheckov(node, 'CKV_AWS_115', `Concurrency is irrelevant for ${what}: it runs only during deploys`);
      skipCheckov(
        node,
        'CKV_AWS_116',
        `A dead-letter queue is useless for ${what}: CloudFormation invokes it synchronously and sees its failure`,
      );
      skipCheckov(
        node,
        'CKV_AWS_117',
        `${what} calls only AWS APIs and holds no data; a VPC would only add a NAT dependency`,
      );
      skipCheckov(node, 'CKV_AWS_173', `The environment of ${what} holds no secret (set by the CDK)`);
    }
    if (node.cfnResourceType === 'AWS::IAM::Policy' || node.cfnResourceType === 'AWS::IAM::Role') {
      skipCheckov(node, 'CKV_AWS_111', `${what} must set retention on log groups whose names RDS generates`);
    }
    if (node.cfnResourceType === 'AWS::Lambda::Function') {
      ignoreCfnLint(node, 'W3005', `Redundant DependsOn emitted by the CDK for ${what}`);
    }
  }
}

/**
 * CDK grants (`grantRead`, `grantPublish`, …) write least-privilege statements into each role's own
 * inline policy. NIST's IAMNoInlinePolicy prefers managed policies, which other roles could attach;
 * an inline policy scoped to one role's needs is the narrower choice, so each is acknowledged.
 */
class InlineGrantPolicies implements IAspect {
  visit(node: IConstruct): void {
    if (node instanceof iam.CfnPolicy || (node instanceof iam.CfnRole && node.policies !== undefined)) {
      Validations.of(node).acknowledge({
        id: 'NIST.800.53.R5-IAMNoInlinePolicy',
        reason:
          'CDK grant: least-privilege statements inline on the one role that needs them, attachable to no other role',
      });
    }
  }
}

/** Installs the stack-wide exceptions: the CDK's internal helpers and CDK grant policies. */
export function acceptCdkInternals(stack: Stack): void {
  // MUTATING priority: these must run before cdk-nag's default-priority aspect copies acknowledgements
  // into the template metadata, or the report would miss them depending on aspect order.
  Aspects.of(stack).add(new CdkInternalExceptions(), { priority: AspectPriority.MUTATING });
  Aspects.of(stack).add(new InlineGrantPolicies(), { priority: AspectPriority.MUTATING });
}
