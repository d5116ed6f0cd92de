/**
 * What the monitoring reads from the bot's log group `/ecs/clever-better-bot` (docs/metrics.md,
 * "Log contract"). The bot logs Betfair error codes verbatim, so these metric filters can count them.
 */

/** Namespace of the metrics monitoring derives from logs and events (the bot publishes to `CleverBetter`). */
export const MONITORING_NAMESPACE = 'CleverBetter/Monitoring';

/** The metrics the metric filters publish. */
export const LOG_METRICS = {
  /** Lines matching the guide's `--filter-pattern "ERROR"`. */
  botErrorLines: 'BotErrorLogLines',
  /** Lines with a Betfair authentication error code. */
  betfairAuthFailures: 'BetfairAuthFailures',
  /** Lines with a Betfair rate-limit error code. */
  betfairRateLimited: 'BetfairRateLimited',
  /** ECS tasks of the bot that failed to start or whose container exited by itself. */
  botFailedTasks: 'BotFailedTasks',
  /** ECS tasks of ml-service that failed to start or whose container exited by itself. */
  mlFailedTasks: 'MlFailedTasks',
} as const;

/**
 * Betfair codes that mean the bot is not (or no longer) logged in: API-NG session and app-key errors,
 * Stream API authentication errors, and login (`certlogin`) statuses other than SUCCESS.
 * `INVALID_SESSION_INFORMATION` and `INVALID_SESSION_TOKEN` both appear in Betfair's documentation.
 */
export const BETFAIR_AUTH_ERROR_CODES: readonly string[] = [
  'INVALID_SESSION_INFORMATION',
  'INVALID_SESSION_TOKEN',
  'NO_SESSION',
  'NOT_AUTHORIZED',
  'INVALID_APP_KEY',
  'NO_APP_KEY',
  'INVALID_USERNAME_OR_PASSWORD',
  'CERT_AUTH_REQUIRED',
  'LOGIN_RESTRICTED',
  'ACCOUNT_NOW_LOCKED',
  'ACCOUNT_ALREADY_LOCKED',
  // Login refused after too many attempts (Betfair caps logins at 100 a minute).
  'TEMPORARY_BAN_TOO_MANY_REQUESTS',
];

/** Betfair codes that mean a request was refused for its rate or weight. */
export const BETFAIR_RATE_LIMIT_CODES: readonly string[] = [
  'TOO_MANY_REQUESTS',
  'TOO_MUCH_DATA',
  'EXCEEDED_THROTTLE',
  'MAX_CONNECTION_LIMIT_EXCEEDED',
  'SUBSCRIPTION_LIMIT_EXCEEDED',
];

/** The guide's `aws logs tail /ecs/clever-better-bot --filter-pattern "ERROR"`, unchanged. */
export const ERROR_LINE_PATTERN = 'ERROR';

/**
 * A CloudWatch Logs filter pattern matching a line that contains any of `codes`. Unquoted terms may
 * hold letters, digits and underscores, which is all Betfair codes use.
 */
export function anyTermPattern(codes: readonly string[]): string {
  for (const code of codes) {
    if (!/^[A-Za-z0-9_]+$/.test(code)) throw new Error(`"${code}" is not a plain filter-pattern term`);
  }
  return codes.map((c) => `?${c}`).join(' ');
}
