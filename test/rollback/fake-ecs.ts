import {
  DescribeServiceDeploymentsCommand,
  DescribeServiceRevisionsCommand,
  DescribeServicesCommand,
  DescribeTaskDefinitionCommand,
  ECSClient,
  ListServiceDeploymentsCommand,
  RegisterTaskDefinitionCommand,
  RegisterTaskDefinitionCommandInput,
  StopServiceDeploymentCommand,
  TaskDefinition,
  UpdateServiceCommand,
} from '@aws-sdk/client-ecs';
import { AwsClientStub } from 'aws-sdk-client-mock';
import { RollbackConfig } from '../../lambda/rollback/config';
import { Clock } from '../../lambda/rollback/retry';

export const ACCOUNT = '111111111111';
export const REGION = 'eu-west-1';
export const CLUSTER = 'clever-better-staging';

export const tdArn = (family: string, revision: number) =>
  `arn:aws:ecs:${REGION}:${ACCOUNT}:task-definition/${family}:${revision}`;
const revisionArn = (service: string, id: string) =>
  `arn:aws:ecs:${REGION}:${ACCOUNT}:service-revision/${CLUSTER}/${service}/${id}`;
export const deploymentArn = (service: string, id: string) =>
  `arn:aws:ecs:${REGION}:${ACCOUNT}:service-deployment/${CLUSTER}/${service}/${id}`;

/** A described task definition as ECS returns it, read-only fields included. */
export function taskDefinition(
  family: string,
  revision: number,
  tag: string,
  status: 'ACTIVE' | 'INACTIVE' = 'ACTIVE',
): TaskDefinition {
  const repo = family === 'clever-better-bot' ? 'clever-better-bot' : 'clever-better-ml';
  return {
    taskDefinitionArn: tdArn(family, revision),
    family,
    revision,
    status,
    taskRoleArn: `arn:aws:iam::${ACCOUNT}:role/${family}-task`,
    executionRoleArn: `arn:aws:iam::${ACCOUNT}:role/${family}-execution`,
    networkMode: 'awsvpc',
    containerDefinitions: [
      {
        name: 'app',
        image: `${ACCOUNT}.dkr.ecr.${REGION}.amazonaws.com/${repo}:${tag}`,
        essential: true,
        readonlyRootFilesystem: true,
        portMappings: [{ containerPort: 8080, protocol: 'tcp' }],
      },
    ],
    volumes: [{ name: 'tmp' }],
    requiresCompatibilities: ['FARGATE'],
    compatibilities: ['EC2', 'FARGATE'],
    requiresAttributes: [{ name: 'com.amazonaws.ecs.capability.logging-driver.awslogs' }],
    cpu: '512',
    memory: '1024',
    runtimePlatform: { cpuArchitecture: 'X86_64', operatingSystemFamily: 'LINUX' },
    registeredAt: new Date('2026-01-01T00:00:00Z'),
    registeredBy: `arn:aws:iam::${ACCOUNT}:role/cdk-deploy`,
  };
}

export interface FakeDeployment {
  readonly id: string;
  readonly status: string;
  /** Task-definition revision the deployment targets (same family as the service). */
  readonly revision: number;
  /** Minutes before "now" the deployment was created; finished one minute later. */
  readonly minutesAgo: number;
  /** Revision it started from (for DescribeServiceDeployments). */
  readonly sourceRevision?: number;
}

export interface FakeService {
  readonly service: 'bot' | 'ml-service';
  readonly family: string;
  /** Revision the service runs. */
  readonly current: number;
  readonly desiredCount?: number;
  /** Revision → [tag, status]. */
  readonly taskDefinitions: Record<number, [string, ('ACTIVE' | 'INACTIVE')?]>;
  /** Newest first or in any order; the gateway sorts. */
  readonly deployments: readonly FakeDeployment[];
  /** DescribeServices polls after the update that still show the rollout in progress. */
  readonly pollsUntilStable?: number;
  /** After the update, the rollout fails (the circuit breaker tripped) instead of completing. */
  readonly rolloutFails?: boolean;
  /** How many times UpdateService answers ThrottlingException before it works. */
  readonly throttleUpdates?: number;
}

/** The error ECS returns when a caller exceeds its request rate. */
export const throttled = () =>
  Object.assign(new Error('Rate exceeded'), {
    name: 'ThrottlingException',
    $metadata: { httpStatusCode: 400 },
  });

export const NOW = new Date('2026-03-01T12:00:00Z').getTime();

/** A clock that advances only when something sleeps, recording every sleep. */
export function fakeClock(start = NOW): Clock & { sleeps: number[] } {
  let t = start;
  const sleeps: number[] = [];
  return {
    sleeps,
    now: () => t,
    sleep: async (ms) => {
      sleeps.push(ms);
      t += ms;
    },
  };
}

export const testConfig = (overrides: Partial<RollbackConfig> = {}): RollbackConfig => ({
  environmentName: 'staging',
  cluster: CLUSTER,
  topicArn: `arn:aws:sns:${REGION}:${ACCOUNT}:oncall`,
  alarmServices: { 'clever-better-staging-bot-deploy-errors': 'bot' },
  alarmWindowMs: 24 * 3_600_000,
  waitTimeoutMs: 600_000,
  pollIntervalMs: 15_000,
  ...overrides,
});

/**
 * Wires an aws-sdk-client-mock ECS stub to a small stateful world: one service, its task
 * definitions, its deployment history. UpdateService moves the service; RegisterTaskDefinition adds
 * a revision. Returns the state so tests can inspect it.
 */
