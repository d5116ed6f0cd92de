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
import { matchesReleasePattern } from '../registry';
import { pinImage } from './pin';
import { configKey, parseService, SERVICE_USAGE } from './service-names';

const errorName = (err: unknown) => (err as { name?: string }).name ?? '';

/** Replaceable in tests: the two registries' clients and the file the pin is written to. */
export const releaseDeps = {
  /** A client of `env`'s registry; `profile` selects credentials of that account. */
  ecr: (env: EnvironmentConfig, profile?: string) => new ECRClient({ region: env.region, profile }),
  file: (env: EnvironmentConfig) => path.join(__dirname, '..', '..', 'environments', `${env.name}.ts`),
};

/** ECR scan statuses after which the findings are known (basic `COMPLETE`, enhanced `ACTIVE`). */
const SCAN_PASSED = new Set(['COMPLETE', 'ACTIVE']);
/** Statuses of a scan still running: wait, never accept. */
const SCAN_RUNNING = new Set(['IN_PROGRESS', 'PENDING']);
/** The status this command reports when ECR has no scan of the image at all. */
export const MISSING_SCAN = 'MISSING';
/** What the statuses that leave the findings unknown mean (ECR API reference, ImageScanStatus). */
const SCAN_MEANING: Readonly<Record<string, string>> = {
  FAILED: 'the scan failed',
  UNSUPPORTED_IMAGE: 'ECR cannot scan this image',
  SCAN_ELIGIBILITY_EXPIRED: 'the image is past its scan eligibility period',
  FINDINGS_UNAVAILABLE: 'the findings are no longer available',
  [MISSING_SCAN]: 'ECR has no scan of this image (scan on push was off when it was pushed)',
};

/**
 * `--accept-scan-status <status> --reason "…"`: both or neither; the status is one that leaves
 * the findings unknown (accepting a passed or running scan would mean nothing).
 */
function acceptedScan(
  options: Readonly<Record<string, string | boolean>>,
): { status: string; reason: string } | undefined {
  const status = options['accept-scan-status'];
  const reason = options.reason;
  if (status === undefined && reason === undefined) return undefined;
  if (typeof status !== 'string')
    throw new UsageError('--reason is given without --accept-scan-status: give both, or neither');
  if (typeof reason !== 'string' || reason.trim() === '')
    throw new UsageError(
      `--accept-scan-status ${status} needs --reason "<why this image may run with that scan status>": it goes into the commit message`,
    );
  // Only a status release itself refuses can be accepted: a made-up one must fail before any call.
  if (!(status in SCAN_MEANING))
    throw new UsageError(
      `--accept-scan-status "${status}": accept one of the statuses release refuses: ${Object.keys(SCAN_MEANING).join(', ')}`,
    );
  return { status, reason: reason.trim() };
}

/** Quotes `text` for a POSIX shell, so a reason with spaces or quotes pastes safely. */
function shellQuote(text: string): string {
  return `'${text.replace(/'/g, `'\\''`)}'`;
}

/**
 * Promotes an image staging tested: resolves the tag in the promoting environment's registry to its
 * digest, refuses critical scan findings, checks ECR replicated it into this environment's registry,
 * and writes `imageTag` + `imageDigest` into `environments/<env>.ts` for a pull request.
 */
registerCommand('release', {
  usage: `release --env <env> --service ${SERVICE_USAGE} --tag <tag> [--source-profile <p>] [--target-profile <p>] [--accept-scan-status <status> --reason "<why>"]   pin the digest of a tag staging tested into environments/<env>.ts (after checking its scan and its replica)`,
  options: {
    service: 'value',
    tag: 'value',
    'source-profile': 'value',
    'target-profile': 'value',
    'accept-scan-status': 'value',
    reason: 'value',
  },
  notLocal:
    'release pins an image into a deployed environment (environments/<env>.ts); the stand-in runs local images',
  async run(args, ctx) {
    const accepted = acceptedScan(args.options);
    const key = configKey(parseService(args.options.service));
    const tag = args.options.tag;
    if (typeof tag !== 'string')
      throw new UsageError('--tag is missing: --tag <the tag staging tested, e.g. v1.2.4>');
    const target = environments.find((e) => e.name === ctx.env.name);
    if (!target) throw new UsageError(`release promotes into a deployed environment, not ${ctx.env.name}`);
    if (!matchesReleasePattern(tag, target.releaseTagPatterns))
      throw new UsageError(
        `--tag "${tag}" matches none of ${target.name}'s releaseTagPatterns (${target.releaseTagPatterns.join(', ')}): ` +
          'the registries keep only release tags forever, so this pin could expire. Tag the tested image as a release (e.g. v1.2.4) and release that tag',
      );
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

    // 2. Its scan: only a finished scan without critical findings lets it through, unless a person
    // accepts the one status it has, with a reason that goes into the commit.
    let status: string;
    let critical = 0;
    try {
      const scan = await from.send(
        new DescribeImageScanFindingsCommand({
          repositoryName,
          imageId: { imageDigest: digest },
          maxResults: 1,
        }),
      );
      status = scan.imageScanStatus?.status ?? MISSING_SCAN;
      critical = scan.imageScanFindings?.findingSeverityCounts?.CRITICAL ?? 0;
    } catch (err) {
      if (errorName(err) !== 'ScanNotFoundException') throw err;
      status = MISSING_SCAN;
    }
    if (SCAN_RUNNING.has(status)) {
      ctx.print(
        `The scan of ${repositoryName}@${digest} is ${status}: run release again when it has finished.`,
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
    if (!SCAN_PASSED.has(status)) {
      if (accepted?.status !== status) {
        ctx.print(
          `Refusing: the scan of ${repositoryName}:${tag} is ${status}${SCAN_MEANING[status] ? ` (${SCAN_MEANING[status]})` : ''}, ` +
            'so nobody knows its findings. Scan it (aws ecr start-image-scan --repository-name ' +
            `${repositoryName} --image-id imageDigest=${digest}) and run release again, or accept it on purpose: ` +
            `--accept-scan-status ${status} --reason "<why this image may run unscanned>"`,
        );
        return 1;
      }
      ctx.print(`scan: ${status}, accepted: ${accepted.reason}`);
    } else ctx.print(`scan: ${status}, no critical findings`);

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
    const message = `Release ${key} ${tag} to ${target.name}${
      accepted ? ` (scan ${accepted.status} accepted: ${accepted.reason})` : ''
    }`;
    ctx.print(
      `Next: git checkout -b release/${key}-${tag} && git commit -am ${shellQuote(message)} && open a pull request (its cdk diff shows the digest change).`,
    );
    return 0;
  },
});
