import { Duration, Lazy } from 'aws-cdk-lib';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import { MonitoringConfig } from '../../environments/types';
import { BOT_METRICS } from '../metrics';
import { AlarmBuilder, MonitoringSymptom, NOT_BREACHING } from './alarm-builder';
import { alarmName } from './names';

/**
 * How long a composite waits for `trading-halted` after a symptom fires (a stop silences the bot
 * within a minute or two, the halted signal needs two minutes) and keeps suppressing after trading
 * resumes (a restarted bot is silent until its first data point, up to `silentBotMinutes`).
 */
const HALTED_WAIT = Duration.minutes(10);
const HALTED_EXTENSION = Duration.minutes(15);

const botMetric = (metricName: string, statistic: string, period: Duration) =>
  new cloudwatch.Metric({ namespace: BOT_METRICS.namespace, metricName, statistic, period });

/** The halted expression over `period`: 1 when the flag is off or the bot has no desired task. */
function haltedExpression(b: AlarmBuilder, period: Duration, extra = ''): cloudwatch.MathExpression {
  const bot = b.props.bot;
  return new cloudwatch.MathExpression({
    // A bot that publishes no flag is judged by its desired count alone; Container Insights
    // publishes nothing for a service scaled to zero, so a missing desired count means halted.
    expression: `IF((FILL(live, 1) < 1 OR FILL(desired, 0) < 1)${extra}, 1, 0)`,
    usingMetrics: {
      live: botMetric(BOT_METRICS.liveTradingEnabled, cloudwatch.Stats.MINIMUM, period),
      desired: new cloudwatch.Metric({
        namespace: 'ECS/ContainerInsights',
        metricName: 'DesiredTaskCount',
        dimensionsMap: { ClusterName: b.props.cluster.clusterName, ServiceName: bot.service.serviceName },
        statistic: cloudwatch.Stats.MINIMUM,
        period,
      }),
    },
    period,
    label: 'Trading halted (1)',
  });
}

/**
 * The symptoms an emergency stop causes, and the signals that tell them apart from an outage:
 * - `trading-halted`: the live-trading flag off, or the bot's desired count at 0 (notifies nobody);
 * - `trading-still-halted`: a ticket each day at `haltedReminderHourUtc` while halted, so a
 *   forgotten stop does not go quiet;
 * - `trading-impaired`: one page for the trading symptoms, suppressed while halted;
 * - `bot-silent-while-trading`, `bot-no-bets-while-trading`: their tickets, suppressed while halted;
 * - Betfair session health and market-data age, the bot's own signals (docs/metrics.md).
 * The emergency stop's alarms are never among the suppressed: see {@link stopNotInEffect}.
 */
