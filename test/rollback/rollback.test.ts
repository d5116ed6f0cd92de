import {
  DescribeServicesCommand,
  ECSClient,
  ListServiceDeploymentsCommand,
  RegisterTaskDefinitionCommand,
  StopServiceDeploymentCommand,
  UpdateServiceCommand,
} from '@aws-sdk/client-ecs';
import { mockClient } from 'aws-sdk-client-mock';
import { RollbackConfig } from '../../lambda/rollback/config';
import { EcsGateway } from '../../lambda/rollback/ecs';
import { InputError, NoRollbackTargetError } from '../../lambda/rollback/errors';
import { formatReport, notificationSubject } from '../../lambda/rollback/report';
import { runRollback } from '../../lambda/rollback/rollback';
import { REGISTRABLE_FIELDS } from '../../lambda/rollback/task-definition';
import { RollbackReport, RollbackRequest } from '../../lambda/rollback/types';
import {
  addToWorld,
  CLUSTER,
  EcsWorld,
  fakeClock,
  FakeService,
  NOW,
  ServiceName,
  tdArn,
  testConfig,
  throttled,
} from './fake-ecs';

const ecs = mockClient(ECSClient);
const MUTATING = ['UpdateService', 'RegisterTaskDefinition', 'StopServiceDeployment'];
const BOT = 'clever-better-bot';
const ML = 'clever-better-ml';
const bot = (rev: number) => tdArn(BOT, rev);

beforeEach(() => ecs.reset());

/**
 * The incident of issue 18: v1.2.1 (:10) → v1.2.2 (:11) → v1.2.3 (:12, running, bad). Every test
 * gets its own world and clock; the world's deployments are stamped with the clock the runs use.
 */
function incident(extra: Partial<FakeService> = {}, service: ServiceName = 'bot') {
  const clock = fakeClock();
  const world = new EcsWorld(clock, ecs);
  const family = service === 'bot' ? BOT : ML;
  addToWorld(world, {
    service,
    family,
    current: 12,
    taskDefinitions: { 10: ['v1.2.1'], 11: ['v1.2.2'], 12: ['v1.2.3'] },
    deployments: [
      { id: 'd12', status: 'SUCCESSFUL', revision: 12, minutesAgo: 30, sourceRevision: 11 },
      { id: 'd11', status: 'SUCCESSFUL', revision: 11, minutesAgo: 3000, sourceRevision: 10 },
      { id: 'd10', status: 'SUCCESSFUL', revision: 10, minutesAgo: 9000 },
    ],
    ...extra,
  });
  return { world, clock, ...runner(clock) };
}

function runner(clock: ReturnType<typeof fakeClock>) {
  const published: { subject: string; message: string }[] = [];
  const run = (
    req: Partial<RollbackRequest> = {},
    config: RollbackConfig = testConfig(),
    deadline?: number,
  ) =>
    runRollback(
      { service: 'bot', dryRun: false, requestedBy: 'alice', trigger: { kind: 'manual' }, ...req },
      {
        ecs: new EcsGateway(new ECSClient({ region: 'eu-west-1' }), CLUSTER, clock),
        config,
        clock,
        deadline,
        publish: async (subject, message) => {
          published.push({ subject, message });
        },
      },
    );
  return { run, published };
}

const mutations = (world: EcsWorld) => world.log.filter((l) => MUTATING.includes(l.split(' ')[0]));
const alarm = (
  minutesAgo: number,
  name = 'clever-better-staging-bot-deploy-errors',
): Partial<RollbackRequest> => ({
  requestedBy: `CloudWatch alarm ${name}`,
  trigger: { kind: 'alarm', alarmName: name, stateChangedAt: new Date(NOW - minutesAgo * 60_000) },
});
const plan = (r: RollbackReport) => ({ plan: r.plan! });

