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
import { formatReport } from '../../lambda/rollback/report';
import { runRollback } from '../../lambda/rollback/rollback';
import { REGISTRABLE_FIELDS } from '../../lambda/rollback/task-definition';
import { RollbackRequest } from '../../lambda/rollback/types';
import {
  CLUSTER,
  deploymentArn,
  fakeClock,
  fakeEcs,
  FakeService,
  NOW,
  tdArn,
  testConfig,
  throttled,
} from './fake-ecs';

const ecs = mockClient(ECSClient);
const MUTATING = [UpdateServiceCommand, RegisterTaskDefinitionCommand, StopServiceDeploymentCommand];

beforeEach(() => ecs.reset());

const BOT = 'clever-better-bot';

/** The usual history: v1.2.1 (:3) → v1.2.2 (:4) → v1.2.3 (:5, running). */
const healthyHistory: FakeService = {
  service: 'bot',
  family: BOT,
  current: 5,
  taskDefinitions: { 3: ['v1.2.1'], 4: ['v1.2.2'], 5: ['v1.2.3'] },
  deployments: [
    { id: 'd5', status: 'SUCCESSFUL', revision: 5, minutesAgo: 30 },
    { id: 'd4', status: 'SUCCESSFUL', revision: 4, minutesAgo: 3000 },
    { id: 'd3', status: 'SUCCESSFUL', revision: 3, minutesAgo: 9000 },
  ],
};

function request(overrides: Partial<RollbackRequest> = {}): RollbackRequest {
  return { service: 'bot', dryRun: false, requestedBy: 'alice', trigger: { kind: 'manual' }, ...overrides };
}

function run(req: RollbackRequest, config: RollbackConfig = testConfig()) {
  const clock = fakeClock();
  const published: { subject: string; message: string }[] = [];
  const deps = {
    ecs: new EcsGateway(new ECSClient({ region: 'eu-west-1' }), CLUSTER, clock),
    config,
    clock,
    publish: async (subject: string, message: string) => {
      published.push({ subject, message });
    },
  };
  return { result: runRollback(req, deps), published, clock };
}

function mutatingCalls() {
  return MUTATING.flatMap((c) => ecs.commandCalls(c as never));
}

describe('rolling back to the previous successful deployment', () => {
  test('moves the service to the most recent successful deployment that differs and reports both revisions', async () => {
    // GIVEN the service runs :5 and :4 deployed successfully before it
    const state = fakeEcs(ecs, healthyHistory);
    // WHEN it is rolled back
    const { result, published } = run(request());
    const report = await result;
    // THEN it runs :4 again, stable, and the report names revisions and image tags
    expect(ecs.commandCalls(UpdateServiceCommand)[0].args[0].input).toEqual({
      cluster: CLUSTER,
      service: 'bot',
      taskDefinition: tdArn(BOT, 4),
    });
    expect(state.current).toBe(tdArn(BOT, 4));
    expect(report).toMatchObject({
      outcome: 'rolled-back',
      action: 'update-service',
      stable: true,
      from: { label: `${BOT}:5`, images: [{ container: 'app', tag: 'v1.2.3' }] },
      to: { label: `${BOT}:4`, images: [{ container: 'app', tag: 'v1.2.2' }] },
      notified: true,
    });
    expect(ecs.commandCalls(RegisterTaskDefinitionCommand)).toHaveLength(0);
    expect(published).toHaveLength(1);
  });

  test('never sends a desired count, so an emergency-stopped bot stays at zero', async () => {
    fakeEcs(ecs, { ...healthyHistory, desiredCount: 0 });
    await run(request()).result;
    expect(ecs.commandCalls(UpdateServiceCommand)[0].args[0].input).not.toHaveProperty('desiredCount');
  });

  test('says which image tag to set back in environments/<env>.ts, in the report and the notification', async () => {
    fakeEcs(ecs, healthyHistory);
    const { result, published } = run(request());
    const report = await result;
    expect(report.driftNote).toContain(
      "set bot.imageTag = 'v1.2.2' in environments/staging.ts (it says 'v1.2.3')",
    );
    expect(published[0].subject).toBe('[clever-better staging] bot rolled back v1.2.3 -> v1.2.2');
    expect(published[0].message).toContain(report.driftNote);
    expect(published[0].message).toContain('requested by alice');
  });

  test('names ml.imageTag for ml-service', async () => {
    fakeEcs(ecs, {
      ...healthyHistory,
      service: 'ml-service',
      family: 'clever-better-ml',
    });
    const report = await run(request({ service: 'ml-service' })).result;
    expect(report.driftNote).toContain("set ml.imageTag = 'v1.2.2' in environments/staging.ts");
  });

  test('skips revision − 1 when it never deployed successfully and picks the older successful one', async () => {
    // GIVEN :4 was registered but its deployment failed and ECS rolled it back to :3, then :5 deployed
    fakeEcs(ecs, {
      service: 'bot',
      family: BOT,
      current: 5,
      taskDefinitions: { 3: ['v1.2.1'], 4: ['v1.2.2-broken'], 5: ['v1.2.3'] },
      deployments: [
        { id: 'd5', status: 'SUCCESSFUL', revision: 5, minutesAgo: 30 },
        { id: 'd4', status: 'ROLLBACK_SUCCESSFUL', revision: 4, minutesAgo: 600 },
        { id: 'd3', status: 'SUCCESSFUL', revision: 3, minutesAgo: 9000 },
      ],
    });
    const report = await run(request()).result;
    expect(ecs.commandCalls(UpdateServiceCommand)[0].args[0].input.taskDefinition).toBe(tdArn(BOT, 3));
    expect(report.to?.label).toBe(`${BOT}:3`);
  });

  test('sorts the history itself rather than trusting the order ECS lists it in', async () => {
    fakeEcs(ecs, { ...healthyHistory, deployments: [...healthyHistory.deployments].reverse() });
    await run(request()).result;
    expect(ecs.commandCalls(UpdateServiceCommand)[0].args[0].input.taskDefinition).toBe(tdArn(BOT, 4));
  });
});

