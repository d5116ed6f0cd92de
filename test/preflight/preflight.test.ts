/**
 * Preflight checks the emulator does not answer (Lambda GetAccountSettings, Service Quotas, an
 * unconfirmed e-mail subscription), the command's output and exit code, and the template facts the
 * checks rest on, with aws-sdk-client-mock. The other checks run against moto in
 * preflight.integration.test.ts.
 */
import {
  CloudFormationClient,
  DescribeStacksCommand,
  ListExportsCommand,
  ListStackResourcesCommand,
} from '@aws-sdk/client-cloudformation';
import { DescribeImagesCommand, ECRClient } from '@aws-sdk/client-ecr';
import { GetRoleCommand, IAMClient } from '@aws-sdk/client-iam';
import {
  GetAccountSettingsCommand,
  GetFunctionConcurrencyCommand,
  LambdaClient,
} from '@aws-sdk/client-lambda';
import {
  DescribeSecretCommand,
  GetSecretValueCommand,
  SecretsManagerClient,
} from '@aws-sdk/client-secrets-manager';
import { GetServiceQuotaCommand, ServiceQuotasClient } from '@aws-sdk/client-service-quotas';
import { ListSubscriptionsByTopicCommand, SNSClient } from '@aws-sdk/client-sns';
import { GetCallerIdentityCommand, STSClient } from '@aws-sdk/client-sts';
import { mockClient } from 'aws-sdk-client-mock';
import * as os from 'node:os';
import { environments, production, staging } from '../../environments';
import { main } from '../../lib/ops';
import { runbookNames } from '../../lib/names';
import {
  checkFargateQuota,
  checkImages,
  checkImports,
  checkLambdaConcurrency,
  checkProtection,
  checkSecrets,
  checkSubscriptions,
  PreflightInput,
} from '../../lib/ops/preflight-checks';
import { preflightDeps } from '../../lib/ops/preflight';
import { templateFacts, TemplateFacts } from '../../lib/ops/template-facts';
import { CloudAssembly } from 'aws-cdk-lib/cx-api';
import { sharedAssemblyDir } from '../helpers/shared-assembly';
import { fakeContext } from '../ops/ops-context';
import { testClients } from './clients';

const mocks = {
  sts: mockClient(STSClient),
  cfn: mockClient(CloudFormationClient),
  lambda: mockClient(LambdaClient),
  iam: mockClient(IAMClient),
  quotas: mockClient(ServiceQuotasClient),
  ecr: mockClient(ECRClient),
  secrets: mockClient(SecretsManagerClient),
  sns: mockClient(SNSClient),
};
const c = testClients();
const TOPIC = 'arn:aws:sns:eu-west-1:222222222222:oncall';

// The facts come from the synthesized templates: the run's one synthesis of the real app.
let outdir: string;
let factsOf: Record<string, TemplateFacts>;
let reservedInTemplate: Record<string, number>;
beforeAll(() => {
  outdir = sharedAssemblyDir();
  const assembly = new CloudAssembly(outdir);
  factsOf = Object.fromEntries(environments.map((e) => [e.name, templateFacts(e, outdir)]));
  reservedInTemplate = Object.fromEntries(
    environments.map((e) => {
      const resources = Object.values(
        assembly.getStackByName(e.stackName).template.Resources as Record<
          string,
          { Type: string; Properties: { ReservedConcurrentExecutions?: number } }
        >,
      );
      return [
        e.name,
        resources
          .filter((r) => r.Type === 'AWS::Lambda::Function')
          .reduce((sum, r) => sum + (r.Properties.ReservedConcurrentExecutions ?? 0), 0),
      ];
    }),
  );
});

const input = (name: 'staging' | 'production' = 'production'): PreflightInput => ({
  env: name === 'staging' ? staging : production,
  names: runbookNames(name),
  facts: factsOf[name],
});

