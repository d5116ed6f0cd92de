import { InvokeCommand, LambdaClient } from '@aws-sdk/client-lambda';
import { mockClient } from 'aws-sdk-client-mock';
import { staging } from '../../environments';
import { RollbackReport } from '../../lambda/rollback/types';
import { runbookNames } from '../../lib/names';
import { main } from '../../lib/ops';
import { OpsContext } from '../../lib/ops/context';

const lambda = mockClient(LambdaClient);
const FUNCTION = 'StagingStack-RollbackFunction-abc';
const TD = (rev: number) => `arn:aws:ecs:eu-west-1:111111111111:task-definition/clever-better-bot:${rev}`;

function context(outputs: Record<string, string> = { RollbackFunctionName: FUNCTION }) {
  const lines: string[] = [];
  const ctx: OpsContext = {
    env: staging,
    names: runbookNames('staging'),
    outputs: async () => outputs,
    print: (line) => lines.push(line),
    confirm: async () => false,
  };
  return { ctx, lines, text: () => lines.join('\n') };
}

const revision = (rev: number, tag: string) => ({
  taskDefinitionArn: TD(rev),
  label: `clever-better-bot:${rev}`,
  images: [{ container: 'app', image: `repo/clever-better-bot:${tag}`, tag }],
});

function report(overrides: Partial<RollbackReport>): RollbackReport {
  return {
    environment: 'staging',
    cluster: 'clever-better-staging',
    service: 'bot',
    dryRun: true,
    trigger: 'manual request',
    requestedBy: 'alice',
    action: 'update-service',
    outcome: 'planned',
    summary: 'Would roll bot back from clever-better-bot:5 to clever-better-bot:4.',
    from: revision(5, 'v1.2.3'),
    to: revision(4, 'v1.2.2'),
    driftNote:
      "Drift: bot now runs v1.2.2 outside CloudFormation. To keep it, set bot.imageTag = 'v1.2.2' in environments/staging.ts (it says 'v1.2.3') and open a pull request; otherwise the next cdk deploy rolls bot forward to v1.2.3 again.",
    warnings: [],
    notified: false,
    ...overrides,
  };
}

const answer = (body: unknown, functionError?: string) => ({
  StatusCode: 200,
  FunctionError: functionError,
  Payload: new TextEncoder().encode(JSON.stringify(body)) as never,
});

function sentPayloads(): Record<string, unknown>[] {
  return lambda
    .commandCalls(InvokeCommand)
    .map((c) => JSON.parse(new TextDecoder().decode(c.args[0].input.Payload as Uint8Array)));
}

beforeEach(() => {
  lambda.reset();
  process.env.USER = 'alice';
});

test('a dry run by default: prints the plan (from → to, image tags, drift note) and changes nothing', async () => {
  lambda.on(InvokeCommand).resolves(answer(report({})));
  const { ctx, text } = context();
  const code = await main(['rollback', '--env', 'staging', '--service', 'bot'], () => ctx);
  expect(code).toBe(0);
  expect(sentPayloads()).toEqual([{ service: 'bot', dryRun: true, requestedBy: 'alice' }]);
  expect(lambda.commandCalls(InvokeCommand)[0].args[0].input).toMatchObject({
    FunctionName: FUNCTION,
    InvocationType: 'RequestResponse',
  });
  expect(text()).toContain('DRY RUN: Would roll bot back from clever-better-bot:5 to clever-better-bot:4.');
  expect(text()).toContain('From: clever-better-bot:5 (app=v1.2.3)');
  expect(text()).toContain('To:   clever-better-bot:4 (app=v1.2.2)');
  expect(text()).toContain("set bot.imageTag = 'v1.2.2' in environments/staging.ts");
  expect(text()).toContain('npm run ops -- rollback --env staging --service bot --yes');
});

