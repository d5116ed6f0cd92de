import './quiet-logs';
import {
  CreateClusterCommand,
  CreateServiceCommand,
  DescribeServicesCommand,
  ECSClient,
  RegisterTaskDefinitionCommand,
} from '@aws-sdk/client-ecs';
import {
  CreateSecretCommand,
  GetSecretValueCommand,
  PutSecretValueCommand,
  SecretsManagerClient,
} from '@aws-sdk/client-secrets-manager';
import { CreateTopicCommand, SNSClient } from '@aws-sdk/client-sns';
import { randomUUID } from 'node:crypto';
import * as http from 'node:http';
import { AddressInfo } from 'node:net';
import { Budget, BUDGET, FUNCTION_TIMEOUT_SECONDS } from '../../lambda/emergency-stop/budget';
import { CLIENT_CONFIG } from '../../lambda/emergency-stop/index';
import { StopReport } from '../../lambda/emergency-stop/report';
import { StopDeps } from '../../lambda/emergency-stop/steps';
import { runEmergencyStop } from '../../lambda/emergency-stop/stop';
import { FakeBetfair } from '../../lib/local/betfair-server';
import { TRIGGER } from './harness';

/**
 * Issue 29's setup, rebuilt: the real AWS SDK clients, with the production budgets and ladder, against
 * moto behind a proxy that delays each service's requests (the request reaches moto when the delay
 * ends, as behind a slow network or a loaded service) or loses their answers. Every budget, first
 * attempt, wait and delay is scaled by {@link SCALE}: the same race in half the wall time, with
 * first attempts of 1 s, far above what moto takes to answer.
 */
const SCALE = 0.5;
const scaled = (ms: number) => Math.round(ms * SCALE);
const SCALED_BUDGET: Budget = {
  tradingFlagMs: scaled(BUDGET.tradingFlagMs),
  scaleBotMs: scaled(BUDGET.scaleBotMs),
  cancelBetsMs: scaled(BUDGET.cancelBetsMs),
  notifyMs: scaled(BUDGET.notifyMs),
  checkReserveMs: scaled(BUDGET.checkReserveMs),
  logoutGraceMs: scaled(BUDGET.logoutGraceMs),
  aws: {
    firstAttemptMs: scaled(BUDGET.aws.firstAttemptMs),
    baseDelayMs: scaled(BUDGET.aws.baseDelayMs),
    maxDelayMs: scaled(BUDGET.aws.maxDelayMs),
  },
  betfair: {
    firstAttemptMs: scaled(BUDGET.betfair.firstAttemptMs),
    baseDelayMs: scaled(BUDGET.betfair.baseDelayMs),
    maxDelayMs: scaled(BUDGET.betfair.maxDelayMs),
  },
};
const endpoint = process.env.MOTO_ENDPOINT;
const region = 'eu-west-1';
const run = randomUUID().slice(0, 8);

/** Which AWS service a request is for: JSON protocols name it in X-Amz-Target, SNS (query) in its path. */
function serviceOf(req: http.IncomingMessage): 'ecs' | 'secretsmanager' | 'sns' | 'other' {
  const target = String(req.headers['x-amz-target'] ?? '');
  if (target.startsWith('AmazonEC2ContainerService')) return 'ecs';
  if (target.startsWith('secretsmanager.')) return 'secretsmanager';
  if (String(req.headers.authorization ?? '').includes('/sns/')) return 'sns';
  return 'other';
}

/**
 * A proxy in front of moto. `delays` per service in production milliseconds (scaled when applied);
 * `lose` names operations whose answer never comes.
 */
class SlowProxy {
  delays: Partial<Record<string, number>> = {};
  lose = new Set<string>();
  readonly seen: string[] = [];
  private readonly server = http.createServer((req, res) => void this.forward(req, res));

