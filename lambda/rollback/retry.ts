/** Sleeps and tells the time; replaced by a fake in tests so nothing waits for real. */
export interface Clock {
  now(): number;
  sleep(ms: number): Promise<void>;
}

export const systemClock: Clock = {
  now: () => Date.now(),
  sleep: (ms) => new Promise((resolve) => setTimeout(resolve, ms)),
};

/** Retry bounds for throttled or transient AWS errors. */
export interface RetryPolicy {
  /** Attempts in total, the first included. */
  readonly maxAttempts: number;
  /** Delay before the second attempt; doubles per attempt (with jitter), capped at `maxDelayMs`. */
  readonly baseDelayMs: number;
  readonly maxDelayMs: number;
}

/** Six attempts over at most about 15 s: ECS throttling clears within seconds. */
export const DEFAULT_RETRY: RetryPolicy = { maxAttempts: 6, baseDelayMs: 500, maxDelayMs: 5000 };

const THROTTLING = new Set([
  'ThrottlingException',
  'Throttling',
  'TooManyRequestsException',
  'RequestLimitExceeded',
  'ServerException',
]);

/** Whether an AWS error is worth another attempt: throttling, or the service failing on its side. */
export function isRetryable(err: unknown): boolean {
  if (typeof err !== 'object' || err === null) return false;
  const e = err as { name?: string; $retryable?: unknown; $metadata?: { httpStatusCode?: number } };
  return (
    THROTTLING.has(e.name ?? '') ||
    e.$retryable !== undefined ||
    (e.$metadata?.httpStatusCode ?? 0) >= 500 ||
    e.$metadata?.httpStatusCode === 429
  );
}

/**
 * Runs `call`, retrying retryable errors with capped exponential backoff. The SDK clients are built
 * with `maxAttempts: 1` so this is the only retry layer and the total number of attempts is bounded.
 */
export async function withRetry<T>(
  call: () => Promise<T>,
  clock: Clock,
  policy: RetryPolicy = DEFAULT_RETRY,
  random: () => number = Math.random,
): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await call();
    } catch (err) {
      if (attempt >= policy.maxAttempts || !isRetryable(err)) throw err;
      const ceiling = Math.min(policy.maxDelayMs, policy.baseDelayMs * 2 ** (attempt - 1));
      // Half fixed, half random: spreads retries from concurrent callers without ever retrying at once.
      await clock.sleep(ceiling / 2 + (random() * ceiling) / 2);
    }
  }
}
