import { App } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { applyChecks } from '../lib/checks';
import { environments } from '../environments';
import { addGitHubOidcStacks, GitHubOidcStack, GitHubOidcStackProps } from '../lib/github-oidc-stack';

const ACCOUNT = '222222222222';
const PROPS: GitHubOidcStackProps = {
  env: { account: ACCOUNT, region: 'eu-west-1' },
  repository: 'acme/clever-better-infrastructure',
  githubEnvironment: 'production',
  appStackNames: ['ProductionStack'],
};

// The feature flags of cdk.json, as `cdk synth` applies them (partition literals, minimized policies).
const CDK_CONTEXT = JSON.parse(fs.readFileSync(path.join(__dirname, '..', 'cdk.json'), 'utf8')).context;

const dirs: string[] = [];
function tmpDir(): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'cb-oidc-'));
  dirs.push(dir);
  return dir;
}
afterAll(() => dirs.forEach((dir) => fs.rmSync(dir, { recursive: true, force: true })));

function build(overrides: Partial<GitHubOidcStackProps> = {}): {
  app: App;
  stack: GitHubOidcStack;
  template: Template;
} {
  // With aws-cdk-lib's CloudFormation validation (cdk.json's validateAgainstDefaultRules: a finding
  // fails the synth), so each variant is validated too; its engine is built once per file.
  const app = new App({ outdir: tmpDir(), context: CDK_CONTEXT });
  const stack = new GitHubOidcStack(app, 'ProductionGitHubOidc', { ...PROPS, ...overrides });
  return { app, stack, template: Template.fromStack(stack) };
}

const trust = (sub: string) => ({
  AssumeRolePolicyDocument: {
    Version: '2012-10-17',
    Statement: [
      {
        Action: 'sts:AssumeRoleWithWebIdentity',
        Effect: 'Allow',
        Principal: { Federated: Match.anyValue() },
        Condition: {
          StringEquals: {
            'token.actions.githubusercontent.com:aud': 'sts.amazonaws.com',
            'token.actions.githubusercontent.com:sub': sub,
          },
        },
      },
    ],
  },
});

const bootstrapRole = (kind: string) =>
  `arn:aws:iam::${ACCOUNT}:role/cdk-hnb659fds-${kind}-role-${ACCOUNT}-eu-west-1`;