/** Every mock answering as a ready account does. */
function healthyAccount(): void {
  Object.values(mocks).forEach((m) => m.reset());
  mocks.sts
    .on(GetCallerIdentityCommand)
    .resolves({ Account: production.account, Arn: 'arn:aws:sts::x:assumed-role/ops' });
  mocks.cfn.on(DescribeStacksCommand, { StackName: 'CDKToolkit' }).resolves({
    Stacks: [
      {
        StackName: 'CDKToolkit',
        StackStatus: 'UPDATE_COMPLETE',
        CreationTime: new Date(),
        Outputs: [{ OutputKey: 'BootstrapVersion', OutputValue: '28' }],
      },
    ],
  });
  mocks.cfn.on(DescribeStacksCommand, { StackName: 'ProductionStack' }).resolves({
    Stacks: [
      {
        StackName: 'ProductionStack',
        StackStatus: 'UPDATE_COMPLETE',
        CreationTime: new Date(),
        Outputs: [{ OutputKey: 'OnCallTopicArn', OutputValue: TOPIC }],
      },
    ],
  });
  mocks.cfn.on(ListStackResourcesCommand).resolves({ StackResourceSummaries: [] });
  mocks.lambda
    .on(GetAccountSettingsCommand)
    .resolves({ AccountLimit: { ConcurrentExecutions: 1000, UnreservedConcurrentExecutions: 1000 } });
  mocks.iam.on(GetRoleCommand).resolves({});
  mocks.quotas.on(GetServiceQuotaCommand).resolves({ Quota: { Value: 400 } });
  mocks.ecr.on(DescribeImagesCommand).resolves({ imageDetails: [{ imageTags: ['v1.2.3'] }] });
  mocks.secrets.on(GetSecretValueCommand).resolves({
    SecretString: JSON.stringify({
      app_key: 'k',
      username: 'u',
      password: 'p',
      url: 'https://pager.example.net/x',
    }),
  });
  mocks.sns.on(ListSubscriptionsByTopicCommand).resolves({
    Subscriptions: [
      { Protocol: 'email', Endpoint: 'oncall@clever-better.example', SubscriptionArn: `${TOPIC}:1234` },
    ],
  });
}
beforeEach(healthyAccount);

describe('template facts (never hard-coded)', () => {
  test.each(['staging', 'production'] as const)(
    '%s: reservations are summed from the synthesized template',
    (name) => {
      expect(reservedInTemplate[name]).toBeGreaterThan(0);
      expect(factsOf[name].reservedConcurrency).toBe(reservedInTemplate[name]);
      expect(factsOf[name].requiredBootstrapVersion).toBeGreaterThanOrEqual(6);
      expect(Object.keys(factsOf[name].services).sort()).toEqual(['bot', 'ml-service']);
    },
  );

  test('a missing template in --assembly fails with the fix', () => {
    expect(() => templateFacts(production, os.tmpdir())).toThrow(
      /ProductionStack.template.json does not exist: pass the cloud assembly/,
    );
  });
});

describe('lambda concurrency (GetAccountSettings)', () => {
  test('passes when the reservations leave at least 100 unreserved', async () => {
    const r = await checkLambdaConcurrency(input(), c);
    expect(r.status).toBe('pass');
    expect(r.detail).toContain(`the template reserves ${reservedInTemplate.production} (`);
  });

  test('fails on a new account with a quota of 10, with the quota request command', async () => {
    mocks.lambda
      .on(GetAccountSettingsCommand)
      .resolves({ AccountLimit: { ConcurrentExecutions: 10, UnreservedConcurrentExecutions: 10 } });
    const r = await checkLambdaConcurrency(input(), c);
    expect(r.status).toBe('fail');
    expect(r.detail).toContain('account quota 10, unreserved 10');
    expect(r.fix).toContain(
      'aws service-quotas request-service-quota-increase --service-code lambda --quota-code L-B99A9384',
    );
  });

  test('counts reservations the deployed stack already holds: they return to the pool on update', async () => {
    const needed = reservedInTemplate.production;
    mocks.lambda
      .on(GetAccountSettingsCommand)
      .resolves({ AccountLimit: { ConcurrentExecutions: 1000, UnreservedConcurrentExecutions: 100 } });
    mocks.cfn.on(ListStackResourcesCommand).resolves({
      StackResourceSummaries: [
        {
          ResourceType: 'AWS::Lambda::Function',
          PhysicalResourceId: 'fn-a',
          LogicalResourceId: 'A',
          ResourceStatus: 'UPDATE_COMPLETE',
          LastUpdatedTimestamp: new Date(),
        },
      ],
    });
    mocks.lambda
      .on(GetFunctionConcurrencyCommand, { FunctionName: 'fn-a' })
      .resolves({ ReservedConcurrentExecutions: needed });
    expect((await checkLambdaConcurrency(input(), c)).status).toBe('pass');
    mocks.lambda
      .on(GetFunctionConcurrencyCommand, { FunctionName: 'fn-a' })
      .resolves({ ReservedConcurrentExecutions: needed - 1 });
    expect((await checkLambdaConcurrency(input(), c)).status).toBe('fail');
  });
});

