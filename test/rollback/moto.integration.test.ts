/**
 * The rollback against the real AWS SDK and an ECS emulator (moto in server mode on loopback,
 * `MOTO_ENDPOINT`). moto implements clusters, services, task definitions (INACTIVE ones stay
 * describable, as in ECS), RegisterTaskDefinition, UpdateService and DescribeServices, so those calls
 * go over HTTP to moto. It does not implement the service-deployments API (ListServiceDeployments,
 * DescribeServiceDeployments, DescribeServiceRevisions, StopServiceDeployment answer "not
 * implemented"): a client middleware answers those four from a fixture history that names the
 * task definitions registered in moto, and records every call. Their logic is covered by
 * rollback.test.ts with aws-sdk-client-mock.
 */
import {
  CreateClusterCommand,
  CreateServiceCommand,
  DeregisterTaskDefinitionCommand,
  DescribeServicesCommand,
  DescribeTaskDefinitionCommand,
  ECSClient,
  ListTaskDefinitionsCommand,
  RegisterTaskDefinitionCommand,
  RegisterTaskDefinitionCommandInput,
} from '@aws-sdk/client-ecs';
import { randomUUID } from 'node:crypto';
import { EcsGateway } from '../../lambda/rollback/ecs';
import { runRollback } from '../../lambda/rollback/rollback';
import { RollbackRequest } from '../../lambda/rollback/types';
import { systemClock } from '../../lambda/rollback/retry';
import { testConfig } from './fake-ecs';

const endpoint = process.env.MOTO_ENDPOINT;
const REGION = 'eu-west-1';
const run = randomUUID().slice(0, 8);
// Unique names: the emulator may be shared with other test files.
const CLUSTER = `clever-better-itest-${run}`;
const FAMILY = `clever-better-bot-itest-${run}`;
const SERVICE = 'bot';

/** The commands the emulator lacks, answered by the middleware below. */
const EMULATOR_GAPS = [
  'ListServiceDeploymentsCommand',
  'DescribeServiceDeploymentsCommand',
  'DescribeServiceRevisionsCommand',
  'StopServiceDeploymentCommand',
];

function client(): { ecs: ECSClient; calls: string[]; history: { deployments: Deployment[] } } {
  if (!endpoint)
    throw new Error(
      'MOTO_ENDPOINT is not set: start `moto_server -H 127.0.0.1 -p 5055` and export MOTO_ENDPOINT',
    );
  const ecs = new ECSClient({
    endpoint,
    region: REGION,
    credentials: { accessKeyId: 'testing', secretAccessKey: 'testing' },
    maxAttempts: 1,
  });
  const calls: string[] = [];
  const history = { deployments: [] as Deployment[] };
  ecs.middlewareStack.add(
    (next, context) => async (args) => {
      calls.push(context.commandName!);
      const input = args.input as Record<string, unknown>;
      const answer = (output: object) => ({ output: { $metadata: {}, ...output }, response: {} });
      switch (context.commandName) {
        case 'ListServiceDeploymentsCommand':
          return answer({
            serviceDeployments: history.deployments.map((d) => ({
              serviceDeploymentArn: d.arn,
              status: d.status,
              createdAt: d.createdAt,
              finishedAt: d.finishedAt,
              targetServiceRevisionArn: `${d.arn}/revision`,
            })),
          });
        case 'DescribeServiceRevisionsCommand':
          return answer({
            serviceRevisions: (input.serviceRevisionArns as string[]).map((arn) => ({
              serviceRevisionArn: arn,
              taskDefinition: history.deployments.find((d) => `${d.arn}/revision` === arn)?.taskDefinition,
            })),
          });
        default:
          if (EMULATOR_GAPS.includes(context.commandName!))
            throw new Error(`${context.commandName} is not covered by this test's fixture`);
          return next(args);
      }
    },
    { step: 'initialize', name: 'emulatorGaps' },
  );
  return { ecs, calls, history };
}

interface Deployment {
  arn: string;
  status: 'SUCCESSFUL';
  createdAt: Date;
  finishedAt: Date;
  taskDefinition: string;
}

function definition(tag: string): RegisterTaskDefinitionCommandInput {
  return {
    family: FAMILY,
    taskRoleArn: 'arn:aws:iam::123456789012:role/clever-better-bot-task',
    executionRoleArn: 'arn:aws:iam::123456789012:role/clever-better-bot-execution',
    networkMode: 'awsvpc',
    requiresCompatibilities: ['FARGATE'],
    cpu: '512',
    memory: '1024',
    runtimePlatform: { cpuArchitecture: 'X86_64', operatingSystemFamily: 'LINUX' },
    containerDefinitions: [
      {
        name: 'app',
        image: `123456789012.dkr.ecr.eu-west-1.amazonaws.com/clever-better-bot:${tag}`,
        essential: true,
        readonlyRootFilesystem: true,
        portMappings: [{ containerPort: 8080, protocol: 'tcp' }],
        environment: [{ name: 'CLEVER_BETTER_ENV', value: 'staging' }],
      },
    ],
    volumes: [{ name: 'tmp' }],
  };
}

const request = (overrides: Partial<RollbackRequest> = {}): RollbackRequest => ({
  service: SERVICE,
  dryRun: false,
  requestedBy: 'integration test',
  trigger: { kind: 'manual' },
  ...overrides,
});

