import {
  DescribeImageReplicationStatusCommand,
  DescribeImageScanFindingsCommand,
  DescribeImagesCommand,
  ECRClient,
} from '@aws-sdk/client-ecr';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { environments } from '../../environments';
import { EnvironmentConfig } from '../../environments/types';
import { IMAGE_DIGEST } from '../../environments/validate-images';
import { registerCommand } from './commands';
import { UsageError } from './context';
import { pinImage } from './pin';
import { configKey, parseService, SERVICE_USAGE } from './service-names';

const errorName = (err: unknown) => (err as { name?: string }).name ?? '';

/** Replaceable in tests: the two registries' clients and the file the pin is written to. */
export const releaseDeps = {
  /** A client of `env`'s registry; `profile` selects credentials of that account. */
  ecr: (env: EnvironmentConfig, profile?: string) => new ECRClient({ region: env.region, profile }),
  file: (env: EnvironmentConfig) => path.join(__dirname, '..', '..', 'environments', `${env.name}.ts`),
};

/**
 * Promotes an image staging tested: resolves the tag in the promoting environment's registry to its
 * digest, refuses critical scan findings, checks ECR replicated it into this environment's registry,
 * and writes `imageTag` + `imageDigest` into `environments/<env>.ts` for a pull request.
 */
registerCommand('release', {
  usage: `release --env <env> --service ${SERVICE_USAGE} --tag <tag> [--source-profile <p>] [--target-profile <p>]   pin the digest of a tag staging tested into environments/<env>.ts (after checking its scan and its replica)`,
  options: { service: 'value', tag: 'value', 'source-profile': 'value', 'target-profile': 'value' },
  notLocal:
    'release pins an image into a deployed environment (environments/<env>.ts); the stand-in runs local images',
  async run(args, ctx) {
    const key = configKey(parseService(args.options.service));
    const tag = args.options.tag;
    if (typeof tag !== 'string')
      throw new UsageError('--tag is missing: --tag <the tag staging tested, e.g. v1.2.4>');
    const target = environments.find((e) => e.name === ctx.env.name);
    if (!target) throw new UsageError(`release promotes into a deployed environment, not ${ctx.env.name}`);
    const source = environments.find((e) => e.promoteImagesTo === target.name);
    if (!source)
      throw new UsageError(
        `no environment promotes images to ${target.name} (promoteImagesTo): release into ${
          environments
            .map((e) => e.promoteImagesTo)
            .filter(Boolean)
            .join(', ') || 'nothing'
        }`,
      );
    const repositoryName = key === 'bot' ? ctx.names.botRepository : ctx.names.mlRepository;
    const profile = (o: string) =>
      typeof args.options[o] === 'string' ? (args.options[o] as string) : undefined;
    const from = releaseDeps.ecr(source, profile('source-profile'));
    const to = releaseDeps.ecr(target, profile('target-profile'));

    // 1. The tag in the promoting registry, and the digest it names (immutable tags: it names one forever).
    let digest: string | undefined;
    try {
      const res = await from.send(
        new DescribeImagesCommand({ repositoryName, imageIds: [{ imageTag: tag }] }),
      );
      digest = res.imageDetails?.[0]?.imageDigest;
    } catch (err) {
      if (errorName(err) !== 'ImageNotFoundException' && errorName(err) !== 'RepositoryNotFoundException')
        throw err;
    }
    if (!digest || !IMAGE_DIGEST.test(digest)) {
      ctx.print(
        `${repositoryName}:${tag} does not exist in ${source.name}'s registry (account ${source.account}). ` +
          `Check the tag (aws ecr describe-images --repository-name ${repositoryName}) or push it to ${source.name} and test it there first.`,
      );
      return 1;
    }
    ctx.print(`${source.name} ${repositoryName}:${tag} = ${digest}`);

    // 2. Its scan, where ECR has one: critical findings stop the release.
    try {
      const scan = await from.send(
        new DescribeImageScanFindingsCommand({
          repositoryName,
          imageId: { imageDigest: digest },
          maxResults: 1,
        }),
      );
      const status = scan.imageScanStatus?.status;
      const critical = scan.imageScanFindings?.findingSeverityCounts?.CRITICAL ?? 0;
      if (status === 'IN_PROGRESS' || status === 'PENDING') {
        ctx.print(
          `The scan of ${repositoryName}@${digest} is still running: run release again when it has finished.`,
        );
        return 1;
      }
      if (critical > 0) {
        ctx.print(
          `Refusing: the scan of ${repositoryName}:${tag} reports ${critical} CRITICAL finding(s) ` +
            `(aws ecr describe-image-scan-findings --repository-name ${repositoryName} --image-id imageDigest=${digest}). Fix them and release a new tag.`,
        );
        return 1;
      }
      ctx.print(`scan: ${status ?? 'COMPLETE'}, no critical findings`);
    } catch (err) {
      if (errorName(err) !== 'ScanNotFoundException') throw err;
      ctx.print('scan: no scan results available for this image (scan on push was off when it was pushed)');
    }

    // 3. The replica in this environment's registry: same digest, pulled by production's tasks.
    try {
      await to.send(new DescribeImagesCommand({ repositoryName, imageIds: [{ imageDigest: digest }] }));
    } catch (err) {
      if (errorName(err) !== 'ImageNotFoundException' && errorName(err) !== 'RepositoryNotFoundException')
        throw err;
      let replication = '';
      try {
        const status = await from.send(
          new DescribeImageReplicationStatusCommand({ repositoryName, imageId: { imageDigest: digest } }),
        );
        const toTarget = status.replicationStatuses?.find((s) => s.registryId === target.account);
        replication = toTarget
          ? `${toTarget.status}${toTarget.failureCode ? ` (${toTarget.failureCode})` : ''}`
          : '';
      } catch {
        // The status is extra information; the missing image is the answer either way.
      }
      ctx.print(
        replication === 'IN_PROGRESS'
          ? `${repositoryName}@${digest} is still replicating to ${target.name}'s registry (account ${target.account}): run release again in a minute.`
          : `${repositoryName}@${digest} is missing in ${target.name}'s registry (account ${target.account})` +
              `${replication ? `; replication ${replication}` : '; no replication of it is recorded'}. ` +
              `Check that ${source.name}'s registry stack (replication rule) and ${target.name}'s (registry policy) are deployed, then push the tag to ${source.name} again under a new tag.`,
      );
      return 1;
    }
    ctx.print(`${target.name}'s registry holds ${repositoryName}@${digest}`);

    // 4. The pin, for a reviewed pull request.
    const file = releaseDeps.file(target);
    const before = target[key];
    fs.writeFileSync(file, pinImage(fs.readFileSync(file, 'utf8'), key, tag, digest));
    ctx.print(
      `${path.relative(process.cwd(), file)}: ${key} ${before.imageTag}${before.imageDigest ? `@${before.imageDigest}` : ''} → ${tag}@${digest}`,
    );
    ctx.print(
      `Next: git checkout -b release/${key}-${tag} && git commit -am "Release ${key} ${tag} to ${target.name}" && open a pull request (its cdk diff shows the digest change).`,
    );
    return 0;
  },
});
