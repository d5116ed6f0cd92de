import { production, staging } from '../environments';
import { EnvironmentConfig } from '../environments/types';
import { validateEnvironments } from '../environments/validate';
import { rejection, variant } from './helpers/environments';

/** Production with `bot.imageDigest` removed (an override cannot delete a key). */
function productionWithoutBotDigest(): EnvironmentConfig {
  const { imageDigest: _dropped, ...bot } = production.bot;
  return { ...production, bot } as EnvironmentConfig;
}

describe('images pinned by digest', () => {
  test('fails on a production image without a digest, naming the release command', () => {
    expect(rejection([staging, productionWithoutBotDigest()])).toContain(
      '- production.bot.imageDigest = undefined: production runs only images pinned by digest (requireImageDigests), so it runs exactly the bytes that were tested. Fix: run `npm run ops -- release --env production --service bot --tag v1.2.3`',
    );
  });

  test.each([
    ['sha256:abc', 'too short'],
    ['sha256:' + 'A'.repeat(64), 'upper case'],
    ['sha512:' + 'a'.repeat(64), 'another algorithm'],
    ['a'.repeat(64), 'no algorithm'],
  ])('fails on the malformed digest %s (%s)', (digest) => {
    expect(rejection([staging, variant(production, { ml: { imageDigest: digest } })])).toContain(
      `production.ml.imageDigest = ${JSON.stringify(digest)}: not an image digest ("sha256:" followed by 64 lowercase hex digits)`,
    );
  });

  test('a malformed digest fails in staging too, where digests are optional', () => {
    expect(rejection([variant(staging, { bot: { imageDigest: 'sha256:xyz' } }), production])).toContain(
      'staging.bot.imageDigest = "sha256:xyz"',
    );
  });

  test('staging may run tags only', () => {
    expect(staging.bot.imageDigest).toBeUndefined();
    expect(() => validateEnvironments([staging, production])).not.toThrow();
  });
});

describe('promoteImagesTo', () => {
  test('fails on an environment that does not exist', () => {
    expect(rejection([variant(staging, { promoteImagesTo: 'prod' }), production])).toContain(
      'staging.promoteImagesTo = "prod": no such environment. Fix: name another environment (production)',
    );
  });

  test('fails on promoting to itself', () => {
    expect(rejection([variant(staging, { promoteImagesTo: 'staging' }), production])).toContain(
      'an environment cannot replicate images to itself',
    );
  });

  test('fails on promoting to an environment in the same account', () => {
    const sameAccount = variant(production, {
      account: staging.account,
      region: 'eu-central-1',
      network: { availabilityZones: ['eu-central-1a', 'eu-central-1b'] },
    });
    expect(rejection([staging, sameAccount])).toContain('production is in the same account (111111111111)');
  });
});

describe('release tag patterns (the tags every registry keeps forever)', () => {
  test.each([
    [[], 'no release tag pattern: every pinned image could expire'],
    [['v*', '*'], 'matches every tag: no image would ever expire'],
    [['v 1'], 'not an ECR tag pattern'],
    [['v*.*.*.*.*'], 'not an ECR tag pattern'],
  ])('fails on %j', (patterns, message) => {
    expect(rejection([variant(staging, { releaseTagPatterns: patterns }), production])).toContain(
      `staging.releaseTagPatterns = `,
    );
    expect(rejection([variant(staging, { releaseTagPatterns: patterns }), production])).toContain(message);
  });
});
