import { RemovalPolicy, Stack } from 'aws-cdk-lib';
import * as ecr from 'aws-cdk-lib/aws-ecr';
import { Construct } from 'constructs';
import { skipCheckov } from './compliance';

/**
 * `imageCountMoreThan` at ECR's default "Images per repository" quota (100,000, Amazon ECR service
 * quotas): a rule with this count never expires anything, so it keeps what it selects. Lifecycle
 * rules can only expire; keeping means selecting with a higher priority than any rule that expires.
 */
export const KEEP_ALL_COUNT = 100_000;

/** An image some environment runs: the field that pins it, its tag, and its digest when pinned by one. */
export interface PinnedImage {
  /** Where it is pinned, e.g. `production.bot`. */
  readonly field: string;
  readonly repositoryName: string;
  readonly tag: string;
  readonly digest?: string;
}

/** Props of {@link Registry}. */
export interface RegistryProps {
  /** Repository name of the bot image (`clever-better-bot`). */
  readonly botRepositoryName: string;
  /** Repository name of the ML image (`clever-better-ml`). */
  readonly mlRepositoryName: string;
  /** Images kept per repository besides the released ones; older ones expire. */
  readonly imagesToKeep: number;
  /**
   * Tag patterns of released images (ECR `tagPatternList` wildcards): every image with such a tag is
   * kept. `npm run ops -- release` accepts only tags that match one.
   */
  readonly releaseTagPatterns: readonly string[];
  /**
   * The images environments pin from this registry: synthesis fails when the lifecycle rules as
   * written could expire one (ECR rules select by tag only, so a digest is kept through its tag).
   * @default none
   */
  readonly pinnedImages?: readonly PinnedImage[];
}

/** One rule of an ECR lifecycle policy, as `LifecyclePolicyText` holds it. */
export interface LifecyclePolicyRule {
  readonly rulePriority: number;
  readonly description?: string;
  readonly selection: {
    readonly tagStatus: 'tagged' | 'untagged' | 'any';
    readonly tagPatternList?: readonly string[];
    readonly tagPrefixList?: readonly string[];
    readonly countType: string;
    readonly countNumber: number;
  };
  readonly action: { readonly type: string };
}

/** ECR's tag wildcard: `*` matches any run of characters, the pattern the whole tag. */
function wildcard(pattern: string): RegExp {
  return new RegExp(
    `^${pattern
      .split('*')
      .map((p) => p.replace(/[.+?^${}()|[\]\\]/g, '\\$&'))
      .join('.*')}$`,
  );
}

/** Whether `tag` matches one of `patterns` (ECR wildcards). */
export function matchesReleasePattern(tag: string, patterns: readonly string[]): boolean {
  return patterns.some((p) => wildcard(p).test(tag));
}

/**
 * The rule of `rules` that could expire (or archive) an image tagged `tag` (undefined: untagged),
 * or undefined when none can. Follows ECR's evaluation rules ("Lifecycle policy evaluation rules",
 * Amazon ECR User Guide): rules apply in priority order, and an image that matches the tagging
 * requirements of a rule cannot be expired by a rule of lower priority, so the first rule that
 * selects the image decides. A rule that keeps everything it selects ({@link KEEP_ALL_COUNT}) keeps it.
 */
export function ruleThatCouldExpire(
  rules: readonly LifecyclePolicyRule[],
  tag: string | undefined,
): LifecyclePolicyRule | undefined {
  for (const rule of [...rules].sort((a, b) => a.rulePriority - b.rulePriority)) {
    const s = rule.selection;
    const selected =
      s.tagStatus === 'any' ||
      (s.tagStatus === 'untagged' && tag === undefined) ||
      (s.tagStatus === 'tagged' &&
        tag !== undefined &&
        (s.tagPatternList ?? []).every((p) => wildcard(p).test(tag)) &&
        (s.tagPrefixList ?? []).every((p) => tag.startsWith(p)));
    if (!selected) continue;
    const keeps = s.countType === 'imageCountMoreThan' && s.countNumber >= KEEP_ALL_COUNT;
    return keeps ? undefined : rule;
  }
  return undefined;
}