describe('fargate vCPU quota (Service Quotas)', () => {
  test('passes when the quota covers cpu × max tasks × maximumPercent of every service', async () => {
    const r = await checkFargateQuota(input(), c);
    // production: bot 0.5 vCPU × 1 × 100% + ml 2 vCPU × 6 × 200%
    expect(r.detail).toBe(
      'peak 24.5 vCPU (bot 0.5 vCPU × 1 × 100% = 0.5; ml-service 2 vCPU × 6 × 200% = 24), quota 400',
    );
    expect(r.status).toBe('pass');
    expect(mocks.quotas.commandCalls(GetServiceQuotaCommand)[0].args[0].input).toEqual({
      ServiceCode: 'fargate',
      QuotaCode: 'L-3032A538',
    });
  });

  test('fails on a new account quota below the peak, with the request command', async () => {
    mocks.quotas.on(GetServiceQuotaCommand).resolves({ Quota: { Value: 6 } });
    const r = await checkFargateQuota(input(), c);
    expect(r.status).toBe('fail');
    expect(r.fix).toContain('--quota-code L-3032A538 --desired-value 25');
  });
});

describe('on-call subscriptions', () => {
  test('fail while the e-mail subscription is pending confirmation', async () => {
    mocks.sns.on(ListSubscriptionsByTopicCommand).resolves({
      Subscriptions: [
        {
          Protocol: 'email',
          Endpoint: 'oncall@clever-better.example',
          SubscriptionArn: 'PendingConfirmation',
        },
      ],
    });
    const r = await checkSubscriptions(input(), c);
    expect(r).toMatchObject({
      status: 'fail',
      detail: 'OnCallTopicArn: email oncall@clever-better.example pending confirmation',
    });
    expect(r.fix).toContain('confirm');
  });
});

