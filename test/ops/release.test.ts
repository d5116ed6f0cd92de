import {
  DescribeImageReplicationStatusCommand,
  DescribeImageScanFindingsCommand,
  DescribeImagesCommand,
  ECRClient,
} from '@aws-sdk/client-ecr';
import { mockClient } from 'aws-sdk-client-mock';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { production, staging } from '../../environments';
import { main } from '../../lib/ops';
import { pinImage } from '../../lib/ops/pin';
import { releaseDeps } from '../../lib/ops/release';
import { fakeContext } from './ops-context';

const DIGEST = `sha256:${'a'.repeat(64)}`;
const stagingRegistry = new ECRClient({ region: 'eu-west-1' });
const productionRegistry = new ECRClient({ region: 'eu-west-1' });
const from = mockClient(stagingRegistry);
const to = mockClient(productionRegistry);
const notFound = (name: string) => Object.assign(new Error(name), { name });

let dir: string;
let file: string;
const saved = { ...releaseDeps };
beforeEach(() => {
  from.reset();
  to.reset();
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'cb-release-'));
  file = path.join(dir, 'production.ts');
  fs.copyFileSync(path.join(__dirname, '..', '..', 'environments', 'production.ts'), file);
  releaseDeps.file = () => file;
  releaseDeps.ecr = (env) => (env.name === 'staging' ? stagingRegistry : productionRegistry);
  from.on(DescribeImagesCommand).resolves({ imageDetails: [{ imageDigest: DIGEST, imageTags: ['v1.2.4'] }] });
  from.on(DescribeImageScanFindingsCommand).resolves({
    imageScanStatus: { status: 'COMPLETE' },
    imageScanFindings: { findingSeverityCounts: { HIGH: 2 } },
  });
  to.on(DescribeImagesCommand).resolves({ imageDetails: [{ imageDigest: DIGEST }] });
});
afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));
afterAll(() => Object.assign(releaseDeps, saved));

async function release(...extra: string[]) {
  const ctx = fakeContext(production, {});
  const code = await main(
    ['release', '--env', 'production', '--service', 'bot', '--tag', 'v1.2.4', ...extra],
    () => ctx,
  );
  return { code, lines: ctx.lines, text: fs.readFileSync(file, 'utf8') };
}

