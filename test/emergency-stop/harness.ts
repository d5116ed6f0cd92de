import { DescribeServicesCommand, ECSClient, UpdateServiceCommand } from '@aws-sdk/client-ecs';
import {
  GetSecretValueCommand,
  PutSecretValueCommand,
  SecretsManagerClient,
} from '@aws-sdk/client-secrets-manager';
import { PublishCommand, PublishCommandInput, SNSClient } from '@aws-sdk/client-sns';
import { mockClient } from 'aws-sdk-client-mock';
import { Trigger } from '../../lambda/emergency-stop/event';
import { BetsDetails, StopReport } from '../../lambda/emergency-stop/report';
import { StopDeps } from '../../lambda/emergency-stop/steps';
import { FakeBetfair, FakeBetfairOptions } from '../../lib/local/betfair-server';
import { BetfairEndpoints } from '../../lambda/emergency-stop/betfair';

export const CONFIG_ARN =
  'arn:aws:secretsmanager:eu-west-1:222222222222:secret:clever-better/production/config-AbCdEf';
export const BETFAIR_ARN =
  'arn:aws:secretsmanager:eu-west-1:222222222222:secret:clever-better/production/betfair-GhIjKl';
export const TOPIC_ARN = 'arn:aws:sns:eu-west-1:222222222222:OnCall';
export const NOW = new Date('2026-05-01T12:00:00.000Z');
export const TRIGGER: Trigger = {
  kind: 'alarm',
  reason: 'Threshold Crossed: NetProfit -612.5 <= -500',
  requestedBy: 'alarm ProductionStack-LossLimit',
  at: '2026-05-01T11:59:30.000+0000',
  alarmName: 'ProductionStack-LossLimit',
};

/** An AWS SDK error as the SDK shapes it: name, HTTP status, and the fault side. */
export function awsError(name: string, message: string, status = 400): Error {
  return Object.assign(new Error(message), {
    name,
    $fault: status >= 500 ? 'server' : 'client',
    $metadata: { httpStatusCode: status },
  });
}

/** A socket error as Node raises it under the SDK (no HTTP answer at all). */
export function networkError(code = 'ECONNRESET'): Error {
  return Object.assign(new Error(`socket hang up (${code})`), { name: 'Error', code });
}

/**
 * The AWS first attempt's deadline in these tests, in milliseconds (2 s in production). Short, so a
 * hung AWS call costs a test little: a mocked AWS call answers within the microtasks of the attempt
 * that sends it, before any timer can fire, so no deadline is too short for the answers that come.
 * Betfair's first attempt (250 ms) stays long: its answers cross a real socket.
 */
export const AWS_FIRST_ATTEMPT_MS = 20;

/** Betfair calls in these tests: first attempts of 250 ms (5 s in production), then double. */
export const BETFAIR_POLICY = { firstAttemptMs: 250, baseDelayMs: 250, maxDelayMs: 4_000 } as const;

/**
 * A stop's deps in these tests: production settings pointing at `endpoints`, a fixed clock and
 * jitter, short first attempts. `io` gives the AWS clients and the waits between attempts.
 */
export function testDeps(
  endpoints: BetfairEndpoints,
  io: Pick<StopDeps, 'secrets' | 'ecs' | 'sns' | 'sleep'>,
  budget: StopDeps['budget'] = {},
  overrides: Partial<StopDeps> = {},
): StopDeps {
  return {
    settings: {
      environment: 'production',
      configSecretId: CONFIG_ARN,
      betfairSecretId: BETFAIR_ARN,
      clusterName: 'clever-better-production',
      botServiceName: 'bot',
      topicArn: TOPIC_ARN,
      betfairEndpoints: endpoints,
    },
    ...io,
    now: () => NOW,
    random: () => 0.5,
    // First attempts end after AWS_FIRST_ATTEMPT_MS / 250 ms here (2 s / 5 s in production), then
    // double; a generous logout grace keeps the logout's outcome in every report (production waits 0 ms).
    budget: {
      aws: { firstAttemptMs: AWS_FIRST_ATTEMPT_MS, baseDelayMs: 100, maxDelayMs: 2_000 },
      betfair: BETFAIR_POLICY,
      checkReserveMs: 600,
      logoutGraceMs: 5_000,
      ...budget,
    },
    ...overrides,
  };
}

/**
 * One emergency-stop world per test: AWS through aws-sdk-client-mock (the config secret kept in
 * `world.config`), Betfair through a local {@link FakeBetfair} with two unmatched bets (12.50) and
 * one matched bet. Registers its own beforeEach/afterEach.
 */