/** Why each pin in `pins` could be expired by `rules`, one line each (empty when all are kept). */
export function expiringPins(
  rules: readonly LifecyclePolicyRule[],
  pins: readonly PinnedImage[],
  where: string,
): string[] {
  return pins.flatMap((pin) => {
    const rule = ruleThatCouldExpire(rules, pin.tag);
    if (!rule) return [];
    const image = `${pin.repositoryName}:${pin.tag}${pin.digest ? `@${pin.digest}` : ''}`;
    return [
      `${pin.field} (imageTag '${pin.tag}'${pin.digest ? `, imageDigest ${pin.digest}` : ''}): ${image} could be expired in ${where} by lifecycle rule ${rule.rulePriority} ` +
        `("${rule.description ?? rule.selection.tagStatus}"). Fix: release it under a tag that matches ` +
        'releaseTagPatterns (npm run ops -- release), or add its pattern to releaseTagPatterns in environments/',
    ];
  });
}

/**
 * ECR repositories for both images: tags immutable (a tag names one image forever, so a pinned tag
 * in `environments/` is a real pin), scanned on push, and retained when the stack is deleted or the
 * repository leaves it. Not retained when the stack's own creation rolls back
 * (`RETAIN_ON_UPDATE_OR_DELETE`): a retained fixed name would block the retry.
 *
 * Lifecycle (docs/first-deploy.md "Which images expire"): every image with a release tag is kept;
 * of the others, at most one untagged and the newest `imagesToKeep` stay. Each registry runs its own
 * lifecycle on what it holds (replication copies pushes, not deletions), so production's registry
 * keeps its pins by the same rules.
 */
export class Registry extends Construct {
  readonly botRepository: ecr.Repository;
  readonly mlRepository: ecr.Repository;

  constructor(scope: Construct, id: string, props: RegistryProps) {
    super(scope, id);
    const releaseRules: ecr.LifecycleRule[] = props.releaseTagPatterns.map((pattern, i) => ({
      description: `Keep every released image (${pattern})`,
      tagStatus: ecr.TagStatus.TAGGED,
      tagPatternList: [pattern],
      maxImageCount: KEEP_ALL_COUNT,
      rulePriority: i + 1,
    }));
    const after = releaseRules.length;
    const repository = (rid: string, repositoryName: string) =>
      new ecr.Repository(this, rid, {
        repositoryName,
        imageTagMutability: ecr.TagMutability.IMMUTABLE,
        imageScanOnPush: true,
        removalPolicy: RemovalPolicy.RETAIN_ON_UPDATE_OR_DELETE,
        lifecycleRules: [
          ...releaseRules,
          {
            description: 'Keep at most one untagged image',
            tagStatus: ecr.TagStatus.UNTAGGED,
            maxImageCount: 1,
            rulePriority: after + 1,
          },
          {
            description: `Keep the newest ${props.imagesToKeep} other images`,
            tagStatus: ecr.TagStatus.ANY,
            maxImageCount: props.imagesToKeep,
            rulePriority: after + 2,
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
    // Checked on the rules as synthesized, after every rule is in place.
    this.node.addValidation({
      validate: () =>
        (
          [
            [this.botRepository, props.botRepositoryName],
            [this.mlRepository, props.mlRepositoryName],
          ] as const
        ).flatMap(([repo, name]) => {
          const cfn = repo.node.defaultChild as ecr.CfnRepository;
          const policy = Stack.of(this).resolve(cfn.lifecyclePolicy) as
            { lifecyclePolicyText?: string } | undefined;
          const text = policy?.lifecyclePolicyText ?? '{"rules":[]}';
          const rules = (JSON.parse(text) as { rules: LifecyclePolicyRule[] }).rules;
          const pins = (props.pinnedImages ?? []).filter((p) => p.repositoryName === name);
          return expiringPins(rules, pins, Stack.of(this).stackName);
        }),
    });
  }
}