export function tradingSuppression(
  b: AlarmBuilder,
  t: MonitoringConfig,
  alarms: Partial<Record<MonitoringSymptom, cloudwatch.AlarmBase>>,
): Partial<Record<MonitoringSymptom, cloudwatch.AlarmBase>> {
  const prefix = b.props.names.alarmPrefix;
  const created: Partial<Record<MonitoringSymptom, cloudwatch.AlarmBase>> = {};
  const minute = Duration.minutes(1);

  created['trading-halted'] = new cloudwatch.Alarm(b.scope, 'TradingHalted', {
    alarmName: alarmName(prefix, 'trading-halted'),
    alarmDescription:
      'Trading is halted: the bot reports live trading off, or its service has no desired task ' +
      '(an emergency stop, ops emergency-stop, or a scale-to-zero). Suppresses the symptoms a stop causes.',
    metric: haltedExpression(b, minute),
    threshold: 1,
    comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
    evaluationPeriods: 2,
    // FILL gives the expression a value every minute; no data at all is not evidence of a halt.
    treatMissingData: NOT_BREACHING,
  });
  created['trading-still-halted'] = new cloudwatch.Alarm(b.scope, 'TradingStillHalted', {
    alarmName: alarmName(prefix, 'trading-still-halted'),
    alarmDescription:
      `Trading has been halted for at least the hour before ${t.haltedReminderHourUtc}:00 UTC; this ticket ` +
      'comes back every day until trading resumes. Since when and why: npm run ops -- status; ' +
      'resume with npm run ops -- resume once the cause is fixed.',
    // In ALARM only during the reminder hour of a halted day, so the ticket is raised once a day.
    metric: haltedExpression(
      b,
      Duration.hours(1),
      ` AND HOUR(FILL(desired, 0)) == ${t.haltedReminderHourUtc}`,
    ),
    threshold: 1,
    comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
    evaluationPeriods: 1,
    treatMissingData: NOT_BREACHING,
  });
  const halted = created['trading-halted'];

  created['betfair-session-unhealthy'] = new cloudwatch.Alarm(b.scope, 'BetfairSessionUnhealthy', {
    alarmName: alarmName(prefix, 'betfair-session-unhealthy'),
    alarmDescription:
      'The bot has reported no healthy Betfair session for 5 minutes (BetfairSessionHealthy = 0): logins ' +
      'fail or loop. Check betfair-auth-failures and the bot log.',
    metric: botMetric(BOT_METRICS.betfairSessionHealthy, cloudwatch.Stats.MAXIMUM, minute),
    threshold: 1,
    comparisonOperator: cloudwatch.ComparisonOperator.LESS_THAN_THRESHOLD,
    evaluationPeriods: 5,
    // A bot that publishes nothing is bot-silent's alarm.
    treatMissingData: NOT_BREACHING,
  });
  created['market-data-stale'] = new cloudwatch.Alarm(b.scope, 'MarketDataStale', {
    alarmName: alarmName(prefix, 'market-data-stale'),
    alarmDescription:
      `The newest market data the bot holds has been older than ${t.marketDataMaxAgeSeconds} s for 5 minutes ` +
      'while markets were eligible: it is betting on stale prices or not at all. Check the Betfair stream.',
    metric: new cloudwatch.MathExpression({
      // Stale prices matter only while there are markets to bet on.
      expression: 'IF(FILL(eligible, 0) > 0, age, 0)',
      usingMetrics: {
        age: botMetric(BOT_METRICS.marketDataAgeSeconds, cloudwatch.Stats.MAXIMUM, minute),
        eligible: botMetric(BOT_METRICS.eligibleMarkets, cloudwatch.Stats.MAXIMUM, minute),
      },
      period: minute,
      label: 'Market data age while markets are eligible (s)',
    }),
    threshold: t.marketDataMaxAgeSeconds,
    comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
    evaluationPeriods: 5,
    treatMissingData: NOT_BREACHING,
  });

  const suppressed = (id: string, symptom: MonitoringSymptom, rule: cloudwatch.IAlarmRule, what: string) =>
    new cloudwatch.CompositeAlarm(b.scope, id, {
      compositeAlarmName: alarmName(prefix, symptom),
      alarmDescription: `${what} Not raised while trading is halted (${alarmName(prefix, 'trading-halted')}).`,
      alarmRule: rule,
      actionsSuppressor: halted,
      actionsSuppressorWaitPeriod: HALTED_WAIT,
      actionsSuppressorExtensionPeriod: HALTED_EXTENSION,
    });
  const silent = alarms['bot-silent'];
  const noBets = alarms['bot-no-bets'];
  if (silent) {
    created['bot-silent-while-trading'] = suppressed(
      'BotSilentWhileTrading',
      'bot-silent-while-trading',
      cloudwatch.AlarmRule.fromAlarm(silent, cloudwatch.AlarmState.ALARM),
      'The bot is silent (bot-silent) although trading is not halted.',
    );
  }
  if (noBets) {
    created['bot-no-bets-while-trading'] = suppressed(
      'BotNoBetsWhileTrading',
      'bot-no-bets-while-trading',
      cloudwatch.AlarmRule.fromAlarm(noBets, cloudwatch.AlarmState.ALARM),
      'The bot placed no bets (bot-no-bets) although trading is not halted.',
    );
  }
  const symptoms: MonitoringSymptom[] = [
    'bot-silent',
    'bot-no-bets',
    'betfair-auth-failures',
    'bot-tasks-below-desired',
    'bot-unhealthy-targets',
  ];
  const children = [
    ...symptoms.map((s) => alarms[s]).filter((a): a is cloudwatch.AlarmBase => !!a),
    created['betfair-session-unhealthy'],
    created['market-data-stale'],
  ];
  created['trading-impaired'] = suppressed(
    'TradingImpaired',
    'trading-impaired',
    cloudwatch.AlarmRule.anyOf(
      ...children.map((a) => cloudwatch.AlarmRule.fromAlarm(a, cloudwatch.AlarmState.ALARM)),
    ),
    'Trading is impaired: the bot is silent, places no bets, has no Betfair session, holds stale prices, ' +
      'or its task is down or unhealthy. The alarm states in the dashboard say which; each has its own ticket.',
  );
  return created;
}

