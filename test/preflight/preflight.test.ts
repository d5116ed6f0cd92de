/**
 * Preflight checks the emulator does not answer (Lambda GetAccountSettings, Service Quotas, an
 * unconfirmed e-mail subscription), the command's output and exit code, and the template facts the
 * checks rest on, with aws-sdk-client-mock. The other checks run against moto in
 * preflight.integration.test.ts.
 */
import {
  CloudFormationClient,
  DescribeStacksCommand,
  ListStackResourcesCommand,
} from '@aws-sdk/client-cloudformation';
import { DescribeImagesCommand, ECRClient } from '@aws-sdk/client-ecr';
import { GetRoleCommand, IAMClient } from '@aws-sdk/client-iam';
import {
  GetAccountSettingsCommand,
  GetFunctionConcurrencyCommand,
  LambdaClient,
} from '@aws-sdk/client-lambda';
import { GetSecretValueCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
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
  checkLambdaConcurrency,
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
  mocks.ecr.on(DescribeImagesCommand).resolves({ imageDetails: [{}] });
  mocks.secrets
    .on(GetSecretValueCommand)
    .resolves({ SecretString: JSON.stringify({ app_key: 'k', username: 'u', password: 'p' }) });
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
    const ctx = fakeContext(production, {});
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
    expect(lines.filter((l) => l.startsWith('PASS'))).toHaveLength(8);
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
    expect(lines.filter((l) => l.startsWith('PASS'))).toHaveLength(6);
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