describe('rolling back the latest release', () => {
  test('returns to the revision that ran before the release, and reports both revisions', async () => {
    const { world, run, published } = incident();
    const report = await run();
    expect(world.current('bot')).toBe(bot(11));
    expect(ecs.commandCalls(UpdateServiceCommand)[0].args[0].input).toEqual({
      cluster: CLUSTER,
      service: 'bot',
      taskDefinition: bot(11),
    });
    expect(report).toMatchObject({
      outcome: 'rolled-back',
      moved: true,
      nowRuns: `${BOT}:11`,
      stable: true,
      from: { label: `${BOT}:12`, images: [{ container: 'app', tag: 'v1.2.3' }] },
      to: { label: `${BOT}:11`, images: [{ container: 'app', tag: 'v1.2.2' }] },
      notified: true,
    });
    expect(published.map((p) => p.subject)).toEqual([
      '[clever-better staging] bot rolled back v1.2.3 -> v1.2.2',
    ]);
    expect(published[0].message).toContain(
      "set bot.imageTag = 'v1.2.2' in environments/staging.ts (it says 'v1.2.3')",
    );
  });

  test('never sends a desired count, so an emergency-stopped bot stays at zero', async () => {
    const { world, run } = incident({ desiredCount: 0 });
    expect((await run()).outcome).toBe('rolled-back');
    expect(ecs.commandCalls(UpdateServiceCommand)[0].args[0].input).not.toHaveProperty('desiredCount');
    expect(world.service('bot').desiredCount).toBe(0);
  });

  test('names ml.imageTag for ml-service', async () => {
    const { run } = incident({}, 'ml-service');
    const report = await run({ service: 'ml-service' });
    expect(report.driftNote).toContain("set ml.imageTag = 'v1.2.2' in environments/staging.ts");
  });

  test('skips a revision that never deployed successfully (ECS rolled it back) and picks the one that ran', async () => {
    const { world, run } = incident({
      deployments: [
        { id: 'd12', status: 'SUCCESSFUL', revision: 12, minutesAgo: 30 },
        { id: 'd11', status: 'ROLLBACK_SUCCESSFUL', revision: 11, minutesAgo: 600 },
        { id: 'd10', status: 'SUCCESSFUL', revision: 10, minutesAgo: 9000 },
      ],
    });
    expect((await run()).to?.label).toBe(`${BOT}:10`);
    expect(world.current('bot')).toBe(bot(10));
  });

  test('a dry run reports the plan with the revision it was made against, and changes nothing', async () => {
    const { world, run, published } = incident();
    const report = await run({ dryRun: true });
    expect(report).toMatchObject({
      outcome: 'planned',
      plan: { action: 'update-service', from: bot(12), to: bot(11) },
      moved: false,
    });
    expect(mutations(world)).toEqual([]);
    expect(published).toEqual([]);
  });

  test('fails with a clear error, changing nothing, when there is no earlier revision', async () => {
    const { world, run } = incident({
      deployments: [{ id: 'd12', status: 'SUCCESSFUL', revision: 12, minutesAgo: 30 }],
    });
    await expect(run()).rejects.toThrow(NoRollbackTargetError);
    expect(mutations(world)).toEqual([]);
  });
});

describe('an INACTIVE target', () => {
  test('is registered again from its description (registrable fields only) and the copy is deployed', async () => {
    const { world, run } = incident({
      taskDefinitions: { 10: ['v1.2.1', 'INACTIVE'], 11: ['v1.2.2', 'INACTIVE'], 12: ['v1.2.3'] },
    });
    const report = await run();
    expect(world.registered).toHaveLength(1);
    expect(Object.keys(world.registered[0]).sort()).toEqual(
      [
        'family',
        'taskRoleArn',
        'executionRoleArn',
        'networkMode',
        'containerDefinitions',
        'volumes',
        'requiresCompatibilities',
        'cpu',
        'memory',
        'runtimePlatform',
      ].sort(),
    );
    expect(world.current('bot')).toBe(bot(13));
    expect(report).toMatchObject({ reregisteredAs: bot(13), to: { label: `${BOT}:11` }, stable: true });
    expect(formatReport(report).join('\n')).toContain(
      `${BOT}:11 was INACTIVE: registered again as ${bot(13)}`,
    );
    // The copy counts as the revision it copies: a repeat is a no-op.
    expect((await run()).why).toBe('already-rolled-back');
  });

  test('the copy list covers only fields RegisterTaskDefinition accepts', () => {
    for (const readOnly of [
      'taskDefinitionArn',
      'revision',
      'status',
      'compatibilities',
      'requiresAttributes',
    ])
      expect(REGISTRABLE_FIELDS).not.toContain(readOnly);
  });
});

