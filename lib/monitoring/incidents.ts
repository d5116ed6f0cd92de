import { IncidentClass } from './time-to-page';

/**
 * The incident classes and their bounds in production: the cases, as data. The model
 * (lib/monitoring/time-to-page.ts) computes each worst case from the synthesized template, a test
 * fails when one exceeds its bound (test/monitoring/time-to-page.test.ts), and the table in
 * docs/runbooks.md "Time to page" is generated from the same results.
 *
 * Bounds: anything that stops or endangers trading pages within 5 minutes (a race lasts minutes;
 * the bot trades real money unattended); the emergency stop's own failure within 3 (every minute
 * of a failed stop leaves bets open); what does not touch the money within 15.
 */
export const INCIDENT_CLASSES: readonly IncidentClass[] = [
  {
    id: 'bot-crash-at-start',
    title: 'Bot crashes at start',
    boundMinutes: 5,
    why: 'No trading at all',
    route: 'page',
    combine: 'any',
    paths: [
      // A container that exits at start is replaced within about a minute.
      { alarm: 'bot-crash-loop', signal: { kind: 'events', everyMinutes: 1 } },
      { alarm: 'bot-tasks-below-desired', signal: { kind: 'level' } },
      { alarm: 'bot-silent', signal: { kind: 'missing' } },
    ],
  },
  {
    id: 'bot-slow-crash-loop',
    title: 'Bot in a slow crash loop (each task lives a couple of minutes)',
    boundMinutes: 5,
    why: 'Trading in fits, each restart a new session and state',
    route: 'page',
    combine: 'any',
    paths: [{ alarm: 'bot-crash-loop', signal: { kind: 'events', everyMinutes: 3 } }],
  },
  {
    id: 'betfair-session-expired',
    title: 'Bot alive, Betfair session expired',
    boundMinutes: 5,
    why: 'No bets can be placed or cancelled',
    route: 'page',
    combine: 'any',
    paths: [{ alarm: 'betfair-session-unhealthy', signal: { kind: 'level' } }],
  },
  {
    id: 'prices-stale',
    title: 'Prices stale while markets are eligible',
    boundMinutes: 5,
    why: 'Bets on wrong prices',
    route: 'page',
    combine: 'any',
    paths: [
      {
        alarm: 'market-data-stale',
        // Prices age one second per second: the threshold itself is time after the last price.
        signal: { kind: 'level', delayMinutes: (alarm) => Number(alarm.Threshold) / 60 },
      },
    ],
  },
  {
    id: 'config-unreadable',
    title: "Bot can't read its config (reports live trading off)",
    boundMinutes: 5,
    why: 'No trading, and it looked like a deliberate halt',
    route: 'page',
    combine: 'any',
    paths: [{ alarm: 'trading-flag-off', signal: { kind: 'level' } }],
  },
  {
    id: 'scaled-to-zero',
    title: 'Bot scaled to zero by accident (live trading meant on)',
    boundMinutes: 5,
    why: 'No trading, and it looked like a deliberate halt',
    route: 'page',
    combine: 'any',
    paths: [
      { alarm: 'bot-scaled-to-zero', signal: { kind: 'level' } },
      { alarm: 'bot-silent', signal: { kind: 'missing' } },
    ],
  },
  {
    id: 'database-down',
    title: 'Database stopped, rebooting or unreachable',
    boundMinutes: 5,
    why: 'The bot records bets and positions there',
    route: 'page',
    combine: 'any',
    paths: [
      { alarm: 'database-connections-dropped', signal: { kind: 'missing' } },
      { alarm: 'database-storage-exhausted', signal: { kind: 'missing' } },
      { rdsEvents: ['availability'] },
      { rdsEvents: ['failure'] },
    ],
  },
  {
    id: 'risk-triggers',
    title: 'Loss, exposure, daily-loss or runaway-betting trigger',
    boundMinutes: 3,
    why: 'Money at risk; the stop runs, a person must know and check it',
    route: 'page',
    combine: 'each',
    mustStayOpen: true,
    paths: [
      { alarm: 'emergency-stop-loss-limit', signal: { kind: 'crossing' } },
      { alarm: 'emergency-stop-exposure', signal: { kind: 'crossing' } },
      { alarm: 'emergency-stop-daily-loss', signal: { kind: 'crossing' } },
      { alarm: 'emergency-stop-runaway-betting', signal: { kind: 'crossing' } },
    ],
  },
  {
    id: 'stop-failed',
    title: 'Emergency stop failed or incomplete',
    boundMinutes: 3,
    why: 'Bets may be open with nobody stopping them',
    route: 'page',
    combine: 'each',
    mustStayOpen: true,
    paths: [
      { alarm: 'emergency-stop-failed', signal: { kind: 'function-error' } },
      { alarm: 'emergency-stop-undelivered', signal: { kind: 'crossing' } },
    ],
  },
  {
    id: 'ml-5xx',
    title: 'ml-service answers 5xx (at low traffic too)',
    boundMinutes: 15,
    why: 'Predictions fail; the bot bets less, money is not at risk',
    route: 'page',
    combine: 'any',
    paths: [{ alarm: 'ml-5xx', signal: { kind: 'level' } }],
  },
  {
    id: 'bot-deployment-failing',
    title: 'An ECS deployment of the bot failing',
    boundMinutes: 5,
    why: 'Its new tasks crash: no trading until ECS rolls back',
    route: 'page',
    combine: 'any',
    paths: [
      { alarm: 'bot-crash-loop', signal: { kind: 'events', everyMinutes: 1 } },
      // ECS's own verdict (circuit breaker or deployment alarm) is a ticket: the old version runs on.
      { ecsEvent: 'SERVICE_DEPLOYMENT_FAILED', route: 'ticket' },
    ],
  },
  {
    id: 'lambda-timeout',
    title: 'An operations Lambda times out (stop, rollback)',
    boundMinutes: 3,
    why: 'The operation did not finish; a person must finish it',
    route: 'page',
    combine: 'each',
    paths: [
      { alarm: 'emergency-stop-failed', signal: { kind: 'function-error' } },
      { alarm: 'rollback-function-errors', signal: { kind: 'function-error' } },
      { alarm: 'rollback-ml-service-function-errors', signal: { kind: 'function-error' } },
      // Dry runs and migrations: their caller sees the error; a ticket.
      { alarm: 'rollback-plan-function-errors', signal: { kind: 'function-error' }, route: 'ticket' },
      { alarm: 'migration-function-errors', signal: { kind: 'function-error' }, route: 'ticket' },
    ],
  },
  {
    id: 'pager-delivery-failing',
    title: 'Pager delivery failing',
    boundMinutes: 5,
    why: 'Every other page may be reaching nobody',
    route: 'fallback',
    combine: 'any',
    paths: [{ alarm: 'page-delivery-failed', signal: { kind: 'crossing' } }],
  },
];
