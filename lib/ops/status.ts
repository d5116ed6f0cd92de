import { CloudFormationClient, DescribeStacksCommand } from '@aws-sdk/client-cloudformation';
import { CloudWatchClient, DescribeAlarmsCommand } from '@aws-sdk/client-cloudwatch';
import { DescribeServicesCommand, DescribeTaskDefinitionCommand, ECSClient } from '@aws-sdk/client-ecs';
import { LambdaClient } from '@aws-sdk/client-lambda';
import { invokeFunction } from './invoke';
import { readTopicSubscriptions, subscriptionProblem, TopicSubscriptions } from './subscriptions';
import { SNSClient } from '@aws-sdk/client-sns';
import { GetSecretValueCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { monitoringNames } from '../monitoring/names';
import { registerCommand } from './commands';
import { credentialsProblem, OpsContext, unusableCredentials } from './context';
import { StopRecord, stopInForce, stopRecordOf } from './stop-record';

/** One part of the status screen: its value, or the error that kept it from being read. */
export type Section<T> =
  { readonly ok: true; readonly value: T } | { readonly ok: false; readonly error: string };

/** One ECS deployment of a service, newest first. */
export interface DeploymentStatus {
  /** PRIMARY (the one ECS is moving to) or ACTIVE (an older one still running tasks). */
  readonly status: string;
  /** IN_PROGRESS, COMPLETED or FAILED. */
  readonly rolloutState?: string;
  readonly rolloutStateReason?: string;
  /** `family:revision`. */
  readonly taskDefinition: string;
  readonly running: number;
  readonly desired: number;
  readonly updatedAt?: Date;
}

/** A service's counts, image and deployments. */
export interface ServiceStatus {
  readonly name: string;
  readonly running: number;
  readonly desired: number;
  readonly pending: number;
  /** `family:revision` the service runs. */
  readonly taskDefinition: string;
  /** Images of the task definition's containers, or the error reading it. */
  readonly images: Section<readonly { readonly container: string; readonly image: string }[]>;
  readonly deployments: readonly DeploymentStatus[];
}

/**
 * The live-trading flag as the config secret holds it, with the last emergency stop and the last
 * resume it records (the emergency-stop function writes `stopped_*`, `ops resume` writes `resumed_*`).
 */
export interface LiveTradingStatus extends StopRecord {
  /** true/false as stored; undefined when the key is missing or not a boolean (the bot treats that as off). */
  readonly enabled: boolean | undefined;
  /** What environments/ configures (`liveTradingEnabled`): `resume` restores this. */
  readonly configured: boolean;
}

/** One alarm under the environment's prefix, in the state DescribeAlarms returned for it. */
export interface AlarmStatus {
  readonly name: string;
  /** StateValue as returned (ALARM, OK, INSUFFICIENT_DATA); `?` when missing. */
  readonly state: string;
  readonly since?: Date;
  readonly reason?: string;
}

/** The CloudFormation stack. */
export interface StackStatus {
  readonly status: string;
  readonly reason?: string;
  readonly updatedAt?: Date;
}

/** Everything `ops status` shows. */
export interface StatusReport {
  readonly environment: string;
  readonly stackName: string;
  readonly region: string;
  readonly cluster: string;
  readonly alarmPrefix: string;
  /** Missing (as `value: undefined`) for services ECS does not know. */
  readonly services: Section<
    readonly (ServiceStatus | { readonly name: string; readonly missing: string })[]
  >;
  readonly liveTrading: Section<LiveTradingStatus>;
  /** Every alarm under the prefix, whatever its state. */
  readonly alarms: Section<readonly AlarmStatus[]>;
  /** The migration function's `version` answer, or undefined when the stack has no such function. */
  readonly migration: Section<string | undefined>;
  readonly stack: Section<StackStatus>;
  /**
   * Subscriptions of every alarm topic the stack outputs; one pending confirmation (or none at all)
   * means pages go nowhere, so it fails the command. @default not shown (reports built without it)
   */
  readonly subscriptions?: Section<readonly TopicSubscriptions[]>;
}

async function section<T>(read: () => Promise<T>): Promise<Section<T>> {
  try {
    return { ok: true, value: await read() };
  } catch (err) {
    const e = err as Error;
    return { ok: false, error: e.name && e.name !== 'Error' ? `${e.name}: ${e.message}` : e.message };
  }
}

/** `arn:…:task-definition/clever-better-bot:42` → `clever-better-bot:42`. */
export function shortTaskDefinition(arn: string | undefined): string {
  return arn?.split('/').pop() ?? 'unknown';
}

async function readServices(ctx: OpsContext, ecs: ECSClient) {
  const names = [ctx.names.botService, ctx.names.mlService];
  const res = await ecs.send(new DescribeServicesCommand({ cluster: ctx.names.cluster, services: names }));
  return Promise.all(
    names.map(async (name) => {
      const svc = res.services?.find((s) => s.serviceName === name);
      if (!svc) {
        const failure = res.failures?.find((f) => f.arn?.endsWith(`/${name}`));
        return { name, missing: failure?.reason ?? 'not found' };
      }
      const images = await section(async () => {
        const td = await ecs.send(new DescribeTaskDefinitionCommand({ taskDefinition: svc.taskDefinition }));
        return (td.taskDefinition?.containerDefinitions ?? []).map((c) => ({
          container: c.name ?? '?',
          image: c.image ?? '?',
        }));
      });
      const deployments = (svc.deployments ?? [])
        .map((d) => ({
          status: d.status ?? '?',
          rolloutState: d.rolloutState,
          rolloutStateReason: d.rolloutStateReason,
          taskDefinition: shortTaskDefinition(d.taskDefinition),
          running: d.runningCount ?? 0,
          desired: d.desiredCount ?? 0,
          updatedAt: d.updatedAt ?? d.createdAt,
        }))
        .sort((a, b) => (b.updatedAt?.getTime() ?? 0) - (a.updatedAt?.getTime() ?? 0));
      return {
        name,
        running: svc.runningCount ?? 0,
        desired: svc.desiredCount ?? 0,
        pending: svc.pendingCount ?? 0,
        taskDefinition: shortTaskDefinition(svc.taskDefinition),
        images,
        deployments,
      };
    }),
  );
}

async function readLiveTrading(ctx: OpsContext, secrets: SecretsManagerClient): Promise<LiveTradingStatus> {
  const res = await secrets.send(new GetSecretValueCommand({ SecretId: ctx.names.configSecret }));
  let parsed: Record<string, unknown> = {};
  try {
    parsed = JSON.parse(res.SecretString ?? '');
  } catch {
    // Unparseable: shown as unreadable, which is how the bot treats it.
  }
  return {
    enabled: typeof parsed.live_trading_enabled === 'boolean' ? parsed.live_trading_enabled : undefined,
    ...stopRecordOf(parsed),
    configured: ctx.env.liveTradingEnabled,
  };
}

/**
 * Every alarm under the prefix with the state DescribeAlarms returns for each. No StateValue
 * filter: moto ignores it when a name prefix is given, and counting OK and INSUFFICIENT_DATA
 * alarms too shows that the prefix matched something.
 */
async function readAlarms(prefix: string, cloudwatch: CloudWatchClient): Promise<AlarmStatus[]> {
  const alarms: AlarmStatus[] = [];
  let NextToken: string | undefined;
  do {
    const res = await cloudwatch.send(
      new DescribeAlarmsCommand({
        AlarmNamePrefix: prefix,
        AlarmTypes: ['MetricAlarm', 'CompositeAlarm'],
        NextToken,
      }),
    );
    for (const a of [...(res.MetricAlarms ?? []), ...(res.CompositeAlarms ?? [])]) {
      alarms.push({
        name: a.AlarmName ?? '?',
        state: a.StateValue ?? '?',
        since: a.StateUpdatedTimestamp,
        reason: a.StateReason,
      });
    }
    NextToken = res.NextToken;
  } while (NextToken);
  return alarms.sort((a, b) => (a.since?.getTime() ?? 0) - (b.since?.getTime() ?? 0));
}

/** Words readMigration adds to a version a person must look at; {@link attention} looks for them. */
const MIGRATION_PROBLEMS = ['(dirty', '(behind', '(ahead', '(not a deployed version'] as const;

async function readMigration(ctx: OpsContext, lambda: LambdaClient): Promise<string | undefined> {
  const functionName = (await ctx.outputs()).MigrationFunctionName;
  if (!functionName) return undefined;
  const { text, json, error } = await invokeFunction(lambda, functionName, { command: 'version' });
  if (error) throw new Error(`${functionName} failed: ${error.errorMessage ?? text}`);
  const payload = json as Record<string, unknown> | undefined;
  if (!payload || !('version' in payload)) return text || 'empty answer';
  // The versions of the migration files deployed with the function (absent from older functions).
  const deployed = Array.isArray(payload.deployedVersions) ? payload.deployedVersions.map(String) : undefined;
  const latest = deployed?.at(-1);
  const up = `run npm run ops -- migrate up --env ${ctx.env.name}`;
  if (payload.version === null)
    return latest
      ? `no migration applied (behind: the deployed migrations go to ${latest}; ${up})`
      : 'no migration applied';
  const version = String(payload.version);
  let line = `${version}${payload.dirty === true ? ' (dirty: fix, then `migrate force`)' : ''}`;
  if (deployed && latest && !deployed.includes(version))
    line +=
      BigInt(version) > BigInt(latest)
        ? ` (ahead of the deployed migrations, which go to ${latest}: older code was deployed or rolled back)`
        : ` (not a deployed version: the deployed migrations go from ${deployed[0]} to ${latest}; see docs/migrations.md)`;
  else if (latest && version !== latest) line += ` (behind: the deployed migrations go to ${latest}; ${up})`;
  return line;
}

async function readStack(ctx: OpsContext, cfn: CloudFormationClient): Promise<StackStatus> {
  const res = await cfn.send(new DescribeStacksCommand({ StackName: ctx.env.stackName }));
  const stack = res.Stacks?.[0];
  if (!stack) throw new Error(`stack ${ctx.env.stackName} not found`);
  return {
    status: stack.StackStatus ?? '?',
    reason: stack.StackStatusReason,
    updatedAt: stack.LastUpdatedTime ?? stack.CreationTime,
  };
}

/**
 * Reads every section at once; a failed call spoils only its own section. Without usable
 * credentials every section would fail alike, so that error is thrown once instead (the CLI words
 * it with the role status needs), and so is a refusal that every section got.
 */
export async function collectStatus(ctx: OpsContext): Promise<StatusReport> {
  const region = ctx.env.region;
  const alarmPrefix = `${monitoringNames(ctx.env.name).alarmPrefix}-`;
  const errors: unknown[] = [];
  const read = <T>(reader: () => Promise<T>) =>
    section(() =>
      reader().catch((err: unknown) => {
        errors.push(err);
        throw err;
      }),
    );
  const [services, liveTrading, alarms, migration, stack, subscriptions] = await Promise.all([
    read(() => readServices(ctx, new ECSClient({ region }))),
    read(() => readLiveTrading(ctx, new SecretsManagerClient({ region }))),
    read(() => readAlarms(alarmPrefix, new CloudWatchClient({ region }))),
    read(() => readMigration(ctx, new LambdaClient({ region }))),
    read(() => readStack(ctx, new CloudFormationClient({ region }))),
    read(async () => readTopicSubscriptions(await ctx.outputs(), new SNSClient({ region }))),
  ]);
  const unusable = errors.find(unusableCredentials);
  if (unusable) throw unusable;
  const names = new Set(errors.map((e) => (e as { name?: string }).name));
  if (errors.length === 6 && names.size === 1 && credentialsProblem(errors[0], ctx.env)) throw errors[0];
  return {
    environment: ctx.env.name,
    stackName: ctx.env.stackName,
    region,
    cluster: ctx.names.cluster,
    alarmPrefix,
    services,
    liveTrading,
    alarms,
    migration,
    stack,
    subscriptions,
  };
}

/** `2026-05-01 11:02 UTC`. */
export function formatTime(date: Date | undefined): string {
  return date ? `${date.toISOString().slice(0, 16).replace('T', ' ')} UTC` : 'unknown time';
}

/** `123….amazonaws.com/clever-better-bot:v1.2.3` → `clever-better-bot:v1.2.3`; digests shortened. */
export function shortImage(image: string): string {
  const name = image.split('/').pop() ?? image;
  return name.replace(/@sha256:([0-9a-f]{12})[0-9a-f]*/, '@sha256:$1…');
}

const LABEL = 16;
const label = (text: string) => text.padEnd(LABEL);
const failed = (s: { error: string }) => `error: ${s.error}`;

/** `12 OK, 3 INSUFFICIENT_DATA`: how many alarms are in each state, states in a fixed order. */
function countStates(alarms: readonly AlarmStatus[]): string {
  const counts = new Map<string, number>();
  for (const a of alarms) counts.set(a.state, (counts.get(a.state) ?? 0) + 1);
  return [...counts]
    .sort(([a], [b]) => a.localeCompare(b))
    .map(([state, n]) => `${n} ${state}`)
    .join(', ');
}

/**
 * The live-trading verdict, first line after the label: ON, OFF by an emergency stop (in force while
 * no resume is recorded after it), OFF by configuration, or a flag that disagrees with both.
 */
export function liveTradingLines(flag: LiveTradingStatus, environment: string): string[] {
  const configFile = `environments/${environment}.ts`;
  const stop = `emergency stop by ${flag.stoppedBy ?? 'unknown'} at ${flag.stoppedAt}${flag.stoppedReason ? `: ${flag.stoppedReason}` : ''}`;
  const resumed = flag.resumedAt
    ? `resumed by ${flag.resumedBy ?? 'unknown'} at ${flag.resumedAt}`
    : undefined;
  if (flag.enabled === undefined)
    return ['unreadable: live_trading_enabled is missing or not true/false (the bot treats this as OFF)'];
  if (flag.enabled)
    return flag.configured
      ? ['ON']
      : [`ON, though ${configFile} configures it OFF (liveTradingEnabled: false): someone set it by hand`];
  if (stopInForce(flag))
    return [
      `OFF: ${stop}`,
      `no resume since; after fixing the cause: npm run ops -- resume --env ${environment}`,
    ];
  const history = flag.stoppedAt ? [`last ${stop}; ${resumed}`] : [];
  if (!flag.configured)
    return [`OFF by configuration (liveTradingEnabled: false in ${configFile})`, ...history];
  return [
    `OFF, though ${configFile} configures it ON and no emergency stop is in force: someone set it by hand`,
    ...history,
  ];
}

/** The status screen, one line per string. Pure: tests feed it reports built from mocked answers. */
export function formatStatus(report: StatusReport, now: Date): string[] {
  const lines = [
    `Clever Better ${report.environment} (${report.stackName}, ${report.region}) at ${formatTime(now)}`,
    '',
  ];

  lines.push(`Services (cluster ${report.cluster})`);
  if (!report.services.ok) {
    lines.push(`  ${failed(report.services)}`);
  } else {
    for (const svc of report.services.value) {
      if ('missing' in svc) {
        lines.push(`  ${svc.name.padEnd(LABEL - 2)}not found: ${svc.missing}`);
        continue;
      }
      const flag = svc.running < svc.desired ? '  << below desired' : '';
      lines.push(
        `  ${svc.name.padEnd(LABEL - 2)}running ${svc.running}/${svc.desired}, pending ${svc.pending}, ` +
          `task definition ${svc.taskDefinition}${flag}`,
      );
      const images = svc.images.ok
        ? svc.images.value.map((c) => shortImage(c.image)).join(', ') || 'no containers'
        : failed(svc.images);
      lines.push(`  ${''.padEnd(LABEL - 2)}image ${images}`);
    }
  }
  lines.push('');

  if (!report.liveTrading.ok) {
    lines.push(
      `${label('Live trading')}${failed(report.liveTrading)} (the bot treats an unreadable flag as OFF)`,
    );
  } else {
    const [first, ...more] = liveTradingLines(report.liveTrading.value, report.environment);
    lines.push(`${label('Live trading')}${first}`, ...more.map((l) => `${label('')}${l}`));
  }
  lines.push('');

  if (!report.alarms.ok) {
    lines.push(`${label('Alarms')}${failed(report.alarms)}`);
  } else {
    const all = report.alarms.value;
    const firing = all.filter((a) => a.state === 'ALARM');
    const counts = countStates(all.filter((a) => a.state !== 'ALARM'));
    const scope = `${report.alarmPrefix}*`;
    if (all.length === 0) lines.push(`${label('Alarms')}none found under ${scope}`);
    else if (firing.length === 0) lines.push(`${label('Alarms')}none in ALARM; ${counts} (${scope})`);
    else {
      lines.push(`Alarms in ALARM (${firing.length})${counts ? `; ${counts}` : ''} (${scope})`);
      for (const a of firing) {
        const reason = a.reason ? `: ${a.reason.length > 100 ? `${a.reason.slice(0, 99)}…` : a.reason}` : '';
        lines.push(`  ${a.name} since ${formatTime(a.since)}${reason}`);
      }
    }
  }
  lines.push('');

  lines.push(
    `${label('Migration')}${
      !report.migration.ok
        ? failed(report.migration)
        : (report.migration.value ?? 'unknown (the stack has no MigrationFunctionName output)')
    }`,
  );
  lines.push('');

  if (report.subscriptions && !(report.subscriptions.ok && report.subscriptions.value.length === 0)) {
    lines.push('Alarm routing');
    if (!report.subscriptions.ok) lines.push(`  ${failed(report.subscriptions)}`);
    else
      for (const t of report.subscriptions.value) {
        const problem = subscriptionProblem(t);
        lines.push(
          `  ${`${t.output} `.padEnd(LABEL - 1)}${problem ? `${problem.slice(t.output.length + 2)}  << pages go nowhere` : t.confirmed.join(', ')}`,
        );
      }
    lines.push('');
  }

  lines.push('Last deployment');
  lines.push(
    `  ${'stack'.padEnd(LABEL - 2)}${
      report.stack.ok
        ? `${report.stack.value.status} at ${formatTime(report.stack.value.updatedAt)}` +
          `${report.stack.value.reason ? ` (${report.stack.value.reason})` : ''}`
        : failed(report.stack)
    }`,
  );
  if (report.services.ok) {
    for (const svc of report.services.value) {
      if ('missing' in svc) continue;
      const [latest, ...older] = svc.deployments;
      if (!latest) {
        lines.push(`  ${svc.name.padEnd(LABEL - 2)}no deployment`);
        continue;
      }
      const draining = older
        .filter((d) => d.running > 0)
        .map((d) => `${d.taskDefinition} (${d.running} running)`);
      lines.push(
        `  ${svc.name.padEnd(LABEL - 2)}${latest.rolloutState ?? latest.status} ${latest.taskDefinition} ` +
          `at ${formatTime(latest.updatedAt)}` +
          // ECS keeps the reason of an earlier state ("… in progress.") on a COMPLETED deployment.
          `${latest.rolloutStateReason && latest.rolloutState !== 'COMPLETED' ? `: ${latest.rolloutStateReason}` : ''}` +
          `${draining.length > 0 ? `; still running ${draining.join(', ')}` : ''}`,
      );
    }
  }
  return lines;
}

/**
 * What a person must look at, one line each; empty when all is well. A section that could not be
 * read, an alarm topic that reaches nobody, an alarm in ALARM, live trading not as configured, a
 * service below its desired count, a failed deployment or stack update, a migration that is dirty,
 * behind or ahead of the deployed files, or at a version none of them has.
 */
export function attention(report: StatusReport): string[] {
  const out: string[] = [];
  const sections = {
    services: report.services,
    'live trading': report.liveTrading,
    alarms: report.alarms,
    migration: report.migration,
    stack: report.stack,
    ...(report.subscriptions ? { 'alarm routing': report.subscriptions } : {}),
  };
  for (const [name, s] of Object.entries(sections)) if (!s.ok) out.push(`${name}: could not be read`);
  if (report.subscriptions?.ok)
    for (const t of report.subscriptions.value) {
      const problem = subscriptionProblem(t);
      if (problem) out.push(`alarm routing: ${problem}`);
    }
  if (report.alarms.ok) {
    if (report.alarms.value.length === 0) out.push(`alarms: none found under ${report.alarmPrefix}*`);
    for (const a of report.alarms.value) if (a.state === 'ALARM') out.push(`alarm ${a.name} in ALARM`);
  }
  if (report.liveTrading.ok) {
    const flag = report.liveTrading.value;
    if (flag.enabled === undefined) out.push('live trading: flag unreadable');
    else if (stopInForce(flag) && flag.enabled === false) out.push('live trading: emergency stop in force');
    else if (flag.enabled !== flag.configured) out.push('live trading: not as configured');
  }
  if (report.services.ok)
    for (const svc of report.services.value) {
      if ('missing' in svc) {
        out.push(`${svc.name}: not found`);
        continue;
      }
      if (!svc.images.ok) out.push(`${svc.name}: image could not be read`);
      if (svc.running < svc.desired) out.push(`${svc.name}: running ${svc.running} of ${svc.desired}`);
      if (svc.deployments[0]?.rolloutState === 'FAILED') out.push(`${svc.name}: last deployment FAILED`);
    }
  if (report.migration.ok) {
    const version = report.migration.value ?? '';
    for (const p of MIGRATION_PROBLEMS) if (version.includes(p)) out.push(`migration: ${p.slice(1)}`);
  }
  if (report.stack.ok && /FAILED|ROLLBACK/.test(report.stack.value.status))
    out.push(`stack: ${report.stack.value.status}`);
  return out;
}

registerCommand('status', {
  usage:
    'status --env <env>   one screen: services (running/desired, image), live trading, alarms by state, migration version, last deployment; exit 0 all well, 1 something to look at',
  options: {},
  async run(_args, ctx) {
    const report = await collectStatus(ctx);
    for (const line of formatStatus(report, new Date())) ctx.print(line);
    // Exit codes (docs/runbooks.md): 0 all well, 1 something a person must look at, 2 usage.
    const look = attention(report);
    ctx.print('');
    if (look.length === 0) ctx.print('All well.');
    else {
      ctx.print(`Needs a look (${look.length}):`);
      for (const line of look) ctx.print(`  - ${line}`);
    }
    return look.length === 0 ? 0 : 1;
  },
});
