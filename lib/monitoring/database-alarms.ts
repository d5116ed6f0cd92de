import { Duration } from 'aws-cdk-lib';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import { CustomMonitoring, MetricWithAlarmSupport } from 'cdk-monitoring-constructs';
import { MonitoringConfig } from '../../environments/types';
import { AlarmBuilder, AlarmSpec, BREACHING, MonitoringSymptom, NOT_BREACHING } from './alarm-builder';

const GIB = 1024 ** 3;
const MIB = 1024 ** 2;

/** Memory of an RDS instance class in GiB, by size, per family kind (t/m: general purpose; r: memory). */
const SIZE_GIB: Record<string, number> = {
  micro: 1,
  small: 2,
  medium: 4,
  large: 8,
  xlarge: 16,
  '2xlarge': 32,
  '4xlarge': 64,
  '8xlarge': 128,
  '12xlarge': 192,
  '16xlarge': 256,
  '24xlarge': 384,
  '32xlarge': 512,
};

/** Memory of `instanceClass` (`db.<family>.<size>`) in GiB; memory-optimised (r) classes have twice m's. */
export function instanceMemoryGiB(instanceClass: string): number {
  const [, family, size] = instanceClass.split('.');
  const base = SIZE_GIB[size];
  if (!family || base === undefined) throw new Error(`Unknown RDS instance class "${instanceClass}"`);
  return family.startsWith('r') ? base * 2 : base;
}

/**
 * RDS for PostgreSQL's default `max_connections`: LEAST({DBInstanceClassMemory/9531392}, 5000).
 * DBInstanceClassMemory is the class memory less what RDS reserves for itself; 90 % of the nominal
 * memory is a conservative estimate (it overestimates the limit by less than it underestimates use).
 */
export function defaultMaxConnections(instanceClass: string): number {
  const memory = instanceMemoryGiB(instanceClass) * GIB * 0.9;
  return Math.min(Math.floor(memory / 9531392), 5000);
}

/**
 * The database: CPU, storage headroom, connections as a share of `max_connections`, memory, disk
 * queue, transaction-id age and latency. Custom metrics rather than the library's RDS segment, whose
 * graphs put bytes on a percent axis and sum connections over 5 minutes.
 */
