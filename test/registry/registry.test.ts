import { Match, Template } from 'aws-cdk-lib/assertions';
import { CloudAssembly } from 'aws-cdk-lib/cx-api';
import { environments, production, staging } from '../../environments';
import { EnvironmentConfig } from '../../environments/types';
import { registryStackName } from '../../lib/app';
import { CleverBetterStack } from '../../lib/clever-better-stack';
import { RegistryStack } from '../../lib/registry-stack';
import { buildApp, ENVIRONMENT_NAMES } from '../helpers/app';
import { sharedAssemblyDir } from '../helpers/shared-assembly';

const configs = { staging, production };

// The templates come from the run's one synthesis of the app; the constructs (for their accounts
// and configs) from one build of the app for this file.
const built = buildApp(environments);
const registries: RegistryStack[] = built.registries;
const stacks: CleverBetterStack[] = built.stacks;
let assembly: CloudAssembly;
beforeAll(() => {
  assembly = new CloudAssembly(sharedAssemblyDir());
});

const resourcesOf = (stackName: string) => assembly.getStackByName(stackName).template.Resources as Resources;
const templateOf = (stackName: string) => Template.fromJSON(assembly.getStackByName(stackName).template);
const registryOf = (name: 'staging' | 'production') => templateOf(registryStackName(configs[name]));

// Template JSON: each test narrows what it reads.
// eslint-disable-next-line @typescript-eslint/no-explicit-any
type Json = any;
type Resources = Record<string, { Type: string; Properties?: Record<string, Json> }>;

