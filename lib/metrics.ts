/**
 * The custom metrics the bot publishes (CloudWatch namespace `CleverBetter`, no dimensions: each
 * environment has its own account). docs/metrics.md is the contract for the bot's authors; the
 * alarms of the emergency stop, the deployment rollback and monitoring read these names.
 */
export const BOT_METRICS = {
  namespace: 'CleverBetter',
  /** Count: one per bet placed on Betfair (value 1 per bet, or N per batch). */
  betsPlaced: 'BetsPlaced',
  /** Account currency: profit of each settled bet, negative for a loss. Summed over a window. */
  netProfit: 'NetProfit',
  /** Count: one per error the bot handles or logs at ERROR. */
  errors: 'Errors',
} as const;