  async start(): Promise<string> {
    await new Promise<void>((r) => this.server.listen(0, '127.0.0.1', r));
    return `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
  }

  async stop(): Promise<void> {
    this.server.closeAllConnections();
    await new Promise<void>((r) => this.server.close(() => r()));
  }

  private async forward(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    const chunks: Buffer[] = [];
    for await (const c of req) chunks.push(c as Buffer);
    const body = Buffer.concat(chunks);
    const operation =
      String(req.headers['x-amz-target'] ?? '')
        .split('.')
        .pop() || 'query';
    this.seen.push(operation);
    await new Promise((r) => setTimeout(r, scaled(this.delays[serviceOf(req)] ?? 0)));
    const upstream = http.request(
      new URL(req.url ?? '/', endpoint),
      { method: req.method, headers: req.headers },
      (answer) => {
        if (this.lose.has(operation)) return void answer.resume(); // carried out; the answer goes nowhere
        res.writeHead(answer.statusCode ?? 502, answer.headers);
        answer.pipe(res);
      },
    );
    upstream.on('error', () => res.destroy());
    upstream.end(body);
  }
}

const proxy = new SlowProxy();
const fake = new FakeBetfair();
let deps: StopDeps;
let ecs: ECSClient;
let secrets: SecretsManagerClient;
let configArn: string;
let taskDefinition: string;
const cluster = `clever-better-slow-${run}`;

beforeAll(async () => {
  if (!endpoint)
    throw new Error(
      'MOTO_ENDPOINT is not set: start moto (moto_server -H 127.0.0.1 -p 5055) and export MOTO_ENDPOINT=http://127.0.0.1:5055',
    );
  const credentials = { accessKeyId: 'testing', secretAccessKey: 'testing' };
  const direct = { region, endpoint, credentials };
  ecs = new ECSClient(direct);
  secrets = new SecretsManagerClient(direct);
  await ecs.send(new CreateClusterCommand({ clusterName: cluster }));
  const td = await ecs.send(
    new RegisterTaskDefinitionCommand({
      family: 'clever-better-bot',
      requiresCompatibilities: ['FARGATE'],
      networkMode: 'awsvpc',
      cpu: '512',
      memory: '1024',
      containerDefinitions: [{ name: 'app', image: 'clever-better-bot:v1.2.3', essential: true }],
    }),
  );
  await ecs.send(
    new CreateServiceCommand({
      cluster,
      serviceName: 'bot',
      taskDefinition: td.taskDefinition!.taskDefinitionArn,
      desiredCount: 1,
      launchType: 'FARGATE',
    }),
  );
  taskDefinition = td.taskDefinition!.taskDefinitionArn!;
  configArn = (
    await secrets.send(
      new CreateSecretCommand({
        Name: `clever-better/slow-${run}/config`,
        SecretString: JSON.stringify({ live_trading_enabled: true, max_stake_gbp: 25 }),
      }),
    )
  ).ARN!;
  const betfairArn = (
    await secrets.send(
      new CreateSecretCommand({
        Name: `clever-better/slow-${run}/betfair`,
        SecretString: JSON.stringify({ app_key: fake.appKey, username: 'bot-user', password: 'bot-pass' }),
      }),
    )
  ).ARN!;
  const topicArn = (await new SNSClient(direct).send(new CreateTopicCommand({ Name: `on-call-slow-${run}` })))
    .TopicArn!;
  const endpoints = await fake.start();
  fake.placeUnmatched('9101', 10);
  const viaProxy = { ...CLIENT_CONFIG, region, endpoint: await proxy.start(), credentials };
  deps = {
    settings: {
      environment: 'staging',
      configSecretId: configArn,
      betfairSecretId: betfairArn,
      clusterName: cluster,
      botServiceName: 'bot',
      topicArn,
      betfairEndpoints: endpoints,
    },
    secrets: new SecretsManagerClient(viaProxy),
    ecs: new ECSClient(viaProxy),
    sns: new SNSClient(viaProxy),
    budget: SCALED_BUDGET,
  };
});

afterAll(async () => {
  await fake.stop();
  await proxy.stop();
});

const desiredCount = async () =>
  (await ecs.send(new DescribeServicesCommand({ cluster, services: ['bot'] }))).services![0].desiredCount;
const config = async () =>
  JSON.parse((await secrets.send(new GetSecretValueCommand({ SecretId: configArn }))).SecretString!);

describe('emergency stop against a slow AWS emulator, production budgets (scaled)', () => {
  test('ECS after 3 s, Secrets Manager after 2.5 s, SNS after 3 s: complete, within the function timeout', async () => {
    proxy.delays = { ecs: 3_000, secretsmanager: 2_500, sns: 3_000 };
    const started = performance.now();
    const report: StopReport = await runEmergencyStop(TRIGGER, deps);
    const ms = performance.now() - started;
    proxy.delays = {};
    expect(report.failedSteps).toEqual([]);
    expect(ms).toBeLessThan(FUNCTION_TIMEOUT_SECONDS * 1000 * SCALE);
    expect(await desiredCount()).toBe(0);
    expect((await config()).live_trading_enabled).toBe(false);
    expect(fake.open).toEqual([]);
    // Each service's first attempt (2 s, scaled) timed out, and its answer was still taken.
    for (const name of ['trading-flag', 'scale-bot', 'notify'])
      expect(report.steps.find((s) => s.step === name)?.lastError).toMatch(
        new RegExp(`timed out after ${scaled(BUDGET.aws.firstAttemptMs)} ms$`),
      );
  }, 60_000);

  test('an UpdateService and a PutSecretValue whose answers are lost are checked, not repeated, and reported as applied late', async () => {
    await ecs.send(
      new CreateServiceCommand({
        cluster,
        serviceName: 'bot-2',
        taskDefinition,
        desiredCount: 1,
        launchType: 'FARGATE',
      }),
    );
    // A config not yet stopped, so the flag is written again.
    await secrets.send(
      new PutSecretValueCommand({
        SecretId: configArn,
        SecretString: JSON.stringify({ live_trading_enabled: true, max_stake_gbp: 25 }),
      }),
    );
    proxy.seen.length = 0;
    proxy.lose = new Set(['UpdateService', 'PutSecretValue']);
    const report = await runEmergencyStop(TRIGGER, {
      ...deps,
      settings: { ...deps.settings, botServiceName: 'bot-2' },
    });
    proxy.lose = new Set();
    expect(report.failedSteps).toEqual([]);
    const step = (name: string) => report.steps.find((s) => s.step === name)!;
    expect(step('scale-bot').appliedLate).toEqual(['UpdateService: DescribeServices shows desiredCount 0']);
    expect(step('trading-flag').appliedLate?.[0]).toMatch(
      /^PutSecretValue: the current version .* is this write$/,
    );
    // Each was sent once: the check, not a second request, settled it.
    expect(proxy.seen.filter((o) => o === 'UpdateService')).toHaveLength(1);
    expect(proxy.seen.filter((o) => o === 'PutSecretValue')).toHaveLength(1);
    expect((await config()).live_trading_enabled).toBe(false);
    expect(
      (await ecs.send(new DescribeServicesCommand({ cluster, services: ['bot-2'] }))).services![0]
        .desiredCount,
    ).toBe(0);
  }, 60_000);
});
