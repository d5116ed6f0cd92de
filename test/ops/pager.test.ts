import { DescribeStacksCommand, CloudFormationClient } from '@aws-sdk/client-cloudformation';
import {
  CreateSecretCommand,
  PutSecretValueCommand,
  SecretsManagerClient,
} from '@aws-sdk/client-secrets-manager';
import { App, Stack } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import * as kms from 'aws-cdk-lib/aws-kms';
import { mockClient } from 'aws-sdk-client-mock';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { production, staging } from '../../environments';
import { PagerSecretConfig } from '../../environments/types';
import { Alerting } from '../../lib/alerting';
import { main } from '../../lib/ops';
import { pagerDeps } from '../../lib/ops/pager';
import { setConfigValue } from '../../lib/ops/pin';
import { protectDeps } from '../../lib/ops/protect';
import { fakeContext } from './ops-context';

const V1 = 'a1b2c3d4-0000-4000-8000-000000000001';
const V2 = 'a1b2c3d4-0000-4000-8000-000000000002';
const secretsClient = new SecretsManagerClient({ region: 'eu-west-1' });
const secrets = mockClient(secretsClient);
const cfnClient = new CloudFormationClient({ region: 'eu-west-1' });
const cfn = mockClient(cfnClient);
const saved = { pager: { ...pagerDeps }, protect: { ...protectDeps } };
let dir: string;
let file: string;
const ORIGINAL = path.join(__dirname, '..', '..', 'environments', 'production.ts');

beforeEach(() => {
  secrets.reset();
  cfn.reset();
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'cb-pager-'));
  file = path.join(dir, 'production.ts');
  fs.copyFileSync(ORIGINAL, file);
  pagerDeps.secrets = () => secretsClient;
  pagerDeps.file = () => file;
  protectDeps.cloudformation = () => cfnClient;
  protectDeps.file = () => file;
});
afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));
afterAll(() => {
  Object.assign(pagerDeps, saved.pager);
  Object.assign(protectDeps, saved.protect);
});

async function run(argv: string[], env = production) {
  const ctx = fakeContext(env, {});
  const err = jest.spyOn(process.stderr, 'write').mockImplementation(() => true);
  try {
    const code = await main(argv, () => ctx);
    return { code, lines: ctx.lines, stderr: err.mock.calls.join(''), text: fs.readFileSync(file, 'utf8') };
  } finally {
    err.mockRestore();
  }
}

/** The endpoint the pager subscriptions resolve, as synthesized for `pager`. */
function pagerEndpoints(pager: PagerSecretConfig): string[] {
  // Without aws-cdk-lib's CloudFormation validation, whose engine takes seconds to build and which
  // this test does not read (test/stack/checks.test.ts validates the real app).
  const stack = new Stack(new App({ builtinCloudFormationValidation: false }), 'S', {
    env: { account: '222222222222', region: 'eu-west-1' },
  });
  new Alerting(stack, 'Alerting', {
    email: 'oncall@clever-better.com',
    fallbackEmail: 'oncall-fallback@clever-better.com',
    key: new kms.Key(stack, 'Key'),
    alarmPrefix: 'clever-better-production',
    pages: true,
    pager,
    runbookUrl: (a) => `https://x/${a}`,
  });
  const subs = Template.fromStack(stack).findResources('AWS::SNS::Subscription', {
    Properties: { Protocol: 'https' },
  });
  return Object.values(subs).map((s) => JSON.stringify(s.Properties.Endpoint));
}

