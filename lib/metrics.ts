/**
 * The custom metrics the bot publishes (CloudWatch namespace `CleverBetter`, no dimensions: each
 * environment has its own account). docs/metrics.md is the contract for the bot's authors; the
 * alarms of the emergency stop, the deployment rollback and monitoring read these names.
 */
export const BOT_METRICS = {
  namespace: 'CleverBetter',
  /** Count: bets placed in each minute, published every minute while the bot runs (0 included). */
  betsPlaced: 'BetsPlaced',
  /** Account currency: profit of each settled bet, negative for a loss. Summed over a window. */
  netProfit: 'NetProfit',
  /** Count: one per error the bot handles or logs at ERROR. */
  errors: 'Errors',
  /**
   * Gauge, account currency, published every minute while the bot runs: the open liability, what
   * the account loses if every matched, unsettled bet loses (backer's stake, layer's liability),
   * plus the liability of its unmatched bets. 0 when nothing is open.
   */
  openLiability: 'OpenLiability',
  /**
   * Gauge, account currency, published every minute while the bot runs: profit of the bets settled
   * since midnight Europe/London (the trading day), negative for a loss; back to 0 at midnight.
   */
  realisedPnlToday: 'RealisedPnLToday',
} as const;

/** How often the bot publishes its gauges (`OpenLiability`, `RealisedPnLToday`, `BetsPlaced`), in seconds. */
export const GAUGE_PUBLISH_INTERVAL_SECONDS = 60;