export function fakeEcs(ecs: AwsClientStub<ECSClient>, world: FakeService) {
  const tds = new Map<string, TaskDefinition>();
  for (const [rev, [tag, status]] of Object.entries(world.taskDefinitions)) {
    const td = taskDefinition(world.family, Number(rev), tag, status);
    tds.set(td.taskDefinitionArn!, td);
  }
  const state = {
    current: tdArn(world.family, world.current),
    updated: false,
    polls: 0,
    registered: [] as RegisterTaskDefinitionCommandInput[],
    /** What ListServiceDeployments answers, for tests that replace its behaviour. */
    history: undefined as unknown,
  };
  const at = (minutesAgo: number) => new Date(NOW - minutesAgo * 60_000);

  ecs.on(DescribeServicesCommand).callsFake(() => {
    const rolling = state.updated && state.polls++ < (world.pollsUntilStable ?? 0);
    const desired = world.desiredCount ?? 1;
    return {
      services: [
        {
          serviceName: world.service,
          status: 'ACTIVE',
          taskDefinition: state.current,
          desiredCount: desired,
          deployments: [
            {
              status: 'PRIMARY',
              taskDefinition: state.current,
              rolloutState:
                state.updated && world.rolloutFails ? 'FAILED' : rolling ? 'IN_PROGRESS' : 'COMPLETED',
              rolloutStateReason:
                state.updated && world.rolloutFails
                  ? 'ECS deployment circuit breaker: tasks failed to start.'
                  : undefined,
              desiredCount: desired,
              runningCount: rolling ? 0 : desired,
            },
          ],
        },
      ],
    };
  });
  const history = {
    serviceDeployments: world.deployments.map((d) => ({
      serviceDeploymentArn: deploymentArn(world.service, d.id),
      status: d.status as never,
      createdAt: at(d.minutesAgo),
      startedAt: at(d.minutesAgo),
      finishedAt: ['SUCCESSFUL', 'ROLLBACK_SUCCESSFUL', 'STOPPED'].includes(d.status)
        ? at(d.minutesAgo - 1)
        : undefined,
      targetServiceRevisionArn: revisionArn(world.service, `r${d.revision}`),
    })),
  };
  ecs.on(ListServiceDeploymentsCommand).resolves(history);
  state.history = history;
  ecs.on(DescribeServiceRevisionsCommand).callsFake((input: { serviceRevisionArns: string[] }) => ({
    serviceRevisions: input.serviceRevisionArns.map((arn) => ({
      serviceRevisionArn: arn,
      taskDefinition: tdArn(world.family, Number(arn.slice(arn.lastIndexOf('/r') + 2))),
    })),
  }));
  ecs.on(DescribeServiceDeploymentsCommand).callsFake((input: { serviceDeploymentArns: string[] }) => ({
    serviceDeployments: input.serviceDeploymentArns.map((arn) => {
      const d = world.deployments.find((x) => deploymentArn(world.service, x.id) === arn)!;
      return {
        serviceDeploymentArn: arn,
        status: d.status as never,
        sourceServiceRevisions:
          d.sourceRevision === undefined ? [] : [{ arn: revisionArn(world.service, `r${d.sourceRevision}`) }],
        targetServiceRevision: { arn: revisionArn(world.service, `r${d.revision}`) },
      };
    }),
  }));
  ecs.on(DescribeTaskDefinitionCommand).callsFake((input: { taskDefinition: string }) => {
    const td = tds.get(input.taskDefinition);
    if (!td)
      throw Object.assign(new Error('Unable to describe task definition.'), { name: 'ClientException' });
    return { taskDefinition: td };
  });
  ecs.on(RegisterTaskDefinitionCommand).callsFake((input: RegisterTaskDefinitionCommandInput) => {
    state.registered.push(input);
    const revision = Math.max(...[...tds.values()].map((t) => t.revision ?? 0)) + 1;
    const td: TaskDefinition = {
      ...input,
      taskDefinitionArn: tdArn(input.family!, revision),
      revision,
      status: 'ACTIVE',
    } as TaskDefinition;
    tds.set(td.taskDefinitionArn!, td);
    return { taskDefinition: td };
  });
  let throttles = world.throttleUpdates ?? 0;
  ecs.on(UpdateServiceCommand).callsFake((input: { taskDefinition: string }) => {
    if (throttles-- > 0) throw throttled();
    const td = tds.get(input.taskDefinition);
    if (!td) throw Object.assign(new Error('TaskDefinition not found.'), { name: 'ClientException' });
    // What ECS does: an INACTIVE revision cannot be deployed.
    if (td.status === 'INACTIVE')
      throw Object.assign(new Error('TaskDefinition is inactive'), { name: 'ClientException' });
    state.current = input.taskDefinition;
    state.updated = true;
    return { service: { serviceName: world.service } };
  });
  ecs.on(StopServiceDeploymentCommand).callsFake((input: { serviceDeploymentArn: string }) => {
    // ECS rolls the service back to the deployment's source revision.
    const d = world.deployments.find(
      (x) => deploymentArn(world.service, x.id) === input.serviceDeploymentArn,
    );
    if (d?.sourceRevision !== undefined) state.current = tdArn(world.family, d.sourceRevision);
    return { serviceDeploymentArn: input.serviceDeploymentArn };
  });
  return state;
}
