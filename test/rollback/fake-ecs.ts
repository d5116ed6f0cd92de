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
const revisionArn = (service: string, td: string) =>
  `arn:aws:ecs:${REGION}:${ACCOUNT}:service-revision/${CLUSTER}/${service}/r-${td.slice(td.lastIndexOf(':') + 1)}`;
export const deploymentArn = (service: string, id: string) =>
  `arn:aws:ecs:${REGION}:${ACCOUNT}:service-deployment/${CLUSTER}/${service}/${id}`;

export const familyOf = (service: ServiceName) =>
  service === 'bot' ? 'clever-better-bot' : 'clever-better-ml';

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

export type ServiceName = 'bot' | 'ml-service';

/** ECS service-deployment statuses (ListServiceDeployments / DescribeServiceDeployments). */
export type DeploymentStatus =
  | 'PENDING'
  | 'IN_PROGRESS'
  | 'SUCCESSFUL'
  | 'STOPPED'
  | 'STOP_REQUESTED'
  | 'ROLLBACK_REQUESTED'
  | 'ROLLBACK_IN_PROGRESS'
  | 'ROLLBACK_SUCCESSFUL'
  | 'ROLLBACK_FAILED';

/**
 * How a deployment the world starts (UpdateService, {@link EcsWorld.deploy}) plays out, counted in
 * DescribeServices polls of its service:
 * - `complete`: the rollout completes after `polls` polls;
 * - `circuit-breaker`: after `polls` polls its tasks keep failing, the breaker trips and ECS rolls
 *   back to the source revision (rollout FAILED; status ROLLBACK_IN_PROGRESS, then ROLLBACK_SUCCESSFUL);
 * - `never`: stays in progress.
 */
export interface Script {
  readonly outcome: 'complete' | 'circuit-breaker' | 'never';
  readonly polls?: number;
}

/** One service deployment in the world. */
export interface WorldDeployment {
  readonly arn: string;
  status: DeploymentStatus;
  /** Task-definition ARN the service ran when it started (the one a ROLLBACK returns to). */
  readonly source?: string;
  /** Task-definition ARN it deploys. */
  readonly target: string;
  readonly createdAt: Date;
  finishedAt?: Date;
  script: Script;
  /** Polls seen since it started (or since its rollback started). */
  polls: number;
  rolloutFailedReason?: string;
}

interface WorldService {
  readonly name: ServiceName;
  taskDefinition: string;
  desiredCount: number;
  readonly deployments: WorldDeployment[];
  /** How the next UpdateService's deployment plays out. */
  next: Script;
}

type Fault = { kind: 'throw'; error: () => Error } | { kind: 'hang' };

/** The error ECS returns when a caller exceeds its request rate. */
export const throttled = () =>
  Object.assign(new Error('Rate exceeded'), {
    name: 'ThrottlingException',
    $metadata: { httpStatusCode: 400 },
  });

const clientError = (name: string, message: string) =>
  Object.assign(new Error(message), { name, $fault: 'client', $metadata: { httpStatusCode: 400 } });

export const NOW = new Date('2026-03-01T12:00:00Z').getTime();

/**
 * A clock that advances only when something sleeps, recording every completed sleep. A sleep ends on
 * the next macrotask, after every already-answered call: a call that never answers loses the race
 * against its timeout, an answered one wins and its timeout is cancelled without advancing time.
 */