describe('never forward by accident', () => {
  test('ops rollback --yes twice: the second run is a no-op and the service stays on :11', async () => {
    const { world, run } = incident();
    const first = await run({ dryRun: true });
    expect((await run(plan(first))).outcome).toBe('rolled-back');
    // The second `ops rollback --yes`: a fresh dry run, then the same request again.
    const second = await run({ dryRun: true });
    expect(second).toMatchObject({ outcome: 'nothing-to-do', why: 'already-rolled-back', action: 'none' });
    expect(second.summary).toContain(`already rolled back from ${BOT}:12 to ${BOT}:11`);
    expect(second.summary).not.toMatch(/FORWARD/);
    expect((await run(plan(first))).why).toBe('already-rolled-back');
    expect((await run()).why).toBe('already-rolled-back');
    expect(world.current('bot')).toBe(bot(11));
    expect(ecs.commandCalls(UpdateServiceCommand)).toHaveLength(1);
  });

  test('a repeat during the rollback deployment is a no-op that reports the rollback in progress; ends on :11', async () => {
    // GIVEN the rollback's deployment is still rolling out when the first run stops waiting
    const { world, run, published } = incident({ pollsUntilStable: 1000 });
    const first = await run({}, testConfig({ waitTimeoutMs: 60_000 }));
    expect(first).toMatchObject({ outcome: 'rolled-back-unstable', moved: true, nowRuns: `${BOT}:11` });
    // WHEN the same request comes again, with its plan and without
    const repeat = await run({ plan: first.plan! });
    const bare = await run();
    // THEN nothing is stopped: the in-flight deployment is the rollback itself
    for (const r of [repeat, bare]) {
      expect(r).toMatchObject({ outcome: 'nothing-to-do', why: 'rollback-in-progress' });
      expect(r.summary).toContain(`A deployment back to ${BOT}:11`);
    }
    expect(ecs.commandCalls(StopServiceDeploymentCommand)).toHaveLength(0);
    expect(world.current('bot')).toBe(bot(11));
    expect(published).toHaveLength(1);
  });

  test('an alarm re-firing during the alarm-triggered rollback is a no-op that says so; ends on :11', async () => {
    const { world, run, published, clock } = incident({ pollsUntilStable: 1000 });
    const first = await run(alarm(1), testConfig({ waitTimeoutMs: 60_000 }));
    expect(first.outcome).toBe('rolled-back-unstable');
    clock.advance(30_000);
    const again = await run(alarm(0));
    expect(again).toMatchObject({ outcome: 'nothing-to-do', why: 'rollback-in-progress', notified: true });
    expect(published[1].subject).toBe(
      '[clever-better staging] bot rollback: nothing to do (rollback-in-progress)',
    );
    expect(ecs.commandCalls(StopServiceDeploymentCommand)).toHaveLength(0);
    expect(world.current('bot')).toBe(bot(11));
  });

  test('a deploy between the dry run and --yes is refused as a stale plan, with the new plan', async () => {
    const { world, run } = incident();
    const dry = await run({ dryRun: true });
    // A cdk deploy of :13 starts in between.
    world.define(BOT, 13, 'v1.3.0');
    world.deploy('bot', bot(13), { outcome: 'never' });
    const report = await run(plan(dry));
    expect(report).toMatchObject({
      outcome: 'nothing-to-do',
      why: 'stale-plan',
      plan: { action: 'stop-deployment', from: bot(13), to: bot(12) },
      moved: false,
    });
    expect(report.summary).toContain(`changed since the plan (${BOT}:12 -> ${BOT}:11)`);
    expect(mutations(world)).toEqual([]);
    expect(world.current('bot')).toBe(bot(13));
  });

  test('a stale stop plan is refused too: the deployment it would stop was replaced', async () => {
    const { world, run } = incident();
    world.define(BOT, 13, 'v1.3.0');
    world.define(BOT, 14, 'v1.3.1');
    world.deploy('bot', bot(13), { outcome: 'never' });
    const dry = await run({ dryRun: true });
    expect(dry.plan).toMatchObject({ action: 'stop-deployment', from: bot(13) });
    world.deploy('bot', bot(14), { outcome: 'never' });
    expect((await run(plan(dry))).why).toBe('stale-plan');
    expect(mutations(world)).toEqual([]);
  });

  test("the stop path never stops a deployment back to a revision that ran before (its own, or anyone's)", async () => {
    const { world, run } = incident();
    world.deploy('bot', bot(11), { outcome: 'never' });
    for (const req of [{}, { dryRun: true }, alarm(0)]) {
      const report = await run(req);
      expect(report).toMatchObject({ outcome: 'nothing-to-do', why: 'rollback-in-progress' });
    }
    expect(ecs.commandCalls(StopServiceDeploymentCommand)).toHaveLength(0);
  });

  test('rolling forward is a separate act: --to names the revision, and the report says FORWARD', async () => {
    const { world, run, published } = incident();
    await run();
    const dry = await run({ dryRun: true, to: '12' });
    expect(dry).toMatchObject({
      outcome: 'planned',
      direction: 'forward',
      plan: { from: bot(11), to: bot(12) },
    });
    expect(dry.warnings[0]).toContain('rolls FORWARD');
    const report = await run({ to: `${BOT}:12`, plan: dry.plan! });
    expect(report).toMatchObject({ outcome: 'rolled-back', direction: 'forward' });
    expect(world.current('bot')).toBe(bot(12));
    expect(published[1].subject).toBe('[clever-better staging] bot rolled FORWARD v1.2.2 -> v1.2.3');
  });

  test('--to goes further back than one step on request', async () => {
    const { world, run } = incident();
    await run();
    const report = await run({ to: bot(10) });
    expect(report).toMatchObject({ outcome: 'rolled-back', direction: 'back' });
    expect(world.current('bot')).toBe(bot(10));
  });

  test.each([
    ['99', 'an unknown revision'],
    ['clever-better-ml:11', 'another family'],
  ])(
    '--to %s (%s) fails naming the field and the choices, without AWS text and without changing anything',
    async (to) => {
      const { world, run } = incident({
        taskDefinitions: { 10: ['v1.2.1'], 11: ['v1.2.2'], 12: ['v1.2.3'] },
      });
      world.define(ML, 11, 'v9');
      const attempt = run({ to });
      await expect(attempt).rejects.toThrow(InputError);
      await expect(run({ to })).rejects.toThrow(
        new RegExp(
          `^to = "${to}" is not usable\\. Fix: name a revision of clever-better-bot that deployed successfully \\(newest first: ${BOT}:12, ${BOT}:11, ${BOT}:10\\)`,
        ),
      );
      expect(mutations(world)).toEqual([]);
    },
  );
});

