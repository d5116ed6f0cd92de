import { Arn, CfnOutput, Duration, Stack, StackProps, Token, Validations } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import { Construct } from 'constructs';
import type { EnvironmentConfig } from '../environments/types';

/** GitHub's OIDC issuer. */
export const GITHUB_OIDC_HOST = 'token.actions.githubusercontent.com';
/** The audience `aws-actions/configure-aws-credentials` asks GitHub for. */
export const GITHUB_OIDC_AUDIENCE = 'sts.amazonaws.com';
/**
 * The repository the roles trust, as it appears in the token's `sub` claim. A placeholder like the
 * account ids in environments/: set the real one here or with `-c githubRepository=<owner>/<repo>`.
 */
export const DEFAULT_GITHUB_REPOSITORY = 'clever-better/clever-better-infrastructure';
/** Fixed role names, because the workflows' `AWS_DEPLOY_ROLE_ARN` / `AWS_DIFF_ROLE_ARN` variables name them. */
export const DEPLOY_ROLE_NAME = 'clever-better-github-deploy';
export const DIFF_ROLE_NAME = 'clever-better-github-diff';
/** The workflow whose jobs deploy (called by deploy.yml), as `job_workflow_ref` names it. */
export const DEPLOY_WORKFLOW = '.github/workflows/deploy-stack.yml';
/**
 * The workflow whose job reads the deployed templates for pull-request diffs: a `workflow_run`
 * workflow, so it always runs the default branch's code, never the pull request's.
 */
export const DIFF_WORKFLOW = '.github/workflows/pr-deployed-diff.yml';
/**
 * The claims the repository's OIDC subject is customised to (docs/deployment.md "The subject claim
 * pins the branch and the workflow"): `context` keeps the environment (`environment:production`) or
 * the ref, `ref` adds the **caller's** ref, `job_workflow_ref` the called workflow file and the ref it
 * was called at. `job_workflow_ref` alone is not enough: for a reusable workflow it names the
 * workflow at the ref the caller chose, so a feature branch calling `deploy-stack.yml@main` in the
 * same environment would match (GitHub docs, "Using OpenID Connect with reusable workflows").
 */
export const SUBJECT_CLAIM_KEYS = ['repo', 'context', 'ref', 'job_workflow_ref'] as const;

/** The claims of one job that the customised subject is made of. */
export type SubjectClaims = Readonly<Record<(typeof SUBJECT_CLAIM_KEYS)[number], string>>;

/**
 * The `sub` GitHub issues for `claims` under the customised subject: each key as `key:value` in
 * {@link SUBJECT_CLAIM_KEYS} order, except `context`, whose value already says what it is
 * (`environment:production`, `ref:refs/heads/main`).
 */
export function subjectOf(claims: SubjectClaims): string {
  return SUBJECT_CLAIM_KEYS.map((k) => (k === 'context' ? claims[k] : `${k}:${claims[k]}`)).join(':');
}

/** The one-time `gh api` call that makes GitHub issue the subject these roles trust. */
export function subjectCustomisationCommand(repository: string): string {
  const keys = SUBJECT_CLAIM_KEYS.map((k) => `-f 'include_claim_keys[]=${k}'`).join(' ');
  return `gh api --method PUT repos/${plainRepository(repository)}/actions/oidc/customization/sub -F use_default=false ${keys}`;
}

/** `owner/repo` without the immutable ids (`owner@1/repo@2`): the form of `job_workflow_ref` and the REST API. */
function plainRepository(repository: string): string {
  return repository.replace(/@\d+/g, '');
}

/** The CDK's default bootstrap qualifier (`cdk bootstrap` without `--qualifier`). */
export const DEFAULT_BOOTSTRAP_QUALIFIER = 'hnb659fds';

/** Props of {@link GitHubOidcStack}. */
export interface GitHubOidcStackProps extends Omit<StackProps, 'env'> {
  /** Account and region of the environment; explicit, because the role ARNs are built from them. */
  readonly env: { readonly account: string; readonly region: string };
  /**
   * The repository as GitHub writes it in the token's `sub` claim: `owner/repo`, or
   * `owner@<org id>/repo@<repo id>` for repositories that emit immutable subject claims (created on or
   * after 15 July 2026, or opted in).
   */
  readonly repository: string;
  /** GitHub environment whose jobs may deploy (the deploy job's `environment:`), e.g. `production`. */
  readonly githubEnvironment: string;
  /**
   * The only branch deploys and the deployed-diff job may run from (`refs/heads/<branch>` in the
   * subject's `ref`, the caller's branch, and in its `job_workflow_ref`); the repository's default
   * branch. @default 'main'
   */
  readonly deployBranch?: string;
  /** The app's stacks in this account, which the diff role may read (`StagingStack`). */
  readonly appStackNames: readonly string[];
  /** Qualifier of the CDK bootstrap stack in this account. @default 'hnb659fds' */
  readonly bootstrapQualifier?: string;
  /**
   * ARN of the account's existing GitHub OIDC provider: IAM allows one provider per URL per account.
   * @default a new provider
   */
  readonly existingProviderArn?: string;
  /** Longest deploy session, in hours (an RDS Multi-AZ create can take most of an hour). @default 2 */
  readonly deploySessionHours?: number;
}

