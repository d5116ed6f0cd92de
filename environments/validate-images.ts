import { ConfigProblem } from './problem';
import { EnvironmentConfig } from './types';

/** An OCI image digest as ECR reports it: the algorithm ECR uses and 64 lowercase hex digits. */
export const IMAGE_DIGEST = /^sha256:[0-9a-f]{64}$/;

/** Problems with how one environment pins its images (digests). */
export function imagePinProblems(env: EnvironmentConfig): ConfigProblem[] {
  const problems: ConfigProblem[] = [];
  const file = `environments/${env.name}.ts`;
  for (const key of ['bot', 'ml'] as const) {
    const { imageDigest, imageTag } = env[key];
    const field = `${env.name}.${key}.imageDigest`;
    const release = `npm run ops -- release --env ${env.name} --service ${key} --tag ${imageTag}`;
    if (imageDigest === undefined) {
      if (env.requireImageDigests)
        problems.push({
          field,
          value: imageDigest,
          problem: `${env.name} runs only images pinned by digest (requireImageDigests), so it runs exactly the bytes that were tested`,
          fix: `run \`${release}\` (it writes the digest of the tested image into ${file})`,
        });
    } else if (!IMAGE_DIGEST.test(imageDigest)) {
      problems.push({
        field,
        value: imageDigest,
        problem: 'not an image digest ("sha256:" followed by 64 lowercase hex digits)',
        fix: `copy the digest ECR shows for the image (aws ecr describe-images), or run \`${release}\``,
      });
    }
  }
  problems.push(...releasePatternProblems(env));
  return problems;
}

/**
 * Problems with `releaseTagPatterns`: ECR's `tagPatternList` syntax (letters, digits, `._-`, at most
 * four `*`), and a pattern must leave some tags to expire (`*` alone would keep every image forever).
 */
function releasePatternProblems(env: EnvironmentConfig): ConfigProblem[] {
  const field = `${env.name}.releaseTagPatterns`;
  const patterns = env.releaseTagPatterns;
  if (!Array.isArray(patterns) || patterns.length === 0)
    return [
      {
        field,
        value: patterns,
        problem: 'no release tag pattern: every pinned image could expire',
        fix: "set e.g. ['v*'] in environments/base.ts",
      },
    ];
  return patterns.flatMap((p): ConfigProblem[] =>
    typeof p !== 'string' || !/^[A-Za-z0-9._*-]{1,128}$/.test(p) || (p.match(/\*/g) ?? []).length > 4
      ? [
          {
            field,
            value: p,
            problem: 'not an ECR tag pattern (letters, digits, ".", "_", "-" and at most four "*")',
            fix: "use e.g. 'v*' (tags v1.2.3)",
          },
        ]
      : /^\**$/.test(p)
        ? [
            {
              field,
              value: p,
              problem: 'matches every tag: no image would ever expire and the repository grows to its quota',
              fix: "name the release tags, e.g. 'v*'",
            },
          ]
        : [],
  );
}

/** Problems with `promoteImagesTo` across environments: it must name another environment in another account. */
export function promotionProblems(envs: readonly EnvironmentConfig[]): ConfigProblem[] {
  const problems: ConfigProblem[] = [];
  for (const env of envs) {
    if (env.promoteImagesTo === undefined) continue;
    const field = `${env.name}.promoteImagesTo`;
    const target = envs.find((e) => e.name === env.promoteImagesTo);
    const others = envs.filter((e) => e.name !== env.name).map((e) => e.name);
    if (!target || target === env) {
      problems.push({
        field,
        value: env.promoteImagesTo,
        problem: target ? 'an environment cannot replicate images to itself' : 'no such environment',
        fix: `name another environment (${others.join(', ')}) or remove the field in environments/${env.name}.ts`,
      });
    } else if (target.account === env.account) {
      problems.push({
        field,
        value: env.promoteImagesTo,
        problem: `${target.name} is in the same account (${env.account}); both already share one registry`,
        fix: `give ${target.name} its own account, or remove the field in environments/${env.name}.ts`,
      });
    }
  }
  return problems;
}
