import { Duration } from 'aws-cdk-lib';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import { CustomMonitoring, MetricWithAlarmSupport } from 'cdk-monitoring-constructs';
import { MonitoringConfig } from '../../environments/types';
import { AlarmBuilder, BREACHING, MonitoringSymptom, NOT_BREACHING } from './alarm-builder';

const GIB = 1024 ** 3;

/**
 * CPU, free storage, connections and latency of the database. Custom metrics rather than the
 * library's RDS segment, whose graphs put bytes on a percent axis and sum connections over 5 minutes.
 */
export function databaseAlarms(b: AlarmBuilder, t: MonitoringConfig): CustomMonitoring {
  const db = b.props.database;
  const tenMinutes = { period: Duration.minutes(5), evaluationPeriods: 2 };
  const above = (
    symptom: MonitoringSymptom,
    metric: MetricWithAlarmSupport,
    threshold: number,
    description: string,
    missing: cloudwatch.TreatMissingData = NOT_BREACHING,
  ) => ({
    metric,
    alarmFriendlyName: symptom,
    addAlarm: {
      Critical: {
        threshold,
        comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
        ...b.threshold(symptom, {
          description,
          runbook: 'database-under-pressure',
          missing,
          ...tenMinutes,
        }),
      },
    },
  });
  // RDS reports latency in seconds; thresholds are in milliseconds. Ids are unique per graph.
  const latencyMs = (metricName: 'ReadLatency' | 'WriteLatency') => {
    const id = metricName[0].toLowerCase() + metricName.slice(1);
    return new cloudwatch.MathExpression({
      expression: `${id} * 1000`,
      usingMetrics: { [id]: db.metric(metricName, { statistic: cloudwatch.Stats.AVERAGE }) },
      period: Duration.minutes(5),
      label: `${metricName} (ms)`,
    });
  };
  return b.custom('database', 'Database (RDS for PostgreSQL)', [
    {
      title: `CPU % (alarm above ${t.databaseCpuPercent})`,
      metrics: [
        above(
          'database-cpu',
          db.metricCPUUtilization({ statistic: cloudwatch.Stats.AVERAGE, period: Duration.minutes(5) }),
          t.databaseCpuPercent,
          `Database CPU above ${t.databaseCpuPercent}% for 10 minutes: look for slow queries.`,
        ),
      ],
    },
    {
      title: `Free storage, GiB (alarm below ${t.databaseFreeStorageGiB})`,
      metrics: [
        {
          metric: new cloudwatch.MathExpression({
            expression: `storage / ${GIB}`,
            usingMetrics: { storage: db.metricFreeStorageSpace({ statistic: cloudwatch.Stats.MINIMUM }) },
            period: Duration.minutes(5),
            label: 'Free storage (GiB)',
          }),
          alarmFriendlyName: 'database-free-storage',
          addAlarm: {
            Critical: {
              threshold: t.databaseFreeStorageGiB,
              comparisonOperator: cloudwatch.ComparisonOperator.LESS_THAN_THRESHOLD,
              ...b.threshold('database-free-storage', {
                description:
                  `Database free storage below ${t.databaseFreeStorageGiB} GiB, or no storage metric at all ` +
                  '(instance stopped or unreachable).',
                runbook: 'database-under-pressure',
                // RDS reports storage every minute while the instance is up: no data means the
                // instance is stopped or unreachable, which needs a person as much as a full disk.
                missing: BREACHING,
                period: Duration.minutes(5),
                evaluationPeriods: 1,
              }),
            },
          },
        },
      ],
    },
    {
      title: `Connections (alarm above ${t.databaseConnections})`,
      metrics: [
        above(
          'database-connections',
          db.metricDatabaseConnections({
            statistic: cloudwatch.Stats.MAXIMUM,
            period: Duration.minutes(5),
          }),
          t.databaseConnections,
          `More than ${t.databaseConnections} database connections for 10 minutes: ` +
            'a connection leak or too many tasks.',
        ),
      ],
    },
    {
      title: `Read and write latency, ms (alarm above ${t.databaseLatencyMs})`,
      metrics: [
        above(
          'database-read-latency',
          latencyMs('ReadLatency'),
          t.databaseLatencyMs,
          `Database read latency above ${t.databaseLatencyMs} ms for 10 minutes.`,
        ),
        above(
          'database-write-latency',
          latencyMs('WriteLatency'),
          t.databaseLatencyMs,
          `Database write latency above ${t.databaseLatencyMs} ms for 10 minutes.`,
        ),
      ],
    },
  ]);
}