const REPOSITORY = /^[A-Za-z0-9-]+(@\d+)?\/[A-Za-z0-9._-]+(@\d+)?$/;
const ENVIRONMENT = /^[A-Za-z0-9._-]+$/;
const BRANCH = /^[A-Za-z0-9._/-]+$/;

/**
 * One account's access for GitHub Actions, without access keys: GitHub's OIDC provider and two
 * roles trusted only for this repository.
 *
 * - **deploy**: only jobs of `deploy-stack.yml` run from `deployBranch`, in the GitHub environment
 *   `githubEnvironment` (where required reviewers apply), may assume it; it may do nothing but
 *   assume the CDK bootstrap roles, which hold the actual deployment rights.
 * - **diff**: only the job of `pr-deployed-diff.yml` run from `deployBranch` (a `workflow_run`
 *   workflow: default-branch code, never the pull request's); it may read this account's app
 *   stacks' templates and status, nothing else (no route to the CDK lookup role).
 *
 * Both subjects need the repository's OIDC subject customisation ({@link subjectCustomisationCommand}).
 */
export class GitHubOidcStack extends Stack {
  readonly deployRole: iam.Role;
  readonly diffRole: iam.Role;
  readonly providerArn: string;

  constructor(scope: Construct, id: string, props: GitHubOidcStackProps) {
    super(scope, id, {
      description: `GitHub Actions OIDC roles for ${props.repository} (${props.githubEnvironment}): deploy and read-only diff`,
      ...props,
    });
    const { account, region } = props.env;
    const problems = [
      !REPOSITORY.test(props.repository) &&
        `repository = "${props.repository}": not owner/repo. Fix: -c githubRepository=<owner>/<repo> ` +
          '(or owner@<org id>/repo@<repo id> for immutable subject claims)',
      !ENVIRONMENT.test(props.githubEnvironment) &&
        `githubEnvironment = "${props.githubEnvironment}": not a GitHub environment name. Fix: e.g. "production"`,
      (Token.isUnresolved(account) || !/^\d{12}$/.test(account)) &&
        `env.account = "${account}": the role ARNs need the literal 12-digit account id. Fix: set it in environments/`,
      !BRANCH.test(props.deployBranch ?? 'main') &&
        `deployBranch = "${props.deployBranch}": not a branch name. Fix: e.g. "main"`,
      props.appStackNames.length === 0 &&
        'appStackNames is empty. Fix: name the stacks the diff role may read',
    ].filter((p): p is string => typeof p === 'string');
    if (problems.length)
      throw new Error(`Invalid GitHub OIDC configuration:\n  - ${problems.join('\n  - ')}`);

    const qualifier = props.bootstrapQualifier ?? DEFAULT_BOOTSTRAP_QUALIFIER;
    if (props.existingProviderArn) {
      this.providerArn = props.existingProviderArn;
    } else {
      const provider = new iam.OidcProviderNative(this, 'GitHubProvider', {
        url: `https://${GITHUB_OIDC_HOST}`,
        clientIds: [GITHUB_OIDC_AUDIENCE],
      });
      this.providerArn = provider.oidcProviderArn;
    }

    // StringEquals on both claims: no wildcard, so no other repository, branch, workflow or event
    // matches. The subject is the customised one: repo, context, then the workflow file and its ref.
    const branchRef = `refs/heads/${props.deployBranch ?? 'main'}`;
    const trustedFor = (context: string, workflow: string) =>
      new iam.WebIdentityPrincipal(this.providerArn, {
        StringEquals: {
          [`${GITHUB_OIDC_HOST}:aud`]: GITHUB_OIDC_AUDIENCE,
          [`${GITHUB_OIDC_HOST}:sub`]: subjectOf({
            repo: props.repository,
            context,
            // The caller's branch: a feature branch calling the workflow at @main has its own ref here.
            ref: branchRef,
            job_workflow_ref: `${plainRepository(props.repository)}/${workflow}@${branchRef}`,
          }),
        },
      });
    const bootstrapRole = (kind: string) =>
      Arn.format(
        {
          service: 'iam',
          region: '',
          account,
          resource: 'role',
          resourceName: `cdk-${qualifier}-${kind}-role-${account}-${region}`,
        },
        this,
      );

    this.deployRole = new iam.Role(this, 'DeployRole', {
      roleName: DEPLOY_ROLE_NAME,
      description: `GitHub Actions deploys from ${props.repository}, environment ${props.githubEnvironment}`,
      assumedBy: trustedFor(`environment:${props.githubEnvironment}`, DEPLOY_WORKFLOW),
      maxSessionDuration: Duration.hours(props.deploySessionHours ?? 2),
    });
    this.deployRole.addToPolicy(
      new iam.PolicyStatement({
        sid: 'AssumeCdkBootstrapRoles',
        // TagSession: the bootstrap roles' trust allows session tags, which the CDK CLI may pass.
        actions: ['sts:AssumeRole', 'sts:TagSession'],
        resources: ['deploy', 'file-publishing', 'image-publishing', 'lookup'].map(bootstrapRole),
      }),
    );

    this.diffRole = new iam.Role(this, 'DiffRole', {
      roleName: DIFF_ROLE_NAME,
      description: `GitHub Actions pull-request diffs of ${props.repository}: reads the stack templates only`,
      // A workflow_run job's context is the default branch it runs from.
      assumedBy: trustedFor(`ref:${branchRef}`, DIFF_WORKFLOW),
      maxSessionDuration: Duration.hours(1),
    });
    this.diffRole.addToPolicy(
      new iam.PolicyStatement({
        sid: 'ReadAppStackTemplates',
        actions: ['cloudformation:GetTemplate', 'cloudformation:DescribeStacks'],
        resources: props.appStackNames.map((name) =>
          Arn.format({ service: 'cloudformation', resource: 'stack', resourceName: `${name}/*` }, this),
        ),
      }),
    );
    for (const role of [this.deployRole, this.diffRole]) {
      Validations.of(role).acknowledge({
        id: 'NIST.800.53.R5-IAMNoInlinePolicy',
        reason:
          "The role's whole right set, inline on purpose: a managed policy could be attached to other principals",
      });
    }
    // The finding id carries the ARN as synth renders it: a literal partition when the region is known.
    const partition = Token.isUnresolved(this.partition) ? '<AWS::Partition>' : this.partition;
    for (const name of props.appStackNames) {
      Validations.of(this.diffRole).acknowledge({
        id: `AwsSolutions-IAM5[Resource::arn:${partition}:cloudformation:${region}:${account}:stack/${name}/*]`,
        reason:
          'A stack ARN ends in a generated id that changes when the stack is re-created; the name part is exact',
      });
    }

    new CfnOutput(this, 'DeployRoleArn', {
      value: this.deployRole.roleArn,
      description: `Set as the GitHub environment variable AWS_DEPLOY_ROLE_ARN of "${props.githubEnvironment}"`,
    });
    new CfnOutput(this, 'DiffRoleArn', {
      value: this.diffRole.roleArn,
      description: 'Optional: repository variable for deployed-stack diffs on pull requests',
    });
    new CfnOutput(this, 'ProviderArn', { value: this.providerArn, description: 'GitHub OIDC provider' });
    new CfnOutput(this, 'SubjectClaimSetup', {
      value: subjectCustomisationCommand(props.repository),
      description: 'Run once per repository: the roles trust only the customised subject claim',
    });
  }
}

/**
 * The OIDC app's stacks, one per environment account (`StagingGitHubOidc`, `ProductionGitHubOidc`),
 * as `bin/github-oidc.ts` deploys them.
 */
export function addGitHubOidcStacks(
  scope: Construct,
  configs: readonly EnvironmentConfig[],
  options: { readonly repository: string; readonly existingProviderArn?: string },
): GitHubOidcStack[] {
  return configs.map((config) => {
    const id = `${config.name[0].toUpperCase()}${config.name.slice(1)}GitHubOidc`;
    return new GitHubOidcStack(scope, id, {
      stackName: id,
      env: { account: config.account, region: config.region },
      repository: options.repository,
      githubEnvironment: config.name,
      appStackNames: [config.stackName],
      existingProviderArn:
        options.existingProviderArn?.split(':')[4] === config.account
          ? options.existingProviderArn
          : undefined,
    });
  });
}
