/** Sleeps and tells the time; replaced by a fake in tests so nothing waits for real. */
export interface Clock {
  now(): number;
  /** Resolves after `ms`, or at once (without waiting) when `signal` aborts first. */
  sleep(ms: number, signal?: AbortSignal): Promise<void>;
}

export const systemClock: Clock = {
  now: () => Date.now(),
  sleep: (ms, signal) =>
    new Promise((resolve) => {
      if (signal?.aborted) return resolve();
      const timer = setTimeout(resolve, ms);
      signal?.addEventListener('abort', () => {
        clearTimeout(timer);
        resolve();
      });
    }),
};

/** Bounds of one AWS call: each attempt, the step as a whole, and the backoff between attempts. */
export interface RetryPolicy {
  /** Longest one attempt may take before it is abandoned (and retried), in milliseconds. */
  readonly attemptTimeoutMs: number;
  /** Longest the step may take over all its attempts, in milliseconds. */
  readonly stepBudgetMs: number;
  /** Delay before the second attempt; doubles per attempt (with jitter), capped at `maxDelayMs`. */
  readonly baseDelayMs: number;
  readonly maxDelayMs: number;
}

/**
 * An unanswered ECS call is abandoned after 10 s and retried; a step gives up after 30 s. ECS
 * throttling clears within seconds, and the run must keep time to report.
 */
export const DEFAULT_RETRY: RetryPolicy = {
  attemptTimeoutMs: 10_000,
  stepBudgetMs: 30_000,
  baseDelayMs: 500,
  maxDelayMs: 5000,
};

const THROTTLING = new Set([
  'ThrottlingException',
  'Throttling',
  'TooManyRequestsException',
  'RequestLimitExceeded',
  'ServerException',
  'CallTimeout',
]);

/** Whether an AWS error is worth another attempt: throttling, a timeout, or the service failing on its side. */
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

/** A transient failure that lasted the whole step: says how often it was tried and the last error. */
export class StepFailedError extends Error {
  constructor(
    readonly step: string,
    readonly attempts: number,
    readonly lastError: Error,
    seconds: number,
  ) {
    super(
      `${step}: gave up after ${attempts} attempt(s) in ${seconds} s; last error: ${lastError.name}: ${lastError.message}`,
    );
    this.name = 'StepFailedError';
  }
}

/**
 * Runs `call`, abandoning an attempt after `attemptTimeoutMs` (its signal aborts the request) and
 * retrying retryable errors with capped exponential backoff until the step's own deadline: the
 * earlier of `stepBudgetMs` from now and `deadline`. A permanent error is thrown at once, unchanged.
 * The SDK clients are built with `maxAttempts: 1` so this is the only retry layer.
 */
export async function withRetry<T>(
  step: string,
  call: (signal: AbortSignal) => Promise<T>,
  clock: Clock,
  policy: RetryPolicy = DEFAULT_RETRY,
  deadline = Number.POSITIVE_INFINITY,
  random: () => number = Math.random,
): Promise<T> {
  const started = clock.now();
  const stepDeadline = Math.min(started + policy.stepBudgetMs, deadline);
  let lastError: Error = new Error('no attempt fitted in the time left');
  let attempt = 0;
  while (clock.now() < stepDeadline) {
    attempt++;
    const controller = new AbortController();
    const timer = new AbortController();
    const limit = Math.min(policy.attemptTimeoutMs, stepDeadline - clock.now());
    try {
      const result = await Promise.race([
        call(controller.signal),
        clock.sleep(limit, timer.signal).then(() => {
          throw Object.assign(new Error(`no answer within ${Math.round(limit / 1000)} s`), {
            name: 'CallTimeout',
          });
        }),
      ]);
      timer.abort();
      return result;
    } catch (err) {
      timer.abort();
      controller.abort();
      if (!isRetryable(err)) throw err;
      lastError = err as Error;
      const ceiling = Math.min(policy.maxDelayMs, policy.baseDelayMs * 2 ** (attempt - 1));
      // Half fixed, half random: spreads retries from concurrent callers without ever retrying at once.
      const delay = ceiling / 2 + (random() * ceiling) / 2;
      if (clock.now() + delay >= stepDeadline) break;
      await clock.sleep(delay);
    }
  }
  throw new StepFailedError(step, attempt, lastError, Math.round((clock.now() - started) / 1000));
}