export function fakeClock(start = NOW): Clock & { sleeps: number[]; advance(ms: number): void } {
  let t = start;
  const sleeps: number[] = [];
  return {
    sleeps,
    now: () => t,
    advance: (ms) => {
      t += ms;
    },
    sleep: (ms, signal) =>
      new Promise((resolve) => {
        setImmediate(() => {
          if (!signal?.aborted) {
            sleeps.push(ms);
            t += ms;
          }
          resolve();
        });
      }),
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
 * An emulated ECS with service deployments, wired to an aws-sdk-client-mock stub: task definitions,
 * services and their deployment history, and deployments that progress as the services are polled.
 * UpdateService starts a deployment (superseding one in progress), StopServiceDeployment ROLLBACK
 * returns the service to the deployment's source (and is refused once the deployment ended), the
 * circuit breaker undoes a failing deployment. Tests inject faults per command, and hooks that run
 * before a command (to make something happen between two of the rollback's calls).
 */
export class EcsWorld {
  readonly taskDefinitions = new Map<string, TaskDefinition>();
  readonly services = new Map<ServiceName, WorldService>();
  readonly registered: RegisterTaskDefinitionCommandInput[] = [];
  /** Every call, in order: `Command service-or-arn`. */
  readonly log: string[] = [];
  private readonly faults = new Map<string, Fault[]>();
  private readonly hooks = new Map<string, (() => void)[]>();
  private ids = 0;

  constructor(
    private readonly clock: { now(): number } = { now: () => NOW },
    ecs?: AwsClientStub<ECSClient>,
  ) {
    if (ecs) this.wire(ecs);
  }

  /** Registers revision `revision` of `family` with image tag `tag`. */
  define(family: string, revision: number, tag: string, status: 'ACTIVE' | 'INACTIVE' = 'ACTIVE'): string {
    const td = taskDefinition(family, revision, tag, status);
    this.taskDefinitions.set(td.taskDefinitionArn!, td);
    return td.taskDefinitionArn!;
  }

  /** Adds a service running `taskDefinition`, steady, with no history. */
  addService(name: ServiceName, taskDefinition: string, desiredCount = 1): void {
    this.services.set(name, {
      name,
      taskDefinition,
      desiredCount,
      deployments: [],
      next: { outcome: 'complete', polls: 0 },
    });
  }

  /** Adds a past deployment; `minutesAgo` is when it was created (it finished one minute later). */
  past(
    service: ServiceName,
    d: { id: string; status: DeploymentStatus; target: string; source?: string; minutesAgo: number },
  ): WorldDeployment {
    const createdAt = new Date(this.clock.now() - d.minutesAgo * 60_000);
    const terminal = ['SUCCESSFUL', 'STOPPED', 'ROLLBACK_SUCCESSFUL', 'ROLLBACK_FAILED'].includes(d.status);
    const deployment: WorldDeployment = {
      arn: deploymentArn(service, d.id),
      status: d.status,
      source: d.source,
      target: d.target,
      createdAt,
      finishedAt: terminal ? new Date(createdAt.getTime() + 60_000) : undefined,
      script: { outcome: 'never' },
      polls: 0,
    };
    this.service(service).deployments.push(deployment);
    return deployment;
  }

  service(name: ServiceName): WorldService {
    const s = this.services.get(name);
    if (!s) throw new Error(`no service ${name} in this world`);
    return s;
  }

  current(name: ServiceName): string {
    return this.service(name).taskDefinition;
  }

  /** Starts a deployment of `target` as a cdk deploy or UpdateService would; returns it. */
  deploy(name: ServiceName, target: string, script?: Script): WorldDeployment {
    const svc = this.service(name);
    for (const d of svc.deployments)
      if (d.status === 'IN_PROGRESS' || d.status === 'PENDING') {
        d.status = 'STOPPED';
        d.finishedAt = new Date(this.clock.now());
      }
    const deployment: WorldDeployment = {
      arn: deploymentArn(name, `w${++this.ids}`),
      status: 'IN_PROGRESS',
      source: svc.taskDefinition,
      target,
      createdAt: new Date(this.clock.now()),
      script: script ?? svc.next,
      polls: 0,
    };
    svc.deployments.push(deployment);
    svc.taskDefinition = target;
    return deployment;
  }

  /** Ends an in-progress deployment successfully now. */
  complete(d: WorldDeployment): void {
    d.status = 'SUCCESSFUL';
    d.finishedAt = new Date(this.clock.now());
  }

  /** The next `times` calls of `command` (e.g. 'UpdateService') fail with `error`, or never answer. */
  fault(command: string, fault: 'hang' | (() => Error), times = 1): void {
    const list = this.faults.get(command) ?? [];
    for (let i = 0; i < times; i++)
      list.push(fault === 'hang' ? { kind: 'hang' } : { kind: 'throw', error: fault });
    this.faults.set(command, list);
  }

  /** Runs `fn` once, just before the next call of `command` is answered. */
  before(command: string, fn: () => void): void {
    this.hooks.set(command, [...(this.hooks.get(command) ?? []), fn]);
  }

  /** Whether a ROLLBACK or circuit breaker is still returning the service to the source. */
  private advance(svc: WorldService): void {
    for (const d of svc.deployments) {
      if (d.status === 'IN_PROGRESS') {
        d.polls++;
        if (d.script.outcome === 'never' || d.polls <= (d.script.polls ?? 0)) continue;
        if (d.script.outcome === 'complete') this.complete(d);
        else {
          d.rolloutFailedReason = 'ECS deployment circuit breaker: tasks failed to start.';
          this.startRollback(svc, d);
        }
      } else if (d.status === 'ROLLBACK_IN_PROGRESS' || d.status === 'ROLLBACK_REQUESTED') {
        d.status = 'ROLLBACK_IN_PROGRESS';
        if (++d.polls > 1) {
          d.status = 'ROLLBACK_SUCCESSFUL';
          d.finishedAt = new Date(this.clock.now());
        }
      }
    }
  }

  private startRollback(svc: WorldService, d: WorldDeployment): void {
    d.status = 'ROLLBACK_IN_PROGRESS';
    d.polls = 0;
    if (d.source) svc.taskDefinition = d.source;
  }

  private describeService(svc: WorldService) {
    const active = svc.deployments.filter((d) =>
      ['IN_PROGRESS', 'PENDING', 'ROLLBACK_IN_PROGRESS', 'ROLLBACK_REQUESTED'].includes(d.status),
    );
    const desired = svc.desiredCount;
    const deployments = [];
    // What DescribeServices shows: the PRIMARY deployment of what the service runs now, and an
    // ACTIVE one for a deployment being replaced or undone.
    const rollingTo = active.find((d) => d.status !== 'IN_PROGRESS' && d.status !== 'PENDING');
    const inProgress = active.find((d) => d.status === 'IN_PROGRESS' || d.status === 'PENDING');
    deployments.push({
      status: 'PRIMARY',
      taskDefinition: svc.taskDefinition,
      rolloutState: active.length > 0 ? 'IN_PROGRESS' : 'COMPLETED',
      desiredCount: desired,
      runningCount: active.length > 0 ? 0 : desired,
    });
    if (rollingTo)
      deployments.push({
        status: 'ACTIVE',
        taskDefinition: rollingTo.target,
        rolloutState: 'FAILED',
        rolloutStateReason: rollingTo.rolloutFailedReason ?? 'Service deployment rolled back.',
        desiredCount: desired,
        runningCount: 0,
      });
    else if (inProgress?.source)
      deployments.push({
        status: 'ACTIVE',
        taskDefinition: inProgress.source,
        rolloutState: 'COMPLETED',
        desiredCount: 0,
        runningCount: desired,
      });
    return {
      serviceName: svc.name,
      status: 'ACTIVE',
      taskDefinition: svc.taskDefinition,
      desiredCount: desired,
      deployments,
    };
  }

  private handle(command: string, key: string, answer: () => unknown): unknown {
    this.log.push(`${command} ${key}`);
    const hooks = this.hooks.get(command);
    if (hooks?.length) hooks.shift()!();
    const fault = this.faults.get(command)?.shift();
    if (fault?.kind === 'hang') return new Promise(() => undefined);
    if (fault) throw fault.error();
    return answer();
  }

  private findDeployment(arn: string): { svc: WorldService; d: WorldDeployment } {
    for (const svc of this.services.values()) {
      const d = svc.deployments.find((x) => x.arn === arn);
      if (d) return { svc, d };
    }
    throw clientError('ServiceDeploymentNotFoundException', `Service deployment ${arn} not found.`);
  }

  /** Answers the ECS commands the rollback uses from this world. */
  wire(ecs: AwsClientStub<ECSClient>): void {
    ecs.on(DescribeServicesCommand).callsFake((input: { services: ServiceName[] }) =>
      this.handle('DescribeServices', input.services[0], () => {
        const svc = this.services.get(input.services[0]);
        if (!svc) return { services: [], failures: [{ reason: 'MISSING' }] };
        this.advance(svc);
        return { services: [this.describeService(svc)] };
      }),
    );
    ecs.on(ListServiceDeploymentsCommand).callsFake((input: { service: ServiceName }) =>
      this.handle('ListServiceDeployments', input.service, () => ({
        serviceDeployments: [...this.service(input.service).deployments].reverse().map((d) => ({
          serviceDeploymentArn: d.arn,
          status: d.status,
          createdAt: d.createdAt,
          startedAt: d.createdAt,
          finishedAt: d.finishedAt,
          targetServiceRevisionArn: revisionArn(input.service, d.target),
        })),
      })),
    );
    ecs.on(DescribeServiceRevisionsCommand).callsFake((input: { serviceRevisionArns: string[] }) =>
      this.handle('DescribeServiceRevisions', String(input.serviceRevisionArns.length), () => ({
        serviceRevisions: input.serviceRevisionArns.map((arn) => {
          const service = arn.split('/')[2] as ServiceName;
          const rev = Number(arn.slice(arn.lastIndexOf('r-') + 2));
          return { serviceRevisionArn: arn, taskDefinition: tdArn(familyOf(service), rev) };
        }),
      })),
    );
    ecs.on(DescribeServiceDeploymentsCommand).callsFake((input: { serviceDeploymentArns: string[] }) =>
      this.handle('DescribeServiceDeployments', input.serviceDeploymentArns[0], () => ({
        serviceDeployments: input.serviceDeploymentArns.map((arn) => {
          const { svc, d } = this.findDeployment(arn);
          return {
            serviceDeploymentArn: arn,
            status: d.status,
            sourceServiceRevisions: d.source ? [{ arn: revisionArn(svc.name, d.source) }] : [],
            targetServiceRevision: { arn: revisionArn(svc.name, d.target) },
          };
        }),
      })),
    );
    ecs.on(DescribeTaskDefinitionCommand).callsFake((input: { taskDefinition: string }) =>
      this.handle('DescribeTaskDefinition', input.taskDefinition, () => {
        const td = this.taskDefinitions.get(input.taskDefinition);
        if (!td) throw clientError('ClientException', 'Unable to describe task definition.');
        return { taskDefinition: td };
      }),
    );
    ecs.on(RegisterTaskDefinitionCommand).callsFake((input: RegisterTaskDefinitionCommandInput) =>
      this.handle('RegisterTaskDefinition', input.family!, () => {
        this.registered.push(input);
        const revision =
          Math.max(
            0,
            ...[...this.taskDefinitions.values()]
              .filter((t) => t.family === input.family)
              .map((t) => t.revision ?? 0),
          ) + 1;
        const td = {
          ...input,
          taskDefinitionArn: tdArn(input.family!, revision),
          revision,
          status: 'ACTIVE',
        } as TaskDefinition;
        this.taskDefinitions.set(td.taskDefinitionArn!, td);
        return { taskDefinition: td };
      }),
    );
    ecs.on(UpdateServiceCommand).callsFake((input: { service: ServiceName; taskDefinition: string }) =>
      this.handle('UpdateService', `${input.service} ${input.taskDefinition}`, () => {
        const td = this.taskDefinitions.get(input.taskDefinition);
        if (!td) throw clientError('ClientException', 'TaskDefinition not found.');
        // What ECS does: an INACTIVE revision cannot be deployed.
        if (td.status === 'INACTIVE') throw clientError('ClientException', 'TaskDefinition is inactive');
        this.deploy(input.service, input.taskDefinition);
        return { service: { serviceName: input.service } };
      }),
    );
    ecs.on(StopServiceDeploymentCommand).callsFake((input: { serviceDeploymentArn: string }) =>
      this.handle('StopServiceDeployment', input.serviceDeploymentArn, () => {
        const { svc, d } = this.findDeployment(input.serviceDeploymentArn);
        if (d.status !== 'IN_PROGRESS' && d.status !== 'PENDING')
          throw clientError(
            'ConflictException',
            `The service deployment is in status ${d.status} and cannot be stopped.`,
          );
        d.rolloutFailedReason = 'Service deployment stopped with ROLLBACK.';
        this.startRollback(svc, d);
        d.status = 'ROLLBACK_REQUESTED';
        return { serviceDeploymentArn: input.serviceDeploymentArn };
      }),
    );
  }
}

export interface FakeDeployment {
  readonly id: string;
  readonly status: DeploymentStatus;
  /** Task-definition revision the deployment targets (same family as the service). */
  readonly revision: number;
  /** Minutes before "now" the deployment was created; finished one minute later. */
  readonly minutesAgo: number;
  /** Revision it started from (for DescribeServiceDeployments). */
  readonly sourceRevision?: number;
}

/** One service and its history, in revision numbers: the short form most tests use. */
export interface FakeService {
  readonly service: ServiceName;
  readonly family: string;
  /** Revision the service runs. */
  readonly current: number;
  readonly desiredCount?: number;
  /** Revision → [tag, status]. */
  readonly taskDefinitions: Record<number, [string, ('ACTIVE' | 'INACTIVE')?]>;
  /** Newest first or in any order: the world keeps them in creation order. */
  readonly deployments: readonly FakeDeployment[];
  /** DescribeServices polls a deployment the rollback starts stays in progress. */
  readonly pollsUntilStable?: number;
  /** The rollback's deployment trips the circuit breaker (ECS returns to the source). */
  readonly rolloutFails?: boolean;
  /** How many times UpdateService answers ThrottlingException before it works. */
  readonly throttleUpdates?: number;
}

/** Builds an {@link EcsWorld} holding one service from its short form. */
export function fakeEcs(ecs: AwsClientStub<ECSClient>, spec: FakeService, clock?: { now(): number }) {
  const world = new EcsWorld(clock, ecs);
  addToWorld(world, spec);
  return world;
}

export function addToWorld(world: EcsWorld, spec: FakeService): void {
  for (const [rev, [tag, status]] of Object.entries(spec.taskDefinitions))
    world.define(spec.family, Number(rev), tag, status);
  world.addService(spec.service, tdArn(spec.family, spec.current), spec.desiredCount ?? 1);
  for (const d of [...spec.deployments].sort((a, b) => b.minutesAgo - a.minutesAgo))
    world.past(spec.service, {
      id: d.id,
      status: d.status,
      target: tdArn(spec.family, d.revision),
      source: d.sourceRevision === undefined ? undefined : tdArn(spec.family, d.sourceRevision),
      minutesAgo: d.minutesAgo,
    });
  world.service(spec.service).next = {
    outcome: spec.rolloutFails ? 'circuit-breaker' : 'complete',
    polls: spec.pollsUntilStable ?? 0,
  };
  if (spec.throttleUpdates) world.fault('UpdateService', throttled, spec.throttleUpdates);
}