describe('understanding the history', () => {
  test('a deploy ECS already undid (circuit breaker) is reported, and nothing goes one version further back', async () => {
    const { world, run, published } = incident({
      current: 11,
      deployments: [
        { id: 'd12', status: 'ROLLBACK_SUCCESSFUL', revision: 12, minutesAgo: 30 },
        { id: 'd11', status: 'SUCCESSFUL', revision: 11, minutesAgo: 3000 },
        { id: 'd10', status: 'SUCCESSFUL', revision: 10, minutesAgo: 9000 },
      ],
    });
    for (const req of [{}, alarm(1)]) {
      const report = await run(req);
      expect(report).toMatchObject({ outcome: 'nothing-to-do', why: 'undone-by-ecs' });
      expect(report.summary).toContain('ECS already undid the latest deployment');
      expect(report.history[0]).toContain('ROLLBACK_SUCCESSFUL');
    }
    expect(world.current('bot')).toBe(bot(11));
    expect(mutations(world)).toEqual([]);
    // Only the alarm's run is published: nobody reads its answer.
    expect(published).toHaveLength(1);
  });

  test('a ROLLBACK_FAILED deployment is named; with the bad revision still running, the run returns to the one before', async () => {
    const { world, run } = incident({
      deployments: [
        { id: 'd12', status: 'ROLLBACK_FAILED', revision: 12, minutesAgo: 30 },
        { id: 'd11', status: 'SUCCESSFUL', revision: 11, minutesAgo: 3000 },
        { id: 'd10', status: 'SUCCESSFUL', revision: 10, minutesAgo: 9000 },
      ],
    });
    const report = await run();
    expect(report.history.join('\n')).toMatch(/rollback of the deployment of clever-better-bot:12 .* FAILED/);
    expect(report.warnings[0]).toContain('FAILED: this run tries again');
    expect(world.current('bot')).toBe(bot(11));
  });

  test('a ROLLBACK_FAILED deployment with the earlier revision running needs a person', async () => {
    const { world, run } = incident({
      current: 11,
      deployments: [
        { id: 'd12', status: 'ROLLBACK_FAILED', revision: 12, minutesAgo: 30 },
        { id: 'd11', status: 'SUCCESSFUL', revision: 11, minutesAgo: 3000 },
      ],
    });
    const report = await run();
    expect(report).toMatchObject({ outcome: 'nothing-to-do', why: 'needs-a-person' });
    expect(report.summary).toContain('FAILED');
    expect(mutations(world)).toEqual([]);
  });

  test('re-deployed drift: the bad revision is back, said so, and rolled back again', async () => {
    const { world, run } = incident({
      deployments: [
        { id: 'd14', status: 'SUCCESSFUL', revision: 12, minutesAgo: 20 },
        { id: 'd13', status: 'SUCCESSFUL', revision: 11, minutesAgo: 60 },
        { id: 'd12', status: 'SUCCESSFUL', revision: 12, minutesAgo: 120 },
        { id: 'd11', status: 'SUCCESSFUL', revision: 11, minutesAgo: 3000 },
        { id: 'd10', status: 'SUCCESSFUL', revision: 10, minutesAgo: 9000 },
      ],
    });
    const report = await run(alarm(1));
    expect(report.history.join('\n')).toContain(`${BOT}:12 is back: it ran before`);
    expect(report.summary).not.toMatch(/newer/);
    expect(report.outcome).toBe('rolled-back');
    expect(world.current('bot')).toBe(bot(11));
  });

  test('an alarm never goes further back than the revision before the failing deployment', async () => {
    const { world, run } = incident();
    expect((await run(alarm(1))).to?.label).toBe(`${BOT}:11`);
    const later = await run(alarm(0));
    expect(later.why).toBe('already-rolled-back');
    expect(world.current('bot')).toBe(bot(11));
  });

  test('a new release after a rollback is rolled back to the revision before it, not to the bad one', async () => {
    const { world, run } = incident();
    await run();
    world.define(BOT, 13, 'v1.2.4');
    world.complete(world.deploy('bot', bot(13)));
    expect((await run()).to?.label).toBe(`${BOT}:11`);
  });

  test('an alarm with no earlier revision reports it (published) with advice that works, and does not throw', async () => {
    const { run, published } = incident({
      deployments: [{ id: 'd12', status: 'SUCCESSFUL', revision: 12, minutesAgo: 30 }],
    });
    const report = await run(alarm(1));
    expect(report).toMatchObject({ outcome: 'nothing-to-do', why: 'no-earlier-revision', notified: true });
    expect(published[0].message).toContain('deploy a known-good image tag through environments/');
    expect(published[0].message).not.toContain('ops -- rollback');
  });

  test('an alarm refuses a release older than its window, and one that started after the alarm', async () => {
    const { world, run } = incident();
    expect((await run(alarm(1), testConfig({ alarmWindowMs: 10 * 60_000 }))).why).toBe('needs-a-person');
    expect((await run(alarm(60))).why).toBe('needs-a-person');
    expect(mutations(world)).toEqual([]);
  });
});

