/**
 * `npm run drill`: an incident rehearsed end to end, offline, on a fresh local stand-in
 * (lib/local/stand-in.ts): the bot trades, a loss-limit alarm fires, the emergency stop halts
 * everything, a second alarm changes nothing, `ops resume` restores the configured state, and a
 * down/up migration leaves the schema as it was. The paging path is checked on the way: the stand-in
 * evaluates no alarms, so production's synthesized alarms are replayed on what the stand-in did
 * (lib/monitoring/paging-simulator.ts): a trigger pages, the stop's marker suppresses the trading
 * pages it causes (and without it they page), a failed stop keeps its page open, and `ops resume`
 * resolves it. Each step prints its duration; the first broken
 * promise ends the drill with exit code 1. `.ci/run` runs it.
 */
import '../bin/cli-setup';
import {
  DescribeAlarmsCommand,
  GetMetricStatisticsCommand,
  SetAlarmStateCommand,
} from '@aws-sdk/client-cloudwatch';
import {
  DescribeServicesCommand,
  DescribeTaskDefinitionCommand,
  RegisterTaskDefinitionCommand,
  UpdateServiceCommand,
} from '@aws-sdk/client-ecs';
import { InvokeCommand, LambdaClient } from '@aws-sdk/client-lambda';
import {
  GetSecretValueCommand,
  ListSecretVersionIdsCommand,
  PutSecretValueCommand,
} from '@aws-sdk/client-secrets-manager';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { local, production } from '../environments';
import { STOP_MARKER } from '../lib/metrics';
import { monitoringNames } from '../lib/monitoring/names';
import { AlarmChange, simulatePaging } from '../lib/monitoring/paging-simulator';
import { synthesizeTemplates } from './monitoring-docs';
import { runContractClient } from '../lib/local/contract-client';
import { envFileText } from '../lib/local/runtime';
import { LOCAL, LOCAL_TRIGGER_ALARMS, StandIn, startStandIn } from '../lib/local/stand-in';
import { main as ops } from '../lib/ops';
import { parseScriptArgs } from '../lib/cli/script-args';

/** A promise of the drill that did not hold. */
class BrokenPromise extends Error {}

function expect(condition: boolean, promise: string, actual: unknown): void {
  if (!condition) throw new BrokenPromise(`${promise}; found ${JSON.stringify(actual)}`);
}

/** The alarm event CloudWatch sends a Lambda action (AWS docs, "Lambda alarm actions"). */
function alarmEvent(alarmName: string) {
  const now = new Date().toISOString().replace('Z', '+0000');
  return {
    source: 'aws.cloudwatch',
    alarmArn: `arn:aws:cloudwatch:${local.region}:${local.account}:alarm:${alarmName}`,
    accountId: local.account,
    time: now,
    region: local.region,
    alarmData: {
      alarmName,
      state: { value: 'ALARM', reason: 'Threshold Crossed: drill', timestamp: now },
      previousState: { value: 'OK', reason: '', timestamp: now },
      configuration: { metrics: [] },
    },
  };
}

/** Tables, columns, indexes, constraints and functions of the public schema, comparable as JSON. */
async function catalogue(standIn: StandIn): Promise<string> {
  const db = await standIn.postgres.connect(LOCAL.databaseName);
  try {
    const q = async (sql: string) => (await db.query(sql)).rows;
    return JSON.stringify({
      columns: await q(`SELECT table_name, column_name, data_type, is_nullable, column_default
        FROM information_schema.columns WHERE table_schema = 'public' ORDER BY 1, 2`),
      indexes: await q(
        `SELECT tablename, indexname, indexdef FROM pg_indexes WHERE schemaname = 'public' ORDER BY 1, 2`,
      ),
      constraints: await q(`SELECT conrelid::regclass::text AS tbl, conname, pg_get_constraintdef(oid) AS def
        FROM pg_constraint WHERE connamespace = 'public'::regnamespace ORDER BY 1, 2`),
      roles: await q(
        `SELECT rolname, rolcanlogin FROM pg_roles WHERE rolname LIKE 'clever_better%' ORDER BY 1`,
      ),
      grants: await q(`SELECT grantee, table_name, privilege_type FROM information_schema.role_table_grants
        WHERE table_schema = 'public' AND grantee LIKE 'clever_better%' ORDER BY 1, 2, 3`),
      columnGrants: await q(`SELECT grantee, table_name, column_name, privilege_type
        FROM information_schema.column_privileges
        WHERE table_schema = 'public' AND grantee LIKE 'clever_better%' ORDER BY 1, 2, 3, 4`),
      functions: await q(`SELECT proname, pg_get_function_identity_arguments(oid) AS args,
        md5(pg_get_functiondef(oid)) AS body
        FROM pg_proc WHERE pronamespace = 'public'::regnamespace AND prokind IN ('f', 'p') ORDER BY 1, 2`),
    });
  } finally {
    await db.end();
  }
}

