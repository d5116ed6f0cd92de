import {
  CloudFormationClient,
  CreateStackCommand,
  DescribeStacksCommand,
} from '@aws-sdk/client-cloudformation';
import { CloudWatchClient, PutMetricAlarmCommand, SetAlarmStateCommand } from '@aws-sdk/client-cloudwatch';
import {
  CreateClusterCommand,
  CreateServiceCommand,
  ECSClient,
  RegisterTaskDefinitionCommand,
} from '@aws-sdk/client-ecs';
import { CreateSecretCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { SNSClient, SubscribeCommand } from '@aws-sdk/client-sns';
import * as path from 'node:path';
import { Client } from 'pg';
import { local } from '../../environments';
import { fetchCredentials } from '../../lambda/db-migrate/connection';
import { MigrationSet } from '../../lambda/db-migrate/files';
import { createHandler } from '../../lambda/db-migrate/handler';
import { Migrator } from '../../lambda/db-migrate/runner';
import { withServiceLogins } from '../../lambda/db-migrate/service-logins';
import { ROLLBACK_OUTPUTS } from '../../lambda/rollback/types';
import { FakeBetfair } from './betfair-server';
import { Inbox, startInbox } from './inbox';
import { BOT_METRICS } from '../metrics';
import { monitoringNames } from '../monitoring/names';
import { runbookNames } from '../names';
import { SERVICE_DATABASE_ROLES } from '../secrets';
import { LambdaServer, startLambdaServer } from './lambda-server';
import { startEmulatorFront } from './ecs-agent';
import { startMoto, Moto, PROJECT_ROOT } from './moto';
import { startPostgres, TestPostgres } from './postgres';
import { LOCAL_AWS_VARIABLES } from './runtime';

const REGION = local.region;

/** Names the local stand-in gives what the stacks would create (environments/local.ts). */
export const LOCAL = {
  ...runbookNames(local.name),
  alarmPrefix: monitoringNames(local.name).alarmPrefix,
  emergencyStopFunction: 'clever-better-local-emergency-stop',
  migrationFunction: 'clever-better-local-db-migrate',
  /** The rollback planner and each service's rollback function, as ops rollback finds them (ROLLBACK_OUTPUTS). */
  rollbackFunctions: {
    plan: 'clever-better-local-rollback-plan',
    bot: 'clever-better-local-rollback-bot',
    'ml-service': 'clever-better-local-rollback-ml-service',
  } as const satisfies Record<keyof typeof ROLLBACK_OUTPUTS, string>,
  topicName: 'clever-better-local-on-call',
  resolvedTopicName: 'clever-better-local-resolved',
  /** What the Betfair stand-in accepts; never real credentials. */
  betfair: { appKey: 'local-app-key', username: 'local-bot', password: 'local-password' },
  /**
   * The services' own database logins, as the stacks' per-service secrets hold them (username = the
   * role migration 20261201040000_service_roles creates). Local passwords, never real ones.
   */
  serviceLogins: {
    bot: {
      secret: 'clever-better/local/database-bot',
      username: SERVICE_DATABASE_ROLES.bot,
      password: 'local-bot-db-password',
    },
    ml: {
      secret: 'clever-better/local/database-ml',
      username: SERVICE_DATABASE_ROLES.ml,
      password: 'local-ml-db-password',
    },
  },
};

/** Trigger alarms of the emergency stop, as lib/emergency-stop.ts names them. */
export const LOCAL_TRIGGER_ALARMS = [
  `${LOCAL.alarmPrefix}-emergency-stop-loss-limit`,
  `${LOCAL.alarmPrefix}-emergency-stop-error-storm`,
];

/**
 * Variables the stacks give the containers that describe the image's own file system, not a service
 * to reach: the RDS CA bundle's path (locally TLS is off: loopback, no RDS CA) and the writable
 * home and cache directories (a local process keeps its own). The local contract leaves them out.
 */
export const CONTAINER_ONLY_VARIABLES: readonly string[] = [
  'PGSSLROOTCERT',
  'DB_SSLROOTCERT',
  'HOME',
  'XDG_CACHE_HOME',
];

/**
 * The runtime contract of the local stand-in: the names the stacks give the bot's container
 * (environment and injected secrets), with values that point at the stand-in, plus what a process
 * outside AWS needs to reach the emulator and the Betfair stand-in.
 */
export function localContract(at: {
  awsEndpoint: string;
  database: { host: string; port: number; username: string; password: string };
  betfairEnvironment: Readonly<Record<string, string>>;
}): Record<string, string> {
  return {
    CLEVER_BETTER_ENV: local.name,
    [LOCAL_AWS_VARIABLES.region]: REGION,
    [LOCAL_AWS_VARIABLES.endpoint]: at.awsEndpoint,
    [LOCAL_AWS_VARIABLES.accessKeyId]: 'local',
    [LOCAL_AWS_VARIABLES.secretAccessKey]: 'local',
    DB_HOST: at.database.host,
    DB_PORT: String(at.database.port),
    DB_NAME: LOCAL.databaseName,
    DB_SSLMODE: 'disable',
    // ECS injects these from the secrets when a container starts; here they are plain values.
    DB_USERNAME: at.database.username,
    DB_PASSWORD: at.database.password,
    CONFIG_SECRET_ID: LOCAL.configSecret,
    BETFAIR_HEARTBEAT_TIMEOUT_SECONDS: String(local.betfairHeartbeatTimeoutSeconds),
    BETFAIR_APP_KEY: LOCAL.betfair.appKey,
    BETFAIR_USERNAME: LOCAL.betfair.username,
    BETFAIR_PASSWORD: LOCAL.betfair.password,
    ...at.betfairEnvironment,
    METRIC_NAMESPACE: BOT_METRICS.namespace,
  };
}

/** Options of {@link startStandIn}. */
export interface StandInOptions {
  /** PostgreSQL data kept across runs; @default a temporary directory removed on stop */
  readonly dataDir?: string;
  /** Fixed ports (127.0.0.1); each @default a free port */
  readonly ports?: {
    readonly postgres?: number;
    readonly moto?: number;
    readonly lambda?: number;
    readonly betfair?: number;
    /** The on-call inbox subscribed to the on-call topic. */
    readonly inbox?: number;
  };
  /** Progress lines. @default none */
  readonly log?: (line: string) => void;
}

/** Everything `npm run local` and the drill run, and how to reach it. */
export interface StandIn {
  /** The runtime contract as environment variables: what a bot or ml-service process reads. */
  readonly contract: Readonly<Record<string, string>>;
  /** Endpoints `ops --env local` uses. */
  readonly endpoints: { readonly aws: string; readonly lambda: string };
  /** The on-call topic the emergency stop publishes to. */
  readonly topicArn: string;
  /** The pager's topic of OK notifications (`ops resume` resolves the stop's pages there). */
  readonly resolvedTopicArn: string;
  /** What the on-call topic delivered (its only subscriber). */
  readonly inbox: Inbox;
  readonly postgres: TestPostgres;
  readonly betfair: FakeBetfair;
  /** Emulated AWS clients with the contract's settings. */
  readonly aws: {
    readonly ecs: ECSClient;
    readonly secrets: SecretsManagerClient;
    readonly cloudwatch: CloudWatchClient;
  };
  /** Invokes a local function in-process, as the Lambda server does. */
  invoke(functionName: string, event: unknown): Promise<unknown>;
  stop(): Promise<void>;
}

/** The migration function's handler with the runner the custom resource uses, over loopback without TLS. */
function localMigrationHandler(secrets: SecretsManagerClient, pg: () => TestPostgres) {
  const source = MigrationSet.fromDirectory(path.join(PROJECT_ROOT, 'migrations'));
  return createHandler({
    environmentName: local.name,
    logInfo: () => undefined,
    open: async ({ deadline, log }) => {
      const credentials = await fetchCredentials(secrets, LOCAL.databaseSecret);
      // Loopback: no TLS (DB_SSLMODE=disable in the local contract); RDS always verifies it.
      const client = new Client({
        host: pg().host,
        port: pg().port,
        database: LOCAL.databaseName,
        user: credentials.username,
        password: credentials.password,
        application_name: 'clever-better-db-migrate',
      });
      client.on('error', () => undefined);
      await client.connect();
      try {
        const migrator = await Migrator.open(client, source, {
          database: LOCAL.databaseName,
          lockTimeoutMs: 60_000,
          deadline,
          log,
        });
        return { migrator, close: () => client.end() };
      } catch (err) {
        await client.end().catch(() => undefined);
        throw err;
      }
    },
  });
}

/** Creates in the emulator what the stack would: secrets, topic, cluster and bot service, alarms, outputs. */
async function seed(
  endpoint: string,
  pg: TestPostgres,
  clients: StandIn['aws'],
  inbox: Inbox,
): Promise<Record<string, string>> {
  const { ecs, secrets, cloudwatch } = clients;
  const arns: Record<string, string> = {};
  const secretValues: Record<string, unknown> = {
    [LOCAL.betfairSecret]: {
      app_key: LOCAL.betfair.appKey,
      username: LOCAL.betfair.username,
      password: LOCAL.betfair.password,
    },
    [LOCAL.databaseSecret]: { username: pg.user, password: pg.password },
    [LOCAL.configSecret]: { live_trading_enabled: local.liveTradingEnabled },
    ...Object.fromEntries(
      Object.values(LOCAL.serviceLogins).map((l) => [
        l.secret,
        { username: l.username, password: l.password },
      ]),
    ),
  };
  for (const [name, value] of Object.entries(secretValues)) {
    const res = await secrets.send(
      new CreateSecretCommand({ Name: name, SecretString: JSON.stringify(value) }),
    );
    arns[name] = res.ARN!;
  }
  await ecs.send(new CreateClusterCommand({ clusterName: LOCAL.cluster }));
  const services = [
    [LOCAL.botService, LOCAL.botFamily, LOCAL.botRepository, local.bot],
    [LOCAL.mlService, LOCAL.mlFamily, LOCAL.mlRepository, local.ml],
  ] as const;
  for (const [serviceName, family, repository, svc] of services) {
    const td = await ecs.send(
      new RegisterTaskDefinitionCommand({
        family,
        requiresCompatibilities: ['FARGATE'],
        networkMode: 'awsvpc',
        cpu: String(svc.cpu),
        memory: String(svc.memoryMiB),
        containerDefinitions: [
          { name: serviceName, image: `${repository}:${svc.imageTag}`, essential: true },
        ],
      }),
    );
    await ecs.send(
      new CreateServiceCommand({
        cluster: LOCAL.cluster,
        serviceName,
        taskDefinition: td.taskDefinition!.taskDefinitionArn,
        desiredCount: svc.desiredCount,
        launchType: 'FARGATE',
      }),
    );
  }
  for (const alarmName of LOCAL_TRIGGER_ALARMS) {
    await cloudwatch.send(
      new PutMetricAlarmCommand({
        AlarmName: alarmName,
        Namespace: BOT_METRICS.namespace,
        MetricName: alarmName.endsWith('loss-limit') ? BOT_METRICS.netProfit : BOT_METRICS.errors,
        Statistic: 'Sum',
        Period: 60,
        EvaluationPeriods: 1,
        Threshold: 0,
        ComparisonOperator: 'GreaterThanThreshold',
      }),
    );
    // The emulator starts alarms in ALARM; a fresh deployment's triggers are OK until data says otherwise.
    await cloudwatch.send(
      new SetAlarmStateCommand({
        AlarmName: alarmName,
        StateValue: 'OK',
        StateReason: 'local stand-in seeded',
      }),
    );
  }
  // The stack's outputs, which ops reads first (CloudFormation DescribeStacks).
  const outputs: Record<string, string> = {
    ClusterName: LOCAL.cluster,
    BotServiceName: LOCAL.botService,
    BotConfiguredCount: String(local.bot.desiredCount),
    DatabaseEndpoint: pg.host,
    DatabasePort: String(pg.port),
    BetfairSecretArn: arns[LOCAL.betfairSecret],
    DatabaseSecretArn: arns[LOCAL.databaseSecret],
    ConfigSecretArn: arns[LOCAL.configSecret],
    MigrationFunctionName: LOCAL.migrationFunction,
    EmergencyStopFunctionName: LOCAL.emergencyStopFunction,
    EmergencyStopTriggerAlarms: LOCAL_TRIGGER_ALARMS.join(','),
    ...Object.fromEntries(
      Object.entries(ROLLBACK_OUTPUTS).map(([key, output]) => [
        output,
        LOCAL.rollbackFunctions[key as keyof typeof ROLLBACK_OUTPUTS],
      ]),
    ),
  };
  const cfn = new CloudFormationClient({ region: REGION, endpoint });
  await cfn.send(
    new CreateStackCommand({
      StackName: local.stackName,
      TemplateBody: JSON.stringify({
        Resources: {
          OnCallTopic: { Type: 'AWS::SNS::Topic', Properties: { TopicName: LOCAL.topicName } },
          // The pager's OK topic: ops resume resolves the emergency stop's pages there.
          ResolvedTopic: { Type: 'AWS::SNS::Topic', Properties: { TopicName: LOCAL.resolvedTopicName } },
        },
        Outputs: {
          OnCallTopicArn: { Value: { Ref: 'OnCallTopic' } },
          ResolvedTopicArn: { Value: { Ref: 'ResolvedTopic' } },
          ...Object.fromEntries(Object.entries(outputs).map(([k, v]) => [k, { Value: v }])),
        },
      }),
    }),
  );
  const stack = await cfn.send(new DescribeStacksCommand({ StackName: local.stackName }));
  const output = (key: string) => stack.Stacks?.[0]?.Outputs?.find((o) => o.OutputKey === key)?.OutputValue;
  const topicArn = output('OnCallTopicArn');
  const resolvedTopicArn = output('ResolvedTopicArn');
  if (!topicArn || !resolvedTopicArn)
    throw new Error('the emulator created no on-call topics for the local stack');
  // A deployed stack's topics reach a confirmed subscriber (preflight and status check it); here, the inbox.
  for (const arn of [topicArn, resolvedTopicArn]) {
    await new SNSClient({ region: REGION, endpoint }).send(
      new SubscribeCommand({ TopicArn: arn, Protocol: 'http', Endpoint: inbox.endpoint }),
    );
  }
  return { ...outputs, OnCallTopicArn: topicArn, ResolvedTopicArn: resolvedTopicArn };
}

/**
 * Starts the local stand-in: PostgreSQL 17 with the migrations applied by the runner the custom
 * resource uses, moto seeded as the stack would leave an account, a Betfair stand-in speaking the
 * documented protocol, and the operations functions behind a local Lambda endpoint. The emulator
 * and Betfair hold their state in memory: each start seeds them anew; the database persists when
 * `dataDir` is given.
 */
export async function startStandIn(options: StandInOptions = {}): Promise<StandIn> {
  const log = options.log ?? (() => undefined);
  const stops: (() => Promise<void>)[] = [];
  const stop = async () => {
    for (const s of stops.reverse()) await s().catch(() => undefined);
    stops.length = 0;
  };
  try {
    const pg = await startPostgres({ databaseDir: options.dataDir, port: options.ports?.postgres });
    stops.push(() => pg.stop());
    const admin = await pg.connect('postgres');
    try {
      const exists = await admin.query('SELECT 1 FROM pg_database WHERE datname = $1', [LOCAL.databaseName]);
      if (exists.rowCount === 0)
        await admin.query(`CREATE DATABASE ${admin.escapeIdentifier(LOCAL.databaseName)}`);
    } finally {
      await admin.end();
    }
    log(`PostgreSQL 17 on ${pg.host}:${pg.port} (data ${options.dataDir ?? 'temporary'})`);

    const emulator: Moto = await startMoto();
    stops.push(() => emulator.stop());
    // Everything reaches moto through the front that lets ECS services settle (lib/local/ecs-agent.ts).
    const moto = await startEmulatorFront(emulator.endpoint, options.ports?.moto);
    stops.push(() => moto.stop());
    log(`AWS emulator (moto) on ${moto.endpoint}`);

    const betfair = new FakeBetfair(LOCAL.betfair);
    await betfair.start(options.ports?.betfair);
    stops.push(() => betfair.stop());
    log(`Betfair stand-in on ${new URL(betfair.endpoints.betting).origin}`);

    // The handlers run in this process with the environment the stack gives their functions.
    const settings = {
      region: REGION,
      endpoint: moto.endpoint,
      credentials: { accessKeyId: 'local', secretAccessKey: 'local' },
    };
    Object.assign(process.env, {
      AWS_REGION: REGION,
      AWS_ENDPOINT_URL: moto.endpoint,
      AWS_ACCESS_KEY_ID: 'local',
      AWS_SECRET_ACCESS_KEY: 'local',
      CLEVER_BETTER_ENV: local.name,
      ...betfair.environment,
    });
    delete process.env.AWS_PROFILE;
    const clients = {
      ecs: new ECSClient(settings),
      secrets: new SecretsManagerClient(settings),
      cloudwatch: new CloudWatchClient(settings),
    };
    const inbox = await startInbox(options.ports?.inbox, (m) => log(`on-call page: ${m.split('\n')[0]}`));
    stops.push(() => inbox.stop());
    const outputs = await seed(moto.endpoint, pg, clients, inbox);
    Object.assign(process.env, {
      CONFIG_SECRET_ID: outputs.ConfigSecretArn,
      BETFAIR_SECRET_ID: outputs.BetfairSecretArn,
      CLUSTER_NAME: LOCAL.cluster,
      BOT_SERVICE_NAME: LOCAL.botService,
      TOPIC_ARN: outputs.OnCallTopicArn,
    });
    // Imported only now: the handler builds its clients from this environment on first use.
    const { handler: emergencyStop } = await import('../../lambda/emergency-stop/index');
    // As the deployed function: the migration runner, then the services' own logins.
    const migrate = withServiceLogins(
      localMigrationHandler(clients.secrets, () => pg),
      {
        logins: () =>
          Object.values(LOCAL.serviceLogins).map((l) => ({ role: l.username, secretId: l.secret })),
        connect: () => pg.connect(LOCAL.databaseName),
        fetchCredentials: (secretId) => fetchCredentials(clients.secrets, secretId),
        // The `up` below returns these lines in its output, which is logged.
        log: () => undefined,
      },
    );
    const context = { getRemainingTimeInMillis: () => 10 * 60_000 };
    // The rollback functions share one handler; each runs with the variables lib/rollback.ts gives it.
    const { handler: rollback } = await import('../../lambda/rollback/index');
    const rollbackFunction =
      (variables: Record<string, string>) =>
      async (event: unknown): Promise<unknown> => {
        const saved = Object.fromEntries(Object.keys(variables).map((k) => [k, process.env[k]]));
        Object.assign(process.env, variables);
        try {
          return await rollback(event, context);
        } finally {
          for (const [k, v] of Object.entries(saved)) {
            if (v === undefined) delete process.env[k];
            else process.env[k] = v;
          }
        }
      };
    const rollbackBase = {
      ENVIRONMENT_NAME: local.name,
      CLUSTER_NAME: LOCAL.cluster,
      TOPIC_ARN: outputs.OnCallTopicArn,
      ALARM_SERVICES: '{}',
      WAIT_TIMEOUT_SECONDS: '60',
      // The stand-in's services settle at once: no need to wait 15 s between looks.
      POLL_INTERVAL_SECONDS: '1',
    };
    const functions = {
      [LOCAL.emergencyStopFunction]: (event: unknown) => emergencyStop(event),
      [LOCAL.migrationFunction]: (event: unknown) => migrate(event, context),
      [LOCAL.rollbackFunctions.plan]: rollbackFunction({ ...rollbackBase, ROLLBACK_MODE: 'plan' }),
      [LOCAL.rollbackFunctions.bot]: rollbackFunction({
        ...rollbackBase,
        ROLLBACK_MODE: 'act',
        SERVICE_NAME: 'bot',
      }),
      [LOCAL.rollbackFunctions['ml-service']]: rollbackFunction({
        ...rollbackBase,
        ROLLBACK_MODE: 'act',
        SERVICE_NAME: 'ml-service',
      }),
    };
    const lambda: LambdaServer = await startLambdaServer(functions, options.ports?.lambda);
    stops.push(() => lambda.stop());
    log(`operations functions (emergency stop, migrations, rollback) on ${lambda.endpoint}`);

    // `up` then gives the services' roles their logins, as after a deploy (service-logins.ts).
    const migrated = (await functions[LOCAL.migrationFunction]({ command: 'up' })) as { output?: string[] };
    for (const line of migrated.output ?? []) log(`migrate: ${line}`);

    const contract = localContract({
      awsEndpoint: moto.endpoint,
      // The bot logs in as its own role, as in the stacks; never as the superuser.
      database: { host: pg.host, port: pg.port, ...LOCAL.serviceLogins.bot },
      betfairEnvironment: betfair.environment,
    });
    return {
      contract,
      endpoints: { aws: moto.endpoint, lambda: lambda.endpoint },
      topicArn: outputs.OnCallTopicArn,
      resolvedTopicArn: outputs.ResolvedTopicArn,
      inbox,
      postgres: pg,
      betfair,
      aws: clients,
      invoke: (name, event) => {
        const fn = functions[name];
        if (!fn) throw new Error(`no local function ${name}`);
        return fn(event);
      },
      stop,
    };
  } catch (err) {
    await stop();
    throw err;
  }
}
