/**
 * docs/first-deploy.md is executable: `ops preflight` against an empty emulated account (moto, as
 * the local stand-in runs it, nothing seeded) fails only on what a numbered step of the procedure
 * creates, and after those steps (run against the same emulator) it passes.
 *
 * Each FAIL's fix names commands; each must be a command of a step for that environment (a
 * template reference no step creates fails here). The steps' commands are then run: `aws` through
 * botocore against the emulator; `npm run ops` in this process with `--endpoint-url`; and, where the
 * emulator cannot run the real tool, what the tool creates: `cdk bootstrap` the CDKToolkit stack
 * with its BootstrapVersion output, `cdk deploy <Registry>` the repositories of that synthesized
 * template, `docker push` an image under the pushed tag. moto names service-linked roles its own way
 * (AWSServiceRoleForecs): the role is created as AWS names it. moto has no Lambda GetAccountSettings
 * nor Service Quotas: those two clients answer as a ready account (test/preflight covers them).
 */
import { CreateStackCommand } from '@aws-sdk/client-cloudformation';
import { CreateRepositoryCommand, PutImageCommand, StartImageScanCommand } from '@aws-sdk/client-ecr';
import { CreateRoleCommand } from '@aws-sdk/client-iam';
import { GetAccountSettingsCommand, LambdaClient } from '@aws-sdk/client-lambda';
import { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { GetServiceQuotaCommand, ServiceQuotasClient } from '@aws-sdk/client-service-quotas';
import { App } from 'aws-cdk-lib';
import { mockClient } from 'aws-sdk-client-mock';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { production, staging } from '../../environments';
import { EnvironmentConfig } from '../../environments/types';
import { addEnvironmentStacks } from '../../lib/app';
import { Moto, startMoto } from '../../lib/local/moto';
import { main } from '../../lib/ops';
import { pagerDeps } from '../../lib/ops/pager';
import { preflightClients, preflightDeps } from '../../lib/ops/preflight';
import { releaseDeps } from '../../lib/ops/release';
import { fakeContext } from '../ops/ops-context';
import { runAwsCommands } from './aws-runner';

const ROOT = path.join(__dirname, '..', '..');
const DOC = fs.readFileSync(path.join(ROOT, 'docs', 'first-deploy.md'), 'utf8');
const CDK_CONTEXT = JSON.parse(fs.readFileSync(path.join(ROOT, 'cdk.json'), 'utf8')).context;
const REGION = 'eu-west-1';

/** The numbered steps of the procedure, each with the shell commands of its code blocks. */
function steps(): { n: number; commands: string[] }[] {
  const body = DOC.slice(0, DOC.indexOf('\n## Where the GitHub OIDC stack fits'));
  const out: { n: number; commands: string[] }[] = [];
  for (const part of body.split(/\n(?=\d+\. )/)) {
    const n = /^(\d+)\. /.exec(part)?.[1];
    if (!n) continue;
    const commands = [...part.matchAll(/```bash\n([\s\S]*?)```/g)].flatMap((b) =>
      b[1]
        .split('\n')
        .map((l) => l.trim())
        .filter(Boolean),
    );
    out.push({ n: Number(n), commands });
  }
  return out;
}

/** The account ids the procedure writes as placeholders. */
const PLACEHOLDERS: Record<string, string> = {
  '<staging-account-id>': staging.account,
  '<production-account-id>': production.account,
};

/** A command's words with the account placeholders filled in and `AWS_PROFILE=…` split off. */
function parse(line: string): { profile?: string; words: string[] } {
  let text = line;
  for (const [k, v] of Object.entries(PLACEHOLDERS)) text = text.split(k).join(v);
  const words = text.match(/'[^']*'|\S+/g) ?? [];
  const profile = /^AWS_PROFILE=(\w+)$/.exec(words[0] ?? '')?.[1];
  return { profile, words: profile ? words.slice(1) : words };
}

/** The words of a fix command up to its first placeholder (`<…>`, `…`): what a step must start with. */
function fixKey(command: string): string[] {
  const words = command.trim().split(/\s+/);
  const cut = words.findIndex((w) => w.includes('<') || w.includes('…'));
  return cut === -1 ? words : words.slice(0, cut);
}

/** The commands a FAIL's fix names, in its text. */
function fixCommands(fix: string): string[] {
  return [
    ...fix.matchAll(
      /(npx cdk [^;,()&]+|npm run ops -- [^;,()&]+|aws [a-z0-9-]+ [a-z0-9-]+[^;,()&]*|docker [^;&,()]+)/g,
    ),
  ].map((m) => m[1].trim());
}

/** The step of the procedure (for `env`) that runs `command`. */
function stepFor(env: EnvironmentConfig, command: string): { n: number; commands: string[] } | undefined {
  const key = fixKey(command);
  return steps().find((s) =>
    s.commands.some((line) => {
      const { profile, words } = parse(line);
      if (profile && profile !== env.name) return false;
      return key.length > 2 && key.every((w, i) => words[i] === w);
    }),
  );
}

describe.each([staging, production])('docs/first-deploy.md against an empty $name account', (committed) => {
  let moto: Moto;
  let dir: string;
  let envFile: string;
  const saved = { clients: preflightDeps.clients, pager: { ...pagerDeps }, release: { ...releaseDeps } };
  const lambda = new LambdaClient({ region: REGION });
  const quotas = new ServiceQuotasClient({ region: REGION });

  beforeAll(async () => {
    moto = await startMoto({ accountId: committed.account });
    dir = fs.mkdtempSync(path.join(os.tmpdir(), `cb-procedure-${committed.name}-`));
    envFile = path.join(dir, `${committed.name}.ts`);
    fs.copyFileSync(path.join(ROOT, 'environments', `${committed.name}.ts`), envFile);
    mockClient(lambda)
      .on(GetAccountSettingsCommand)
      .resolves({ AccountLimit: { ConcurrentExecutions: 1000, UnreservedConcurrentExecutions: 1000 } });
    mockClient(quotas)
      .on(GetServiceQuotaCommand)
      .resolves({ Quota: { Value: 400 } });
    const real = preflightClients({
      region: REGION,
      endpoint: moto.endpoint,
      credentials: { accessKeyId: 'testing', secretAccessKey: 'testing' },
      maxAttempts: 1,
    });
    preflightDeps.clients = () => ({ ...real, lambda, serviceQuotas: quotas });
    const secrets = new SecretsManagerClient({
      region: REGION,
      endpoint: moto.endpoint,
      credentials: { accessKeyId: 'testing', secretAccessKey: 'testing' },
    });
    pagerDeps.secrets = () => secrets;
    pagerDeps.file = () => envFile;
    releaseDeps.ecr = () => real.ecr;
    releaseDeps.file = () => envFile;
  }, 60_000);

  afterAll(async () => {
    preflightDeps.clients = saved.clients;
    Object.assign(pagerDeps, saved.pager);
    Object.assign(releaseDeps, saved.release);
    await moto?.stop();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  /** The environment as the procedure has left `environments/<env>.ts` (pins, pager version). */
  function current(): EnvironmentConfig {
    const text = fs.readFileSync(envFile, 'utf8');
    const pinned = (key: 'bot' | 'ml') => {
      const block = new RegExp(`\\n  ${key}: \\{([\\s\\S]*?)\\n?  \\}`).exec(text)?.[1] ?? '';
      const digest = /imageDigest: '([^']+)'/.exec(block)?.[1];
      return { ...committed[key], ...(digest ? { imageDigest: digest } : {}) };
    };
    const version = /urlSecretVersionId: '([^']+)'/.exec(text)?.[1];
    const pager = committed.alerting.pager;
    return {
      ...committed,
      bot: pinned('bot'),
      ml: pinned('ml'),
      alerting: {
        ...committed.alerting,
        pager: pager && version ? { ...pager, urlSecretVersionId: version } : pager,
      },
    } as EnvironmentConfig;
  }

  /** Synthesizes the app with the environment as it now reads, into `dir`. */
  function synthesize(): string {
    const out = fs.mkdtempSync(path.join(dir, 'assembly-'));
    const app = new App({ outdir: out, context: { ...CDK_CONTEXT, 'aws:cdk:bundling-stacks': [] } });
    const other = committed.name === 'staging' ? production : staging;
    addEnvironmentStacks(app, committed.name === 'staging' ? [current(), other] : [other, current()]);
    app.synth();
    return out;
  }

  async function ops(argv: string[]): Promise<{ code: number; lines: string[] }> {
    const ctx = fakeContext(current(), {});
    const code = await main([...argv, '--endpoint-url', moto.endpoint], () => ctx);
    return { code, lines: ctx.lines };
  }

  async function preflight() {
    const { code, lines } = await ops(['preflight', '--env', committed.name, '--assembly', synthesize()]);
    const failures: { check: string; fix: string }[] = [];
    lines.forEach((l, i) => {
      const m = /^FAIL ([^:]+):/.exec(l);
      if (m) failures.push({ check: m[1], fix: /^ {5}fix: (.*)$/.exec(lines[i + 1] ?? '')?.[1] ?? '' });
    });
    return { code, lines, failures };
  }

  /** Runs one command of a step against the emulator (see the file comment for what is emulated). */
  async function run(line: string): Promise<void> {
    const { profile, words } = parse(line);
    if (profile && profile !== committed.name) return;
    const client = preflightDeps.clients(committed);
    if (words[0] === 'aws') {
      const [result] = runAwsCommands([words.slice(1)], { endpoint: moto.endpoint, region: REGION });
      expect(result).not.toHaveProperty('error');
      if (words[1] === 'iam' && words[2] === 'create-service-linked-role') {
        const service = words[words.indexOf('--aws-service-name') + 1];
        const RoleName = {
          'ecs.amazonaws.com': 'AWSServiceRoleForECS',
          'ecs.application-autoscaling.amazonaws.com': 'AWSServiceRoleForApplicationAutoScaling_ECSService',
        }[service]!;
        await client.iam.send(
          new CreateRoleCommand({
            RoleName,
            Path: `/aws-service-role/${service}/`,
            AssumeRolePolicyDocument: JSON.stringify({
              Version: '2012-10-17',
              Statement: [{ Effect: 'Allow', Principal: { Service: service }, Action: 'sts:AssumeRole' }],
            }),
          }),
        );
      }
    } else if (words[0] === 'npx' && words[2] === 'bootstrap') {
      await client.cloudformation.send(
        new CreateStackCommand({
          StackName: 'CDKToolkit',
          TemplateBody: JSON.stringify({
            Resources: { Bucket: { Type: 'AWS::S3::Bucket' } },
            Outputs: { BootstrapVersion: { Value: '30' } },
          }),
        }),
      );
    } else if (words[0] === 'npx' && words[2] === 'deploy' && /Registry$/.test(words[3])) {
      const template = JSON.parse(
        fs.readFileSync(path.join(synthesize(), `${words[3]}.template.json`), 'utf8'),
      );
      for (const r of Object.values(template.Resources) as {
        Type: string;
        Properties: Record<string, string>;
      }[])
        if (r.Type === 'AWS::ECR::Repository')
          await client.ecr.send(
            new CreateRepositoryCommand({
              repositoryName: r.Properties.RepositoryName,
              imageTagMutability: 'IMMUTABLE',
            }),
          );
    } else if (words[0] === 'docker' && words[1] === 'push') {
      const [repository, tag] = words[2].slice(words[2].indexOf('/') + 1).split(':');
      await pushImage(repository, tag);
    } else if (words[0] === 'npm' && words[4] === 'release') {
      // Staging pushed this tag and ECR replicated it: in one emulated account, the push is the replica.
      const repository =
        words[words.indexOf('--service') + 1] === 'bot' ? 'clever-better-bot' : 'clever-better-ml';
      await pushImage(repository, words[words.indexOf('--tag') + 1]);
      const argv = words
        .slice(4)
        .filter(
          (w, i, all) =>
            !/^--(source|target)-profile$/.test(w) && !/^--(source|target)-profile$/.test(all[i - 1] ?? ''),
        );
      expect((await ops(argv)).code).toBe(0);
    } else if (words[0] === 'npm') {
      const argv = words
        .slice(4)
        .map((w) => (w === '<https://…>' ? 'https://pager.example.net/integration/1' : w));
      expect((await ops(argv)).code).toBe(0);
    } else if (!(words[0] === 'docker' && (words[1] === 'build' || words[1] === 'login'))) {
      throw new Error(`no way to run "${line}" against the emulator`);
    }
  }

  async function pushImage(repositoryName: string, imageTag: string): Promise<void> {
    const client = preflightDeps.clients(committed);
    const manifest = JSON.stringify({
      schemaVersion: 2,
      mediaType: 'application/vnd.docker.distribution.manifest.v2+json',
      config: {
        mediaType: 'application/vnd.docker.container.image.v1+json',
        size: 1,
        digest: `sha256:${'1'.repeat(64)}`,
      },
      layers: [
        {
          mediaType: 'application/vnd.docker.image.rootfs.diff.tar.gzip',
          size: 1,
          digest: `sha256:${repositoryName.length.toString(16).padStart(64, '0')}`,
        },
      ],
    });
    try {
      const put = await client.ecr.send(
        new PutImageCommand({ repositoryName, imageManifest: manifest, imageTag }),
      );
      // The registry scans on push (lib/registry.ts); moto scans when asked.
      await client.ecr.send(
        new StartImageScanCommand({
          repositoryName,
          imageId: { imageDigest: put.image!.imageId!.imageDigest },
        }),
      );
    } catch (err) {
      // Pushed already (by its docker push step): tags are immutable.
      if ((err as { name?: string }).name !== 'ImageAlreadyExistsException') throw err;
    }
  }

  test('every failure is cleared by a named step; after those steps preflight passes', async () => {
    const first = await preflight();
    expect(first.code).toBe(1);
    // Non-vacuous: an empty account misses what the procedure creates.
    expect(first.failures.map((f) => f.check)).toEqual(
      expect.arrayContaining(['cdk bootstrap', 'service-linked roles', 'images']),
    );
    if (committed.alerting.pager)
      expect(first.failures.map((f) => f.check)).toContain('secrets and parameters');
    const ran = new Set<number>();
    let result = first;
    for (let round = 0; round < 6 && result.failures.length > 0; round++) {
      for (const failure of result.failures) {
        const commands = fixCommands(failure.fix);
        expect({ failure, commands: commands.length > 0 }).toEqual({ failure, commands: true });
        for (const command of commands) {
          const step = stepFor(committed, command);
          // A FAIL that no step of the procedure clears: the document is missing a step.
          expect({ failure, command, step: step?.n }).toEqual({ failure, command, step: expect.any(Number) });
          if (ran.has(step!.n)) continue;
          ran.add(step!.n);
          for (const line of step!.commands) await run(line);
        }
      }
      result = await preflight();
    }
    expect(result.failures).toEqual([]);
    expect(result.lines.at(-1)).toMatch(/^preflight passed/);
    expect(result.code).toBe(0);
  }, 240_000);
});
