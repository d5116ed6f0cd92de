import { readFileSync } from 'node:fs';
import * as path from 'node:path';
import { Template } from 'aws-cdk-lib/assertions';
import { production, staging } from '../../environments';
import { GAUGE_PUBLISH_INTERVAL_SECONDS } from '../../lib/metrics';
import { ENVIRONMENT_NAMES, synthesized } from '../helpers/app';

const configs = { staging, production };

// eslint-disable-next-line @typescript-eslint/no-explicit-any
type Resource = { Type: string; Properties: any };

/** The trigger alarms of a template: those the stack output `EmergencyStopTriggerAlarms` names. */
function triggerAlarms(template: Template): [string, Resource][] {
  const joined = template.toJSON().Outputs.EmergencyStopTriggerAlarms.Value['Fn::Join'][1] as {
    Ref: string;
  }[];
  const alarms = template.findResources('AWS::CloudWatch::Alarm') as Record<string, Resource>;
  return joined.map(({ Ref }) => [Ref, alarms[Ref]]);
}

/** The emergency-stop function's logical id and properties. */
function stopFunction(template: Template): [string, Resource] {
  const fns = Object.entries(template.findResources('AWS::Lambda::Function') as Record<string, Resource>);
  const found = fns.filter(([id]) => id.startsWith('EmergencyStopFunction'));
  expect(found).toHaveLength(1);
  return found[0];
}

/** Every metric the alarm reads, with its period, and every expression it computes. */
function alarmParts(alarm: Resource): { periods: number[]; expressions: string[]; metrics: string[] } {
  const p = alarm.Properties;
  if (!p.Metrics) return { periods: [p.Period], expressions: [], metrics: [p.MetricName] };
  const periods: number[] = [];
  const expressions: string[] = [];
  const metrics: string[] = [];
  for (const q of p.Metrics) {
    if (q.Expression) expressions.push(q.Expression);
    if (q.Period) periods.push(q.Period);
    if (q.MetricStat) {
      periods.push(q.MetricStat.Period);
      metrics.push(q.MetricStat.Metric.MetricName);
    }
  }
  return { periods, expressions, metrics };
}

/** The risk triggers the issue asks for, by alarm-name suffix, with the gauges each reads. */
const RISK_TRIGGERS = {
  'emergency-stop-exposure': ['OpenLiability'],
  'emergency-stop-daily-loss': ['RealisedPnLToday', 'OpenLiability'],
  'emergency-stop-runaway-betting': ['BetsPlaced'],
} as const;

describe.each(ENVIRONMENT_NAMES)('%s: triggers that see the risk before it settles', (name) => {
  const { template } = synthesized(name);
  const config = configs[name];
  const alarms = triggerAlarms(template);
  const [fnId, fn] = stopFunction(template);
  const byName = (suffix: string) => {
    const found = alarms.find(([, a]) => a.Properties.AlarmName === `clever-better-${name}-${suffix}`);
    expect(found).toBeDefined();
    return found![1].Properties;
  };

  test.each(Object.entries(RISK_TRIGGERS))(
    '%s reads %s each minute, fires on one breaching minute and invokes the stop',
    (suffix, gauges) => {
      const alarm = byName(suffix);
      const { periods, metrics } = alarmParts({ Type: '', Properties: alarm });
      expect(metrics.sort()).toEqual([...gauges].sort());
      expect(periods.every((p) => p <= 60)).toBe(true);
      expect(alarm).toMatchObject({ EvaluationPeriods: 1, DatapointsToAlarm: 1 });
      expect(alarm.AlarmActions).toContainEqual({ 'Fn::GetAtt': [fnId, 'Arn'] });
    },
  );

  test('the thresholds come from environments/', () => {
    const es = config.emergencyStop;
    expect(byName('emergency-stop-exposure')).toMatchObject({
      Threshold: es.maxOpenLiability,
      ComparisonOperator: 'GreaterThanOrEqualToThreshold',
      Statistic: 'Maximum',
    });
    expect(byName('emergency-stop-daily-loss')).toMatchObject({
      Threshold: -es.dailyLossLimit,
      ComparisonOperator: 'LessThanOrEqualToThreshold',
      Metrics: expect.arrayContaining([
        expect.objectContaining({ Expression: 'pnl - liability', ReturnData: true }),
      ]),
    });
    expect(byName('emergency-stop-runaway-betting')).toMatchObject({
      Threshold: es.maxBetsPerMinute,
      ComparisonOperator: 'GreaterThanOrEqualToThreshold',
      Statistic: 'Sum',
    });
  });

  test('the 60-minute loss velocity stays as the backstop, and every window has a value so it returns to OK', () => {
    const alarm = byName('emergency-stop-loss-limit');
    const { periods, metrics, expressions } = alarmParts({ Type: '', Properties: alarm });
    expect(metrics).toEqual(['NetProfit']);
    expect(periods).toContain(config.emergencyStop.lossWindowMinutes * 60);
    expect(expressions).toEqual(['FILL(profit, 0)']);
  });

  // CloudWatch User Guide, "Using metric math" (RUNNING_SUM; the time functions HOUR, MINUTE, DAY,
  // DATETIME) and "Configuring how CloudWatch alarms treat missing data": an alarm on a running
  // sum or a clock-aligned window keeps old data in play, and with "not breaching" an alarm whose
  // metric stops returns to OK, which is what lets `ops resume` through once the gauges are clear.
  test('no trigger uses RUNNING_SUM or a wall-clock function; the risk triggers go back to OK when the gauges stop', () => {
    let checked = 0;
    for (const [, alarm] of alarms) {
      for (const expression of alarmParts(alarm).expressions) {
        expect(expression).not.toMatch(/RUNNING_SUM|\b(HOUR|MINUTE|DAY|DATETIME|EPOCH)\s*\(/i);
        checked++;
      }
      if (Object.keys(RISK_TRIGGERS).some((s) => alarm.Properties.AlarmName.endsWith(s))) {
        expect(alarm.Properties.TreatMissingData).toBe('notBreaching');
        checked++;
      }
    }
    expect(checked).toBeGreaterThanOrEqual(4);
  });

  /**
   * Worst case from a bet matched to the bot at zero, from the template: the bot publishes its gauges
   * every minute; CloudWatch needs the alarm's period × evaluation periods, plus up to one more
   * period before the data point is evaluated; the function's timeout bounds the whole stop.
   */
  const bound = () =>
    Math.max(
      ...Object.keys(RISK_TRIGGERS).map((suffix) => {
        const a = byName(suffix);
        const period = Math.max(...alarmParts({ Type: '', Properties: a }).periods);
        return GAUGE_PUBLISH_INTERVAL_SECONDS + period * a.EvaluationPeriods + period + fn.Properties.Timeout;
      }),
    );

  test('the worst case from a matched bet to the bot at zero is at most 4 minutes, as documented', () => {
    expect(bound()).toBeLessThanOrEqual(240);
    const doc = readFileSync(path.join(__dirname, '..', '..', 'docs', 'emergency-stop.md'), 'utf8');
    expect(doc).toContain(`**${bound()} s**`);
  });
});
