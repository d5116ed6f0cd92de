import { RetryPolicy } from './retry';

/**
 * Time budgets of the emergency stop, in milliseconds. The three independent steps run at once, each
 * under its own deadline, retrying transient failures until that deadline (lambda/emergency-stop/retry.ts);
 * the notification follows. The function's timeout ({@link FUNCTION_TIMEOUT_SECONDS}, used by
 * lib/emergency-stop.ts) is derived from these, so a hung dependency fails its step instead of the
 * whole invocation. Exported as data: other checks read them (docs/emergency-stop.md "Timeouts").
 */
export interface Budget {
  /** Read the config secret, write `live_trading_enabled: false`. @default 10 000 ms */
  readonly tradingFlagMs: number;
  /** ECS UpdateService on the bot (and, after a timeout, DescribeServices). @default 10 000 ms */
  readonly scaleBotMs: number;
  /** Betfair: read credentials, log in, list, cancel all, check (logout is not waited for). @default 40 000 ms */
  readonly cancelBetsMs: number;
  /** SNS publish of the outcome. @default 10 000 ms */
  readonly notifyMs: number;
  /**
   * Part of the Betfair step kept for the check with listCurrentOrders, in milliseconds: the
   * cancel-all is retried only until this much of the step is left, so a cancel that keeps failing
   * still ends in a report of what is open. @default 10 000 ms
   */
  readonly checkReserveMs: number;
  /** AWS calls (Secrets Manager, ECS, SNS): the first attempt's deadline and the waits between attempts. */
  readonly aws: RetryPolicy;
  /** Betfair calls: the first attempt's deadline and the waits between attempts. */
  readonly betfair: RetryPolicy;
  /**
   * How much longer than the notification the run waits for the Betfair logout's answer, in
   * milliseconds. The stop is complete by then and the logout request is under way; a session it
   * does not end expires on its own, so the function returns instead of holding on for a
   * housekeeping answer. @default 0
   */
  readonly logoutGraceMs: number;
}

export const BUDGET: Budget = {
  tradingFlagMs: 10_000,
  scaleBotMs: 10_000,
  cancelBetsMs: 40_000,
  notifyMs: 10_000,
  checkReserveMs: 10_000,
  /**
   * An AWS API answers in well under a second: a first attempt of 2 s abandons a hung connection
   * quickly; then 4 s, then the rest of the step (retry.ts `attemptMs`). The SDK's own retries are
   * off (`maxAttempts: 1`, index.ts): these replace them.
   */
  aws: { firstAttemptMs: 2_000, baseDelayMs: 100, maxDelayMs: 2_000 },
  /**
   * Betfair times out an order instruction after 5 s itself, so a first attempt of 5 s, then 10 s,
   * then the rest. Waits start at 250 ms: a cancel-all refused with ERROR_IN_MATCHER needs the
   * other cancel-all to finish first.
   */
  betfair: { firstAttemptMs: 5_000, baseDelayMs: 250, maxDelayMs: 4_000 },
  logoutGraceMs: 0,
};

/** Longest a run can take: the slowest concurrent step, then the notification (the logout overlaps it). */
export function worstCaseRunMs(budget: Budget): number {
  return (
    Math.max(budget.tradingFlagMs, budget.scaleBotMs, budget.cancelBetsMs) +
    budget.notifyMs +
    budget.logoutGraceMs
  );
}

export const WORST_CASE_RUN_MS = worstCaseRunMs(BUDGET);

/**
 * Lambda's timeout for the function, in seconds: the worst case plus 10 s for the cold start (the
 * bundle loads and the clients are built before the first step's clock starts) and the handler's
 * own work around the steps.
 */
export const FUNCTION_TIMEOUT_SECONDS = Math.ceil(WORST_CASE_RUN_MS / 1000) + 10;