describe('a release in progress', () => {
  function releasing() {
    const ctx = incident();
    ctx.world.define(BOT, 13, 'v1.3.0');
    const d = ctx.world.deploy('bot', bot(13), { outcome: 'never' });
    return { ...ctx, d };
  }

  test('is stopped with ROLLBACK and the service returns to the revision it replaced', async () => {
    const { world, run, d, published } = releasing();
    const report = await run();
    expect(ecs.commandCalls(StopServiceDeploymentCommand)[0].args[0].input).toEqual({
      serviceDeploymentArn: d.arn,
      stopType: 'ROLLBACK',
    });
    expect(report).toMatchObject({
      outcome: 'rolled-back',
      action: 'stop-deployment',
      from: { label: `${BOT}:13` },
      to: { label: `${BOT}:12` },
      moved: true,
    });
    expect(world.current('bot')).toBe(bot(12));
    expect(published).toHaveLength(1);
  });

  test('a release that completes between the listing and the stop is re-planned and rolled back, not paged as FAILED', async () => {
    const { world, run, d } = releasing();
    world.before('StopServiceDeployment', () => world.complete(d));
    const report = await run();
    expect(report).toMatchObject({ outcome: 'rolled-back', action: 'update-service' });
    expect(world.current('bot')).toBe(bot(12));
  });

  test('a race that changes the plan makes an automatic run stop and report', async () => {
    const { world, run, d, clock } = releasing();
    clock.advance(120_000);
    world.define(BOT, 14, 'v1.3.1');
    world.before('StopServiceDeployment', () => {
      world.complete(d);
      world.complete(world.deploy('bot', bot(14)));
    });
    // The alarm went off a minute after the release started.
    const report = await run(alarm(-1));
    expect(report).toMatchObject({ outcome: 'nothing-to-do' });
    expect(world.current('bot')).toBe(bot(14));
    expect(ecs.commandCalls(UpdateServiceCommand)).toHaveLength(0);
  });
});