describe('rollback against the ECS emulator', () => {
  const { ecs, calls, history } = client();
  let previous: string; // v1.2.2, deregistered (INACTIVE) like CloudFormation leaves it
  let current: string; // v1.2.3, what the service runs
  const published: string[] = [];
  const deps = () => ({
    // The real clock: the fake one lets only calls answered within a tick beat their timeout.
    ecs: new EcsGateway(ecs, CLUSTER, systemClock),
    config: testConfig({ cluster: CLUSTER }),
    clock: systemClock,
    publish: async (subject: string) => {
      published.push(subject);
    },
  });
  const revisionCount = async () =>
    (await ecs.send(new ListTaskDefinitionsCommand({ familyPrefix: FAMILY, status: 'ACTIVE' })))
      .taskDefinitionArns?.length ?? 0;

  beforeAll(async () => {
    await ecs.send(new CreateClusterCommand({ clusterName: CLUSTER }));
    previous = (await ecs.send(new RegisterTaskDefinitionCommand(definition('v1.2.2')))).taskDefinition!
      .taskDefinitionArn!;
    current = (await ecs.send(new RegisterTaskDefinitionCommand(definition('v1.2.3')))).taskDefinition!
      .taskDefinitionArn!;
    // desiredCount 0: an emergency-stopped bot, and a service the emulator reports as steady.
    await ecs.send(
      new CreateServiceCommand({
        cluster: CLUSTER,
        serviceName: SERVICE,
        taskDefinition: current,
        desiredCount: 0,
        launchType: 'FARGATE',
      }),
    );
    await ecs.send(new DeregisterTaskDefinitionCommand({ taskDefinition: previous }));
    const at = (minutesAgo: number) => new Date(Date.now() - minutesAgo * 60_000);
    const arn = (id: string) =>
      `arn:aws:ecs:${REGION}:123456789012:service-deployment/${CLUSTER}/${SERVICE}/${id}`;
    history.deployments = [
      {
        arn: arn('d2'),
        status: 'SUCCESSFUL',
        createdAt: at(60),
        finishedAt: at(58),
        taskDefinition: current,
      },
      {
        arn: arn('d1'),
        status: 'SUCCESSFUL',
        createdAt: at(600),
        finishedAt: at(598),
        taskDefinition: previous,
      },
    ];
  });

  test('the emulator keeps a deregistered revision describable as INACTIVE', async () => {
    const res = await ecs.send(new DescribeTaskDefinitionCommand({ taskDefinition: previous }));
    expect(res.taskDefinition?.status).toBe('INACTIVE');
  });

  test('a dry run registers nothing and leaves the service alone', async () => {
    const before = await revisionCount();
    calls.length = 0;
    const report = await runRollback(request({ dryRun: true }), deps());
    expect(report).toMatchObject({ outcome: 'planned', targetInactive: true });
    expect(await revisionCount()).toBe(before);
    expect(calls).not.toContain('UpdateServiceCommand');
    expect(calls).not.toContain('RegisterTaskDefinitionCommand');
  });

  test('an INACTIVE target is registered again from its description and the service moves to the copy', async () => {
    calls.length = 0;
    const report = await runRollback(request(), deps());

    // A new ACTIVE revision with the old image and the same registrable content.
    const copy = (
      await ecs.send(new DescribeTaskDefinitionCommand({ taskDefinition: report.reregisteredAs! }))
    ).taskDefinition!;
    const original = (await ecs.send(new DescribeTaskDefinitionCommand({ taskDefinition: previous })))
      .taskDefinition!;
    expect(copy.status).toBe('ACTIVE');
    expect(copy.revision).toBeGreaterThan(original.revision!);
    for (const field of [
      'taskRoleArn',
      'executionRoleArn',
      'networkMode',
      'cpu',
      'memory',
      'containerDefinitions',
    ] as const)
      expect(copy[field]).toEqual(original[field]);
    expect(copy.containerDefinitions?.[0].image).toMatch(/:v1\.2\.2$/);

    // The service runs the copy; it is steady (desired 0 stays 0).
    const service = (await ecs.send(new DescribeServicesCommand({ cluster: CLUSTER, services: [SERVICE] })))
      .services![0];
    expect(service.taskDefinition).toBe(report.reregisteredAs);
    expect(service.desiredCount).toBe(0);
    expect(report).toMatchObject({
      outcome: 'rolled-back',
      stable: true,
      from: { images: [{ tag: 'v1.2.3' }] },
      to: { taskDefinitionArn: previous, images: [{ tag: 'v1.2.2' }] },
    });
    expect(report.driftNote).toContain("set bot.imageTag = 'v1.2.2'");
    expect(calls).toEqual(
      expect.arrayContaining([
        'RegisterTaskDefinitionCommand',
        'UpdateServiceCommand',
        'DescribeServicesCommand',
      ]),
    );
    expect(published).toEqual(['[clever-better staging] bot rolled back v1.2.3 -> v1.2.2']);
    expect(report.nowRuns).toBe(report.reregisteredAs!.slice(report.reregisteredAs!.lastIndexOf('/') + 1));
  });

  test('repeating the plan once the service runs the copy calls nothing that changes anything', async () => {
    // ECS records the rollback's deployment of the copy; the fixture history does the same.
    const service = (await ecs.send(new DescribeServicesCommand({ cluster: CLUSTER, services: [SERVICE] })))
      .services![0];
    history.deployments.unshift({
      arn: `arn:aws:ecs:${REGION}:123456789012:service-deployment/${CLUSTER}/${SERVICE}/d3`,
      status: 'SUCCESSFUL',
      createdAt: new Date(Date.now() - 60_000),
      finishedAt: new Date(),
      taskDefinition: service.taskDefinition!,
    });
    const before = await revisionCount();
    calls.length = 0;
    const report = await runRollback(
      request({ plan: { action: 'update-service', from: current, to: previous } }),
      deps(),
    );
    expect(report).toMatchObject({ outcome: 'nothing-to-do', why: 'already-rolled-back' });
    expect(calls).not.toContain('UpdateServiceCommand');
    expect(calls).not.toContain('RegisterTaskDefinitionCommand');
    expect(await revisionCount()).toBe(before);
  });
});
