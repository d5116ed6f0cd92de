/**
 * Time budgets of the emergency stop, in milliseconds. The three independent steps run at once, each
 * under its own limit; the notification follows. The function's timeout (lib/emergency-stop.ts) is
 * derived from these, so a hung dependency fails its step instead of the whole invocation.
 */
export interface Budget {
  readonly tradingFlagMs: number;
  readonly scaleBotMs: number;
  readonly cancelBetsMs: number;
  readonly betfairRequestMs: number;
  readonly notifyMs: number;
  readonly logoutGraceMs: number;
  readonly matcherBackoffMs: readonly number[];
}

export const BUDGET: Budget = {
  /** Read the config secret, write `live_trading_enabled: false`. */
  tradingFlagMs: 10_000,
  /** ECS UpdateService on the bot. */
  scaleBotMs: 10_000,
  /** Betfair: read credentials, log in, cancel all, list what is left (logout is not waited for). */
  cancelBetsMs: 40_000,
  /** One Betfair HTTP request; Betfair itself times out orders after 5 s. */
  betfairRequestMs: 8_000,
  /** SNS publish of the outcome. */
  notifyMs: 10_000,
  /**
   * How much longer than the notification the run waits for the Betfair logout's answer. The stop
   * is complete by then and the logout request is under way; a session it does not end expires on
   * its own, so the function returns instead of holding on for a housekeeping answer.
   */
  logoutGraceMs: 0,
  /**
   * Waits between cancel-all attempts rejected with ERROR_IN_MATCHER (another cancel-all is still
   * running at Betfair). Bounded: after the last one the step reports the rejection.
   */
  matcherBackoffMs: [250, 500, 1_000, 2_000, 4_000],
};

/** Longest a run can take: the slowest concurrent step, then the notification (the logout overlaps it). */
export const WORST_CASE_RUN_MS =
  Math.max(BUDGET.tradingFlagMs, BUDGET.scaleBotMs, BUDGET.cancelBetsMs) +
  BUDGET.notifyMs +
  BUDGET.logoutGraceMs;