/** Repository name of an ECR image reference, whether a literal or a CDK `Fn::Join` around URLSuffix. */
function repositoryOfImage(image: unknown): string | undefined {
  const text = typeof image === 'string' ? image : JSON.stringify(image);
  return /\/([a-z0-9._/-]+?)(?:[:@][^"/]*)?"?\]*\}?$/.exec(text.replace(/"\]\]\}$/, '"'))?.[1];
}

function imagesOf(resources: Resources): { logicalId: string; image: unknown }[] {
  return Object.entries(resources)
    .filter(([, r]) => r.Type === 'AWS::ECS::TaskDefinition')
    .flatMap(([logicalId, r]) =>
      (r.Properties!.ContainerDefinitions as { Image: unknown }[]).map((c) => ({
        logicalId,
        image: c.Image,
      })),
    );
}

describe.each(ENVIRONMENT_NAMES)('%s registry stack', (name) => {
  test.each(['clever-better-bot', 'clever-better-ml'])(
    '%s: immutable tags, scan on push, retained except when its own creation rolls back',
    (repo) => {
      registryOf(name).hasResource('AWS::ECR::Repository', {
        Properties: Match.objectLike({
          RepositoryName: repo,
          ImageTagMutability: 'IMMUTABLE',
          ImageScanningConfiguration: { ScanOnPush: true },
        }),
        // RETAIN_ON_UPDATE_OR_DELETE: a failed first create must not leave the fixed name taken.
        DeletionPolicy: 'RetainExceptOnCreate',
        UpdateReplacePolicy: 'Retain',
      });
    },
  );

  test('the lifecycle rule keeps the configured number of images for rollbacks', () => {
    const repos = Object.values(registryOf(name).findResources('AWS::ECR::Repository'));
    expect(repos).toHaveLength(2);
    for (const repo of repos) {
      const rules = JSON.parse(repo.Properties.LifecyclePolicy.LifecyclePolicyText).rules;
      expect(rules).toContainEqual(
        expect.objectContaining({
          selection: expect.objectContaining({
            tagStatus: 'any',
            countType: 'imageCountMoreThan',
            countNumber: configs[name].ecrImagesToKeep,
          }),
        }),
      );
    }
  });
});

describe('images are promoted from staging to production by ECR replication', () => {
  test("staging's registry replicates both repositories to production's account and region", () => {
    const template = registryOf('staging');
    template.resourceCountIs('AWS::ECR::ReplicationConfiguration', 1);
    template.hasResourceProperties('AWS::ECR::ReplicationConfiguration', {
      ReplicationConfiguration: {
        Rules: [
          {
            Destinations: [{ Region: production.region, RegistryId: production.account }],
            RepositoryFilters: [
              { Filter: 'clever-better-bot', FilterType: 'PREFIX_MATCH' },
              { Filter: 'clever-better-ml', FilterType: 'PREFIX_MATCH' },
            ],
          },
        ],
      },
    });
    registryOf('production').resourceCountIs('AWS::ECR::ReplicationConfiguration', 0);
  });

  /**
   * AWS: "the destination registry must grant the source registry permission to replicate"
   * (https://docs.aws.amazon.com/AmazonECR/latest/userguide/registry-permissions-create-replication.html).
   * Walks every replication rule of every registry stack and finds the destination's policy.
   */
  test('every replication destination has a registry policy letting the source account replicate each matched repository', () => {
    let checked = 0;
    for (const source of registries) {
      const resources = resourcesOf(source.stackName);
      for (const r of Object.values(resources).filter(
        (x) => x.Type === 'AWS::ECR::ReplicationConfiguration',
      )) {
        for (const rule of r.Properties!.ReplicationConfiguration.Rules) {
          for (const dest of rule.Destinations) {
            const target = registries.find((s) => s.account === dest.RegistryId && s.region === dest.Region);
            expect(target).toBeDefined();
            const targetResources = resourcesOf(target!.stackName);
            const repos = Object.values(targetResources)
              .filter((x) => x.Type === 'AWS::ECR::Repository')
              .map((x) => x.Properties!.RepositoryName as string);
            const policies = Object.values(targetResources).filter(
              (x) => x.Type === 'AWS::ECR::RegistryPolicy',
            );
            expect(policies).toHaveLength(1);
            const statements = policies[0].Properties!.PolicyText.Statement as Record<string, Json>[];
            for (const filter of rule.RepositoryFilters) {
              const matched = repos.filter((repo) => repo.startsWith(filter.Filter));
              expect(matched.length).toBeGreaterThan(0);
              for (const repo of matched) {
                const arn = `arn:aws:ecr:${dest.Region}:${dest.RegistryId}:repository/${repo}`;
                const allowed = statements.some(
                  (st) =>
                    st.Effect === 'Allow' &&
                    [st.Action].flat().includes('ecr:ReplicateImage') &&
                    [st.Principal.AWS].flat().includes(`arn:aws:iam::${source.account}:root`) &&
                    JSON.stringify([st.Resource].flat()).includes(`repository/${repo}`) &&
                    JSON.stringify(st.Resource).includes(dest.RegistryId),
                );
                expect({ arn, allowed }).toEqual({ arn, allowed: true });
                checked++;
              }
            }
          }
        }
      }
    }
    expect(checked).toBeGreaterThanOrEqual(2);
  });
});

describe('no template both creates a repository and runs a task from it', () => {
  /**
   * ECS pulls the image when a task starts; a repository created in the same deploy is empty, the
   * tasks fail with CannotPullContainerError
   * (https://docs.aws.amazon.com/AmazonECS/latest/developerguide/stopped-task-error-codes.html), the
   * circuit breaker trips and CloudFormation rolls the whole stack back. Walks every stack of the app.
   */
  test('every stack that runs images only pulls from repositories another stack creates, and depends on that stack', () => {
    const all = [...registries, ...stacks];
    const creators = new Map<string, string[]>();
    let images = 0;
    for (const stack of all) {
      const resources = resourcesOf(stack.stackName);
      const created = Object.values(resources)
        .filter((r) => r.Type === 'AWS::ECR::Repository')
        .map((r) => r.Properties!.RepositoryName as string);
      for (const repo of created)
        creators.set(`${stack.account}/${repo}`, [
          ...(creators.get(`${stack.account}/${repo}`) ?? []),
          stack.stackName,
        ]);
      for (const { logicalId, image } of imagesOf(resources)) {
        images++;
        const text = JSON.stringify(image);
        // The image may not reference a repository resource of its own template at all.
        for (const [id, r] of Object.entries(resources))
          if (r.Type === 'AWS::ECR::Repository') expect(`${logicalId} → ${text}`).not.toContain(`"${id}"`);
        const repo = repositoryOfImage(image);
        expect({ logicalId, repo, created }).toEqual({
          logicalId,
          repo: expect.any(String),
          created: expect.not.arrayContaining([repo]),
        });
      }
    }
    expect(images).toBeGreaterThanOrEqual(4);
    expect(creators.size).toBeGreaterThanOrEqual(4);
    for (const stack of stacks) {
      for (const { image } of imagesOf(resourcesOf(stack.stackName))) {
        const owners = creators.get(`${stack.account}/${repositoryOfImage(image)}`) ?? [];
        expect(owners).toHaveLength(1);
        expect(stack.dependencies.map((d) => d.stackName)).toContain(owners[0]);
      }
    }
  });

  test('the cloud assembly deploys each registry stack before its environment stack (a plain `cdk deploy StagingStack` includes it)', () => {
    for (const env of environments) {
      const deps = assembly.getStackByName(env.stackName).dependencies.map((d) => d.id);
      expect(deps).toContain(registryStackName(env));
    }
  });
});

describe('production runs images by digest', () => {
  /** ECS accepts `repository@sha256:<digest>` (https://docs.aws.amazon.com/AmazonECS/latest/APIReference/API_ContainerDefinition.html, "image"). */
  test('every container of an environment that requires digests pulls repository@sha256:<64 hex>, with the tag as a label', () => {
    let checked = 0;
    for (const stack of stacks.filter((s) => s.config.requireImageDigests)) {
      const resources = resourcesOf(stack.stackName);
      for (const [id, r] of Object.entries(resources).filter(
        ([, x]) => x.Type === 'AWS::ECS::TaskDefinition',
      )) {
        for (const c of r.Properties!.ContainerDefinitions) {
          expect({ id, image: JSON.stringify(c.Image) }).toEqual({
            id,
            image: expect.stringMatching(/@sha256:[0-9a-f]{64}"\]\]\}$/),
          });
          expect(c.DockerLabels['org.opencontainers.image.version']).toMatch(/^v/);
          checked++;
        }
      }
    }
    expect(checked).toBeGreaterThanOrEqual(2);
  });

  test('staging, which promotes, may still run tags', () => {
    expect((staging as EnvironmentConfig).requireImageDigests).toBe(false);
    expect(production.requireImageDigests).toBe(true);
  });
});
