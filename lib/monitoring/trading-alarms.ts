import { Duration } from 'aws-cdk-lib';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import * as logs from 'aws-cdk-lib/aws-logs';
import { CustomMetricGroup, CustomMonitoring } from 'cdk-monitoring-constructs';
import { MonitoringConfig } from '../../environments/types';
import { BOT_METRICS } from '../metrics';
import { AlarmBuilder, BREACHING, MonitoringSymptom, NOT_BREACHING } from './alarm-builder';
import {
  anyTermPattern,
  BETFAIR_AUTH_ERROR_CODES,
  BETFAIR_RATE_LIMIT_CODES,
  ERROR_LINE_PATTERN,
  LOG_METRICS,
  MONITORING_NAMESPACE,
} from './log-contract';
import { racingHoursExpression } from './racing-hours';

/** Bets, silence, ERROR lines and Betfair errors of the bot. */
export function tradingAlarms(b: AlarmBuilder, t: MonitoringConfig): CustomMonitoring {
  const bets = (statistic: string, period: Duration) =>
    new cloudwatch.Metric({
      namespace: BOT_METRICS.namespace,
      metricName: BOT_METRICS.betsPlaced,
      statistic,
      period,
    });
  const fiveMinutes = Duration.minutes(5);
  const betsGroup: CustomMetricGroup = {
    title: 'Bets placed (5-minute sums)',
    metrics: [bets(cloudwatch.Stats.SUM, fiveMinutes)],
  };
  const groups: CustomMetricGroup[] = [betsGroup];

  const filled = new cloudwatch.MathExpression({
    expression: 'FILL(bets, 0)',
    usingMetrics: { bets: bets(cloudwatch.Stats.SUM, fiveMinutes) },
    period: fiveMinutes,
    label: 'Bets placed',
  });
  const duringRacing = racingHoursExpression(t.racingHours, 'filled');
  if (duringRacing) {
    const hours = t.racingHours;
    groups.push({
      title: `Bets during racing hours (${hours.startHourUtc}–${hours.endHourUtc} UTC)`,
      metrics: [
        {
          metric: new cloudwatch.MathExpression({
            // Markets the bot could bet on decide; the UTC hours only when it publishes no eligibility.
            expression: `IF(FILL(eligible, -1) > 0, filled, IF(FILL(eligible, -1) == 0, 1, ${duringRacing}))`,
            usingMetrics: {
              filled,
              eligible: new cloudwatch.Metric({
                namespace: BOT_METRICS.namespace,
                metricName: BOT_METRICS.eligibleMarkets,
                statistic: cloudwatch.Stats.MAXIMUM,
                period: fiveMinutes,
              }),
            },
            period: fiveMinutes,
            label:
              'Bets placed, 1 when no market is eligible (or outside racing hours without eligibility data)',
          }),
          alarmFriendlyName: 'bot-no-bets',
          addAlarm: {
            Critical: {
              threshold: 1,
              comparisonOperator: cloudwatch.ComparisonOperator.LESS_THAN_THRESHOLD,
              ...b.threshold('bot-no-bets', {
                description:
                  `The bot placed no bets for ${t.noBetsWindowMinutes} minutes while markets were eligible ` +
                  `(EligibleMarkets > 0; without that signal, during ${hours.startHourUtc}:00–${hours.endHourUtc}:00 UTC). ` +
                  'Check the live-trading flag, ' +
                  'Betfair authentication errors and the bot log.',
                // A bot that publishes nothing is bot-silent's alarm; this one needs data to judge.
                missing: NOT_BREACHING,
                period: fiveMinutes,
                evaluationPeriods: t.noBetsWindowMinutes / 5,
              }),
            },
          },
        },
      ],
    });
  }
  groups.push({
    title: 'BetsPlaced data points per minute (a gap = bot silent)',
    metrics: [
      {
        metric: bets(cloudwatch.Stats.SAMPLE_COUNT, Duration.minutes(1)),
        alarmFriendlyName: 'bot-silent',
        addAlarm: {
          Critical: {
            threshold: 1,
            comparisonOperator: cloudwatch.ComparisonOperator.LESS_THAN_THRESHOLD,
            ...b.threshold('bot-silent', {
              description:
                `The bot published no BetsPlaced data point for ${t.silentBotMinutes} minutes: it is not ` +
                'running, hung, or cannot reach CloudWatch. Expected during an emergency stop.',
              // The whole point: a silent bot is an alarm, not "insufficient data".
              missing: BREACHING,
              period: Duration.minutes(1),
              evaluationPeriods: t.silentBotMinutes,
            }),
          },
        },
      },
    ],
  });

  const logMetric = (id: string, metricName: string, pattern: string) =>
    new logs.MetricFilter(b.scope, id, {
      logGroup: b.props.bot.logGroup,
      filterPattern: logs.FilterPattern.literal(pattern),
      metricNamespace: MONITORING_NAMESPACE,
      metricName,
      metricValue: '1',
      // 0 for every log batch without a match, so graphs show quiet periods as 0, not gaps.
      defaultValue: 0,
    }).metric({ statistic: cloudwatch.Stats.SUM, period: fiveMinutes });
  const countAlarm = (
    symptom: MonitoringSymptom,
    metric: cloudwatch.Metric,
    threshold: number,
    description: string,
  ) => ({
    metric,
    alarmFriendlyName: symptom,
    addAlarm: {
      Critical: {
        threshold,
        comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
        ...b.threshold(symptom, {
          description,
          // No log lines means nothing went wrong in them; silence is bot-silent's alarm.
          missing: NOT_BREACHING,
          period: fiveMinutes,
          evaluationPeriods: 1,
        }),
      },
    },
  });
  groups.push({
    title: 'Bot ERROR log lines and Errors metric (5-minute sums)',
    metrics: [
      countAlarm(
        'bot-error-log-lines',
        logMetric('ErrorLines', LOG_METRICS.botErrorLines, ERROR_LINE_PATTERN),
        t.botErrorLinesPer5Minutes,
        `At least ${t.botErrorLinesPer5Minutes} ERROR lines in 5 minutes in /ecs/clever-better-bot.`,
      ),
      new cloudwatch.Metric({
        namespace: BOT_METRICS.namespace,
        metricName: BOT_METRICS.errors,
        statistic: cloudwatch.Stats.SUM,
        period: fiveMinutes,
        label: 'Errors (published by the bot)',
      }),
    ],
  });
  groups.push({
    title: 'Betfair authentication failures and rate limiting (5-minute sums)',
    metrics: [
      countAlarm(
        'betfair-auth-failures',
        logMetric('BetfairAuth', LOG_METRICS.betfairAuthFailures, anyTermPattern(BETFAIR_AUTH_ERROR_CODES)),
        t.betfairAuthFailuresPer5Minutes,
        `At least ${t.betfairAuthFailuresPer5Minutes} Betfair authentication errors in 5 minutes ` +
          '(session expired or invalid, login refused, app key). The bot cannot trade until it logs in again.',
      ),
      countAlarm(
        'betfair-rate-limited',
        logMetric('BetfairRate', LOG_METRICS.betfairRateLimited, anyTermPattern(BETFAIR_RATE_LIMIT_CODES)),
        t.betfairRateLimitsPer5Minutes,
        `At least ${t.betfairRateLimitsPer5Minutes} Betfair rate-limit errors in 5 minutes ` +
          '(TOO_MANY_REQUESTS, TOO_MUCH_DATA, connection or subscription limits).',
      ),
    ],
  });
  return b.custom('trading', 'Trading: bets, silence, errors, Betfair', groups);
}