describe('npm run ops -- preflight', () => {
  const run = async (argv: string[]) => {
    // The stack exists in this account, so environments/ says so (ops protect).
    const ctx = fakeContext({ ...production, stackCreated: true }, {});
    const original = preflightDeps.clients;
    preflightDeps.clients = () => c;
    try {
      return { code: await main(argv, () => ctx), lines: ctx.lines };
    } finally {
      preflightDeps.clients = original;
    }
  };

  test('prints PASS for every check and exits 0 on a ready account', async () => {
    const { code, lines } = await run(['preflight', '--env', 'production', '--assembly', outdir]);
    expect(lines.filter((l) => l.startsWith('PASS'))).toHaveLength(10);
    expect(lines.at(-1)).toBe('preflight passed (0 skipped until after the first deploy)');
    expect(code).toBe(0);
  });

  test('prints FAIL with the fix under it and exits 1; a check that errors fails alone', async () => {
    mocks.sts.on(GetCallerIdentityCommand).resolves({ Account: staging.account, Arn: 'arn:x' });
    mocks.iam
      .on(GetRoleCommand)
      .rejects(Object.assign(new Error('not authorized'), { name: 'AccessDenied' }));
    const { code, lines } = await run(['preflight', '--env', 'production', '--assembly', outdir]);
    expect(code).toBe(1);
    const i = lines.findIndex((l) => l.startsWith('FAIL account:'));
    expect(lines[i + 1]).toMatch(/^ {5}fix: use credentials of account 222222222222/);
    expect(lines).toContain('FAIL service linked roles: could not check: AccessDenied: not authorized');
    expect(lines.filter((l) => l.startsWith('PASS'))).toHaveLength(8);
    expect(lines.at(-1)).toBe('preflight failed: account, service linked roles');
  });

  test('without credentials: one error, printed once, naming the administrator it needs (no operator role exists yet)', async () => {
    const none = Object.assign(new Error('Could not load credentials from any providers'), {
      name: 'CredentialsProviderError',
    });
    for (const m of Object.values(mocks) as { onAnyCommand(): { rejects(e: Error): unknown } }[])
      m.onAnyCommand().rejects(none);
    const stderr = jest.spyOn(process.stderr, 'write').mockImplementation(() => true);
    try {
      const { code, lines } = await run(['preflight', '--env', 'production', '--assembly', outdir]);
      expect(code).toBe(1);
      expect(lines.filter((l) => l.includes('CredentialsProviderError'))).toEqual([]);
      expect(stderr).toHaveBeenCalledTimes(1);
      const text = String(stderr.mock.calls[0][0]);
      expect(text.match(/CredentialsProviderError/g)).toHaveLength(1);
      expect(text).toContain(`ops preflight needs an administrator of account ${production.account}`);
      expect(text).not.toContain('needs the clever-better-operator role');
    } finally {
      stderr.mockRestore();
    }
  });

  test('without credentials it says so before synthesizing anything (no wait for a synth)', async () => {
    const none = Object.assign(new Error('Could not load credentials from any providers'), {
      name: 'CredentialsProviderError',
    });
    mocks.sts.on(GetCallerIdentityCommand).rejects(none);
    const stderr = jest.spyOn(process.stderr, 'write').mockImplementation(() => true);
    try {
      // An assembly that does not exist: reading it would fail with another error.
      const { code, lines } = await run([
        'preflight',
        '--env',
        'production',
        '--assembly',
        `${outdir}-missing`,
      ]);
      expect(code).toBe(1);
      expect(lines).toEqual([
        `preflight production (${production.stackName}, account ${production.account}, ${production.region})`,
      ]);
      expect(String(stderr.mock.calls.map((c) => c[0]).join(''))).toContain(
        `ops preflight needs an administrator of account ${production.account}`,
      );
    } finally {
      stderr.mockRestore();
    }
  });

  test('rejects an undeclared option before any AWS call', async () => {
    const stderr = jest.spyOn(process.stderr, 'write').mockImplementation(() => true);
    try {
      expect((await run(['preflight', '--env', 'production', '--fix'])).code).toBe(2);
    } finally {
      stderr.mockRestore();
    }
    expect(mocks.sts.calls()).toHaveLength(0);
  });
});

describe('secrets with credentials that may not read values (the CI lookup role)', () => {
  test('still fail on a referenced secret or version that does not exist (DescribeSecret)', async () => {
    const denied = Object.assign(new Error('denied'), { name: 'AccessDeniedException' });
    mocks.secrets.on(GetSecretValueCommand).rejects(denied);
    mocks.secrets
      .on(DescribeSecretCommand, { SecretId: 'clever-better/production/pager' })
      .rejects(Object.assign(new Error('nope'), { name: 'ResourceNotFoundException' }));
    expect(await checkSecrets(input(), c)).toMatchObject({
      status: 'fail',
      fix: 'npm run ops -- pager set-url --env production --url <https://…>',
    });
    const V = 'a1b2c3d4-0000-4000-8000-000000000009';
    const facts: TemplateFacts = {
      ...factsOf.production,
      references: [
        {
          service: 'secretsmanager',
          id: 'x/pager',
          jsonKey: 'url',
          versionId: V,
          createdByStack: false,
          where: ['S'],
        },
      ],
    };
    mocks.secrets
      .on(DescribeSecretCommand, { SecretId: 'x/pager' })
      .resolves({ VersionIdsToStages: { other: ['AWSCURRENT'] } });
    expect((await checkSecrets({ ...input(), facts }, c)).detail).toContain(`x/pager has no version ${V}`);
    mocks.secrets
      .on(DescribeSecretCommand, { SecretId: 'x/pager' })
      .resolves({ VersionIdsToStages: { [V]: ['AWSCURRENT'] } });
    expect(await checkSecrets({ ...input(), facts }, c)).toMatchObject({ status: 'skip' });
  });

  test('skip, telling to run preflight with the operator role', async () => {
    mocks.secrets
      .on(GetSecretValueCommand)
      .rejects(Object.assign(new Error('denied'), { name: 'AccessDeniedException' }));
    const r = await checkSecrets(input(), c);
    expect(r).toMatchObject({
      status: 'skip',
      fix: 'run npm run ops -- preflight --env production with the operator role',
    });
  });
});

