import type { PartitionReport } from './partitions';

/**
 * What the migration function publishes for its alarms (lib/migrations.ts), in CloudWatch embedded
 * metric format through its own log (Powertools Metrics, wired in index.ts): no CloudWatch API
 * call, so no VPC endpoint or NAT route is needed for it.
 */
export const MIGRATION_METRICS = {
  namespace: 'CleverBetter/Migrations',
  /** Powertools' `service` dimension, on every metric. */
  service: 'db-migrate',
  /** Days: the smallest partition horizon over the time-series tables, after each upkeep run. */
  partitionHorizonDays: 'PartitionHorizonDays',
  /** Count: rows in the DEFAULT partitions (all tables; also per table with a `Table` dimension). */
  defaultPartitionRows: 'DefaultPartitionRows',
  /** Count: 1 each time a run succeeded for CloudFormation but left something for a person. */
  needsAttention: 'MigrationNeedsAttention',
} as const;

/** Where the handler reports; index.ts publishes, tests record. */
export interface MigrationSignals {
  /** After every partition upkeep run (also a failed one). */
  partitions(report: PartitionReport): void;
  /** A CloudFormation event succeeded without doing what it asked; `what` says what a person must do. */
  needsAttention(what: string): void;
}

/** The values published for one upkeep run: the aggregate the alarms watch, and one per table. */
export function partitionMetricValues(report: PartitionReport): {
  horizonDays: number | undefined;
  defaultRows: number;
  perTable: { table: string; defaultRows: number; horizonDays: number }[];
} {
  const perTable = report.tables.map((t) => ({
    table: t.table,
    defaultRows: t.defaultRows,
    horizonDays: t.horizonDays,
  }));
  return {
    horizonDays: perTable.length ? Math.min(...perTable.map((t) => t.horizonDays)) : undefined,
    defaultRows: perTable.reduce((sum, t) => sum + t.defaultRows, 0),
    perTable,
  };
}
