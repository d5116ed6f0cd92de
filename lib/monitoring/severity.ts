import { Severity } from '../alerting';

/** Sections of docs/runbooks.md alarms link to (GitHub heading anchors). */
export type RunbookAnchor =
  | 'routing'
  | 'service-not-starting'
  | 'high-latency'
  | 'bot-stopped-trading'
  | 'trading-halted'
  | 'database-under-pressure'
  | 'emergency-stop'
  | 'rollback'
  | 'migrations'
  | 'partition-maintenance';

/**
 * How one symptom reaches people:
 * - `page` and `ticket` choose the topic (lib/alerting.ts);
 * - `none`: the alarm notifies nobody itself; ECS reads it (deployment alarms) or a composite alarm
 *   does (the suppressed symptoms);
 * - `self`: the alarm keeps the topic it chose itself: the alarms on failed deliveries, which must
 *   report through another path than the one they watch (lib/alerting.ts).
 */
export type RoutingSeverity = Severity | 'none' | 'self';

/** How one symptom reaches people. */
export interface SymptomRouting {
  readonly severity: RoutingSeverity;
  /** The docs/runbooks.md section its description links to, as an absolute URL. */
  readonly runbook: RunbookAnchor;
  /**
   * A page that stays open until a person acts: no OK notification to the pager, so the page cannot
   * resolve itself when the alarm returns to OK (a halted bot goes quiet, a failed stop's errors age
   * out) while bets may still be open. @default false: OK resolves the page
   */
  readonly untilAcknowledged?: boolean;
}

const page = (runbook: RunbookAnchor): SymptomRouting => ({ severity: 'page', runbook });
const pageUntilAcknowledged = (runbook: RunbookAnchor): SymptomRouting => ({
  severity: 'page',
  runbook,
  untilAcknowledged: true,
});
const ticket = (runbook: RunbookAnchor): SymptomRouting => ({ severity: 'ticket', runbook });
const none = (runbook: RunbookAnchor): SymptomRouting => ({ severity: 'none', runbook });
const self = (runbook: RunbookAnchor): SymptomRouting => ({ severity: 'self', runbook });

/**
 * THE severity table: every alarm of a stack, by symptom (its name after `clever-better-<env>-`).
 * An alarm whose symptom is not here fails synth (lib/monitoring/routing.ts), so a new alarm cannot
 * ship without a severity and a runbook. One trailing `*` matches a family. docs/runbooks.md
 * "Which alarm means what" is the readable copy; a test holds both to the template.
 */
export const SEVERITY_TABLE: Readonly<Record<string, SymptomRouting>> = {
  // Trading: one composite pages; the symptoms behind it are tickets.
  'trading-impaired': page('bot-stopped-trading'),
  'trading-flag-off': none('bot-stopped-trading'),
  'bot-scaled-to-zero': none('bot-stopped-trading'),
  'bot-crash-loop': page('service-not-starting'),
  'bot-silent': none('bot-stopped-trading'),
  'bot-silent-while-trading': ticket('bot-stopped-trading'),
  'bot-no-bets': none('bot-stopped-trading'),
  'bot-no-bets-while-trading': ticket('bot-stopped-trading'),
  'betfair-auth-failures': ticket('bot-stopped-trading'),
  'betfair-session-unhealthy': ticket('bot-stopped-trading'),
  'market-data-stale': ticket('bot-stopped-trading'),
  'betfair-rate-limited': ticket('bot-stopped-trading'),
  'bot-error-log-lines': ticket('bot-stopped-trading'),
  'bot-tasks-below-desired': ticket('service-not-starting'),
  'bot-failed-tasks': ticket('service-not-starting'),
  'bot-unhealthy-targets': ticket('service-not-starting'),
  'bot-cpu': ticket('high-latency'),
  'bot-memory': ticket('service-not-starting'),
  // Halted trading: signals for suppression, a daily reminder, and the stop's own proof.
  'trading-halted': none('trading-halted'),
  'trading-still-halted': ticket('trading-halted'),
  'bot-tasks-running': none('emergency-stop'),
  'bot-tasks-stopped': none('emergency-stop'),
  'emergency-stop-not-in-effect': pageUntilAcknowledged('emergency-stop'),
  // Every emergency-stop alarm (triggers, failures, undelivered) pages, is never suppressed, and stays
  // open until a person acts: a trigger goes back to OK once the halted bot is quiet, a failed stop's
  // errors age out, and neither means the bets are safe.
  'emergency-stop-*': pageUntilAcknowledged('emergency-stop'),
  // ML service and load balancer.
  'ml-5xx': page('service-not-starting'),
  'alb-5xx': page('service-not-starting'),
  'ml-tasks-below-desired': ticket('service-not-starting'),
  'ml-failed-tasks': ticket('service-not-starting'),
  'ml-unhealthy-targets': ticket('service-not-starting'),
  'ml-latency-p90': ticket('high-latency'),
  'ml-prediction-timeouts': ticket('high-latency'),
  'ml-cpu': ticket('high-latency'),
  'ml-memory': ticket('service-not-starting'),
  'failed-task-events-undelivered': ticket('service-not-starting'),
  // Deployment alarms: ECS reads them and rolls back; SERVICE_DEPLOYMENT_FAILED events are tickets.
  '*-deployment-5xx': none('rollback'),
  '*-deployment-unhealthy-targets': none('rollback'),
  '*-deployment-failed-tasks': none('rollback'),
  '*-deployment-errors': none('rollback'),
  'rollback-*': page('rollback'),
  // Only dry runs call the planner, and their caller sees its error.
  'rollback-plan-function-errors': ticket('rollback'),
  // Database.
  'database-storage-exhausted': page('database-under-pressure'),
  'database-connections-dropped': page('database-under-pressure'),
  'database-free-storage': ticket('database-under-pressure'),
  'database-xid-wraparound': page('database-under-pressure'),
  'database-cpu': ticket('database-under-pressure'),
  'database-connections': ticket('database-under-pressure'),
  'database-freeable-memory': ticket('database-under-pressure'),
  'database-disk-queue-depth': ticket('database-under-pressure'),
  'database-read-latency': ticket('database-under-pressure'),
  'database-write-latency': ticket('database-under-pressure'),
  // Migrations and the daily partition maintenance: tickets. The horizon alarm fires with weeks of
  // partitions left (partitionHorizonDays), time enough for working hours.
  'migration-function-errors': ticket('migrations'),
  'migration-needs-attention': ticket('migrations'),
  'partition-horizon-low': ticket('partition-maintenance'),
  'partition-default-rows': ticket('partition-maintenance'),
  // The paging itself: each topic's failed deliveries, and EventBridge rules that could not publish,
  // report through another topic than the one that failed (lib/alerting.ts).
  '*-delivery-failed': self('routing'),
  '*-events-undelivered': self('routing'),
};

/** The row of `symptom`: its exact entry, else the one pattern (`x-*` or `*-x`) that matches it. */
export function routingOf(symptom: string): SymptomRouting | undefined {
  const exact = SEVERITY_TABLE[symptom];
  if (exact) return exact;
  const matches = Object.entries(SEVERITY_TABLE).filter(([key]) =>
    key.endsWith('*')
      ? symptom.startsWith(key.slice(0, -1))
      : key.startsWith('*') && symptom.endsWith(key.slice(1)),
  );
  return matches.length === 1 ? matches[0][1] : undefined;
}

/** Absolute link to a runbook section, clickable from a notification. */
export function runbookLink(repositoryUrl: string, ref: string, anchor: string): string {
  return `${repositoryUrl}/blob/${ref}/docs/runbooks.md#${anchor}`;
}
