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
  /** 1 or 0 every minute: the `live_trading_enabled` value the bot read at run time (0 when unreadable). */
  liveTradingEnabled: 'LiveTradingEnabled',
  /** 1 or 0 every minute: the bot holds a Betfair session that its last call accepted. */
  betfairSessionHealthy: 'BetfairSessionHealthy',
  /** Seconds every minute: age of the newest market data (prices) the bot received. */
  marketDataAgeSeconds: 'MarketDataAgeSeconds',
  /** Count every minute: markets open now that the bot's strategies would bet on. */
  eligibleMarkets: 'EligibleMarkets',
} as const;

/**
 * The emergency stop's own marker (namespace `CleverBetter/EmergencyStop`, no dimensions): 1 when a
 * stop starts (lambda/emergency-stop/marker.ts), 0 when `ops resume` restarts trading. The alarm
 * `trading-halted` reads it with missing data ignored, so it stays in ALARM from the stop to the
 * resume, and it alone suppresses the symptoms a stop causes: a bot that reports its flag off for any
 * other reason (its config unreadable, an edit by hand) is an incident, not a halt.
 */
export const STOP_MARKER = {
  namespace: 'CleverBetter/EmergencyStop',
  metricName: 'HaltedByStop',
} as const;

/** How often the bot publishes its gauges (`OpenLiability`, `RealisedPnLToday`, `BetsPlaced`), in seconds. */
export const GAUGE_PUBLISH_INTERVAL_SECONDS = 60;

/**
 * How often each metric an alarm reads gets a data point, in seconds: an alarm's evaluation range
 * must cover it, or a healthy system looks like a silent one (test/monitoring-coverage.test.ts).
 * Keyed `<namespace>/<metricName>`, or `<namespace>/*` for a whole namespace.
 */
export const PUBLISHING_INTERVAL_SECONDS: Readonly<Record<string, number>> = {
  // The bot publishes every metric of its contract once a minute (docs/metrics.md).
  'CleverBetter/*': 60,
  // Metric filters and EventBridge-derived counts: as events happen (minute resolution).
  'CleverBetter/Monitoring/*': 60,
  'AWS/ApplicationELB/*': 60,
  'ECS/ContainerInsights/*': 60,
  'AWS/ECS/*': 60,
  'AWS/RDS/*': 60,
  'AWS/Lambda/*': 60,
  'AWS/Events/*': 60,
  'AWS/SNS/*': 60,
  // Published when a stop starts and when ops resume ends it: an event, read with missing data ignored.
  'CleverBetter/EmergencyStop/*': 60,
  // The migration function reports each run that needs a person as it ends.
  'CleverBetter/Migrations/MigrationNeedsAttention': 60,
  // The daily partition maintenance publishes its horizon and DEFAULT-partition rows once a day.
  'CleverBetter/Migrations/*': 86400,
};
