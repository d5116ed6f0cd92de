/**
 * Preflight checks against the AWS emulator (moto in server mode, MOTO_ENDPOINT) where it answers:
 * STS, CloudFormation, IAM, ECR, Secrets Manager and SNS. Lambda's GetAccountSettings and Service
 * Quotas are not emulated; test/preflight/preflight.test.ts covers them with aws-sdk-client-mock.
 * The emulator is reset first: the checks read account-wide state (CDKToolkit, roles, repositories).
 */
import { CreateStackCommand } from '@aws-sdk/client-cloudformation';
import { CreateRepositoryCommand, PutImageCommand } from '@aws-sdk/client-ecr';
import { CreateRoleCommand } from '@aws-sdk/client-iam';
import { GetCallerIdentityCommand } from '@aws-sdk/client-sts';
import { CreateSecretCommand, PutSecretValueCommand } from '@aws-sdk/client-secrets-manager';
import { CreateTopicCommand, SubscribeCommand } from '@aws-sdk/client-sns';
import { staging } from '../../environments';
import { EnvironmentConfig } from '../../environments/types';
import { runbookNames } from '../../lib/names';
import {
  checkAccount,
  checkBootstrap,
  checkImages,
  checkSecrets,
  checkServiceLinkedRoles,
  checkSubscriptions,
  PreflightInput,
} from '../../lib/ops/preflight-checks';
import { TemplateFacts, TemplateImage, TemplateReference } from '../../lib/ops/template-facts';
import { testClients } from './clients';

const endpoint = process.env.MOTO_ENDPOINT;
if (!endpoint) throw new Error('MOTO_ENDPOINT is not set: start moto_server and export MOTO_ENDPOINT');
// moto's default account, which its STS reports.
const ACCOUNT = '123456789012';
const c = testClients({ endpoint });

beforeAll(async () => {
  const res = await fetch(`${endpoint}/moto-api/reset`, { method: 'POST' });
  expect(res.ok).toBe(true);
});
const env: EnvironmentConfig = { ...staging, account: ACCOUNT };
const names = runbookNames(env.name);
const facts: TemplateFacts = {
  reservedConcurrency: 0,
  reservations: [],
  services: {},
  requiredBootstrapVersion: 6,
};
/** The images a template of `e` names, as the synthesized task definitions write them. */
const imagesOf = (e: EnvironmentConfig): TemplateImage[] =>
  (['bot', 'ml'] as const).map((key) => {
    const repository = key === 'bot' ? names.botRepository : names.mlRepository;
    const { imageTag: tag, imageDigest: digest } = e[key];
    const uri = `${e.account}.dkr.ecr.${e.region}.amazonaws.com/${repository}${digest ? `@${digest}` : `:${tag}`}`;
    return {
      uri,
      account: e.account,
      region: e.region,
      repository,
      ...(digest ? { digest } : { tag }),
      where: [key],
    };
  });
const input: PreflightInput = { env, names, facts: { ...facts, images: imagesOf(env) } };

const stackTemplate = (outputs: Record<string, unknown>, resources: Record<string, unknown>) =>
  JSON.stringify({ Resources: resources, Outputs: outputs });

