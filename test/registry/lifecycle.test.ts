/**
 * Rule: no image an environment pins can be expired by its registry's lifecycle.
 *
 * Amazon ECR User Guide, "Lifecycle policy evaluation rules": rules apply in priority order; an
 * image that matches the tagging requirements of a higher-priority rule cannot be expired by a rule
 * of lower priority; rules select by tag status and tag pattern/prefix only, never by digest.
 * "Private image replication": replication copies pushes, not deletions, and each registry runs its
 * own lifecycle. So production's digest pin is kept only through the tag it was released as.
 */
import { App } from 'aws-cdk-lib';
import { environments, production, staging } from '../../environments';
import { EnvironmentConfig } from '../../environments/types';
import { addEnvironmentStacks } from '../../lib/app';
import { runbookNames } from '../../lib/names';
import { KEEP_ALL_COUNT, LifecyclePolicyRule, ruleThatCouldExpire } from '../../lib/registry';
import { synthesizedRegistry } from '../helpers/app';

/** The lifecycle rules of every repository of every registry stack, as synthesized (the run's one synthesis). */
function synthesizedRules(): { account: string; repository: string; rules: LifecyclePolicyRule[] }[] {
  return environments.flatMap((env) =>
    Object.values(synthesizedRegistry(env.name).template.findResources('AWS::ECR::Repository')).map((r) => ({
      account: env.account,
      repository: r.Properties.RepositoryName as string,
      rules: JSON.parse(r.Properties.LifecyclePolicy.LifecyclePolicyText).rules as LifecyclePolicyRule[],
    })),
  );
}

describe('rule: pinned images are never expired (ECR "Lifecycle policy evaluation rules")', () => {
  const repos = synthesizedRules();

  test('every tag or digest pinned in environments/ is kept by its registry’s rules as synthesized', () => {
    const violations: string[] = [];
    let checked = 0;
    for (const env of environments) {
      const names = runbookNames(env.name);
      for (const key of ['bot', 'ml'] as const) {
        const repository = key === 'bot' ? names.botRepository : names.mlRepository;
        const repo = repos.find((r) => r.account === env.account && r.repository === repository);
        expect(repo).toBeDefined();
        checked++;
        const rule = ruleThatCouldExpire(repo!.rules, env[key].imageTag);
        if (rule) violations.push(`${env.name}.${key} ${env[key].imageTag}: rule ${rule.rulePriority}`);
      }
    }
    expect(violations).toEqual([]);
    expect(checked).toBeGreaterThanOrEqual(4);
  });

  test('branch builds and untagged images still expire (the rules keep only releases forever)', () => {
    for (const { rules } of repos) {
      expect(ruleThatCouldExpire(rules, 'sha-4f2a9c1')?.selection).toMatchObject({
        tagStatus: 'any',
        countNumber: 30,
      });
      expect(ruleThatCouldExpire(rules, undefined)?.selection).toMatchObject({ tagStatus: 'untagged' });
    }
  });

  test('the evaluation follows priority: the policy this replaced ("untagged 1", "any 30") expires a release', () => {
    const old: LifecyclePolicyRule[] = [
      {
        rulePriority: 1,
        selection: { tagStatus: 'untagged', countType: 'imageCountMoreThan', countNumber: 1 },
        action: { type: 'expire' },
      },
      {
        rulePriority: 2,
        selection: { tagStatus: 'any', countType: 'imageCountMoreThan', countNumber: 30 },
        action: { type: 'expire' },
      },
    ];
    expect(ruleThatCouldExpire(old, 'v1.2.3')?.rulePriority).toBe(2);
    // A keep rule below the expiring one keeps nothing: the first rule that selects decides.
    const late: LifecyclePolicyRule[] = [
      ...old,
      {
        rulePriority: 3,
        selection: {
          tagStatus: 'tagged',
          tagPatternList: ['v*'],
          countType: 'imageCountMoreThan',
          countNumber: KEEP_ALL_COUNT,
        },
        action: { type: 'expire' },
      },
    ];
    expect(ruleThatCouldExpire(late, 'v1.2.3')?.rulePriority).toBe(2);
  });

  const synth = (configs: EnvironmentConfig[]) => () => {
    const app = new App({ context: { 'aws:cdk:bundling-stacks': [] } });
    addEnvironmentStacks(app, configs);
    app.synth();
  };

  test('fails when a pinned digest is outside the kept set (its tag matches no release pattern)', () => {
    const pinned = {
      ...production,
      bot: { ...production.bot, imageTag: 'build-7' },
    };
    expect(synth([staging, pinned])).toThrow(
      /production\.bot \(imageTag 'build-7', imageDigest sha256:dcb0[0-9a-f]+\): clever-better-bot:build-7@sha256:[0-9a-f]+ could be expired in ProductionRegistry by lifecycle rule 3 \("Keep the newest 30 other images"\)/,
    );
  });

  test('fails when the release pattern no longer covers a pinned tag', () => {
    expect(synth([{ ...staging, releaseTagPatterns: ['release-*'] }, production])).toThrow(
      /staging\.bot \(imageTag 'v1\.2\.3'\): clever-better-bot:v1\.2\.3 could be expired in StagingRegistry/,
    );
  });
});