describe('GitHub OIDC stack', () => {
  const { template } = build();

  test("creates GitHub's OIDC provider for the sts.amazonaws.com audience", () => {
    template.resourceCountIs('AWS::IAM::OIDCProvider', 1);
    template.hasResourceProperties('AWS::IAM::OIDCProvider', {
      Url: 'https://token.actions.githubusercontent.com',
      ClientIdList: ['sts.amazonaws.com'],
    });
  });

  test('the deploy role trusts only deploy-stack.yml run from main in the GitHub environment', () => {
    template.hasResourceProperties('AWS::IAM::Role', {
      RoleName: 'clever-better-github-deploy',
      ...trust(
        'repo:acme/clever-better-infrastructure:environment:production:ref:refs/heads/main:job_workflow_ref:' +
          'acme/clever-better-infrastructure/.github/workflows/deploy-stack.yml@refs/heads/main',
      ),
    });
  });

  test('pins another deploy branch when configured', () => {
    build({ deployBranch: 'release' }).template.hasResourceProperties('AWS::IAM::Role', {
      RoleName: 'clever-better-github-deploy',
      ...trust(
        'repo:acme/clever-better-infrastructure:environment:production:ref:refs/heads/release:job_workflow_ref:' +
          'acme/clever-better-infrastructure/.github/workflows/deploy-stack.yml@refs/heads/release',
      ),
    });
  });

  test('the deploy role may only assume the four CDK bootstrap roles of its account and region', () => {
    template.hasResourceProperties('AWS::IAM::Policy', {
      Roles: [{ Ref: Match.stringLikeRegexp('^DeployRole') }],
      PolicyDocument: {
        Version: '2012-10-17',
        Statement: [
          {
            Sid: 'AssumeCdkBootstrapRoles',
            Effect: 'Allow',
            Action: ['sts:AssumeRole', 'sts:TagSession'],
            Resource: ['deploy', 'file-publishing', 'image-publishing', 'lookup'].map(bootstrapRole),
          },
        ],
      },
    });
  });

  test('the diff role trusts only the default-branch workflow_run job, never a pull_request job', () => {
    template.hasResourceProperties('AWS::IAM::Role', {
      RoleName: 'clever-better-github-diff',
      ...trust(
        'repo:acme/clever-better-infrastructure:ref:refs/heads/main:ref:refs/heads/main:job_workflow_ref:' +
          'acme/clever-better-infrastructure/.github/workflows/pr-deployed-diff.yml@refs/heads/main',
      ),
    });
  });

  test("the diff role may only read the app stack's template and status: no route to the lookup role", () => {
    template.hasResourceProperties('AWS::IAM::Policy', {
      Roles: [{ Ref: Match.stringLikeRegexp('^DiffRole') }],
      PolicyDocument: {
        Version: '2012-10-17',
        Statement: [
          {
            Sid: 'ReadAppStackTemplates',
            Effect: 'Allow',
            Action: ['cloudformation:DescribeStacks', 'cloudformation:GetTemplate'],
            Resource: `arn:aws:cloudformation:eu-west-1:${ACCOUNT}:stack/ProductionStack/*`,
          },
        ],
      },
    });
  });

  test('has no other role, policy, user or access key', () => {
    template.resourceCountIs('AWS::IAM::Role', 2);
    template.resourceCountIs('AWS::IAM::Policy', 2);
    template.resourceCountIs('AWS::IAM::ManagedPolicy', 0);
    template.resourceCountIs('AWS::IAM::User', 0);
    template.resourceCountIs('AWS::IAM::AccessKey', 0);
  });

  test('outputs the role ARNs the workflows are configured with', () => {
    template.hasOutput(
      'DeployRoleArn',
      Match.objectLike({ Value: { 'Fn::GetAtt': [Match.stringLikeRegexp('^DeployRole'), 'Arn'] } }),
    );
    template.hasOutput('DiffRoleArn', Match.anyValue());
  });

  test("uses the account's existing provider instead of creating a second one", () => {
    const arn = `arn:aws:iam::${ACCOUNT}:oidc-provider/token.actions.githubusercontent.com`;
    const t = build({ existingProviderArn: arn }).template;
    t.resourceCountIs('AWS::IAM::OIDCProvider', 0);
    t.hasResourceProperties('AWS::IAM::Role', {
      AssumeRolePolicyDocument: { Statement: [Match.objectLike({ Principal: { Federated: arn } })] },
    });
  });

  test('accepts the immutable subject form owner@id/repo@id', () => {
    build({ repository: 'acme@123456/infra@789012' }).template.hasResourceProperties(
      'AWS::IAM::Role',
      trust(
        'repo:acme@123456/infra@789012:environment:production:ref:refs/heads/main:job_workflow_ref:' +
          'acme/infra/.github/workflows/deploy-stack.yml@refs/heads/main',
      ),
    );
  });

  test('outputs the one-time gh api call that customises the subject claim', () => {
    template.hasOutput('SubjectClaimSetup', {
      Value:
        'gh api --method PUT repos/acme/clever-better-infrastructure/actions/oidc/customization/sub ' +
        "-F use_default=false -f 'include_claim_keys[]=repo' -f 'include_claim_keys[]=context' " +
        "-f 'include_claim_keys[]=ref' -f 'include_claim_keys[]=job_workflow_ref'",
    });
  });

  test.each([
    [{ repository: 'acme' }, /repository = "acme": not owner\/repo. Fix: -c githubRepository=/],
    [{ repository: 'acme/*' }, /repository = "acme\/\*"/],
    [{ githubEnvironment: 'prod*' }, /githubEnvironment = "prod\*"/],
    [
      { env: { account: '2222', region: 'eu-west-1' } },
      /env.account = "2222": .* Fix: set it in environments\//,
    ],
    [{ appStackNames: [] }, /appStackNames is empty/],
    [{ deployBranch: 'main*' }, /deployBranch = "main\*": not a branch name/],
  ])('fails on bad config %j, naming the field, value and fix', (overrides, message) => {
    expect(() => build(overrides as Partial<GitHubOidcStackProps>)).toThrow(message);
  });

  test('passes cdk-nag AwsSolutions and the CloudFormation validation with nothing unacknowledged', () => {
    // One synthesis with the checks, its messages read as Annotations.fromStack does (which would
    // synthesize the app, checks and all, again per call). cdk.json's validateAgainstDefaultRules:
    // a validation finding fails the synth.
    const app = new App({ outdir: tmpDir(), context: CDK_CONTEXT });
    const stack = new GitHubOidcStack(app, 'ProductionGitHubOidc', PROPS);
    applyChecks(app);
    const loud = app
      .synth()
      .getStackArtifact(stack.artifactId)
      .messages.filter((m) => m.level === 'error' || m.level === 'warning')
      .map((m) => `${m.level} at ${m.id}: ${String(m.entry.data)}`);
    expect(loud).toEqual([]);
  });
});

// GitHub docs, "About security hardening with OpenID Connect" / "Customizing the subject claims":
// the default subject of an environment job has no branch, so only a customised subject with
// job_workflow_ref pins the workflow file and the ref it ran from.
describe('the OIDC app of every environment', () => {
  const app = new App({
    outdir: tmpDir(),
    context: CDK_CONTEXT,
  });
  const stacks = addGitHubOidcStacks(app, environments, { repository: 'acme/infra' });
  const roles = stacks.flatMap((stack) =>
    Object.entries(Template.fromStack(stack).findResources('AWS::IAM::Role')).map(([id, role]) => ({
      stack,
      id,
      role,
    })),
  );

  test('every GitHub trust pins a workflow file and refs/heads/main with StringEquals, no wildcard', () => {
    let checked = 0;
    for (const { id, role } of roles) {
      for (const statement of role.Properties.AssumeRolePolicyDocument.Statement) {
        expect(Object.keys(statement.Condition)).toEqual(['StringEquals']);
        const sub = statement.Condition.StringEquals['token.actions.githubusercontent.com:sub'] as string;
        expect({ id, sub }).toEqual({
          id,
          sub: expect.stringMatching(
            /^repo:acme\/infra:(environment:[a-z]+|ref:refs\/heads\/main):ref:refs\/heads\/main:job_workflow_ref:acme\/infra\/\.github\/workflows\/[a-z-]+\.yml@refs\/heads\/main$/,
          ),
        });
        checked++;
      }
    }
    expect(checked).toBe(2 * environments.length);
  });

  test('the pull-request diff role can call nothing but GetTemplate and DescribeStacks (no sts:AssumeRole)', () => {
    let checked = 0;
    for (const stack of stacks) {
      const policies = Template.fromStack(stack).findResources('AWS::IAM::Policy');
      for (const policy of Object.values(policies)) {
        if (!JSON.stringify(policy.Properties.Roles).includes('DiffRole')) continue;
        for (const statement of policy.Properties.PolicyDocument.Statement) {
          for (const action of [statement.Action].flat()) {
            expect(['cloudformation:GetTemplate', 'cloudformation:DescribeStacks']).toContain(action);
            checked++;
          }
        }
      }
    }
    expect(checked).toBe(2 * environments.length);
  });
});