test('--yes acts on exactly the revisions the plan showed', async () => {
  lambda
    .on(InvokeCommand)
    .resolvesOnce(answer(report({})))
    .resolvesOnce(
      answer(
        report({
          dryRun: false,
          outcome: 'rolled-back',
          summary: 'Rolled bot back from clever-better-bot:5 to clever-better-bot:4.',
          stable: true,
          waitedSeconds: 75,
          notified: true,
        }),
      ),
    );
  const { ctx, text } = context();
  const code = await main(
    ['rollback', '--env', 'staging', '--service', 'bot', '--yes', '--reason', '5xx after v1.2.3'],
    () => ctx,
  );
  expect(code).toBe(0);
  expect(sentPayloads()[1]).toEqual({
    service: 'bot',
    dryRun: false,
    requestedBy: 'alice',
    reason: '5xx after v1.2.3',
    targetTaskDefinition: TD(4),
    expectedCurrentTaskDefinition: TD(5),
  });
  expect(text()).toContain('Rolled bot back from clever-better-bot:5 to clever-better-bot:4.');
  expect(text()).toContain('Service stable after 75 s.');
});

test('nothing to do ends after the plan, even with --yes', async () => {
  lambda.on(InvokeCommand).resolves(
    answer(
      report({
        action: 'none',
        outcome: 'already-rolling-back',
        summary: 'ECS is already rolling back deployment d6 (ROLLBACK_IN_PROGRESS); nothing to do.',
      }),
    ),
  );
  const { ctx } = context();
  expect(await main(['rollback', '--env', 'staging', '--service', 'bot', '--yes'], () => ctx)).toBe(0);
  expect(lambda.commandCalls(InvokeCommand)).toHaveLength(1);
});

test('fails with exit 1 when the service is not stable after the rollback', async () => {
  lambda
    .on(InvokeCommand)
    .resolvesOnce(answer(report({})))
    .resolvesOnce(
      answer(report({ dryRun: false, outcome: 'rolled-back', stable: false, waitedSeconds: 600 })),
    );
  const { ctx, text } = context();
  expect(await main(['rollback', '--env', 'staging', '--service', 'bot', '--yes'], () => ctx)).toBe(1);
  expect(text()).toContain('NOT yet stable after 600 s');
});

test('fails with the function error when there is nothing to roll back to', async () => {
  lambda.on(InvokeCommand).resolves(
    answer(
      {
        errorType: 'NoRollbackTargetError',
        errorMessage:
          'bot has no successful deployment of a task definition other than the current clever-better-bot:2',
      },
      'Unhandled',
    ),
  );
  const { ctx } = context();
  const stderr = jest.spyOn(process.stderr, 'write').mockImplementation(() => true);
  try {
    expect(await main(['rollback', '--env', 'staging', '--service', 'bot'], () => ctx)).toBe(1);
    expect(stderr.mock.calls.map((c) => String(c[0])).join('')).toContain(
      'bot has no successful deployment of a task definition other than the current',
    );
  } finally {
    stderr.mockRestore();
  }
});

test.each([
  [['rollback', '--env', 'staging'], '--service is missing: use --service bot | ml-service'],
  [['rollback', '--env', 'staging', '--service', 'db'], '--service "db" is not a service'],
])('fails with usage exit 2 on %j', async (argv, message) => {
  const { ctx } = context();
  const stderr = jest.spyOn(process.stderr, 'write').mockImplementation(() => true);
  try {
    expect(await main(argv, () => ctx)).toBe(2);
    expect(stderr.mock.calls.map((c) => String(c[0])).join('')).toContain(message);
  } finally {
    stderr.mockRestore();
  }
  expect(lambda.commandCalls(InvokeCommand)).toHaveLength(0);
});

test('fails when the deployed stack predates the rollback function', async () => {
  const { ctx } = context({});
  const stderr = jest.spyOn(process.stderr, 'write').mockImplementation(() => true);
  try {
    expect(await main(['rollback', '--env', 'staging', '--service', 'bot'], () => ctx)).toBe(1);
    expect(stderr.mock.calls.map((c) => String(c[0])).join('')).toContain(
      'has no output RollbackFunctionName',
    );
  } finally {
    stderr.mockRestore();
  }
});