describe('truthful outcomes', () => {
  test('a circuit-breaker undo of the rollback is reported as rollback-failed within one poll', async () => {
    const { world, run, published } = incident({ rolloutFails: true });
    const report = await run();
    expect(report).toMatchObject({
      outcome: 'rollback-failed',
      moved: true,
      nowRuns: `${BOT}:12`,
      waitedSeconds: 0,
    });
    expect(report.summary).toContain('ECS undid the rollback');
    const polls = world.log.slice(world.log.findIndex((l) => l.startsWith('UpdateService')));
    expect(polls.filter((l) => l.startsWith('DescribeServices'))).toHaveLength(1);
    expect(published[0].subject).toBe(
      '[clever-better staging] bot rollback FAILED, runs clever-better-bot:12',
    );
  });

  test('a rollout that never stabilises is rolled-back-unstable, not rolled-back', async () => {
    const { run, published } = incident({ pollsUntilStable: 1000 });
    const report = await run({}, testConfig({ waitTimeoutMs: 60_000 }));
    expect(report).toMatchObject({ outcome: 'rolled-back-unstable', stable: false });
    expect(report.waitedSeconds).toBeLessThanOrEqual(60);
    expect(published[0].subject).toBe(
      '[clever-better staging] bot rolled back v1.2.3 -> v1.2.2, NOT stable yet',
    );
  });

  test('throttling after UpdateService ends on :11 and the report says the service moved, advising no repeat', async () => {
    const { world, run, published } = incident();
    world.before('UpdateService', () => world.fault('DescribeServices', throttled, 10_000));
    const report = await run();
    expect(world.current('bot')).toBe(bot(11));
    expect(report).toMatchObject({ outcome: 'rolled-back-unstable', moved: true, nowRuns: `${BOT}:11` });
    expect(report.summary).toContain('watching the rollout failed (DescribeServices: gave up after');
    expect(report.summary).toContain('ThrottlingException: Rate exceeded');
    expect(report.summary).toContain('Do not repeat the rollback');
    expect(published[0].message).toContain('bot now runs clever-better-bot:11');
    expect(published[0].message).not.toContain('ops -- rollback');
  });

  test('a failed notification after a rollback says the service moved and the notification failed', async () => {
    const { world } = incident();
    const clock = fakeClock();
    const report = await runRollback(
      { service: 'bot', dryRun: false, requestedBy: 'alice', trigger: { kind: 'manual' } },
      {
        ecs: new EcsGateway(new ECSClient({ region: 'eu-west-1' }), CLUSTER, clock),
        config: testConfig(),
        clock,
        publish: async () => {
          throw new Error('KMS key disabled');
        },
      },
    );
    expect(world.current('bot')).toBe(bot(11));
    expect(report).toMatchObject({
      outcome: 'rolled-back',
      notified: false,
      notificationError: 'KMS key disabled',
    });
    const text = formatReport(report).join('\n');
    expect(text).toContain('bot now runs clever-better-bot:11');
    expect(text).toContain('The notification to the on-call topic FAILED (KMS key disabled)');
    expect(text).not.toContain('ops -- rollback');
  });

  test('each outcome has its own subject line', () => {
    const base = {
      environment: 'staging',
      cluster: CLUSTER,
      service: 'bot',
      dryRun: false,
      trigger: 'manual request',
      requestedBy: 'alice',
      action: 'update-service',
      history: [],
      moved: true,
      nowRuns: `${BOT}:11`,
      warnings: [],
      notified: false,
      summary: '',
      from: {
        taskDefinitionArn: bot(12),
        label: `${BOT}:12`,
        images: [{ container: 'app', image: 'x:v1.2.3', tag: 'v1.2.3' }],
      },
      to: {
        taskDefinitionArn: bot(11),
        label: `${BOT}:11`,
        images: [{ container: 'app', image: 'x:v1.2.2', tag: 'v1.2.2' }],
      },
    } as const;
    const subjects = (
      ['rolled-back', 'rolled-back-unstable', 'rollback-failed', 'nothing-to-do'] as const
    ).map((outcome) =>
      notificationSubject({
        ...base,
        outcome,
        why: outcome === 'nothing-to-do' ? 'already-rolled-back' : undefined,
      }),
    );
    expect(new Set(subjects).size).toBe(4);
    expect(subjects).toEqual([
      '[clever-better staging] bot rolled back v1.2.3 -> v1.2.2',
      '[clever-better staging] bot rolled back v1.2.3 -> v1.2.2, NOT stable yet',
      '[clever-better staging] bot rollback FAILED, runs clever-better-bot:11',
      '[clever-better staging] bot rollback: nothing to do (already-rolled-back)',
    ]);
  });
});