describe('npm run ops -- pager set-url', () => {
  test('writes the URL into the secret and its version id into environments/<env>.ts', async () => {
    secrets.on(PutSecretValueCommand).resolves({ VersionId: V1 });
    const { code, lines, text } = await run([
      'pager',
      'set-url',
      '--env',
      'production',
      '--url',
      'https://events.pager.example.net/integration/abc',
    ]);
    expect(code).toBe(0);
    expect(secrets.commandCalls(PutSecretValueCommand)[0].args[0].input).toEqual({
      SecretId: 'clever-better/production/pager',
      SecretString: JSON.stringify({ url: 'https://events.pager.example.net/integration/abc' }),
    });
    expect(text).toContain(
      `pager: { urlSecretName: 'clever-better/production/pager', urlSecretField: 'url', urlSecretVersionId: '${V1}' },`,
    );
    expect(lines.at(-1)).toMatch(/^Next: git checkout -b pager\/production-url/);
    // A second rotation replaces the id where it is written.
    secrets.on(PutSecretValueCommand).resolves({ VersionId: V2 });
    fs.writeFileSync(file, text);
    const again = await run(['pager', 'set-url', '--env', 'production', '--url', 'https://p.example.net/x']);
    expect(again.text).toContain(`urlSecretVersionId: '${V2}'`);
    expect(again.text).not.toContain(V1);
  });

  test('creates the secret the first time (before the first deploy)', async () => {
    secrets
      .on(PutSecretValueCommand)
      .rejects(Object.assign(new Error('not found'), { name: 'ResourceNotFoundException' }));
    secrets.on(CreateSecretCommand).resolves({ VersionId: V1 });
    const { code, text } = await run([
      'pager',
      'set-url',
      '--env',
      'production',
      '--url',
      'https://p.example.net/x',
    ]);
    expect(code).toBe(0);
    expect(secrets.commandCalls(CreateSecretCommand)[0].args[0].input).toMatchObject({
      Name: 'clever-better/production/pager',
      SecretString: '{"url":"https://p.example.net/x"}',
    });
    expect(text).toContain(`urlSecretVersionId: '${V1}'`);
  });

  test.each([
    [
      ['pager', 'set-url', '--env', 'production', '--url', 'http://p.example.net/x'],
      /is not an https:\/\/ URL/,
    ],
    [['pager', 'set-url', '--env', 'production'], /--url is missing/],
    [['pager', 'rotate', '--env', 'production', '--url', 'https://p'], /"rotate" is not a subcommand/],
  ])('refuses %j with exit 2, writing nothing', async (argv, message) => {
    const { code, stderr, text } = await run(argv);
    expect(code).toBe(2);
    expect(stderr).toMatch(message);
    expect(text).toBe(fs.readFileSync(ORIGINAL, 'utf8'));
    expect(secrets.calls()).toHaveLength(0);
  });

  test('refuses an environment without a pager', async () => {
    const { code, stderr } = await run(
      ['pager', 'set-url', '--env', 'staging', '--url', 'https://p.x/y'],
      staging,
    );
    expect(code).toBe(2);
    expect(stderr).toContain('staging has no pager (alerting.pager in environments/staging.ts)');
  });

  test('a rotation changes the synthesized reference, so the next deploy subscribes the new URL', () => {
    const pager = production.alerting.pager!;
    const before = pagerEndpoints({ ...pager, urlSecretVersionId: V1 });
    const after = pagerEndpoints({ ...pager, urlSecretVersionId: V2 });
    expect(before).toHaveLength(2);
    expect(before[0]).toContain(
      `{{resolve:secretsmanager:clever-better/production/pager:SecretString:url::${V1}}}`,
    );
    expect(after[0]).toContain(`::${V2}}}`);
    expect(after).not.toEqual(before);
  });
});

describe('npm run ops -- protect', () => {
  test('after a successful create writes stackCreated: true', async () => {
    cfn.on(DescribeStacksCommand).resolves({
      Stacks: [{ StackName: 'ProductionStack', StackStatus: 'CREATE_COMPLETE', CreationTime: new Date() }],
    });
    const { code, text } = await run(['protect', '--env', 'production']);
    expect(code).toBe(0);
    expect(text).toBe(setConfigValue(fs.readFileSync(ORIGINAL, 'utf8'), ['stackCreated'], 'true'));
    expect(text).toMatch(/\n  stackCreated: true,?\n/);
  });

  test.each(['ROLLBACK_COMPLETE', 'ROLLBACK_FAILED', 'CREATE_IN_PROGRESS'] as const)(
    'refuses a stack in %s, writing nothing',
    async (StackStatus) => {
      cfn.on(DescribeStacksCommand).resolves({
        Stacks: [{ StackName: 'ProductionStack', StackStatus, CreationTime: new Date() }],
      });
      const { code, lines, text } = await run(['protect', '--env', 'production']);
      expect(code).toBe(1);
      expect(lines.at(-1)).toContain(`ProductionStack in account 222222222222 is ${StackStatus}`);
      expect(text).toBe(fs.readFileSync(ORIGINAL, 'utf8'));
    },
  );

  test('refuses a stack that does not exist', async () => {
    cfn.on(DescribeStacksCommand).rejects(new Error('Stack with id ProductionStack does not exist'));
    const { code, lines } = await run(['protect', '--env', 'production']);
    expect(code).toBe(1);
    expect(lines.at(-1)).toContain('is not there');
  });
});
