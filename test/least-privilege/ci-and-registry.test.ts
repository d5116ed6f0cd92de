/**
 * The CI roles (the OIDC app) and the registry stacks, simulated like the environment stacks
 * (test/least-privilege/simulation.test.ts): GitHub's token against each role's trust, what each
 * role then does (derived from the workflows and the CDK's bootstrap role names), what it must never
 * do, and ECR replication between the environments' registries.
 */
import { App, DefaultStackSynthesizer } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { environments } from '../../environments';
import {
  addGitHubOidcStacks,
  DEFAULT_BOOTSTRAP_QUALIFIER,
  DEFAULT_GITHUB_REPOSITORY,
  DEPLOY_ROLE_NAME,
  DEPLOY_WORKFLOW,
  DIFF_ROLE_NAME,
  DIFF_WORKFLOW,
  GITHUB_OIDC_AUDIENCE,
  GITHUB_OIDC_HOST,
  subjectOf,
} from '../../lib/github-oidc-stack';
import { registryStackName } from '../../lib/stack-names';
import { ENVIRONMENT_NAMES, synthesized, synthesizedRegistry } from '../helpers/app';
import { roleActor } from './simulation/actors';
import { Actor, Request, simulateAll, unexpected } from './simulation/simulate';
import { ROOT } from './simulation/source-calls';
import { Policies, World } from './simulation/world';

const FOREIGN_ACCOUNT = '999999999999';
const CDK_CONTEXT = JSON.parse(fs.readFileSync(path.join(ROOT, 'cdk.json'), 'utf8')).context;

const outdir = fs.mkdtempSync(path.join(os.tmpdir(), 'cb-ci-rights-'));
afterAll(() => fs.rmSync(outdir, { recursive: true, force: true }));
// Only the roles are simulated here; github-oidc.test.ts synthesizes these stacks with aws-cdk-lib's
// CloudFormation validation on. Without it this synthesis skips building the validator's wasm
// engine (4 s of this file's 5).
const oidcStacks = addGitHubOidcStacks(
  new App({ outdir, context: CDK_CONTEXT, builtinCloudFormationValidation: false }),
  environments,
  { repository: DEFAULT_GITHUB_REPOSITORY },
);

/** The bootstrap roles the CDK CLI assumes to deploy (DefaultStackSynthesizer's defaults). */
const CLI_ROLES = [
  DefaultStackSynthesizer.DEFAULT_DEPLOY_ROLE_ARN,
  DefaultStackSynthesizer.DEFAULT_FILE_ASSET_PUBLISHING_ROLE_ARN,
  DefaultStackSynthesizer.DEFAULT_IMAGE_ASSET_PUBLISHING_ROLE_ARN,
  DefaultStackSynthesizer.DEFAULT_LOOKUP_ROLE_ARN,
];
const bootstrapRole = (template: string, account: string, region: string) =>
  template
    .replace('${AWS::Partition}', 'aws')
    .replaceAll('${AWS::AccountId}', account)
    .replace('${AWS::Region}', region)
    .replace('${Qualifier}', DEFAULT_BOOTSTRAP_QUALIFIER);

/** `aws <service> <command>` calls of a workflow file, as IAM actions. */
function workflowActions(file: string): string[] {
  const text = fs.readFileSync(path.join(ROOT, file), 'utf8');
  return [...text.matchAll(/\baws (cloudformation|sts|secretsmanager|ecr|ecs) ([a-z-]+)/g)].map(
    (m) => `${m[1]}:${m[2].replace(/(^|-)(\w)/g, (_x, _d, c: string) => c.toUpperCase())}`,
  );
}

