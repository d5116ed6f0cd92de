import { ECSClient } from '@aws-sdk/client-ecs';
import { InvokeCommand, LambdaClient } from '@aws-sdk/client-lambda';
import { mockClient } from 'aws-sdk-client-mock';
import { staging } from '../../environments';
import { EcsGateway } from '../../lambda/rollback/ecs';
import { parseEvent } from '../../lambda/rollback/event';
import { runRollback } from '../../lambda/rollback/rollback';
import { ROLLBACK_OUTPUTS } from '../../lambda/rollback/types';
import { runbookNames } from '../../lib/names';
import { main } from '../../lib/ops';
import { OpsContext } from '../../lib/ops/context';
import { addToWorld, CLUSTER, EcsWorld, fakeClock, tdArn, testConfig } from './fake-ecs';

const lambda = mockClient(LambdaClient);
const ecs = mockClient(ECSClient);
const FUNCTIONS = {
  [ROLLBACK_OUTPUTS.plan]: 'StagingStack-RollbackPlan-abc',
  [ROLLBACK_OUTPUTS.bot]: 'StagingStack-RollbackBot-abc',
  [ROLLBACK_OUTPUTS['ml-service']]: 'StagingStack-RollbackMl-abc',
};
const BOT = 'clever-better-bot';

function context(outputs: Record<string, string> = FUNCTIONS) {
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

/** The incident of issue 18 (:12 bad, :11 good) for both services, behind in-process "functions". */
function deployed() {
  const clock = fakeClock();
  const world = new EcsWorld(clock, ecs);
  for (const [service, family] of [
    ['bot', BOT],
    ['ml-service', 'clever-better-ml'],
  ] as const)
    addToWorld(world, {
      service,
      family,
      current: 12,
      taskDefinitions: { 11: ['v1.2.2'], 12: ['v1.2.3'] },
      deployments: [
        { id: 'd12', status: 'SUCCESSFUL', revision: 12, minutesAgo: 30 },
        { id: 'd11', status: 'SUCCESSFUL', revision: 11, minutesAgo: 3000 },
      ],
    });
  const invoked: { name: string; payload: Record<string, unknown> }[] = [];
  const busy = new Set<string>();
  /** Runs between a call and the next, keyed by how many calls were made before it. */
  const between = new Map<number, () => void>();
  lambda.on(InvokeCommand).callsFake(async (input: { FunctionName: string; Payload: Uint8Array }) => {
    between.get(invoked.length)?.();
    const payload = JSON.parse(new TextDecoder().decode(input.Payload));
    invoked.push({ name: input.FunctionName, payload });
    if (busy.has(input.FunctionName))
      throw Object.assign(new Error('Rate Exceeded.'), { name: 'TooManyRequestsException' });
    const parsed = parseEvent(payload, {});
    if (parsed.kind !== 'request') throw new Error('unexpected');
    try {
      const report = await runRollback(parsed.request, {
        ecs: new EcsGateway(new ECSClient({ region: 'eu-west-1' }), CLUSTER, clock),
        config: testConfig(),
        clock,
        publish: async () => undefined,
      });
      return { StatusCode: 200, Payload: new TextEncoder().encode(JSON.stringify(report)) };
    } catch (err) {
      const body = { errorType: (err as Error).name, errorMessage: (err as Error).message };
      return {
        StatusCode: 200,
        FunctionError: 'Unhandled',
        Payload: new TextEncoder().encode(JSON.stringify(body)),
      };
    }
  });
  return { world, invoked, busy, between };
}

function stderr() {
  const spy = jest.spyOn(process.stderr, 'write').mockImplementation(() => true);
  return { text: () => spy.mock.calls.map((c) => String(c[0])).join(''), restore: () => spy.mockRestore() };
}

const rollback = (...args: string[]) => ['rollback', '--env', 'staging', ...args];

beforeEach(() => {
  lambda.reset();
  ecs.reset();
  process.env.USER = 'alice';
});

test('a dry run by default: asks the planning function, prints the plan and how to act, changes nothing', async () => {
  const { invoked, world } = deployed();
  const { ctx, text } = context();
  expect(await main(rollback('--service', 'bot'), () => ctx)).toBe(0);
  expect(invoked).toEqual([
    {
      name: FUNCTIONS.RollbackPlanFunctionName,
      payload: { service: 'bot', dryRun: true, requestedBy: 'alice' },
    },
  ]);
  expect(text()).toContain(`DRY RUN: Would roll bot back from ${BOT}:12 to ${BOT}:11.`);
  expect(text()).toContain('From: clever-better-bot:12 (app=v1.2.3)');
  expect(text()).toContain("set bot.imageTag = 'v1.2.2' in environments/staging.ts");
  expect(text()).toContain('npm run ops -- rollback --env staging --service bot --yes');
  expect(world.current('bot')).toBe(tdArn(BOT, 12));
});

test('--dry-run says the same explicitly', async () => {
  const { invoked } = deployed();
  const { ctx } = context();
  expect(await main(rollback('--service', 'bot', '--dry-run'), () => ctx)).toBe(0);
  expect(invoked).toHaveLength(1);
});

test('ops rollback --yes twice ends on :11; the second run is a no-op that says so', async () => {
  const { invoked, world } = deployed();
  const first = context();
  expect(await main(rollback('--service', 'bot', '--yes', '--reason', '5xx'), () => first.ctx)).toBe(0);
  // The act carries the plan to the bot's own function.
  expect(invoked[1]).toEqual({
    name: FUNCTIONS.RollbackBotFunctionName,
    payload: {
      service: 'bot',
      dryRun: false,
      requestedBy: 'alice',
      reason: '5xx',
      plan: { action: 'update-service', from: tdArn(BOT, 12), to: tdArn(BOT, 11) },
    },
  });
  expect(first.text()).toContain(`Rolled bot back from ${BOT}:12 to ${BOT}:11; stable after`);
  const second = context();
  expect(await main(rollback('--service', 'bot', '--yes'), () => second.ctx)).toBe(0);
  expect(second.text()).toContain(`bot was already rolled back from ${BOT}:12 to ${BOT}:11`);
  expect(second.text()).not.toContain('FORWARD');
  expect(invoked).toHaveLength(3);
  expect(world.current('bot')).toBe(tdArn(BOT, 11));
});

test('a deploy between the dry run and --yes is refused as a stale plan; the new plan is shown', async () => {
  const { world, between } = deployed();
  world.define(BOT, 13, 'v1.3.0');
  between.set(1, () => world.deploy('bot', tdArn(BOT, 13), { outcome: 'never' }));
  const { ctx, text } = context();
  expect(await main(rollback('--service', 'bot', '--yes'), () => ctx)).toBe(1);
  expect(text()).toContain('Outcome: nothing-to-do (stale-plan)');
  expect(text()).toContain('The plan above replaces the one you confirmed');
  expect(world.current('bot')).toBe(tdArn(BOT, 13));
});

test('ml-service rolls back while a bot rollback holds the bot function; the bot command explains instead of "Rate Exceeded"', async () => {
  const { world, busy } = deployed();
  busy.add(FUNCTIONS.RollbackBotFunctionName);
  const ml = context();
  expect(await main(rollback('--service', 'ml-service', '--yes'), () => ml.ctx)).toBe(0);
  expect(world.current('ml-service')).toBe(tdArn('clever-better-ml', 11));
  const botCmd = context();
  expect(await main(rollback('--service', 'bot', '--yes'), () => botCmd.ctx)).toBe(1);
  expect(botCmd.text()).toContain('A bot rollback is already running (one at a time per service');
  expect(botCmd.text()).toMatch(
    /Try again after \d{4}-\d\d-\d\dT[\d:.]+Z at the latest \(a run lasts at most 13 min\)/,
  );
  expect(botCmd.text()).toContain(`What ECS shows now: Would roll bot back from ${BOT}:12 to ${BOT}:11.`);
  expect(world.current('bot')).toBe(tdArn(BOT, 12));
});

test('--to rolls forward only as a separate, explicit act', async () => {
  const { world } = deployed();
  await main(rollback('--service', 'bot', '--yes'), () => context().ctx);
  const dry = context();
  expect(await main(rollback('--service', 'bot', '--to', '12'), () => dry.ctx)).toBe(0);
  expect(dry.text()).toContain(`Would roll bot FORWARD from ${BOT}:11 to ${BOT}:12.`);
  expect(dry.text()).toContain('npm run ops -- rollback --env staging --service bot --to 12 --yes');
  expect(world.current('bot')).toBe(tdArn(BOT, 11));
  expect(await main(rollback('--service', 'bot', '--to', '12', '--yes'), () => context().ctx)).toBe(0);
  expect(world.current('bot')).toBe(tdArn(BOT, 12));
});

test('an unknown --to revision fails with the field, the choices and no AWS text', async () => {
  deployed();
  const err = stderr();
  try {
    expect(await main(rollback('--service', 'bot', '--to', '99'), () => context().ctx)).toBe(1);
    expect(err.text()).toContain(
      'to = "99" is not usable. Fix: name a revision of clever-better-bot that deployed successfully',
    );
    expect(err.text()).not.toContain('Unable to describe task definition');
  } finally {
    err.restore();
  }
});

test.each([
  [rollback('--service', 'bot', '--dry-run', '--yes'), '--dry-run and --yes contradict each other'],
  [rollback('--service', 'bot', '--yes=no'), '--yes is a flag and takes no value (got "no")'],
  [rollback('--service', 'bot', '--force'), 'rollback does not take --force'],
  [rollback('--service', 'bot', '--target', 'clever-better-bot:11'), 'rollback does not take --target'],
  [rollback('--service', 'bot', '--to', 'latest'), '--to "latest" is not a revision'],
  [rollback(), '--service is missing: use --service bot | ml-service'],
  [rollback('--service', 'db'), '--service "db" is not a service'],
])('fails with usage exit 2, before any call, on %j', async (argv, message) => {
  deployed();
  const err = stderr();
  try {
    expect(await main(argv, () => context().ctx)).toBe(2);
    expect(err.text()).toContain(message);
  } finally {
    err.restore();
  }
  expect(lambda.commandCalls(InvokeCommand)).toHaveLength(0);
});

test('fails when the deployed stack predates the rollback functions', async () => {
  const err = stderr();
  try {
    expect(await main(rollback('--service', 'bot'), () => context({}).ctx)).toBe(1);
    expect(err.text()).toContain('has no output RollbackPlanFunctionName');
  } finally {
    err.restore();
  }
});