/**
 * `emergency-stop-not-in-effect`: a trigger in ALARM while the bot still has a running task after
 * `stopEffectMinutes`. Built as a composite whose actions wait that long for `bot-tasks-stopped` (the
 * proof the stop worked); it is never suppressed by `trading-halted`. Triggers added to the stop
 * later are included: the rule is rendered at synth.
 */
export function stopNotInEffect(
  b: AlarmBuilder,
  t: MonitoringConfig,
  triggers: () => readonly cloudwatch.IAlarm[],
): Partial<Record<MonitoringSymptom, cloudwatch.AlarmBase>> {
  const prefix = b.props.names.alarmPrefix;
  const bot = b.props.bot;
  const running = new cloudwatch.Metric({
    namespace: 'ECS/ContainerInsights',
    metricName: 'RunningTaskCount',
    dimensionsMap: { ClusterName: b.props.cluster.clusterName, ServiceName: bot.service.serviceName },
    statistic: cloudwatch.Stats.MAXIMUM,
    period: Duration.minutes(1),
  });
  const runningAlarm = new cloudwatch.Alarm(b.scope, 'BotTasksRunning', {
    alarmName: alarmName(prefix, 'bot-tasks-running'),
    alarmDescription: 'The bot has at least one running task (input of emergency-stop-not-in-effect).',
    metric: running,
    threshold: 1,
    comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
    evaluationPeriods: 1,
    treatMissingData: NOT_BREACHING,
  });
  const stoppedAlarm = new cloudwatch.Alarm(b.scope, 'BotTasksStopped', {
    alarmName: alarmName(prefix, 'bot-tasks-stopped'),
    alarmDescription: 'The bot has no running task: an emergency stop took effect.',
    metric: new cloudwatch.MathExpression({
      expression: 'FILL(running, 0)',
      usingMetrics: { running },
      period: Duration.minutes(1),
      label: 'Running bot tasks (0 when none reported)',
    }),
    threshold: 1,
    comparisonOperator: cloudwatch.ComparisonOperator.LESS_THAN_THRESHOLD,
    evaluationPeriods: 1,
    treatMissingData: NOT_BREACHING,
  });
  const rule: cloudwatch.IAlarmRule = {
    renderAlarmRule: () =>
      Lazy.string({
        produce: () =>
          cloudwatch.AlarmRule.allOf(
            cloudwatch.AlarmRule.anyOf(
              ...triggers().map((a) => cloudwatch.AlarmRule.fromAlarm(a, cloudwatch.AlarmState.ALARM)),
            ),
            cloudwatch.AlarmRule.fromAlarm(runningAlarm, cloudwatch.AlarmState.ALARM),
          ).renderAlarmRule(),
      }),
  };
  const notInEffect = new cloudwatch.CompositeAlarm(b.scope, 'StopNotInEffect', {
    compositeAlarmName: alarmName(prefix, 'emergency-stop-not-in-effect'),
    alarmDescription:
      `An emergency-stop trigger is in ALARM and the bot still has a running task after ${t.stopEffectMinutes} ` +
      'minutes: the stop did not take effect. Stop by hand now (runbook), then find out why.',
    alarmRule: rule,
    // The page waits this long for the proof that the stop worked, and is dropped if it comes.
    actionsSuppressor: stoppedAlarm,
    actionsSuppressorWaitPeriod: Duration.minutes(t.stopEffectMinutes),
    actionsSuppressorExtensionPeriod: Duration.minutes(1),
  });
  return {
    'bot-tasks-running': runningAlarm,
    'bot-tasks-stopped': stoppedAlarm,
    'emergency-stop-not-in-effect': notInEffect,
  };
}