describe.each(ENVIRONMENT_NAMES)('%s: GitHub OIDC roles, simulated', (name) => {
  const env = environments.find((e) => e.name === name)!;
  const stack = oidcStacks.find((s) => s.stackName.toLowerCase().startsWith(name))!;
  const world = new World(Template.fromStack(stack).toJSON(), {
    stackName: stack.stackName,
    account: env.account,
    region: env.region,
  });
  const policies = new Policies(world);
  // The stack's name, account and region are its config's (no construct tree needed).
  const appWorld = new World(synthesized(name).template.toJSON(), env);
  const worlds = [policies, new Policies(appWorld)];
  const role = (roleName: string) => world.ofType('AWS::IAM::Role').find((r) => r.name === roleName)!;
  const provider = world.ofType('AWS::IAM::OIDCProvider')[0].arn!;
  const github: Actor = { name: 'GitHub OIDC token', principal: provider, identityPolicies: [] };
  const repo = DEFAULT_GITHUB_REPOSITORY;
  const token = (claims: {
    context: string;
    ref: string;
    workflow: string;
    repository?: string;
  }): Request => ({
    action: 'sts:AssumeRoleWithWebIdentity',
    resource: '',
    context: {
      [`${GITHUB_OIDC_HOST}:aud`]: GITHUB_OIDC_AUDIENCE,
      [`${GITHUB_OIDC_HOST}:sub`]: subjectOf({
        repo: claims.repository ?? repo,
        context: claims.context,
        ref: claims.ref,
        job_workflow_ref: `${claims.repository ?? repo}/${claims.workflow}`,
      }),
    },
    from: `job ${claims.workflow} from ${claims.ref} (${claims.context})`,
  });
  const on = (r: Request, roleName: string): Request => ({ ...r, resource: role(roleName).arn! });

  test('the deploy job on main in its environment gets the deploy role; the diff job on main gets the diff role', async () => {
    const outcomes = await simulateAll(worlds, github, [
      on(
        token({
          context: `environment:${name}`,
          ref: 'refs/heads/main',
          workflow: `${DEPLOY_WORKFLOW}@refs/heads/main`,
        }),
        DEPLOY_ROLE_NAME,
      ),
      on(
        token({
          context: 'ref:refs/heads/main',
          ref: 'refs/heads/main',
          workflow: `${DIFF_WORKFLOW}@refs/heads/main`,
        }),
        DIFF_ROLE_NAME,
      ),
    ]);
    expect(unexpected(outcomes, 'Allowed')).toEqual([]);
  });

  test('a feature branch calling deploy-stack.yml@main in the same environment is refused', async () => {
    // GitHub docs, "Using OpenID Connect with reusable workflows": job_workflow_ref is the called
    // workflow at the ref the caller chose; only `ref` is the caller's branch.
    const outcomes = await simulateAll(worlds, github, [
      on(
        token({
          context: `environment:${name}`,
          ref: 'refs/heads/feature/x',
          workflow: `${DEPLOY_WORKFLOW}@refs/heads/main`,
        }),
        DEPLOY_ROLE_NAME,
      ),
      on(
        token({
          context: 'ref:refs/heads/feature/x',
          ref: 'refs/heads/feature/x',
          workflow: `${DIFF_WORKFLOW}@refs/heads/main`,
        }),
        DIFF_ROLE_NAME,
      ),
    ]);
    expect(unexpected(outcomes, 'Denied')).toEqual([]);
  });

  test('another environment, another workflow, another repository, another branch: refused', async () => {
    const other = name === 'production' ? 'staging' : 'production';
    const outcomes = await simulateAll(worlds, github, [
      on(
        token({
          context: `environment:${other}`,
          ref: 'refs/heads/main',
          workflow: `${DEPLOY_WORKFLOW}@refs/heads/main`,
        }),
        DEPLOY_ROLE_NAME,
      ),
      on(
        token({
          context: `environment:${name}`,
          ref: 'refs/heads/main',
          workflow: '.github/workflows/pr.yml@refs/heads/main',
        }),
        DEPLOY_ROLE_NAME,
      ),
      on(
        token({
          context: `environment:${name}`,
          ref: 'refs/heads/main',
          workflow: `${DEPLOY_WORKFLOW}@refs/heads/main`,
          repository: 'someone/fork',
        }),
        DEPLOY_ROLE_NAME,
      ),
      on(
        token({
          context: `environment:${name}`,
          ref: 'refs/heads/x',
          workflow: `${DEPLOY_WORKFLOW}@refs/heads/x`,
        }),
        DEPLOY_ROLE_NAME,
      ),
      on(
        token({
          context: `environment:${name}`,
          ref: 'refs/heads/main',
          workflow: `${DEPLOY_WORKFLOW}@refs/heads/main`,
        }),
        DIFF_ROLE_NAME,
      ),
    ]);
    expect(unexpected(outcomes, 'Denied')).toEqual([]);
  });

  test('the deploy role may assume exactly the bootstrap roles the CDK CLI uses, nothing else', async () => {
    const actor = roleActor(policies, role(DEPLOY_ROLE_NAME), `${name} CI deploy role`);
    const allow = CLI_ROLES.map((t) => ({
      action: 'sts:AssumeRole',
      resource: bootstrapRole(t, env.account, env.region),
      from: 'the CDK CLI',
    }));
    const secrets = appWorld.ofType('AWS::SecretsManager::Secret').map((s) => s.arn!);
    const deny = [
      {
        action: 'sts:AssumeRole',
        resource: bootstrapRole(
          DefaultStackSynthesizer.DEFAULT_CLOUDFORMATION_ROLE_ARN,
          env.account,
          env.region,
        ),
        from: 'CloudFormation assumes it, not the CLI',
      },
      ...secrets.map((resource) => ({
        action: 'secretsmanager:GetSecretValue',
        resource,
        from: 'a deploy reads no secret itself',
      })),
      {
        action: 'lambda:InvokeFunction',
        resource: appWorld.named(appWorld.outputs.EmergencyStopFunctionName)!.arn!,
        from: 'no function',
      },
    ];
    expect(unexpected(await simulateAll(worlds, actor, allow), 'Allowed')).toEqual([]);
    expect(unexpected(await simulateAll(worlds, actor, deny), 'Denied')).toEqual([]);
  });

  test('the diff role makes the calls of pr-deployed-diff.yml on its stack, reads no secret value, assumes no role', async () => {
    const actor = roleActor(policies, role(DIFF_ROLE_NAME), `${name} CI diff role`);
    const actions = workflowActions(DIFF_WORKFLOW);
    expect(actions).toContain('cloudformation:GetTemplate');
    const stackArn = appWorld.arn('cloudformation', `stack/${env.stackName}/example-id`);
    const allow = actions.map((action) => ({ action, resource: stackArn, from: DIFF_WORKFLOW }));
    const deny = [
      ...appWorld.ofType('AWS::SecretsManager::Secret').map((s) => ({
        action: 'secretsmanager:GetSecretValue',
        resource: s.arn!,
        from: 'reads no secret value',
      })),
      ...CLI_ROLES.map((t) => ({
        action: 'sts:AssumeRole',
        resource: bootstrapRole(t, env.account, env.region),
        from: 'no route to the lookup role',
      })),
      {
        action: 'cloudformation:GetTemplate',
        resource: appWorld.arn('cloudformation', `stack/${env.stackName}Other/example-id`),
        from: 'another stack',
      },
    ];
    expect(unexpected(await simulateAll(worlds, actor, allow), 'Allowed')).toEqual([]);
    expect(unexpected(await simulateAll(worlds, actor, deny), 'Denied')).toEqual([]);
  });
});