describe('npm run ops -- release', () => {
  test('resolves the tag in staging, checks scan and replica, and writes the pin into environments/production.ts', async () => {
    const { code, lines, text } = await release();
    expect(code).toBe(0);
    expect(from.commandCalls(DescribeImagesCommand)[0].args[0].input).toEqual({
      repositoryName: 'clever-better-bot',
      imageIds: [{ imageTag: 'v1.2.4' }],
    });
    expect(to.commandCalls(DescribeImagesCommand)[0].args[0].input.imageIds).toEqual([
      { imageDigest: DIGEST },
    ]);
    expect(text).toContain(`bot: {\n    imageTag: 'v1.2.4',\n    imageDigest: '${DIGEST}',\n  },`);
    // Only the bot's pins changed.
    expect(text.replace(`'v1.2.4'`, `'v1.2.3'`).replace(DIGEST, production.bot.imageDigest!)).toBe(
      fs.readFileSync(path.join(__dirname, '..', '..', 'environments', 'production.ts'), 'utf8'),
    );
    expect(lines).toContainEqual(
      expect.stringMatching(/bot v1\.2\.3@sha256:dcb0.* → v1\.2\.4@sha256:a{64}$/),
    );
  });

  test('fails clearly on a tag that does not exist in staging, writing nothing', async () => {
    from.on(DescribeImagesCommand).rejects(notFound('ImageNotFoundException'));
    const { code, lines, text } = await release();
    expect(code).toBe(1);
    expect(lines.at(-1)).toMatch(
      /^clever-better-bot:v1\.2\.4 does not exist in staging's registry \(account 111111111111\)/,
    );
    expect(text).not.toContain('v1.2.4');
  });

  test('refuses an image whose scan has critical findings', async () => {
    from.on(DescribeImageScanFindingsCommand).resolves({
      imageScanStatus: { status: 'COMPLETE' },
      imageScanFindings: { findingSeverityCounts: { CRITICAL: 3 } },
    });
    const { code, lines, text } = await release();
    expect(code).toBe(1);
    expect(lines.at(-1)).toMatch(
      /^Refusing: the scan of clever-better-bot:v1\.2\.4 reports 3 CRITICAL finding\(s\)/,
    );
    expect(text).not.toContain('v1.2.4');
  });

  describe.each([
    ['FAILED', { imageScanStatus: { status: 'FAILED' } }],
    ['UNSUPPORTED_IMAGE', { imageScanStatus: { status: 'UNSUPPORTED_IMAGE' } }],
    ['SCAN_ELIGIBILITY_EXPIRED', { imageScanStatus: { status: 'SCAN_ELIGIBILITY_EXPIRED' } }],
    ['MISSING', undefined],
  ] as const)('a scan that is %s', (status, response) => {
    beforeEach(() => {
      if (response) from.on(DescribeImageScanFindingsCommand).resolves(response);
      else from.on(DescribeImageScanFindingsCommand).rejects(notFound('ScanNotFoundException'));
    });

    test('is refused, naming the status and the option that accepts it, writing nothing', async () => {
      const { code, lines, text } = await release();
      expect(code).toBe(1);
      expect(lines.at(-1)).toMatch(
        new RegExp(`^Refusing: the scan of clever-better-bot:v1\\.2\\.4 is ${status} `),
      );
      expect(lines.at(-1)).toContain(`--accept-scan-status ${status} --reason "`);
      expect(text).not.toContain('v1.2.4');
    });

    test('is accepted with --accept-scan-status and --reason, the reason in the suggested commit', async () => {
      const { code, lines, text } = await release(
        '--accept-scan-status',
        status,
        '--reason',
        "vendor's base image, scanned upstream",
      );
      expect(code).toBe(0);
      expect(text).toContain(`imageDigest: '${DIGEST}'`);
      expect(lines).toContain(`scan: ${status}, accepted: vendor's base image, scanned upstream`);
      expect(lines.at(-1)).toContain(
        `git commit -am 'Release bot v1.2.4 to production (scan ${status} accepted: vendor'\\''s base image, scanned upstream)'`,
      );
    });
  });

  test('refuses a tag the registries would not keep (outside releaseTagPatterns), before any AWS call', async () => {
    const ctx = fakeContext(production, {});
    const err = jest.spyOn(process.stderr, 'write').mockImplementation(() => true);
    try {
      const code = await main(
        ['release', '--env', 'production', '--service', 'bot', '--tag', 'sha-4f2a9c1'],
        () => ctx,
      );
      expect(code).toBe(2);
      expect(err.mock.calls.join('')).toContain(
        `--tag "sha-4f2a9c1" matches none of production's releaseTagPatterns (v*)`,
      );
    } finally {
      err.mockRestore();
    }
    expect(from.calls()).toHaveLength(0);
  });

  test('accepting one status does not accept another', async () => {
    from.on(DescribeImageScanFindingsCommand).resolves({ imageScanStatus: { status: 'FAILED' } });
    const { code } = await release('--accept-scan-status', 'UNSUPPORTED_IMAGE', '--reason', 'x');
    expect(code).toBe(1);
  });

  test('critical findings are refused even with an accepted status', async () => {
    from.on(DescribeImageScanFindingsCommand).resolves({
      imageScanStatus: { status: 'COMPLETE' },
      imageScanFindings: { findingSeverityCounts: { CRITICAL: 1 } },
    });
    expect((await release('--accept-scan-status', 'FAILED', '--reason', 'x')).code).toBe(1);
  });

  test.each([
    [['--accept-scan-status', 'FAILED'], /needs --reason/],
    [['--reason', 'because'], /--reason is given without --accept-scan-status/],
    [['--accept-scan-status', 'COMPLETE', '--reason', 'x'], /accept one of the statuses release refuses/],
    [
      ['--accept-scan-status', 'BOGUS', '--reason', 'x'],
      /accept one of the statuses release refuses: FAILED, /,
    ],
    [['--accept-scan-status', 'IN_PROGRESS', '--reason', 'x'], /accept one of the statuses release refuses/],
  ])('%j is a usage error before any AWS call', async (extra, message) => {
    const err = jest.spyOn(process.stderr, 'write').mockImplementation(() => true);
    try {
      const { code } = await release(...extra);
      expect(code).toBe(2);
      expect(err.mock.calls.join('')).toMatch(message);
    } finally {
      err.mockRestore();
    }
    expect(from.calls()).toHaveLength(0);
  });

  test('says the image is still replicating, writing nothing', async () => {
    to.on(DescribeImagesCommand).rejects(notFound('ImageNotFoundException'));
    from.on(DescribeImageReplicationStatusCommand).resolves({
      replicationStatuses: [{ region: 'eu-west-1', registryId: production.account, status: 'IN_PROGRESS' }],
    });
    const { code, lines, text } = await release();
    expect(code).toBe(1);
    expect(lines.at(-1)).toMatch(
      /is still replicating to production's registry \(account 222222222222\): run release again in a minute\.$/,
    );
    expect(text).not.toContain('v1.2.4');
  });

  test('fails clearly on a digest missing in production, with the replication failure', async () => {
    to.on(DescribeImagesCommand).rejects(notFound('ImageNotFoundException'));
    from.on(DescribeImageReplicationStatusCommand).resolves({
      replicationStatuses: [
        {
          registryId: production.account,
          status: 'FAILED',
          failureCode: 'REPLICATION_DESTINATION_NOT_FOUND',
        },
      ],
    });
    const { code, lines } = await release();
    expect(code).toBe(1);
    expect(lines.at(-1)).toMatch(
      /is missing in production's registry \(account 222222222222\); replication FAILED \(REPLICATION_DESTINATION_NOT_FOUND\)\. Check that staging's registry stack/,
    );
  });

  test('rejects an unknown service and a release into an environment nothing promotes to, before any AWS call', async () => {
    const stderr = jest.spyOn(process.stderr, 'write').mockImplementation(() => true);
    try {
      const ctx = fakeContext(production, {});
      expect(
        await main(['release', '--env', 'production', '--service', 'web', '--tag', 'v1'], () => ctx),
      ).toBe(2);
      const stagingCtx = fakeContext(staging, {});
      expect(
        await main(['release', '--env', 'staging', '--service', 'bot', '--tag', 'v1'], () => stagingCtx),
      ).toBe(2);
    } finally {
      stderr.mockRestore();
    }
    expect(from.calls()).toHaveLength(0);
  });
});

describe('pinImage', () => {
  const source = [
    'export const production = defineEnvironment(base, {',
    "  name: 'production',",
    '  // keep me',
    "  ml: { cpu: 2048, imageTag: 'v1' },",
    '});',
    '',
  ].join('\n');

  test('adds the digest beside an existing tag, keeping the rest', () => {
    expect(pinImage(source, 'ml', 'v2', DIGEST)).toBe(
      source.replace("imageTag: 'v1' }", `imageTag: 'v2', imageDigest: '${DIGEST}' }`),
    );
  });

  test('adds the service when the file has no override for it', () => {
    expect(pinImage(source, 'bot', 'v2', DIGEST)).toContain(
      `ml: { cpu: 2048, imageTag: 'v1' },\n  bot: { imageTag: 'v2', imageDigest: '${DIGEST}' },\n});`,
    );
  });

  test('fails without a defineEnvironment call', () => {
    expect(() => pinImage('export const x = 1;', 'bot', 'v2', DIGEST)).toThrow(/edit the file by hand/);
  });
});