export function databaseAlarms(b: AlarmBuilder, t: MonitoringConfig): CustomMonitoring {
  const db = b.props.database;
  const size = b.props.databaseSize;
  const fiveMinutes = Duration.minutes(5);
  const tenMinutes = { period: fiveMinutes, evaluationPeriods: 2 };
  const alarm = (
    symptom: MonitoringSymptom,
    metric: MetricWithAlarmSupport,
    threshold: number,
    comparisonOperator: cloudwatch.ComparisonOperator,
    spec: AlarmSpec,
  ) => ({
    metric,
    alarmFriendlyName: symptom,
    addAlarm: { Critical: { threshold, comparisonOperator, ...b.threshold(symptom, spec) } },
  });
  const { GREATER_THAN_THRESHOLD: ABOVE, LESS_THAN_THRESHOLD: BELOW } = cloudwatch.ComparisonOperator;
  const above = (
    symptom: MonitoringSymptom,
    metric: MetricWithAlarmSupport,
    threshold: number,
    description: string,
  ) => alarm(symptom, metric, threshold, ABOVE, { description, missing: NOT_BREACHING, ...tenMinutes });
  // RDS reports latency in seconds; thresholds are in milliseconds. Ids are unique per graph.
  const latencyMs = (metricName: 'ReadLatency' | 'WriteLatency') => {
    const id = metricName[0].toLowerCase() + metricName.slice(1);
    return new cloudwatch.MathExpression({
      expression: `${id} * 1000`,
      usingMetrics: { [id]: db.metric(metricName, { statistic: cloudwatch.Stats.AVERAGE }) },
      period: fiveMinutes,
      label: `${metricName} (ms)`,
    });
  };
  const freeGiB = (id: string, period: Duration) =>
    new cloudwatch.MathExpression({
      expression: `${id} / ${GIB}`,
      usingMetrics: { [id]: db.metricFreeStorageSpace({ statistic: cloudwatch.Stats.MINIMUM }) },
      period,
      label: `Free storage (GiB, ${period.toHumanString()} minimum)`,
    });
  // Storage autoscaling grows the volume when less than 10 % of it is free, at most every 6 hours.
  const autoscalingFloorGiB = size.allocatedStorageGiB * 0.1;
  const maxConnections = defaultMaxConnections(size.instanceClass);
  const connectionLimit = Math.floor((maxConnections * t.databaseConnectionsPercent) / 100);
  const memoryMiB = instanceMemoryGiB(size.instanceClass) * 1024;
  const freeableFloorMiB = Math.floor((memoryMiB * t.databaseFreeableMemoryPercent) / 100);

  return b.custom('database', 'Database (RDS for PostgreSQL)', [
    {
      title: `CPU % (alarm above ${t.databaseCpuPercent})`,
      metrics: [
        above(
          'database-cpu',
          db.metricCPUUtilization({ statistic: cloudwatch.Stats.AVERAGE, period: fiveMinutes }),
          t.databaseCpuPercent,
          `Database CPU above ${t.databaseCpuPercent}% for 10 minutes: look for slow queries.`,
        ),
      ],
    },
    {
      title: `Free storage, GiB (page below ${t.databaseFreeStorageGiB}; autoscaling acts below ${autoscalingFloorGiB})`,
      metrics: [
        alarm(
          'database-storage-exhausted',
          freeGiB('storage', fiveMinutes),
          t.databaseFreeStorageGiB,
          BELOW,
          {
            description:
              `Database free storage below ${t.databaseFreeStorageGiB} GiB, under the level storage autoscaling ` +
              `keeps it above (10% of at least ${size.allocatedStorageGiB} GiB), or no storage metric at all ` +
              `(instance stopped or unreachable). Autoscaling is at its maximum (${size.maxAllocatedStorageGiB} GiB) ` +
              'or cannot keep up: writes will fail when it reaches 0.',
            // RDS reports storage every minute while the instance is up: no data means the instance is
            // stopped or unreachable, which needs a person as much as a full disk.
            missing: BREACHING,
            period: fiveMinutes,
            evaluationPeriods: 1,
          },
        ),
        alarm(
          'database-free-storage',
          freeGiB('storageHourly', Duration.hours(1)),
          autoscalingFloorGiB,
          BELOW,
          {
            description:
              `Database free storage has stayed below ${autoscalingFloorGiB} GiB for 7 hours: storage autoscaling ` +
              `(every 6 hours at most) has not grown it, so it is probably at its maximum of ` +
              `${size.maxAllocatedStorageGiB} GiB. Raise database.maxAllocatedStorageGiB or free space.`,
            missing: NOT_BREACHING,
            period: Duration.hours(1),
            evaluationPeriods: 7,
          },
        ),
      ],
    },
    {
      title: `Connections (alarm above ${connectionLimit}: ${t.databaseConnectionsPercent}% of ~${maxConnections} max_connections)`,
      metrics: [
        above(
          'database-connections',
          db.metricDatabaseConnections({ statistic: cloudwatch.Stats.MAXIMUM, period: fiveMinutes }),
          connectionLimit,
          `More than ${connectionLimit} database connections (${t.databaseConnectionsPercent}% of the ` +
            `${size.instanceClass} default max_connections, about ${maxConnections}) for 10 minutes: ` +
            'a connection leak or too many tasks.',
        ),
        alarm(
          'database-connections-dropped',
          db.metricDatabaseConnections({ statistic: cloudwatch.Stats.MAXIMUM, period: Duration.minutes(1) }),
          1,
          BELOW,
          {
            description:
              `No database connection at all for ${t.databaseConnectionsDroppedMinutes} minutes, or no ` +
              'connection metric: the instance is stopped, rebooting or unreachable (ml-service always holds ' +
              'connections). Check the instance status and RDS events.',
            // RDS reports connections every minute while the instance is up: silence is the outage.
            missing: BREACHING,
            period: Duration.minutes(1),
            evaluationPeriods: t.databaseConnectionsDroppedMinutes,
          },
        ),
      ],
    },
    {
      title: 'Freeable memory (MiB) and disk queue depth',
      metrics: [
        alarm(
          'database-freeable-memory',
          new cloudwatch.MathExpression({
            expression: `memory / ${MIB}`,
            usingMetrics: { memory: db.metricFreeableMemory({ statistic: cloudwatch.Stats.MINIMUM }) },
            period: fiveMinutes,
            label: 'Freeable memory (MiB)',
          }),
          freeableFloorMiB,
          BELOW,
          {
            description:
              `Database freeable memory below ${freeableFloorMiB} MiB (${t.databaseFreeableMemoryPercent}% of ` +
              `${size.instanceClass}) for 10 minutes: swapping is next; look at connections and work_mem.`,
            missing: NOT_BREACHING,
            ...tenMinutes,
          },
        ),
        above(
          'database-disk-queue-depth',
          db.metric('DiskQueueDepth', { statistic: cloudwatch.Stats.AVERAGE, period: fiveMinutes }),
          t.databaseDiskQueueDepth,
          `More than ${t.databaseDiskQueueDepth} I/O requests waiting on the database volume for 10 minutes: ` +
            'storage throughput is the bottleneck.',
        ),
      ],
    },
    {
      title: 'Oldest transaction id age (MaximumUsedTransactionIDs)',
      metrics: [
        alarm(
          'database-xid-wraparound',
          db.metric('MaximumUsedTransactionIDs', {
            statistic: cloudwatch.Stats.MAXIMUM,
            period: fiveMinutes,
          }),
          t.databaseMaxUsedTransactionIds,
          ABOVE,
          {
            description:
              `Transaction ids used since the oldest unfrozen one exceed ${t.databaseMaxUsedTransactionIds}: ` +
              'autovacuum is not freezing. At about 2 billion PostgreSQL stops accepting writes to prevent ' +
              'wraparound. Find what blocks vacuum (long transactions, replication slots).',
            missing: NOT_BREACHING,
            ...tenMinutes,
          },
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