export function stopWorld() {
  const secretsMock = mockClient(SecretsManagerClient);
  const ecsMock = mockClient(ECSClient);
  const snsMock = mockClient(SNSClient);
  const world = {
    secretsMock,
    ecsMock,
    snsMock,
    fake: undefined as unknown as FakeBetfair,
    config: '',
    /** The bot service's desired count as ECS holds it. */
    desiredCount: 1,
    /** Waits asked for between attempts; the default sleep returns at once. */
    sleeps: [] as number[],
    /** Runs on every wait, e.g. to bring a stopped fake back. */
    onSleep: undefined as undefined | ((n: number) => Promise<void> | void),
    deps(budget: StopDeps['budget'] = {}, overrides: Partial<StopDeps> = {}): StopDeps {
      return testDeps(
        world.fake.endpoints,
        {
          secrets: new SecretsManagerClient({ region: 'eu-west-1' }),
          ecs: new ECSClient({ region: 'eu-west-1' }),
          sns: new SNSClient({ region: 'eu-west-1' }),
          sleep: async (ms) => {
            world.sleeps.push(ms);
            await world.onSleep?.(world.sleeps.length);
          },
        },
        budget,
        overrides,
      );
    },
    /** The config secret as last written. */
    written: () => JSON.parse(world.config),
    notification: () => snsMock.commandCalls(PublishCommand)[0]?.args[0].input,
    /** The same, as {@link Seen}. */
    seen: undefined as unknown as Seen,
  };
  world.seen = {
    get fake() {
      return world.fake;
    },
    written: world.written,
    desiredCount: () => world.desiredCount,
    sent: <T extends object>(type: CommandType<T>) =>
      [secretsMock, ecsMock, snsMock].flatMap((mock) =>
        (mock as unknown as { commandCalls(t: CommandType<T>): { args: [{ input: T }] }[] })
          .commandCalls(type)
          .map((c) => c.args[0].input),
      ),
    notification: world.notification,
  };

  beforeEach(async () => {
    secretsMock.reset();
    ecsMock.reset();
    snsMock.reset();
    world.config = JSON.stringify({ live_trading_enabled: true, max_stake_gbp: 25, strategy: 'value-v3' });
    world.sleeps = [];
    world.onSleep = undefined;
    world.desiredCount = 1;
    secretsMock
      .on(GetSecretValueCommand, { SecretId: CONFIG_ARN })
      .callsFake(() => ({ SecretString: world.config, VersionId: 'v1' }));
    secretsMock.on(GetSecretValueCommand, { SecretId: BETFAIR_ARN }).resolves({
      SecretString: JSON.stringify({ app_key: 'app-key-123', username: 'bot-user', password: 'bot-pass' }),
    });
    secretsMock.on(PutSecretValueCommand).callsFake((input: { SecretString: string }) => {
      world.config = input.SecretString;
      return { VersionId: 'v2' };
    });
    ecsMock.on(UpdateServiceCommand).callsFake((input: { desiredCount: number }) => {
      world.desiredCount = input.desiredCount;
      return { service: { desiredCount: world.desiredCount, runningCount: 1 } };
    });
    ecsMock
      .on(DescribeServicesCommand)
      .callsFake(() => ({ services: [{ desiredCount: world.desiredCount, runningCount: 1 }] }));
    snsMock.on(PublishCommand).resolves({ MessageId: 'msg-1' });
    world.fake = new FakeBetfair();
    await world.fake.start();
    world.fake.placeUnmatched('101', 10);
    world.fake.placeUnmatched('102', 2.5);
    world.fake.placeMatched('103', 20);
  });

  afterEach(() => world.fake.stop());

  return world;
}

export const step = (report: StopReport, name: string) => report.steps.find((s) => s.step === name)!;
export const bets = (report: StopReport) => step(report, 'cancel-bets').details as unknown as BetsDetails;

/** A world's `deps`: {@link testDeps} with its clients, waits and Betfair stand-in. */
export type DepsFor = (budget?: StopDeps['budget'], overrides?: Partial<StopDeps>) => StopDeps;

/** An AWS SDK command class, e.g. `UpdateServiceCommand`. */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
type CommandType<T extends object> = new (...args: any[]) => { readonly input: T };

/** What a test sees of a stop's world: the file's mocked one ({@link stopWorld}) or one of its own ({@link ownWorld}). */
export interface Seen {
  readonly fake: FakeBetfair;
  /** The config secret as last written. */
  written(): Record<string, unknown>;
  /** The bot service's desired count as ECS holds it. */
  desiredCount(): number;
  /** The inputs of every AWS command of `type` sent, in order. */
  sent<T extends object>(type: CommandType<T>): T[];
  /** The first SNS Publish sent. */
  notification(): PublishCommandInput | undefined;
}