describe('registries: ECR replication between the environments, simulated', () => {
  const registries = ENVIRONMENT_NAMES.map((name) => {
    const env = environments.find((e) => e.name === name)!;
    const { template } = synthesizedRegistry(name);
    return new Policies(new World(template.toJSON(), { ...env, stackName: registryStackName(env) }));
  });

  /** Each replication rule of a source registry: the source account replicating into each destination repository. */
  const replications = () =>
    registries.flatMap((source) =>
      source.world.ofType('AWS::ECR::ReplicationConfiguration').flatMap((r) => {
        const rules = (
          r.properties.ReplicationConfiguration as {
            Rules: { Destinations: { RegistryId: string }[]; RepositoryFilters: { Filter: string }[] }[];
          }
        ).Rules;
        return rules.flatMap((rule) =>
          rule.Destinations.flatMap((d) => {
            const destination = registries.find((w) => w.world.account === d.RegistryId)!;
            return destination.world
              .ofType('AWS::ECR::Repository')
              .filter((repo) => rule.RepositoryFilters.some((f) => repo.name!.startsWith(f.Filter)))
              .map((repo) => ({
                source: source.world.account,
                request: {
                  action: 'ecr:ReplicateImage',
                  resource: repo.arn!,
                  from: `${source.world.stackName} ${r.logicalId}`,
                },
              }));
          }),
        );
      }),
    );
  // An account's root has every right within its own account; the destination's policy decides.
  const account = (id: string): Actor => ({
    name: `account ${id} (its registry)`,
    principal: `arn:aws:iam::${id}:root`,
    identityPolicies: [
      {
        name: 'root',
        policy: { Version: '2012-10-17', Statement: [{ Effect: 'Allow', Action: '*', Resource: '*' }] },
      },
    ],
  });

  test('every replication rule is allowed by the destination registry', async () => {
    const all = replications();
    expect(all.length).toBeGreaterThan(0);
    for (const { source, request } of all)
      expect(unexpected(await simulateAll(registries, account(source), [request]), 'Allowed')).toEqual([]);
  });

  test('replication from any other account is refused, and pulling across accounts too', async () => {
    const all = replications();
    const failures: string[] = [];
    for (const { request } of all) {
      failures.push(
        ...unexpected(await simulateAll(registries, account(FOREIGN_ACCOUNT), [request]), 'Denied'),
      );
      const anyRights: Actor = {
        ...account(FOREIGN_ACCOUNT),
        principal: `arn:aws:iam::${FOREIGN_ACCOUNT}:role/x`,
        identityPolicies: [
          {
            name: 'all',
            policy: { Version: '2012-10-17', Statement: [{ Effect: 'Allow', Action: '*', Resource: '*' }] },
          },
        ],
      };
      failures.push(
        ...unexpected(
          await simulateAll(registries, anyRights, [
            { ...request, action: 'ecr:BatchGetImage' },
            { ...request, action: 'ecr:PutImage' },
          ]),
          'Denied',
        ),
      );
    }
    // The sending registry receives from nobody: its repositories refuse the receiver's account.
    for (const w of registries.filter((r) => r.world.ofType('AWS::ECR::ReplicationConfiguration').length > 0))
      for (const repo of w.world.ofType('AWS::ECR::Repository'))
        for (const other of registries.filter((o) => o !== w))
          failures.push(
            ...unexpected(
              await simulateAll(registries, account(other.world.account), [
                { action: 'ecr:ReplicateImage', resource: repo.arn!, from: 'reverse' },
              ]),
              'Denied',
            ),
          );
    expect(failures).toEqual([]);
  });
});
