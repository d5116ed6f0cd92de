import { Duration, Lazy } from 'aws-cdk-lib';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import { MonitoringConfig } from '../../environments/types';
import { BOT_METRICS, STOP_MARKER } from '../metrics';
import { AlarmBuilder, MonitoringSymptom, NOT_BREACHING } from './alarm-builder';
import { alarmName } from './names';

/**
 * How long a composite waits for `trading-halted` after a symptom fires, and keeps suppressing after
 * trading resumes. The stop writes its marker when it starts, minutes before the symptoms it causes
 * (the bot goes silent, its flag reads off), so one minute of waiting is margin, not a delay every
 * page pays (a 10-minute wait delayed every real trading page by 10 minutes). After `ops resume` a
 * restarted bot is silent until its first data point and its task may take minutes to start.
 */
const HALTED_WAIT = Duration.minutes(1);
const HALTED_EXTENSION = Duration.minutes(15);

const botMetric = (metricName: string, statistic: string, period: Duration) =>
  new cloudwatch.Metric({ namespace: BOT_METRICS.namespace, metricName, statistic, period });

/** The bot's desired task count; Container Insights publishes nothing for a service scaled to zero. */
function desiredCount(b: AlarmBuilder, period: Duration): cloudwatch.Metric {
  return new cloudwatch.Metric({
    namespace: 'ECS/ContainerInsights',
    metricName: 'DesiredTaskCount',
    dimensionsMap: { ClusterName: b.props.cluster.clusterName, ServiceName: b.props.bot.service.serviceName },
    statistic: cloudwatch.Stats.MINIMUM,
    period,
  });
}