/** Milliseconds before each AWS service answers every call (0: within the attempt's microtasks). */
export interface AwsDelays {
  readonly secretsManagerMs?: number;
  readonly ecsMs?: number;
  readonly snsMs?: number;
}

/**
 * A command's answer instead of the default one (a value, or a rejected promise); undefined for the
 * default.
 */
export type AwsAnswer = (command: object, input: Record<string, unknown>) => unknown;

/**
 * AWS clients of one stop, of its own, holding the same state as {@link stopWorld}'s mocks, each
 * `send` answering after its service's delay. Like a slow service behind a proxy, a request is
 * carried out when its delay ends, whether or not the client still waits for it. Not
 * aws-sdk-client-mock, which mocks the clients' prototype for the whole file: the tests that use
 * these run at once (test.concurrent: their time is waiting), each with its own state.
 */
export function ownAws({ secretsManagerMs = 0, ecsMs = 0, snsMs = 0 }: AwsDelays = {}, answer?: AwsAnswer) {
  const aws = {
    config: JSON.stringify({ live_trading_enabled: true, max_stake_gbp: 25, strategy: 'value-v3' }),
    desiredCount: 1,
    sent: [] as { readonly command: object; readonly input: Record<string, unknown> }[],
  };
  const client = <C>(ms: number, byDefault: AwsAnswer) =>
    ({
      send: async (command: { input: Record<string, unknown> }) => {
        aws.sent.push({ command, input: command.input });
        if (ms > 0) await new Promise((r) => setTimeout(r, ms));
        return answer?.(command, command.input) ?? byDefault(command, command.input);
      },
    }) as unknown as C;
  const clients = {
    secrets: client<SecretsManagerClient>(secretsManagerMs, (command, input) => {
      if (command instanceof PutSecretValueCommand) {
        aws.config = input.SecretString as string;
        return { VersionId: 'v2' };
      }
      if (input.SecretId === CONFIG_ARN) return { SecretString: aws.config, VersionId: 'v1' };
      return {
        SecretString: JSON.stringify({ app_key: 'app-key-123', username: 'bot-user', password: 'bot-pass' }),
      };
    }),
    ecs: client<ECSClient>(ecsMs, (command, input) => {
      if (command instanceof UpdateServiceCommand) {
        aws.desiredCount = input.desiredCount as number;
        return { service: { desiredCount: aws.desiredCount, runningCount: 1 } };
      }
      return { services: [{ desiredCount: aws.desiredCount, runningCount: 1 }] };
    }),
    sns: client<SNSClient>(snsMs, () => ({ MessageId: 'msg-1' })),
  };
  const sent = <T extends object>(type: CommandType<T>): T[] =>
    aws.sent.filter((c) => c.command instanceof type).map((c) => c.input as T);
  return { aws, sent, clients };
}

/** A Betfair stand-in of its own, started, with {@link stopWorld}'s bets: two unmatched (12.50), one matched. */
export async function ownFake(options: FakeBetfairOptions = {}): Promise<FakeBetfair> {
  const fake = new FakeBetfair(options);
  await fake.start();
  fake.placeUnmatched('101', 10);
  fake.placeUnmatched('102', 2.5);
  fake.placeMatched('103', 20);
  return fake;
}

/**
 * Runs `body` in a stop's world of its own ({@link ownAws}, {@link ownFake}), for a test that runs
 * at once with others: `deps` are {@link stopWorld}'s (waits between attempts return at once, noted
 * in `sleeps`, unless `sleep` is overridden), `seen` what the test reads.
 */
export async function inOwnWorld<T>(
  body: (w: { fake: FakeBetfair; deps: DepsFor; seen: Seen; sleeps: number[] }) => Promise<T>,
  options: { fake?: FakeBetfairOptions; delays?: AwsDelays; answer?: AwsAnswer } = {},
): Promise<T> {
  const { aws, sent, clients } = ownAws(options.delays, options.answer);
  const fake = await ownFake(options.fake);
  const seen: Seen = {
    fake,
    written: () => JSON.parse(aws.config),
    desiredCount: () => aws.desiredCount,
    sent,
    notification: () => sent(PublishCommand)[0],
  };
  const sleeps: number[] = [];
  const deps: DepsFor = (budget = {}, overrides = {}) =>
    testDeps(
      fake.endpoints,
      {
        ...clients,
        sleep: async (ms) => {
          sleeps.push(ms);
        },
      },
      budget,
      overrides,
    );
  try {
    return await body({ fake, deps, seen, sleeps });
  } finally {
    await fake.stop();
  }
}
