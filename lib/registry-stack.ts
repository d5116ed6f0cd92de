import { Stack, StackProps, Tags } from 'aws-cdk-lib';
import * as ecr from 'aws-cdk-lib/aws-ecr';
import { Construct } from 'constructs';
import { PinnedImage, Registry } from './registry';

/** Where images replicate to: another account's registry. */
export interface ReplicationTarget {
  /** Account id (12 digits) of the destination registry. */
  readonly account: string;
  /** Region of the destination registry. */
  readonly region: string;
}

/** Props of {@link RegistryStack}. */
export interface RegistryStackProps extends Omit<StackProps, 'env'> {
  /** Account (12 digits) whose registry this stack configures. */
  readonly account: string;
  /** Region of the registry. */
  readonly region: string;
  /** Repository of the bot image (`clever-better-bot`). */
  readonly botRepositoryName: string;
  /** Repository of the ML image (`clever-better-ml`). */
  readonly mlRepositoryName: string;
  /** Images kept per repository besides the released ones; older ones expire. */
  readonly imagesToKeep: number;
  /** Tag patterns of released images, all kept (ECR `tagPatternList` wildcards). */
  readonly releaseTagPatterns: readonly string[];
  /** Images environments pin from this registry: synthesis fails if the lifecycle could expire one. @default none */
  readonly pinnedImages?: readonly PinnedImage[];
  /** Protect the stack from `cdk destroy` / DeleteStack (the repositories are retained regardless). @default false */
  readonly terminationProtection?: boolean;
  /**
   * Registries this one replicates its two repositories to (`AWS::ECR::ReplicationConfiguration`).
   * @default none
   */
  readonly replicateTo?: readonly ReplicationTarget[];
  /**
   * Accounts allowed to replicate into this registry's two repositories (`AWS::ECR::RegistryPolicy`).
   * @default none
   */
  readonly acceptReplicationFrom?: readonly string[];
}

/**
 * One account's image registry, deployed before (and apart from) the stack whose services pull from
 * it: a stack that created a repository and started tasks from it in one deploy could never succeed
 * the first time (the repository is empty until someone pushes) and would roll the whole environment
 * back. Its repositories outlive every other stack.
 *
 * Promotion between accounts is ECR's own cross-account replication: the source registry holds the
 * replication rule, the destination registry a policy that lets the source account replicate
 * (https://docs.aws.amazon.com/AmazonECR/latest/userguide/registry-permissions-create-replication.html).
 * The destination then holds the same manifest under the same digest, which is what production pins.
 */
export class RegistryStack extends Stack {
  readonly registry: Registry;

  constructor(scope: Construct, id: string, props: RegistryStackProps) {
    super(scope, id, {
      ...props,
      env: { account: props.account, region: props.region },
      description: 'Clever Better image registry: ECR repositories and cross-account replication',
    });
    Tags.of(this).add('Project', 'clever-better');
    this.registry = new Registry(this, 'Registry', {
      botRepositoryName: props.botRepositoryName,
      mlRepositoryName: props.mlRepositoryName,
      imagesToKeep: props.imagesToKeep,
      releaseTagPatterns: props.releaseTagPatterns,
      pinnedImages: props.pinnedImages,
    });
    const repositoryNames = [props.botRepositoryName, props.mlRepositoryName];

    const targets = props.replicateTo ?? [];
    if (targets.length > 0) {
      new ecr.CfnReplicationConfiguration(this, 'Replication', {
        replicationConfiguration: {
          rules: [
            {
              destinations: targets.map((t) => ({ region: t.region, registryId: t.account })),
              // Exactly the two repositories: nothing else in the account is sent to production.
              repositoryFilters: repositoryNames.map((filter) => ({ filter, filterType: 'PREFIX_MATCH' })),
            },
          ],
        },
      });
    }

    const sources = props.acceptReplicationFrom ?? [];
    if (sources.length > 0) {
      new ecr.CfnRegistryPolicy(this, 'ReplicationPolicy', {
        policyText: {
          Version: '2012-10-17',
          Statement: [
            {
              Sid: 'ReplicationFromPromotingAccounts',
              Effect: 'Allow',
              Principal: { AWS: sources.map((a) => `arn:${this.partition}:iam::${a}:root`) },
              // Only ReplicateImage: this stack creates the repositories, so the source never has to.
              Action: ['ecr:ReplicateImage'],
              Resource: repositoryNames.map(
                (name) => `arn:${this.partition}:ecr:${this.region}:${this.account}:repository/${name}`,
              ),
            },
          ],
        },
      });
    }
  }
}
