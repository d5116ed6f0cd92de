import { RemovalPolicy } from 'aws-cdk-lib';
import * as ecr from 'aws-cdk-lib/aws-ecr';
import { Construct } from 'constructs';
import { skipCheckov } from './compliance';

/** Props of {@link Registry}. */
export interface RegistryProps {
  /** Repository name of the bot image (`clever-better-bot`). */
  readonly botRepositoryName: string;
  /** Repository name of the ML image (`clever-better-ml`). */
  readonly mlRepositoryName: string;
  /** Images kept per repository; older ones expire. Enough for several rollbacks. */
  readonly imagesToKeep: number;
}

/**
 * ECR repositories for both images: tags immutable (a tag names one image forever, so a pinned tag
 * in `environments/` is a real pin), scanned on push, and retained when the stack is deleted or the
 * repository leaves it. Not retained when the stack's own creation rolls back
 * (`RETAIN_ON_UPDATE_OR_DELETE`): a retained fixed name would block the retry.
 */
export class Registry extends Construct {
  readonly botRepository: ecr.Repository;
  readonly mlRepository: ecr.Repository;

  constructor(scope: Construct, id: string, props: RegistryProps) {
    super(scope, id);
    const repository = (rid: string, repositoryName: string) =>
      new ecr.Repository(this, rid, {
        repositoryName,
        imageTagMutability: ecr.TagMutability.IMMUTABLE,
        imageScanOnPush: true,
        removalPolicy: RemovalPolicy.RETAIN_ON_UPDATE_OR_DELETE,
        lifecycleRules: [
          {
            description: 'Keep at most one untagged image',
            tagStatus: ecr.TagStatus.UNTAGGED,
            maxImageCount: 1,
            rulePriority: 1,
          },
          {
            description: `Keep the newest ${props.imagesToKeep} images for rollbacks`,
            tagStatus: ecr.TagStatus.ANY,
            maxImageCount: props.imagesToKeep,
            rulePriority: 2,
          },
        ],
      });
    this.botRepository = repository('BotRepository', props.botRepositoryName);
    this.mlRepository = repository('MlRepository', props.mlRepositoryName);
    for (const repo of [this.botRepository, this.mlRepository]) {
      skipCheckov(
        repo,
        'CKV_AWS_136',
        'Images are encrypted at rest with AES-256 by ECR and hold no secrets (those come from Secrets Manager); ' +
          'a CMK would add a key dependency to every task start',
      );
    }
  }
}