describe('preflight against the emulator', () => {
  test('account: passes with credentials of the environment account, fails with another, naming both', async () => {
    // moto's STS answers with its default identity whatever the access key.
    const { Account } = await c.sts.send(new GetCallerIdentityCommand({}));
    expect(await checkAccount({ ...input, env: { ...env, account: Account! } }, c)).toMatchObject({
      status: 'pass',
    });
    const other = await checkAccount({ ...input, env: staging }, c);
    expect(other).toMatchObject({
      status: 'fail',
      detail: expect.stringContaining(`credentials are for account ${Account}`),
    });
    expect(other.fix).toContain('use credentials of account 111111111111');
  });

  test('bootstrap: fails without CDKToolkit, fails on an old version, passes on a recent one', async () => {
    expect(await checkBootstrap(input, c)).toMatchObject({
      status: 'fail',
      detail: 'stack CDKToolkit does not exist',
      fix: `npx cdk bootstrap aws://${ACCOUNT}/eu-west-1`,
    });
    await c.cloudformation.send(
      new CreateStackCommand({
        StackName: 'CDKToolkit',
        TemplateBody: stackTemplate(
          { BootstrapVersion: { Value: '21' } },
          { Bucket: { Type: 'AWS::S3::Bucket' } },
        ),
      }),
    );
    expect(await checkBootstrap(input, c)).toMatchObject({
      status: 'pass',
      detail: 'bootstrap version 21 (needs 6 or later)',
    });
    const newer = { ...input, facts: { ...facts, requiredBootstrapVersion: 30 } };
    expect(await checkBootstrap(newer, c)).toMatchObject({
      status: 'fail',
      detail: 'bootstrap version 21, this app needs 30 or later',
    });
  }, 30_000); // moto loads its CloudFormation backend on the first call: seconds on a busy machine

  test('service-linked roles: fails with the create command while missing, passes once they exist', async () => {
    const missing = await checkServiceLinkedRoles(input, c);
    expect(missing.status).toBe('fail');
    expect(missing.fix).toBe(
      'aws iam create-service-linked-role --aws-service-name ecs.amazonaws.com && ' +
        'aws iam create-service-linked-role --aws-service-name ecs.application-autoscaling.amazonaws.com',
    );
    // As CreateServiceLinkedRole makes them in AWS (moto's own names differ: AWSServiceRoleForecs).
    const createLinkedRole = (RoleName: string, service: string) =>
      c.iam.send(
        new CreateRoleCommand({
          RoleName,
          Path: `/aws-service-role/${service}/`,
          AssumeRolePolicyDocument: JSON.stringify({
            Version: '2012-10-17',
            Statement: [{ Effect: 'Allow', Principal: { Service: service }, Action: 'sts:AssumeRole' }],
          }),
        }),
      );
    await createLinkedRole('AWSServiceRoleForECS', 'ecs.amazonaws.com');
    expect((await checkServiceLinkedRoles(input, c)).fix).toBe(
      'aws iam create-service-linked-role --aws-service-name ecs.application-autoscaling.amazonaws.com',
    );
    await createLinkedRole(
      'AWSServiceRoleForApplicationAutoScaling_ECSService',
      'ecs.application-autoscaling.amazonaws.com',
    );
    expect(await checkServiceLinkedRoles(input, c)).toMatchObject({ status: 'pass' });
  });

  test('images: fails on a missing repository (deploy the registry), a missing tag (push) and a missing digest; passes when all are there', async () => {
    const noRepo = await checkImages(input, c);
    expect(noRepo).toMatchObject({ status: 'fail', fix: 'npx cdk deploy StagingRegistry' });
    for (const repositoryName of [names.botRepository, names.mlRepository])
      await c.ecr.send(new CreateRepositoryCommand({ repositoryName, imageTagMutability: 'IMMUTABLE' }));
    const noTag = await checkImages(input, c);
    expect(noTag.detail).toBe(
      'clever-better-bot:v1.2.3 is not in the registry; clever-better-ml:v1.2.3 is not in the registry',
    );
    expect(noTag.fix).toContain(
      `docker push ${ACCOUNT}.dkr.ecr.eu-west-1.amazonaws.com/clever-better-bot:v1.2.3`,
    );
    const digests: Record<string, string> = {};
    for (const repositoryName of [names.botRepository, names.mlRepository]) {
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
            digest: `sha256:${repositoryName.length.toString().repeat(32)}`,
          },
        ],
      });
      const put = await c.ecr.send(
        new PutImageCommand({ repositoryName, imageManifest: manifest, imageTag: 'v1.2.3' }),
      );
      digests[repositoryName] = put.image!.imageId!.imageDigest!;
    }
    expect(await checkImages(input, c)).toMatchObject({ status: 'pass' });
    const pinned = {
      ...input,
      env: {
        ...env,
        bot: { ...env.bot, imageDigest: digests[names.botRepository] },
        ml: { ...env.ml, imageDigest: `sha256:${'f'.repeat(64)}` },
      },
    };
    const missingDigest = await checkImages(
      { ...pinned, facts: { ...facts, images: imagesOf(pinned.env) } },
      c,
    );
    expect(missingDigest.detail).toBe(`clever-better-ml@sha256:${'f'.repeat(64)} is not in the registry`);
    expect(missingDigest.fix).toContain('wait for replication');
  });

  test('secrets: a missing external reference fails; stack-created secrets skip before the first deploy, fail on placeholders after it, pass on real values', async () => {
    // As the synthesized templates name them: the Betfair secret the stack creates (ECS injects
    // its keys) and a pager URL the stack only references ({{resolve:secretsmanager:…}}).
    const secretsEnv = { ...env, stackName: 'PreflightSecretsStack' };
    const references: TemplateReference[] = [
      ...['app_key', 'username', 'password'].map((jsonKey) => ({
        service: 'secretsmanager' as const,
        id: names.betfairSecret,
        jsonKey,
        createdByStack: true,
        where: ['ServicesBotTask'],
      })),
      {
        service: 'secretsmanager',
        id: 'preflight/pager',
        jsonKey: 'url',
        createdByStack: false,
        where: ['Pager'],
      },
    ];
    const secretsInput = { ...input, env: secretsEnv, facts: { ...facts, references } };
    const missing = await checkSecrets(secretsInput, c);
    expect(missing).toMatchObject({
      status: 'fail',
      detail: 'preflight/pager url is missing (preflight/pager does not exist), read by Pager',
      fix: `aws secretsmanager create-secret --name preflight/pager --secret-string '{"url":"…"}'`,
    });
    await c.secrets.send(
      new CreateSecretCommand({
        Name: 'preflight/pager',
        SecretString: JSON.stringify({ url: 'https://p.example.org/x' }),
      }),
    );
    const before = await checkSecrets(secretsInput, c);
    expect(before).toMatchObject({ status: 'skip' });
    expect(before.fix).toContain(
      `aws secretsmanager put-secret-value --secret-id clever-better/staging/betfair --secret-string '{"app_key":"…","username":"…","password":"…"}'`,
    );
    await c.cloudformation.send(
      new CreateStackCommand({
        StackName: secretsEnv.stackName,
        TemplateBody: stackTemplate({}, { Bucket: { Type: 'AWS::S3::Bucket' } }),
      }),
    );
    await c.secrets.send(
      new CreateSecretCommand({
        Name: names.betfairSecret,
        SecretString: JSON.stringify({
          app_key: 'REPLACE_ME',
          username: 'REPLACE_ME',
          password: 'generated',
        }),
      }),
    );
    const placeholders = await checkSecrets(secretsInput, c);
    expect(placeholders).toMatchObject({ status: 'fail' });
    expect(placeholders.detail).toBe(
      'clever-better/staging/betfair app_key is the placeholder REPLACE_ME, read by ServicesBotTask; clever-better/staging/betfair username is the placeholder REPLACE_ME, read by ServicesBotTask',
    );
    await c.secrets.send(
      new PutSecretValueCommand({
        SecretId: names.betfairSecret,
        SecretString: JSON.stringify({ app_key: 'k', username: 'u', password: 'p' }),
      }),
    );
    expect(await checkSecrets(secretsInput, c)).toMatchObject({ status: 'pass' });
  });

  test('subscriptions: skip before the first deploy; fail on a topic output without a subscriber; pass when every …TopicArn output has a confirmed one (any protocol)', async () => {
    expect(await checkSubscriptions(input, c)).toMatchObject({ status: 'skip' });
    const onCall = (await c.sns.send(new CreateTopicCommand({ Name: `oncall-${ACCOUNT}` }))).TopicArn!;
    const ticket = (await c.sns.send(new CreateTopicCommand({ Name: `ticket-${ACCOUNT}` }))).TopicArn!;
    await c.sns.send(
      new SubscribeCommand({ TopicArn: onCall, Protocol: 'email', Endpoint: 'oncall@example.org' }),
    );
    await c.cloudformation.send(
      new CreateStackCommand({
        StackName: env.stackName,
        TemplateBody: stackTemplate(
          {
            OnCallTopicArn: { Value: onCall },
            TicketTopicArn: { Value: ticket },
            ClusterName: { Value: 'x' },
          },
          { Bucket: { Type: 'AWS::S3::Bucket' } },
        ),
      }),
    );
    const oneMissing = await checkSubscriptions(input, c);
    expect(oneMissing).toMatchObject({ status: 'fail', detail: 'TicketTopicArn: no subscriber' });
    // A pager over HTTPS counts as much as an e-mail (production's OK topic has only the pager).
    await c.sns.send(
      new SubscribeCommand({
        TopicArn: ticket,
        Protocol: 'https',
        Endpoint: 'https://pager.example.org/sns',
      }),
    );
    expect(await checkSubscriptions(input, c)).toMatchObject({ status: 'pass' });
  });
});