/**
 * The symptoms an emergency stop causes, and the signals that tell them apart from an outage:
 * - `trading-halted`: the emergency stop's own marker, from the stop to `ops resume` (notifies nobody);
 * - `trading-still-halted`: a ticket each day at `haltedReminderHourUtc` while the bot is at zero,
 *   so a forgotten stop does not go quiet;
 * - `trading-flag-off` (where live trading is meant to be on) and `bot-scaled-to-zero`: the bot off
 *   without a stop, an incident behind `trading-impaired`;
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
      'Trading is halted by an emergency stop: the stop wrote its marker (CleverBetter/EmergencyStop ' +
      'HaltedByStop = 1) and ops resume has not cleared it. Suppresses the symptoms a stop causes; a bot ' +
      'that is off for any other reason is not suppressed.',
    metric: new cloudwatch.Metric({
      namespace: STOP_MARKER.namespace,
      metricName: STOP_MARKER.metricName,
      statistic: cloudwatch.Stats.MAXIMUM,
      period: minute,
    }),
    threshold: 1,
    comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
    evaluationPeriods: 1,
    // The marker is written once by the stop and once by ops resume: between them there is no data,
    // and the state the last data point set (halted, or not) is kept.
    treatMissingData: cloudwatch.TreatMissingData.IGNORE,
  });
  created['trading-still-halted'] = new cloudwatch.Alarm(b.scope, 'TradingStillHalted', {
    alarmName: alarmName(prefix, 'trading-still-halted'),
    alarmDescription:
      `The bot has had no desired task for at least the hour before ${t.haltedReminderHourUtc}:00 UTC; this ` +
      'ticket comes back every day until trading resumes. Since when and why: npm run ops -- status; ' +
      'resume with npm run ops -- resume once the cause is fixed.',
    // In ALARM only during the reminder hour of a day the bot is at zero, so the ticket is raised once
    // a day. The desired count alone: with live trading off (staging) the bot still runs, and its
    // flag being off is the normal state, not a reminder a day.
    metric: new cloudwatch.MathExpression({
      expression: `IF(FILL(desired, 0) < 1 AND HOUR(FILL(desired, 0)) == ${t.haltedReminderHourUtc}, 1, 0)`,
      usingMetrics: { desired: desiredCount(b, Duration.hours(1)) },
      period: Duration.hours(1),
      label: 'Bot at zero in the reminder hour (1)',
    }),
    threshold: 1,
    comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
    evaluationPeriods: 1,
    treatMissingData: NOT_BREACHING,
  });
  const halted = created['trading-halted'];

  created['betfair-session-unhealthy'] = new cloudwatch.Alarm(b.scope, 'BetfairSessionUnhealthy', {
    alarmName: alarmName(prefix, 'betfair-session-unhealthy'),
    alarmDescription:
      `The bot has reported no healthy Betfair session for ${t.tradingSignalMinutes} minutes ` +
      '(BetfairSessionHealthy = 0): logins fail or loop. Check betfair-auth-failures and the bot log.',
    metric: botMetric(BOT_METRICS.betfairSessionHealthy, cloudwatch.Stats.MAXIMUM, minute),
    threshold: 1,
    comparisonOperator: cloudwatch.ComparisonOperator.LESS_THAN_THRESHOLD,
    evaluationPeriods: t.tradingSignalMinutes,
    // A bot that publishes nothing is bot-silent's alarm.
    treatMissingData: NOT_BREACHING,
  });
  created['market-data-stale'] = new cloudwatch.Alarm(b.scope, 'MarketDataStale', {
    alarmName: alarmName(prefix, 'market-data-stale'),
    alarmDescription:
      `The newest market data the bot holds has been older than ${t.marketDataMaxAgeSeconds} s for ` +
      `${t.marketDataStaleMinutes} minute(s) ` +
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
    evaluationPeriods: t.marketDataStaleMinutes,
    treatMissingData: NOT_BREACHING,
  });
  if (b.props.liveTradingEnabled) {
    created['trading-flag-off'] = new cloudwatch.Alarm(b.scope, 'TradingFlagOff', {
      alarmName: alarmName(prefix, 'trading-flag-off'),
      alarmDescription:
        `The bot has reported live trading off (LiveTradingEnabled = 0) for ${t.tradingSignalMinutes} minutes ` +
        'without an emergency stop: it cannot read clever-better/<env>/config (it reports 0 then), or the flag ' +
        'was changed by hand. Check the bot log and npm run ops -- status.',
      metric: botMetric(BOT_METRICS.liveTradingEnabled, cloudwatch.Stats.MAXIMUM, minute),
      threshold: 1,
      comparisonOperator: cloudwatch.ComparisonOperator.LESS_THAN_THRESHOLD,
      evaluationPeriods: t.tradingSignalMinutes,
      // A bot that publishes nothing is bot-silent's alarm.
      treatMissingData: NOT_BREACHING,
    });
  }
  created['bot-scaled-to-zero'] = new cloudwatch.Alarm(b.scope, 'BotScaledToZero', {
    alarmName: alarmName(prefix, 'bot-scaled-to-zero'),
    alarmDescription:
      `The bot service has had no desired task for ${t.tradingSignalMinutes} minutes without an emergency ` +
      'stop: someone or something scaled it to zero. Resume with npm run ops -- resume if that was not meant.',
    metric: new cloudwatch.MathExpression({
      // Container Insights publishes nothing for a service at zero: no data is a desired count of 0.
      expression: 'FILL(desired, 0)',
      usingMetrics: { desired: desiredCount(b, minute) },
      period: minute,
      label: 'Desired bot tasks (0 when none reported)',
    }),
    threshold: 1,
    comparisonOperator: cloudwatch.ComparisonOperator.LESS_THAN_THRESHOLD,
    evaluationPeriods: t.tradingSignalMinutes,
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
    created['bot-scaled-to-zero'],
    ...(created['trading-flag-off'] ? [created['trading-flag-off']] : []),
  ];
  created['trading-impaired'] = suppressed(
    'TradingImpaired',
    'trading-impaired',
    cloudwatch.AlarmRule.anyOf(
      ...children.map((a) => cloudwatch.AlarmRule.fromAlarm(a, cloudwatch.AlarmState.ALARM)),
    ),
    'Trading is impaired: the bot is silent, places no bets, has no Betfair session, holds stale prices, ' +
      'reads its flag as off, is scaled to zero, or its task is down or unhealthy. The alarm states in the ' +
      'dashboard say which.',
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