describe('deadlines and throttling', () => {
  test('an unanswered ECS call is abandoned after its own timeout; the run still reports before its deadline', async () => {
    const { world, run, clock, published } = incident();
    world.before('UpdateService', () => world.fault('DescribeServices', 'hang', 10_000));
    const deadline = NOW + 120_000;
    const report = await run({}, testConfig(), deadline);
    expect(report).toMatchObject({ outcome: 'rolled-back-unstable', moved: true });
    expect(report.summary).toMatch(
      /DescribeServices: gave up after \d+ attempt\(s\) .* CallTimeout: no answer within \d+ s/,
    );
    expect(clock.now()).toBeLessThanOrEqual(deadline);
    expect(published).toHaveLength(1);
  });

  test('throttling is retried with bounded backoff and the rollback completes', async () => {
    const { world, run, clock } = incident({ throttleUpdates: 1 });
    world.fault('ListServiceDeployments', throttled, 2);
    expect((await run()).outcome).toBe('rolled-back');
    expect(ecs.commandCalls(UpdateServiceCommand)).toHaveLength(2);
    expect(clock.sleeps).toHaveLength(3);
    for (const ms of clock.sleeps) expect(ms).toBeLessThanOrEqual(5000);
  });

  test('fails at the step deadline when throttling persists, reporting attempts and the last error, having changed nothing', async () => {
    const { world, run } = incident();
    world.fault('ListServiceDeployments', throttled, 10_000);
    await expect(run()).rejects.toThrow(
      /^ListServiceDeployments: gave up after \d+ attempt\(s\) in (2\d|30) s; last error: ThrottlingException: Rate exceeded$/,
    );
    expect(mutations(world)).toEqual([]);
  });

  test('a permanent error is not retried', async () => {
    incident();
    ecs
      .on(DescribeServicesCommand)
      .rejects(Object.assign(new Error('Cluster not found.'), { name: 'ClusterNotFoundException' }));
    const { run } = runner(fakeClock());
    await expect(run()).rejects.toThrow('Cluster not found.');
    expect(ecs.commandCalls(DescribeServicesCommand)).toHaveLength(1);
    expect(ecs.commandCalls(ListServiceDeploymentsCommand)).toHaveLength(0);
    expect(ecs.commandCalls(RegisterTaskDefinitionCommand)).toHaveLength(0);
  });
});

describe('services do not block each other', () => {
  test('ml-service is rolled back while a bot rollback is still rolling out', async () => {
    const { world, run, clock } = incident({ pollsUntilStable: 20 });
    addToWorld(world, {
      service: 'ml-service',
      family: ML,
      current: 7,
      taskDefinitions: { 6: ['v2.0.0'], 7: ['v2.1.0'] },
      deployments: [
        { id: 'm7', status: 'SUCCESSFUL', revision: 7, minutesAgo: 30 },
        { id: 'm6', status: 'SUCCESSFUL', revision: 6, minutesAgo: 3000 },
      ],
    });
    world.service('ml-service').next = { outcome: 'complete', polls: 1 };
    const finished: string[] = [];
    const botRun = run().then((r) => {
      finished.push('bot');
      return r;
    });
    const mlRun = run({ service: 'ml-service' }).then((r) => {
      finished.push('ml-service');
      return r;
    });
    const [b, m] = await Promise.all([botRun, mlRun]);
    expect(finished).toEqual(['ml-service', 'bot']);
    expect(m).toMatchObject({ outcome: 'rolled-back', to: { label: `${ML}:6` } });
    expect(b).toMatchObject({ outcome: 'rolled-back', to: { label: `${BOT}:11` } });
    expect(clock.now()).toBeGreaterThan(NOW);
  });
});
