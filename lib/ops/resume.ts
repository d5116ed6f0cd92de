import { CloudWatchClient, DescribeAlarmsCommand, PutMetricDataCommand } from '@aws-sdk/client-cloudwatch';
import { PublishCommand, SNSClient } from '@aws-sdk/client-sns';
import { STOP_MARKER } from '../metrics';
import { monitoringNames } from '../monitoring/names';
import { DescribeServicesCommand, ECSClient, UpdateServiceCommand } from '@aws-sdk/client-ecs';
import {
  GetSecretValueCommand,
  PutSecretValueCommand,
  SecretsManagerClient,
} from '@aws-sdk/client-secrets-manager';
import { registerCommand } from './commands';
import { requireOutput } from './context';
import { waitForDeployment } from './deployment-wait';
import { requester } from './emergency-stop';
import { stopInForce, stopRecordOf } from './stop-record';

/**
 * The only way back after an emergency stop: the trading flag to its configured value and the bot
 * to its configured count, after a person confirms, and never while a trigger alarm is in ALARM
 * unless forced.
 */
registerCommand('resume', {
  usage:
    'resume --env <env> [--force] [--yes] [--by <name>]   after an emergency stop: live trading back on, bot back to its configured count',
  options: { force: 'flag', yes: 'flag', by: 'value' },
  async run(args, ctx) {
    const force = args.options.force === true;
    const resumedBy = requester(args.options.by);
    const outputs = await ctx.outputs();
    const alarmNames = (await requireOutput(ctx, 'EmergencyStopTriggerAlarms')).split(',').filter(Boolean);
    const configSecretArn = await requireOutput(ctx, 'ConfigSecretArn');
    const cluster = outputs.ClusterName ?? ctx.names.cluster;
    const service = outputs.BotServiceName ?? ctx.names.botService;
    const count = Number(outputs.BotConfiguredCount ?? ctx.env.bot.desiredCount);
    const liveTrading = ctx.env.liveTradingEnabled;
    const { region } = ctx.env;

    // 1. The cause must be gone: a trigger still in ALARM would not fire again (alarms act on changes).
    const cw = new CloudWatchClient({ region });
    const { MetricAlarms = [] } = await cw.send(new DescribeAlarmsCommand({ AlarmNames: alarmNames }));
    for (const name of alarmNames) {
      const alarm = MetricAlarms.find((a) => a.AlarmName === name);
      ctx.print(`trigger ${name}: ${alarm?.StateValue ?? 'NOT FOUND'}`);
    }
    const firing = MetricAlarms.filter((a) => a.StateValue === 'ALARM').map((a) => a.AlarmName);
    if (firing.length > 0 && !force) {
      ctx.print(
        `Refusing to resume: ${firing.join(', ')} still in ALARM. Fix the cause and wait for OK, or pass --force ` +
          '(a forced resume leaves the alarm in ALARM, and it cannot stop trading again until it has returned to OK).',
      );
      return 1;
    }
    if (firing.length > 0)
      ctx.print(
        `--force: resuming while ${firing.join(', ')} in ALARM; it will not stop trading again until it returns to OK.`,
      );

    // 2. What is there now, so the person confirms knowingly.
    const secrets = new SecretsManagerClient({ region });
    const current = await secrets.send(new GetSecretValueCommand({ SecretId: configSecretArn }));
    let config: Record<string, unknown> = {};
    try {
      const parsed: unknown = JSON.parse(current.SecretString ?? '');
      if (typeof parsed === 'object' && parsed !== null && !Array.isArray(parsed))
        config = parsed as Record<string, unknown>;
    } catch {
      ctx.print('The config secret is not a JSON object; it will be replaced by one holding the flag.');
    }
    const record = stopRecordOf(config);
    const inForce = stopInForce(record);
    // The stop's record as what it is now: in force, or history with the resume that ended it.
    ctx.print(
      `config: live_trading_enabled=${String(config.live_trading_enabled)}` +
        (!record.stoppedAt
          ? ''
          : inForce
            ? ` (stopped at ${record.stoppedAt} by ${record.stoppedBy}: ${record.stoppedReason})`
            : ` (no stop in force: the last, at ${record.stoppedAt} by ${record.stoppedBy}, was resumed at ${record.resumedAt} by ${record.resumedBy})`),
    );
    // Nothing to undo: no stop is in force, the flag is as configured and the bot at its count. A
    // second resume used to start yet another deployment of the bot, pausing trading for nothing.
    const ecs = new ECSClient({ region });
    if (!inForce && config.live_trading_enabled === liveTrading) {
      const described = await ecs.send(new DescribeServicesCommand({ cluster, services: [service] }));
      const desired = described.services?.[0]?.desiredCount;
      if (desired === count) {
        ctx.print(
          `Nothing to resume: no emergency stop is in force` +
            (record.resumedAt
              ? ` (the last was resumed at ${record.resumedAt} by ${record.resumedBy})`
              : '') +
            `, live_trading_enabled=${liveTrading} as configured, and ${cluster}/${service} is at its configured ${count} task(s). Nothing changed.`,
        );
        return 0;
      }
      ctx.print(
        `No emergency stop is in force, but ${cluster}/${service} wants ${desired ?? 'an unknown number of'} task(s) instead of its configured ${count}.`,
      );
    }
    const question = `Set live_trading_enabled=${liveTrading} and start ${count} bot task(s) in ${ctx.env.name}?`;
    if (!(await ctx.confirm(question))) {
      ctx.print('Nothing changed (confirm interactively, or pass --yes).');
      return 1;
    }

    // 3. Flag first: a bot started before it would only idle until its next read of the flag.
    const next = {
      ...config,
      live_trading_enabled: liveTrading,
      resumed_at: new Date().toISOString(),
      resumed_by: resumedBy,
    };
    const put = await secrets.send(
      new PutSecretValueCommand({ SecretId: configSecretArn, SecretString: JSON.stringify(next) }),
    );
    ctx.print(
      `config: live_trading_enabled=${liveTrading} written (version ${put.VersionId}), resumed by ${resumedBy}`,
    );
    // The stop's "halted" marker back to 0: trading-halted returns to OK and, after its extension
    // period, the trading pages are no longer suppressed (docs/runbooks.md "Trading halted").
    await cw.send(
      new PutMetricDataCommand({
        Namespace: STOP_MARKER.namespace,
        MetricData: [{ MetricName: STOP_MARKER.metricName, Value: 0, Unit: 'Count', Timestamp: new Date() }],
      }),
    );
    ctx.print(
      `${STOP_MARKER.namespace} ${STOP_MARKER.metricName} = 0: trading no longer counts as halted by a stop`,
    );
    await resolveStopPages(ctx.env.name, region, outputs, alarmNames, resumedBy, (line) => ctx.print(line));
    // A new deployment, not just a count: an image deployed while the bot was at 0 was never
    // started, so neither the circuit breaker nor the deployment alarms have checked it yet.
    const updated = await ecs.send(
      new UpdateServiceCommand({ cluster, service, desiredCount: count, forceNewDeployment: true }),
    );
    const primary = updated.service?.deployments?.find((d) => d.status === 'PRIMARY');
    ctx.print(
      `${cluster}/${service}: desiredCount ${count}, new deployment ${primary?.id ?? '(id unknown)'} of ${primary?.taskDefinition ?? 'the current task definition'}`,
    );
    if (!primary?.id || count === 0) return 0;
    const outcome = await waitForDeployment(ecs, cluster, service, primary.id, (line) => ctx.print(line));
    if (outcome.state === 'COMPLETED') {
      ctx.print(`Deployment completed: ${outcome.detail}`);
      return 0;
    }
    ctx.print(
      outcome.state === 'FAILED'
        ? `Deployment FAILED: ${outcome.detail}. ECS rolled back to the previous task definition if it could; trading is on with whatever runs. Stop it with npm run ops -- emergency-stop --env ${ctx.env.name} if nothing healthy runs.`
        : `Deployment not finished: ${outcome.detail}. It continues in ECS; watch npm run ops -- status --env ${ctx.env.name}.`,
    );
    return 1;
  },
});