describe('checks derived from the synthesized templates (no hand-written list)', () => {
  const notFound = (name: string, message = name) => Object.assign(new Error(message), { name });

  test('the facts hold every dynamic reference, container secret and image of the templates', () => {
    const p = factsOf.production;
    expect(p.references).toEqual(
      expect.arrayContaining([
        expect.objectContaining({
          service: 'secretsmanager',
          id: 'clever-better/production/pager',
          jsonKey: 'url',
          createdByStack: false,
          where: expect.arrayContaining([expect.stringMatching(/^AlertingOnCallPager/)]),
        }),
        expect.objectContaining({
          id: 'clever-better/production/betfair',
          jsonKey: 'app_key',
          createdByStack: true,
        }),
      ]),
    );
    expect(p.images?.map((i) => [i.account, i.repository, i.digest])).toEqual([
      [production.account, 'clever-better-bot', production.bot.imageDigest],
      [production.account, 'clever-better-ml', production.ml.imageDigest],
    ]);
    expect(factsOf.staging.images?.map((i) => i.tag)).toEqual([staging.bot.imageTag, staging.ml.imageTag]);
    // Staging pages nobody: no pager reference, so nothing to check there.
    expect(factsOf.staging.references?.some((r) => r.id.endsWith('/pager'))).toBe(false);
  });

  test('a missing pager secret fails before the first deploy, with the ops command that creates it', async () => {
    mocks.cfn
      .on(DescribeStacksCommand, { StackName: 'ProductionStack' })
      .rejects(new Error('Stack with id ProductionStack does not exist'));
    mocks.secrets
      .on(GetSecretValueCommand, { SecretId: 'clever-better/production/pager' })
      .rejects(notFound('ResourceNotFoundException', "Secrets Manager can't find the specified secret."));
    const r = await checkSecrets(input(), c);
    expect(r.status).toBe('fail');
    expect(r.detail).toMatch(
      /^clever-better\/production\/pager url is missing \(clever-better\/production\/pager does not exist\), read by AlertingOnCallPager\w+, AlertingResolvedPager\w+$/,
    );
    expect(r.fix).toBe('npm run ops -- pager set-url --env production --url <https://…>');
  });

  test('a reference by version id reads that version, and fails when it does not exist', async () => {
    const V = 'a1b2c3d4-0000-4000-8000-000000000001';
    const facts: TemplateFacts = {
      ...factsOf.production,
      references: [
        {
          service: 'secretsmanager',
          id: 'x/pager',
          jsonKey: 'url',
          versionId: V,
          createdByStack: false,
          where: ['Sub'],
        },
      ],
    };
    mocks.secrets
      .on(GetSecretValueCommand, { SecretId: 'x/pager', VersionId: V })
      .rejects(notFound('ResourceNotFoundException'));
    const r = await checkSecrets({ ...input(), facts }, c);
    expect(r.detail).toBe(`x/pager url (version ${V}) is missing (x/pager has no version ${V}), read by Sub`);
  });

  test('after the first deploy, a stack-created secret still holding the placeholder fails with the put-secret-value command', async () => {
    mocks.secrets.on(GetSecretValueCommand, { SecretId: 'clever-better/production/betfair' }).resolves({
      SecretString: JSON.stringify({
        app_key: 'REPLACE_ME',
        username: 'REPLACE_ME',
        password: 'generated',
      }),
    });
    const r = await checkSecrets(input(), c);
    expect(r.detail).toContain('clever-better/production/betfair app_key is the placeholder REPLACE_ME');
    expect(r.fix).toBe(
      `aws secretsmanager put-secret-value --secret-id clever-better/production/betfair --secret-string '{"app_key":"…","username":"…"}'`,
    );
  });

  test('an external secret that does not exist gets a create-secret command with every key read', async () => {
    const facts: TemplateFacts = {
      ...factsOf.production,
      references: [
        {
          service: 'secretsmanager',
          id: 'vendor/api',
          jsonKey: 'token',
          createdByStack: false,
          where: ['A'],
        },
        { service: 'secretsmanager', id: 'vendor/api', jsonKey: 'user', createdByStack: false, where: ['B'] },
        { service: 'ssm', id: '/vendor/endpoint', createdByStack: false, where: ['C'] },
      ],
    };
    mocks.secrets
      .on(GetSecretValueCommand, { SecretId: 'vendor/api' })
      .rejects(notFound('ResourceNotFoundException'));
    const ssm = mockClient(c.ssm);
    ssm.rejects(notFound('ParameterNotFound'));
    try {
      const r = await checkSecrets({ ...input(), facts }, c);
      expect(r.fix).toBe(
        `aws ssm put-parameter --name /vendor/endpoint --type String --value <value>; aws secretsmanager create-secret --name vendor/api --secret-string '{"token":"…","user":"…"}'`,
      );
    } finally {
      ssm.restore();
    }
  });

  test('images: each image URI of the templates is looked up in the registry it names, by digest or tag', async () => {
    mocks.ecr.on(DescribeImagesCommand).rejects(notFound('ImageNotFoundException'));
    const r = await checkImages(input('staging'), c);
    expect(mocks.ecr.commandCalls(DescribeImagesCommand).map((x) => x.args[0].input)).toEqual([
      {
        registryId: staging.account,
        repositoryName: 'clever-better-bot',
        imageIds: [{ imageTag: 'v1.2.3' }],
      },
      { registryId: staging.account, repositoryName: 'clever-better-ml', imageIds: [{ imageTag: 'v1.2.3' }] },
    ]);
    expect(r.fix).toContain(
      `docker build -t ${staging.account}.dkr.ecr.eu-west-1.amazonaws.com/clever-better-bot:v1.2.3 <source directory> && docker push ${staging.account}.dkr.ecr.eu-west-1.amazonaws.com/clever-better-bot:v1.2.3`,
    );
  });

  test('images: a digest pin whose image does not carry the pinned release tag fails (the lifecycle keeps by tag)', async () => {
    mocks.ecr.on(DescribeImagesCommand).resolves({ imageDetails: [{ imageTags: ['sha-4f2a9c1'] }] });
    const r = await checkImages(input('production'), c);
    expect(r.status).toBe('fail');
    expect(r.detail).toContain(
      `clever-better-bot@${production.bot.imageDigest} carries the tags [sha-4f2a9c1], not bot.imageTag v1.2.3`,
    );
    mocks.ecr.on(DescribeImagesCommand).resolves({ imageDetails: [{ imageTags: ['v1.2.3'] }] });
    expect(await checkImages(input('production'), c)).toMatchObject({ status: 'pass' });
  });

  test('imports: a missing export fails, naming the stack of this app that exports it', async () => {
    const facts: TemplateFacts = {
      ...factsOf.production,
      imports: [{ name: 'Shared-VpcId', exportedBy: 'SharedStack' }, { name: 'Other' }],
    };
    mocks.cfn.on(ListExportsCommand).resolves({ Exports: [{ Name: 'Other', Value: 'x' }] });
    expect(await checkImports({ ...input(), facts }, c)).toMatchObject({
      status: 'fail',
      detail: 'no export Shared-VpcId in 222222222222/eu-west-1',
      fix: 'npx cdk deploy SharedStack',
    });
  });

  test.each([
    [
      'an existing stack while stackCreated is false',
      { StackStatus: 'UPDATE_COMPLETE' },
      false,
      /npm run ops -- protect --env production/,
    ],
    [
      'a stack left by a failed create',
      { StackStatus: 'ROLLBACK_COMPLETE' },
      false,
      /aws cloudformation delete-stack --stack-name ProductionStack/,
    ],
    [
      'stackCreated true without a stack',
      undefined,
      true,
      /set stackCreated: false in environments\/production.ts/,
    ],
  ] as const)('protection: fails on %s', async (_what, stack, stackCreated, fix) => {
    if (stack)
      mocks.cfn.on(DescribeStacksCommand, { StackName: 'ProductionStack' }).resolves({
        Stacks: [{ StackName: 'ProductionStack', CreationTime: new Date(), ...stack }],
      });
    else
      mocks.cfn
        .on(DescribeStacksCommand, { StackName: 'ProductionStack' })
        .rejects(new Error('Stack with id ProductionStack does not exist'));
    const r = await checkProtection({ ...input(), env: { ...production, stackCreated } }, c);
    expect(r.status).toBe('fail');
    expect(r.fix).toMatch(fix);
  });
});