describe('an INACTIVE target', () => {
  const inactive: FakeService = {
    ...healthyHistory,
    taskDefinitions: { 3: ['v1.2.1', 'INACTIVE'], 4: ['v1.2.2', 'INACTIVE'], 5: ['v1.2.3'] },
  };

  test('is registered again from its description (registrable fields only) and the copy is deployed', async () => {
    // GIVEN CloudFormation deregistered :4 when it deployed :5
    const state = fakeEcs(ecs, inactive);
    // WHEN the bot is rolled back
    const report = await run(request()).result;
    // THEN :4 is copied as :6 with only the fields RegisterTaskDefinition accepts, and :6 is deployed
    expect(state.registered).toHaveLength(1);
    const input = state.registered[0];
    expect(Object.keys(input).sort()).toEqual(
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
    expect(input.containerDefinitions?.[0].image).toMatch(/:v1\.2\.2$/);
    expect(ecs.commandCalls(UpdateServiceCommand)[0].args[0].input.taskDefinition).toBe(tdArn(BOT, 6));
    expect(report).toMatchObject({ reregisteredAs: tdArn(BOT, 6), to: { label: `${BOT}:4` }, stable: true });
    expect(formatReport(report).join('\n')).toContain(
      `${BOT}:4 was INACTIVE: registered again as ${tdArn(BOT, 6)}`,
    );
  });

  test('a dry run says it would register it again, and registers nothing', async () => {
    fakeEcs(ecs, inactive);
    const report = await run(request({ dryRun: true })).result;
    expect(report.targetInactive).toBe(true);
    expect(mutatingCalls()).toHaveLength(0);
    expect(formatReport(report).join('\n')).toContain('is INACTIVE: it would be registered again');
  });

  test('the copy list covers only fields RegisterTaskDefinition accepts', () => {
    // Compile-time `satisfies` in task-definition.ts; this pins the read-only fields out.
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

describe('a deployment in progress', () => {
  const inProgress: FakeService = {
    ...healthyHistory,
    current: 6,
    taskDefinitions: { ...healthyHistory.taskDefinitions, 6: ['v1.3.0'] },
    deployments: [
      { id: 'd6', status: 'IN_PROGRESS', revision: 6, minutesAgo: 2, sourceRevision: 5 },
      ...healthyHistory.deployments,
    ],
  };

  test('is stopped with ROLLBACK instead of being deployed over', async () => {
    fakeEcs(ecs, inProgress);
    const { result, published } = run(request());
    const report = await result;
    expect(ecs.commandCalls(StopServiceDeploymentCommand)[0].args[0].input).toEqual({
      serviceDeploymentArn: deploymentArn('bot', 'd6'),
      stopType: 'ROLLBACK',
    });
    expect(ecs.commandCalls(UpdateServiceCommand)).toHaveLength(0);
    expect(report).toMatchObject({
      outcome: 'deployment-stopped',
      action: 'stop-deployment',
      from: { label: `${BOT}:6` },
      to: { label: `${BOT}:5` },
      stoppedDeployment: deploymentArn('bot', 'd6'),
    });
    expect(report.driftNote).toContain('CloudFormation fails that update');
    expect(report.stable).toBe(true);
    expect(published).toHaveLength(1);
  });

  test('a PENDING deployment is stopped the same way', async () => {
    fakeEcs(ecs, {
      ...inProgress,
      deployments: [{ ...inProgress.deployments[0], status: 'PENDING' }, ...healthyHistory.deployments],
    });
    expect((await run(request()).result).outcome).toBe('deployment-stopped');
  });

  test('that is this rollback itself is left alone when the request is repeated', async () => {
    // GIVEN an earlier attempt already started the deployment of the plan's target :4
    fakeEcs(ecs, {
      ...healthyHistory,
      current: 4,
      deployments: [
        { id: 'd7', status: 'IN_PROGRESS', revision: 4, minutesAgo: 1, sourceRevision: 5 },
        ...healthyHistory.deployments,
      ],
    });
    const report = await run(
      request({ targetTaskDefinition: tdArn(BOT, 4), expectedCurrentTaskDefinition: tdArn(BOT, 5) }),
    ).result;
    expect(report.outcome).toBe('already-rolling-back');
    expect(mutatingCalls()).toHaveLength(0);
  });
});

describe('idempotence', () => {
  test('a service already on the target is left alone: no call, no notification', async () => {
    // GIVEN the plan's target :4 is what runs (the first run already rolled back)
    fakeEcs(ecs, {
      ...healthyHistory,
      current: 4,
      deployments: [
        { id: 'd7', status: 'SUCCESSFUL', revision: 4, minutesAgo: 5 },
        ...healthyHistory.deployments,
      ],
    });
    const { result, published } = run(
      request({ targetTaskDefinition: tdArn(BOT, 4), expectedCurrentTaskDefinition: tdArn(BOT, 5) }),
    );
    const report = await result;
    expect(report.outcome).toBe('already-on-target');
    expect(mutatingCalls()).toHaveLength(0);
    expect(published).toHaveLength(0);
  });

  test('a re-registered copy of the target counts as being on the target', async () => {
    // GIVEN :6 is the copy of the INACTIVE :4 an earlier run registered and deployed
    fakeEcs(ecs, {
      ...healthyHistory,
      current: 6,
      taskDefinitions: { 3: ['v1.2.1'], 4: ['v1.2.2', 'INACTIVE'], 5: ['v1.2.3'], 6: ['v1.2.2'] },
      deployments: [
        { id: 'd6', status: 'SUCCESSFUL', revision: 6, minutesAgo: 5 },
        ...healthyHistory.deployments,
      ],
    });
    const report = await run(request({ targetTaskDefinition: tdArn(BOT, 4) })).result;
    expect(report.outcome).toBe('already-on-target');
    expect(mutatingCalls()).toHaveLength(0);
  });

  test('ECS already rolling back (its alarms or circuit breaker) means nothing to do', async () => {
    fakeEcs(ecs, {
      ...healthyHistory,
      deployments: [
        { id: 'd6', status: 'ROLLBACK_IN_PROGRESS', revision: 6, minutesAgo: 2 },
        ...healthyHistory.deployments,
      ],
    });
    const report = await run(request()).result;
    expect(report.outcome).toBe('already-rolling-back');
    expect(mutatingCalls()).toHaveLength(0);
  });

  test('refuses a stale plan when the service moved since the dry run', async () => {
    fakeEcs(ecs, healthyHistory);
    const report = await run(
      request({ targetTaskDefinition: tdArn(BOT, 3), expectedCurrentTaskDefinition: tdArn(BOT, 4) }),
    ).result;
    expect(report.outcome).toBe('refused');
    expect(report.summary).toContain('Run the dry run again');
    expect(mutatingCalls()).toHaveLength(0);
  });

  test('fails with a clear error when the requested target never deployed successfully', async () => {
    fakeEcs(ecs, {
      ...healthyHistory,
      taskDefinitions: { ...healthyHistory.taskDefinitions, 2: ['v1.2.0'] },
    });
    await expect(run(request({ targetTaskDefinition: tdArn(BOT, 2) })).result).rejects.toThrow(InputError);
    await expect(run(request({ targetTaskDefinition: tdArn(BOT, 2) })).result).rejects.toThrow(
      /targetTaskDefinition = ".*clever-better-bot:2" is not usable\. Fix: roll back only to the task definition of a successful deployment/,
    );
    expect(mutatingCalls()).toHaveLength(0);
  });
});

describe('no earlier successful deployment', () => {
  test('fails with a clear error and changes nothing', async () => {
    // GIVEN only the current revision ever deployed successfully
    fakeEcs(ecs, {
      service: 'bot',
      family: BOT,
      current: 2,
      taskDefinitions: { 1: ['v0.9.0'], 2: ['v1.0.0'] },
      deployments: [
        { id: 'd2', status: 'SUCCESSFUL', revision: 2, minutesAgo: 30 },
        { id: 'd1', status: 'ROLLBACK_SUCCESSFUL', revision: 1, minutesAgo: 300 },
      ],
    });
    const { result, published } = run(request());
    await expect(result).rejects.toThrow(NoRollbackTargetError);
    await expect(run(request()).result).rejects.toThrow(
      /bot has no successful deployment of a task definition other than the current clever-better-bot:2 .*nothing was changed/,
    );
    expect(mutatingCalls()).toHaveLength(0);
    expect(published).toHaveLength(0);
  });
});

describe('ECS throttling', () => {
  test('is retried with bounded backoff and the rollback completes', async () => {
    const state = fakeEcs(ecs, { ...healthyHistory, throttleUpdates: 1 });
    ecs
      .on(ListServiceDeploymentsCommand)
      .rejectsOnce(throttled())
      .rejectsOnce(throttled())
      .resolves(state.history as never);
    const { result, clock } = run(request());
    const report = await result;
    expect(report.outcome).toBe('rolled-back');
    expect(ecs.commandCalls(UpdateServiceCommand)).toHaveLength(2);
    // Three backoffs: two on the list, one on the update; each within the policy's cap.
    expect(clock.sleeps).toHaveLength(3);
    for (const ms of clock.sleeps) expect(ms).toBeLessThanOrEqual(5000);
  });

  test('fails after the last attempt when throttling persists, having changed nothing', async () => {
    fakeEcs(ecs, healthyHistory);
    ecs.on(ListServiceDeploymentsCommand).rejects(throttled());
    const { result, clock } = run(request());
    await expect(result).rejects.toThrow('Rate exceeded');
    expect(ecs.commandCalls(ListServiceDeploymentsCommand)).toHaveLength(6);
    expect(clock.sleeps).toHaveLength(5);
    expect(mutatingCalls()).toHaveLength(0);
  });

  test('a client error is not retried', async () => {
    fakeEcs(ecs, healthyHistory);
    ecs
      .on(DescribeServicesCommand)
      .rejects(Object.assign(new Error('Cluster not found.'), { name: 'ClusterNotFoundException' }));
    await expect(run(request()).result).rejects.toThrow('Cluster not found.');
    expect(ecs.commandCalls(DescribeServicesCommand)).toHaveLength(1);
  });
});

describe('dry run', () => {
  test('reports the plan with the drift note and changes nothing, notifies nobody', async () => {
    fakeEcs(ecs, healthyHistory);
    const { result, published } = run(request({ dryRun: true }));
    const report = await result;
    expect(report).toMatchObject({
      outcome: 'planned',
      dryRun: true,
      from: { taskDefinitionArn: tdArn(BOT, 5) },
      to: { taskDefinitionArn: tdArn(BOT, 4) },
    });
    expect(report.driftNote).toContain("bot.imageTag = 'v1.2.2'");
    expect(mutatingCalls()).toHaveLength(0);
    expect(published).toHaveLength(0);
  });

  test('of an in-progress deployment says it would stop it', async () => {
    fakeEcs(ecs, {
      ...healthyHistory,
      current: 6,
      taskDefinitions: { ...healthyHistory.taskDefinitions, 6: ['v1.3.0'] },
      deployments: [
        { id: 'd6', status: 'IN_PROGRESS', revision: 6, minutesAgo: 2, sourceRevision: 5 },
        ...healthyHistory.deployments,
      ],
    });
    const report = await run(request({ dryRun: true })).result;
    expect(report).toMatchObject({ outcome: 'planned', action: 'stop-deployment' });
    expect(report.summary).toMatch(/^Would stop the in-progress deployment of clever-better-bot:6/);
    expect(mutatingCalls()).toHaveLength(0);
  });
});

describe('waiting for a steady state', () => {
  test('polls until the rollout completes', async () => {
    fakeEcs(ecs, { ...healthyHistory, pollsUntilStable: 3 });
    const { result, clock } = run(request());
    const report = await result;
    expect(report).toMatchObject({ stable: true, waitedSeconds: 45 });
    expect(clock.sleeps).toEqual([15_000, 15_000, 15_000]);
  });

  test('fails the report, not the run, when ECS says the rollout FAILED', async () => {
    fakeEcs(ecs, { ...healthyHistory, rolloutFails: true });
    const { result, published } = run(request());
    const report = await result;
    expect(report).toMatchObject({ outcome: 'rolled-back', stable: false });
    expect(report.warnings).toContain(
      'ECS reports the rollout FAILED: ECS deployment circuit breaker: tasks failed to start.',
    );
    expect(published[0].message).toContain('rollout FAILED');
  });

  test('gives up at the bound and says the service is not yet stable', async () => {
    fakeEcs(ecs, { ...healthyHistory, pollsUntilStable: 1000 });
    const { result, published } = run(request(), testConfig({ waitTimeoutMs: 60_000 }));
    const report = await result;
    expect(report).toMatchObject({ outcome: 'rolled-back', stable: false });
    expect(report.waitedSeconds).toBeLessThanOrEqual(60);
    expect(published[0].message).toContain('NOT yet stable');
  });
});

describe('alarm-triggered runs', () => {
  const alarm = (minutesAgo: number): RollbackRequest =>
    request({
      requestedBy: 'CloudWatch alarm clever-better-staging-bot-deploy-errors',
      trigger: {
        kind: 'alarm',
        alarmName: 'clever-better-staging-bot-deploy-errors',
        stateChangedAt: new Date(NOW - minutesAgo * 60_000),
      },
    });

  test('roll back a deployment that finished within the window', async () => {
    fakeEcs(ecs, healthyHistory);
    const { result, published } = run(alarm(1));
    expect((await result).outcome).toBe('rolled-back');
    expect(published[0].message).toContain('alarm clever-better-staging-bot-deploy-errors');
  });

  test('refuse to roll back a version older than the window, and tell the on-call person', async () => {
    fakeEcs(ecs, healthyHistory);
    const { result, published } = run(alarm(1), testConfig({ alarmWindowMs: 10 * 60_000 }));
    const report = await result;
    expect(report.outcome).toBe('refused');
    expect(report.summary).toContain('npm run ops -- rollback --env staging --service bot');
    expect(mutatingCalls()).toHaveLength(0);
    expect(published).toHaveLength(1);
  });

  test('act once: a deployment started after the alarm means it was already acted on', async () => {
    fakeEcs(ecs, healthyHistory);
    const report = await run(alarm(60)).result;
    expect(report.outcome).toBe('already-rolling-back');
    expect(mutatingCalls()).toHaveLength(0);
  });

  test('never roll forward to a version that was rolled back from', async () => {
    // GIVEN v1.2.2 (:4) was rolled back to a copy of v1.2.1 (:6)
    fakeEcs(ecs, {
      service: 'bot',
      family: BOT,
      current: 6,
      taskDefinitions: { 3: ['v1.2.1', 'INACTIVE'], 4: ['v1.2.2'], 6: ['v1.2.1'] },
      deployments: [
        { id: 'd6', status: 'SUCCESSFUL', revision: 6, minutesAgo: 30 },
        { id: 'd4', status: 'SUCCESSFUL', revision: 4, minutesAgo: 300 },
        { id: 'd3', status: 'SUCCESSFUL', revision: 3, minutesAgo: 9000 },
      ],
    });
    const { result, published } = run(alarm(1));
    const report = await result;
    expect(report.outcome).toBe('refused');
    expect(report.warnings[0]).toContain('rolls FORWARD');
    expect(mutatingCalls()).toHaveLength(0);
    expect(published).toHaveLength(1);
  });

  test('a manual run in the same situation proceeds but warns about the roll-forward', async () => {
    fakeEcs(ecs, {
      service: 'bot',
      family: BOT,
      current: 6,
      taskDefinitions: { 3: ['v1.2.1', 'INACTIVE'], 4: ['v1.2.2'], 6: ['v1.2.1'] },
      deployments: [
        { id: 'd6', status: 'SUCCESSFUL', revision: 6, minutesAgo: 30 },
        { id: 'd4', status: 'SUCCESSFUL', revision: 4, minutesAgo: 300 },
        { id: 'd3', status: 'SUCCESSFUL', revision: 3, minutesAgo: 9000 },
      ],
    });
    const report = await run(request({ dryRun: true })).result;
    expect(report.to?.label).toBe(`${BOT}:4`);
    expect(report.warnings[0]).toContain('rolls FORWARD');
  });
});