/**
 * The emergency stop's pages stay open until a person acts (no OK action: lib/monitoring/severity.ts).
 * Resuming is that act. Where the environment pages (stack output `ResolvedTopicArn`), an OK
 * notification in CloudWatch's alarm message format goes to the pager's resolved topic for each of
 * them, so the pager closes them (a pager keying incidents on `AlarmName` resolves them; one never
 * opened is ignored). One notice also goes to the ticket inbox (`TicketTopicArn`), for the record.
 */
async function resolveStopPages(
  envName: string,
  region: string,
  outputs: Record<string, string>,
  triggers: readonly string[],
  resumedBy: string,
  print: (line: string) => void,
): Promise<void> {
  const prefix = monitoringNames(envName as 'production').alarmPrefix;
  const names = [
    ...triggers,
    ...['failed', 'undelivered', 'not-in-effect'].map((s) => `${prefix}-emergency-stop-${s}`),
  ];
  const reason = `Trading resumed by ${resumedBy} (npm run ops -- resume): the stop's page is resolved`;
  const now = new Date().toISOString();
  const message = (name: string) =>
    JSON.stringify({
      AlarmName: name,
      NewStateValue: 'OK',
      OldStateValue: 'ALARM',
      NewStateReason: reason,
      StateChangeTime: now,
      Region: region,
    });
  const sns = new SNSClient({ region });
  const pager = outputs.ResolvedTopicArn;
  // The pager's OKs where there is one, and always one notice for the ticket inbox's record.
  const topics = [
    ...(pager
      ? names.map((name) => ({
          topic: pager,
          subject: `OK: "${name}" resolved by ops resume`,
          body: message(name),
        }))
      : []),
    ...(outputs.TicketTopicArn
      ? [
          {
            topic: outputs.TicketTopicArn,
            subject: `Trading resumed in ${envName}`,
            body: `${reason}: ${names.join(', ')}`,
          },
        ]
      : []),
  ];
  for (const { topic, subject, body } of topics) {
    await sns.send(new PublishCommand({ TopicArn: topic, Subject: subject, Message: body }));
  }
  if (pager)
    print(`pager: the stop's pages resolved (${names.length} OK notifications to the resolved topic)`);
  if (outputs.TicketTopicArn) print('tickets: "trading resumed" sent to the ticket topic');
}
