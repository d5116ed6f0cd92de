import { RetryPolicy } from './retry';

/**
 * Time budgets of the emergency stop, in milliseconds. The three independent steps run at once, each
 * under its own deadline, retrying transient failures until that deadline (lambda/emergency-stop/retry.ts);
 * the notification follows. The function's timeout (lib/emergency-stop.ts) is derived from these,
 * so a hung dependency fails its step instead of the whole invocation.
 */
export interface Budget {
  readonly tradingFlagMs: number;
  readonly scaleBotMs: number;
  readonly cancelBetsMs: number;
  readonly notifyMs: number;
  /**
   * Part of the Betfair step kept for the check with listCurrentOrders: the cancel-all is retried
   * only until this much of the step is left, so a cancel that keeps failing still ends in a report
   * of what is open.
   */
  readonly checkReserveMs: number;
  /** AWS calls (Secrets Manager, ECS, SNS): one request's deadline and the waits between attempts. */
  readonly aws: RetryPolicy;
  /** Betfair calls: one request's deadline and the waits between attempts. */
  readonly betfair: RetryPolicy;
  readonly logoutGraceMs: number;
}

export const BUDGET: Budget = {
  /** Read the config secret, write `live_trading_enabled: false`. */
  tradingFlagMs: 10_000,
  /** ECS UpdateService on the bot. */
  scaleBotMs: 10_000,
  /** Betfair: read credentials, log in, list, cancel all, check (logout is not waited for). */
  cancelBetsMs: 40_000,
  /** SNS publish of the outcome. */
  notifyMs: 10_000,
  checkReserveMs: 10_000,
  /**
   * An AWS API answers in well under a second; 2 s leaves a 10 s step room for three hung requests and their waits.
   * The SDK's own retries are off (`maxAttempts: 1`, index.ts): these waits replace them.
   */
  aws: { requestMs: 2_000, baseDelayMs: 100, maxDelayMs: 2_000 },
  /**
   * Betfair times out an order instruction after 5 s itself. Waits start at 250 ms: a cancel-all
   * refused with ERROR_IN_MATCHER needs the other cancel-all to finish first.
   */
  betfair: { requestMs: 5_000, baseDelayMs: 250, maxDelayMs: 4_000 },
  /**
   * How much longer than the notification the run waits for the Betfair logout's answer. The stop
   * is complete by then and the logout request is under way; a session it does not end expires on
   * its own, so the function returns instead of holding on for a housekeeping answer.
   */
  logoutGraceMs: 0,
};

/** Longest a run can take: the slowest concurrent step, then the notification (the logout overlaps it). */
export const WORST_CASE_RUN_MS =
  Math.max(BUDGET.tradingFlagMs, BUDGET.scaleBotMs, BUDGET.cancelBetsMs) +
  BUDGET.notifyMs +
  BUDGET.logoutGraceMs;
