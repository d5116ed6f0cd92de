import { CloudFormationClient, DescribeStacksCommand } from '@aws-sdk/client-cloudformation';
import { CloudWatchClient, DescribeAlarmsCommand, StateValue } from '@aws-sdk/client-cloudwatch';
import { DescribeServicesCommand, DescribeTaskDefinitionCommand, ECSClient } from '@aws-sdk/client-ecs';
import { LambdaClient } from '@aws-sdk/client-lambda';
import { invokeFunction } from './invoke';
import { readTopicSubscriptions, subscriptionProblem, TopicSubscriptions } from './subscriptions';
import { SNSClient } from '@aws-sdk/client-sns';
import { GetSecretValueCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { monitoringNames } from '../monitoring/names';
import { registerCommand } from './commands';
import { OpsContext } from './context';

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

/** The live-trading flag and, after an emergency stop, who stopped trading and why. */
export interface LiveTradingStatus {
  /** true/false as stored; undefined when the key is missing or not a boolean (the bot treats that as off). */
  readonly enabled: boolean | undefined;
  readonly stoppedBy?: string;
  readonly stoppedAt?: string;
  readonly stoppedReason?: string;
}

/** An alarm in ALARM. */
export interface AlarmStatus {
  readonly name: string;
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
  const text = (v: unknown) => (typeof v === 'string' ? v : undefined);
  return {
    enabled: typeof parsed.live_trading_enabled === 'boolean' ? parsed.live_trading_enabled : undefined,
    stoppedBy: text(parsed.stopped_by),
    stoppedAt: text(parsed.stopped_at),
    stoppedReason: text(parsed.stopped_reason),
  };
}

async function readAlarms(prefix: string, cloudwatch: CloudWatchClient): Promise<AlarmStatus[]> {
  const alarms: AlarmStatus[] = [];
  let NextToken: string | undefined;
  do {
    const res = await cloudwatch.send(
      new DescribeAlarmsCommand({
        AlarmNamePrefix: prefix,
        StateValue: StateValue.ALARM,
        AlarmTypes: ['MetricAlarm', 'CompositeAlarm'],
        NextToken,
      }),
    );
    for (const a of [...(res.MetricAlarms ?? []), ...(res.CompositeAlarms ?? [])]) {
      alarms.push({ name: a.AlarmName ?? '?', since: a.StateUpdatedTimestamp, reason: a.StateReason });
    }
    NextToken = res.NextToken;
  } while (NextToken);
  return alarms.sort((a, b) => (a.since?.getTime() ?? 0) - (b.since?.getTime() ?? 0));
}

async function readMigration(ctx: OpsContext, lambda: LambdaClient): Promise<string | undefined> {
  const functionName = (await ctx.outputs()).MigrationFunctionName;
  if (!functionName) return undefined;
  const { text, json, error } = await invokeFunction(lambda, functionName, { command: 'version' });
  if (error) throw new Error(`${functionName} failed: ${error.errorMessage ?? text}`);
  const payload = json as Record<string, unknown> | undefined;
  if (payload && 'version' in payload) {
    if (payload.version === null) return 'no migration applied';
    return `${String(payload.version)}${payload.dirty === true ? ' (dirty: fix, then `migrate force`)' : ''}`;
  }
  return text || 'empty answer';
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

/** Reads every section at once; a failed call spoils only its own section. */
export async function collectStatus(ctx: OpsContext): Promise<StatusReport> {
  const region = ctx.env.region;
  const alarmPrefix = `${monitoringNames(ctx.env.name).alarmPrefix}-`;
  const [services, liveTrading, alarms, migration, stack, subscriptions] = await Promise.all([
    section(() => readServices(ctx, new ECSClient({ region }))),
    section(() => readLiveTrading(ctx, new SecretsManagerClient({ region }))),
    section(() => readAlarms(alarmPrefix, new CloudWatchClient({ region }))),
    section(() => readMigration(ctx, new LambdaClient({ region }))),
    section(() => readStack(ctx, new CloudFormationClient({ region }))),
    section(async () => readTopicSubscriptions(await ctx.outputs(), new SNSClient({ region }))),
  ]);
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
    const flag = report.liveTrading.value;
    const state =
      flag.enabled === true
        ? 'ON'
        : flag.enabled === false
          ? 'OFF'
          : 'unreadable: live_trading_enabled is missing or not true/false (the bot treats this as OFF)';
    lines.push(`${label('Live trading')}${state}`);
    if (flag.enabled === false && flag.stoppedBy) {
      lines.push(
        `${label('')}stopped by ${flag.stoppedBy} at ${flag.stoppedAt ?? 'unknown time'}` +
          `${flag.stoppedReason ? `: ${flag.stoppedReason}` : ''}`,
      );
    }
  }
  lines.push('');

  if (!report.alarms.ok) {
    lines.push(`${label('Alarms')}${failed(report.alarms)}`);
  } else if (report.alarms.value.length === 0) {
    lines.push(`${label('Alarms')}none in ALARM (${report.alarmPrefix}*)`);
  } else {
    lines.push(`Alarms in ALARM (${report.alarms.value.length})`);
    for (const a of report.alarms.value) {
      const reason = a.reason ? `: ${a.reason.length > 100 ? `${a.reason.slice(0, 99)}…` : a.reason}` : '';
      lines.push(`  ${a.name} since ${formatTime(a.since)}${reason}`);
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
          `${latest.rolloutStateReason ? `: ${latest.rolloutStateReason}` : ''}` +
          `${draining.length > 0 ? `; still running ${draining.join(', ')}` : ''}`,
      );
    }
  }
  return lines;
}

/** True when every section could be read and every alarm topic reaches a confirmed subscriber. */
export function complete(report: StatusReport): boolean {
  const sections = [report.services, report.liveTrading, report.alarms, report.migration, report.stack];
  const routed =
    !report.subscriptions ||
    (report.subscriptions.ok && report.subscriptions.value.every((t) => !subscriptionProblem(t)));
  return (
    routed &&
    sections.every((s) => s.ok) &&
    (!report.services.ok || report.services.value.every((s) => 'missing' in s || s.images.ok))
  );
}

registerCommand('status', {
  usage:
    'status --env <env>   one screen: services (running/desired, image), live trading, alarms in ALARM, migration version, last deployment',
  options: {},
  async run(_args, ctx) {
    const report = await collectStatus(ctx);
    for (const line of formatStatus(report, new Date())) ctx.print(line);
    // Exit 1 when something could not be read or an alarm topic reaches nobody, so scripts notice; alarms alone do not fail it.
    return complete(report) ? 0 : 1;
  },
});