async function drill(): Promise<void> {
  // The functions' JSON logs would bury the steps; their reports are checked instead.
  process.env.POWERTOOLS_LOG_LEVEL ??= 'ERROR';
  const scratch = fs.mkdtempSync(path.join(os.tmpdir(), 'cb-drill-'));
  const out: string[] = [];
  const print = (line: string) => out.push(line);
  let standIn: StandIn | undefined;
  const steps: [string, () => Promise<void>][] = [];
  const step = (name: string, run: () => Promise<void>) => steps.push([name, run]);
  const secretsCount = async () =>
    (await standIn!.aws.secrets.send(new ListSecretVersionIdsCommand({ SecretId: LOCAL.configSecret })))
      .Versions?.length ?? 0;
  const flag = async () =>
    JSON.parse(
      (await standIn!.aws.secrets.send(new GetSecretValueCommand({ SecretId: LOCAL.configSecret })))
        .SecretString!,
    ).live_trading_enabled as boolean;
  const botDesired = async () =>
    (
      await standIn!.aws.ecs.send(
        new DescribeServicesCommand({ cluster: LOCAL.cluster, services: [LOCAL.botService] }),
      )
    ).services?.[0]?.desiredCount;
  // ops as a person runs it (against the stand-in through its runtime file), its output kept.
  const runOps = async (...argv: string[]) => {
    out.length = 0;
    const write = process.stdout.write.bind(process.stdout);
    process.stdout.write = ((chunk: string | Uint8Array) => {
      print(String(chunk).trimEnd());
      return true;
    }) as typeof process.stdout.write;
    try {
      return await ops([...argv, '--env', 'local']);
    } finally {
      process.stdout.write = write;
    }
  };
  let lambda: LambdaClient;
  let before = '';
  let versionsAfterStop = 0;
  // Production's alarms, as deployed: the pages the drill replays.
  let productionTemplate: Record<string, unknown> = {};
  const prodPrefix = monitoringNames(production.name).alarmPrefix;
  const replay = (changes: AlarmChange[], minutes = 60) =>
    simulatePaging(productionTemplate, prodPrefix, changes, minutes);
  /** The stop's marker as the emulator holds it: the extreme of the last 15 minutes. */
  const marker = async (statistic: 'Maximum' | 'Minimum') => {
    const res = await standIn!.aws.cloudwatch.send(
      new GetMetricStatisticsCommand({
        Namespace: STOP_MARKER.namespace,
        MetricName: STOP_MARKER.metricName,
        StartTime: new Date(Date.now() - 15 * 60_000),
        EndTime: new Date(Date.now() + 60_000),
        Period: 60,
        Statistics: [statistic],
      }),
    );
    const points = (res.Datapoints ?? []).sort((a, b) => +a.Timestamp! - +b.Timestamp!);
    return points.at(-1)?.[statistic];
  };
  // What a stop causes, minutes after the trigger: the bot at zero, its flag read as off, then silent.
  const stopSymptoms = (at: number): AlarmChange[] => [
    { at: at + 3, alarm: 'bot-scaled-to-zero', state: 'ALARM' },
    { at: at + 3, alarm: 'trading-flag-off', state: 'ALARM' },
    { at: at + 3, alarm: 'bot-silent', state: 'ALARM' },
  ];

  step('1. a fresh local database is migrated by the runner the custom resource uses', async () => {
    standIn = await startStandIn({ log: () => undefined });
    // ops --env local finds this stand-in through its runtime file.
    const runtimeFile = path.join(scratch, 'runtime.json');
    fs.writeFileSync(
      runtimeFile,
      JSON.stringify({
        pid: process.pid,
        awsEndpoint: standIn.endpoints.aws,
        lambdaEndpoint: standIn.endpoints.lambda,
      }),
    );
    process.env.CLEVER_BETTER_LOCAL_RUNTIME = runtimeFile;
    fs.writeFileSync(path.join(scratch, '.env'), envFileText(standIn.contract));
    lambda = new LambdaClient({ region: local.region, endpoint: standIn.endpoints.lambda });
    const version = (await standIn.invoke(LOCAL.migrationFunction, { command: 'version' })) as {
      version?: unknown;
    };
    const files = fs
      .readdirSync(path.join(__dirname, '..', 'migrations'))
      .filter((f) => f.endsWith('.up.sql'));
    const latest = files
      .map((f) => f.split('_')[0])
      .sort()
      .pop();
    expect(String(version.version) === latest, `the database is at the newest migration ${latest}`, version);
    const code = await runOps('status');
    expect(code === 0, 'ops status on the fresh stand-in says all well (exit 0)', { code, out });
    productionTemplate = synthesizeTemplates([production]).production;
  });

  step(
    '2. the bot runs: flag on, one task, two unmatched bets open; it reads the contract (.env)',
    async () => {
      await standIn!.aws.secrets.send(
        new PutSecretValueCommand({
          SecretId: LOCAL.configSecret,
          SecretString: JSON.stringify({ live_trading_enabled: true }),
        }),
      );
      standIn!.betfair.placeUnmatched('drill-1', 10);
      standIn!.betfair.placeUnmatched('drill-2', 15);
      const seen = await runContractClient(path.join(scratch, '.env'));
      expect(
        seen.liveTradingEnabled === true,
        'the bot reads live_trading_enabled = true through the contract',
        seen,
      );
      expect(
        seen.databaseUser === LOCAL.serviceLogins.bot.username,
        `the bot connects to the database as its own role ${LOCAL.serviceLogins.bot.username}, not the superuser`,
        seen,
      );
      expect(!seen.mayChangeSchema, "the bot's login cannot change the schema", seen);
      expect(seen.metricPublished, 'the bot publishes a metric to the emulator', seen);
      expect((await botDesired()) === 1, 'the bot service wants one task', await botDesired());
    },
  );

  step('3. the loss-limit alarm goes to ALARM', async () => {
    await standIn!.aws.cloudwatch.send(
      new SetAlarmStateCommand({
        AlarmName: LOCAL_TRIGGER_ALARMS[0],
        StateValue: 'ALARM',
        StateReason: 'drill: loss limit',
      }),
    );
  });

  step('4. its action runs the emergency stop (Lambda Invoke, as CloudWatch does)', async () => {
    const res = await lambda.send(
      new InvokeCommand({
        FunctionName: LOCAL.emergencyStopFunction,
        Payload: new TextEncoder().encode(JSON.stringify(alarmEvent(LOCAL_TRIGGER_ALARMS[0]))),
      }),
    );
    const text = new TextDecoder().decode(res.Payload);
    expect(!res.FunctionError, 'the emergency stop completes', text.slice(0, 500));
  });

  step('5. the bot is at 0, the flag is off, no bet is open, and on-call got the report', async () => {
    expect((await botDesired()) === 0, 'the bot service is at desired count 0', await botDesired());
    expect((await flag()) === false, 'live_trading_enabled is false', await flag());
    expect(standIn!.betfair.open.length === 0, 'no unmatched bet is open on Betfair', standIn!.betfair.open);
    const deadline = Date.now() + 10_000;
    const inbox = standIn!.inbox.messages;
    while (inbox.length === 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
    expect(
      inbox.some((m) => m.includes(`Trading in ${local.name} is halted`)),
      'the on-call topic delivered the stop report',
      inbox,
    );
    const code = await runOps('status');
    expect(
      code === 1 &&
        out.some((l) => l.startsWith('Live trading    OFF: emergency stop by')) &&
        out.includes(`  - alarm ${LOCAL_TRIGGER_ALARMS[0]} in ALARM`),
      'ops status shows the stop in force and the trigger in ALARM, and exits 1',
      { code, out },
    );
    versionsAfterStop = await secretsCount();
  });

  step(
    '5b. paging: the trigger pages and stays open; the stop’s marker suppresses the trading pages',
    async () => {
      expect(
        (await marker('Maximum')) === 1,
        'the stop wrote its marker HaltedByStop = 1',
        await marker('Maximum'),
      );
      const trigger = 'emergency-stop-loss-limit';
      const withMarker = replay([
        { at: 0, alarm: trigger, state: 'ALARM' },
        // The marker reaches its alarm within a minute of the stop starting.
        { at: 1, alarm: 'trading-halted', state: 'ALARM' },
        ...stopSymptoms(0),
        // The halted bot publishes nothing: the trigger goes quiet.
        { at: 10, alarm: trigger, state: 'OK', cause: 'missing' },
      ]);
      expect(
        withMarker.events.some((e) => e.alarm === trigger && e.event === 'page' && e.at <= 1),
        `${trigger} pages at once`,
        withMarker.events,
      );
      expect(withMarker.open.includes(trigger), `${trigger}'s page is still open an hour later`, withMarker);
      expect(
        !withMarker.events.some((e) => e.alarm === 'trading-impaired'),
        'trading-impaired does not page after a stop',
        withMarker.events,
      );
      // The same symptoms without the marker (a scale to zero by accident) page: the path works.
      const withoutMarker = replay(stopSymptoms(0));
      const page = withoutMarker.events.find((e) => e.alarm === 'trading-impaired' && e.event === 'page');
      expect(
        !!page && page.at <= 5,
        'without the marker, trading-impaired pages within 5 minutes',
        withoutMarker,
      );
    },
  );

  step('6. a second alarm changes nothing', async () => {
    const res = await lambda.send(
      new InvokeCommand({
        FunctionName: LOCAL.emergencyStopFunction,
        Payload: new TextEncoder().encode(JSON.stringify(alarmEvent(LOCAL_TRIGGER_ALARMS[1]))),
      }),
    );
    expect(
      !res.FunctionError,
      'the second run completes',
      new TextDecoder().decode(res.Payload).slice(0, 300),
    );
    expect(
      (await secretsCount()) === versionsAfterStop,
      'the config secret is not written again',
      await secretsCount(),
    );
    expect((await botDesired()) === 0, 'the bot stays at 0', await botDesired());
    expect((await flag()) === false, 'the flag stays off', await flag());
  });

  step('6b. a stop that fails keeps its page open', async () => {
    standIn!.betfair.placeUnmatched('drill-3', 5);
    standIn!.betfair.loginStatus = 'INVALID_USERNAME_OR_PASSWORD';
    try {
      const res = await lambda.send(
        new InvokeCommand({
          FunctionName: LOCAL.emergencyStopFunction,
          Payload: new TextEncoder().encode(
            JSON.stringify({ source: 'manual', reason: 'drill: failing stop', requestedBy: 'drill' }),
          ),
        }),
      );
      expect(
        !!res.FunctionError,
        'the stop fails when Betfair refuses its login',
        new TextDecoder().decode(res.Payload).slice(0, 300),
      );
    } finally {
      standIn!.betfair.loginStatus = 'SUCCESS';
    }
    const failed = replay([
      { at: 0, alarm: 'emergency-stop-failed', state: 'ALARM' },
      // Lambda's two retries fail too; then no runs, no data: the errors age out.
      { at: 5, alarm: 'emergency-stop-failed', state: 'OK', cause: 'missing' },
    ]);
    expect(
      failed.events.some((e) => e.alarm === 'emergency-stop-failed' && e.event === 'page' && e.at <= 3),
      'emergency-stop-failed pages within 3 minutes',
      failed.events,
    );
    expect(failed.open.includes('emergency-stop-failed'), 'its page is still open an hour later', failed);
  });

  step('7. once the risk is gone, ops resume restores the configured state', async () => {
    for (const alarmName of LOCAL_TRIGGER_ALARMS)
      await standIn!.aws.cloudwatch.send(
        new SetAlarmStateCommand({ AlarmName: alarmName, StateValue: 'OK', StateReason: 'drill: risk gone' }),
      );
    const alarms = await standIn!.aws.cloudwatch.send(
      new DescribeAlarmsCommand({ AlarmNames: LOCAL_TRIGGER_ALARMS }),
    );
    expect(
      (alarms.MetricAlarms ?? []).every((a) => a.StateValue === 'OK'),
      'every trigger is OK',
      alarms.MetricAlarms?.map((a) => a.StateValue),
    );
    const code = await runOps('resume', '--yes', '--by', 'drill');
    expect(code === 0, 'ops resume exits 0', { code, output: out });
    expect(
      (await botDesired()) === local.bot.desiredCount,
      `the bot is back at ${local.bot.desiredCount}`,
      await botDesired(),
    );
    expect(
      (await flag()) === local.liveTradingEnabled,
      `the flag is back at ${local.liveTradingEnabled}`,
      await flag(),
    );
    expect(
      (await marker('Minimum')) === 0,
      'ops resume cleared the marker (HaltedByStop = 0)',
      await marker('Minimum'),
    );
    const failedName = `${monitoringNames(local.name).alarmPrefix}-emergency-stop-failed`;
    const deadline = Date.now() + 10_000;
    const resolvedIt = () =>
      standIn!.inbox.messages.some((m) => m.includes(`"AlarmName":"${failedName}"`) && m.includes('"OK"'));
    while (!resolvedIt() && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
    expect(
      resolvedIt(),
      `ops resume resolved ${failedName}'s page (an OK to the resolved topic)`,
      standIn!.inbox.messages,
    );
    // After the resume, the restarted bot's silence stays suppressed for the extension period.
    const after = replay([
      { at: 0, alarm: 'trading-halted', state: 'ALARM' },
      ...stopSymptoms(0),
      { at: 30, alarm: 'trading-halted', state: 'OK' },
      { at: 33, alarm: 'bot-scaled-to-zero', state: 'OK' },
      { at: 33, alarm: 'trading-flag-off', state: 'OK' },
      { at: 34, alarm: 'bot-silent', state: 'OK' },
    ]);
    expect(
      !after.events.some((e) => e.alarm === 'trading-impaired'),
      'a bot restarted by ops resume does not page while it starts',
      after.events,
    );
    const status = await runOps('status');
    const flagLine = local.liveTradingEnabled ? 'Live trading    ON' : 'Live trading    OFF by configuration';
    expect(
      status === 0 &&
        out.some((l) => l.startsWith(flagLine)) &&
        !out.some((l) => l.startsWith('Alarms in ALARM')),
      `ops status after the resume: "${flagLine}", no alarm in ALARM, exit 0`,
      { status, out },
    );
  });

  step(
    "8. after a bad release, ops rollback (the operator's command) asks the planner, then the bot's rollback function returns it",
    async () => {
      const ecs = standIn!.aws.ecs;
      const running = async () => {
        const arn = (
          await ecs.send(
            new DescribeServicesCommand({ cluster: LOCAL.cluster, services: [LOCAL.botService] }),
          )
        ).services?.[0]?.taskDefinition;
        return (await ecs.send(new DescribeTaskDefinitionCommand({ taskDefinition: arn }))).taskDefinition!;
      };
      const good = await running();
      const image = (td: typeof good) => td.containerDefinitions?.[0]?.image;
      // The release: a new revision of the bot's family with another image, deployed.
      const release = await ecs.send(
        new RegisterTaskDefinitionCommand({
          family: good.family,
          networkMode: good.networkMode,
          requiresCompatibilities: good.requiresCompatibilities,
          cpu: good.cpu,
          memory: good.memory,
          containerDefinitions: good.containerDefinitions!.map((c) => ({
            ...c,
            image: `${c.image}-bad-release`,
          })),
        }),
      );
      await ecs.send(
        new UpdateServiceCommand({
          cluster: LOCAL.cluster,
          service: LOCAL.botService,
          taskDefinition: release.taskDefinition!.taskDefinitionArn,
        }),
      );
      expect(
        image(await running()) === `${image(good)}-bad-release`,
        'the bad release runs',
        image(await running()),
      );
      const plan = await runOps('rollback', '--service', 'bot');
      expect(
        plan === 0 && out.some((l) => /Dry run: nothing was changed/.test(l)),
        'ops rollback --service bot asks the planner and shows a plan, changing nothing (exit 0)',
        { code: plan, output: out },
      );
      expect(
        image(await running()) === `${image(good)}-bad-release`,
        'the dry run changed nothing',
        image(await running()),
      );
      const done = await runOps(
        'rollback',
        '--service',
        'bot',
        '--yes',
        '--reason',
        'drill',
        '--by',
        'drill',
      );
      expect(done === 0, 'ops rollback --service bot --yes invokes the bot rollback function and exits 0', {
        code: done,
        output: out,
      });
      expect(
        image(await running()) === image(good),
        `the bot runs ${image(good)} again`,
        image(await running()),
      );
    },
  );

  step('9. migrate down 1 and up leave the schema identical, and the bot can still log in', async () => {
    before = await catalogue(standIn!);
    expect((await runOps('migrate', 'down', '1', '--yes')) === 0, 'ops migrate down 1 exits 0', out);
    const down = await catalogue(standIn!);
    expect(down !== before, 'the down migration changed the schema', 'no change');
    expect((await runOps('migrate', 'up')) === 0, 'ops migrate up exits 0', out);
    const after = await catalogue(standIn!);
    expect(after === before, 'the schema after down+up equals the schema before', 'a difference');
    // The down dropped the services' roles and the up re-created them without a login.
    const seen = await runContractClient(path.join(scratch, '.env'));
    expect(
      seen.databaseUser === LOCAL.serviceLogins.bot.username,
      'the bot still logs in after down+up (ops migrate up set the service logins again)',
      seen,
    );
  });

  const started = Date.now();
  try {
    for (const [name, run] of steps) {
      const t = Date.now();
      try {
        await run();
      } catch (err) {
        console.log(`FAIL  ${name} (${Date.now() - t} ms)\n      ${(err as Error).message}`);
        if (!(err instanceof BrokenPromise)) console.log(`      ${(err as Error).stack}`);
        if (out.length > 0) console.log(out.map((l) => `      | ${l}`).join('\n'));
        process.exitCode = 1;
        return;
      }
      console.log(`ok    ${name} (${Date.now() - t} ms)`);
    }
    console.log(`drill passed: ${steps.length} steps in ${((Date.now() - started) / 1000).toFixed(1)} s`);
  } finally {
    await standIn?.stop();
    fs.rmSync(scratch, { recursive: true, force: true });
  }
}

/** `npm run drill`'s command line (lib/cli/script-args.ts). */
export const DRILL_USAGE = {
  command: 'npm run drill',
  description:
    'Rehearses an incident end to end on a fresh local stand-in (moto, embedded PostgreSQL, the Betfair\n' +
    'stand-in; nothing reaches AWS): the bot trades, an alarm fires, the emergency stop halts trading,\n' +
    '`ops status` and `ops resume` restore it, a migration goes down and up. Needs `npm run tools`.\n' +
    'Exit 0 when every step held, 1 at the first broken promise, 2 on a usage error.',
} as const;

if (require.main === module) {
  const { exit } = parseScriptArgs(process.argv.slice(2), DRILL_USAGE);
  if (exit !== undefined) process.exit(exit);
  drill().then(
    () => process.exit(),
    (err) => {
      console.error(err);
      process.exit(1);
    },
  );
}
