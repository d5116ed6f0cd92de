import { isServerError, isThrottlingError, isTransientError } from '@smithy/core/retry';
import { BetfairError } from './betfair';
import { errorMessage, TimeoutError, withTimeout } from './time';

/**
 * Whether sending the same request again may succeed. Transient: Betfair's HTTP 5xx / 429,
 * connection resets and refusals, a request that timed out, `SERVICE_BUSY`, `TOO_MANY_REQUESTS`,
 * `ERROR_IN_MATCHER` and a 200 answer that is not JSON (a maintenance page); AWS throttling, 5xx and
 * network errors (the AWS SDK's own classification, `@smithy/core/retry`). Everything else is
 * permanent: bad credentials, `INVALID_APP_KEY`, `ACCOUNT_NOW_LOCKED`, AccessDenied, a missing
 * secret or service, a malformed secret. Asking again would get the same answer, so the step stops
 * at once and says so.
 */
export type FailureKind = 'transient' | 'permanent';

/** AWS error names that mean "the service failed", for SDK errors that carry no HTTP status. */
const AWS_SERVER_ERRORS = new Set([
  'InternalFailure',
  'InternalServiceError',
  'InternalServerError',
  'InternalServiceErrorException',
  'ServerException',
  'ServiceUnavailable',
  'ServiceUnavailableException',
]);

/** Node socket error codes worth another attempt (a fresh connection usually works). */
const NETWORK_CODES = new Set([
  'ECONNRESET',
  'ECONNREFUSED',
  'ECONNABORTED',
  'EPIPE',
  'ETIMEDOUT',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'ENOTFOUND',
  'EAI_AGAIN',
  'UND_ERR_SOCKET',
]);

export function classify(err: unknown): FailureKind {
  if (err instanceof BetfairError) return err.transient ? 'transient' : 'permanent';
  if (err instanceof TimeoutError) return 'transient';
  // Duck-typed: errors raised by Node's own sockets may come from another realm (a test sandbox).
  if (typeof err !== 'object' || err === null) return 'permanent';
  const e = err as Error & { code?: string; $fault?: string; $metadata?: { httpStatusCode?: number } };
  if (e.code && NETWORK_CODES.has(e.code)) return 'transient';
  if (AWS_SERVER_ERRORS.has(e.name) || e.$fault === 'server') return 'transient';
  // The SDK's classification reads `$metadata`, `$retryable`, names and causes.
  if (isThrottlingError(e as never) || isTransientError(e as never) || isServerError(e as never))
    return 'transient';
  return 'permanent';
}

/** How one kind of dependency is retried. */
export interface RetryPolicy {
  /** Deadline of one request, in milliseconds: a hung request is abandoned and sent again. */
  readonly requestMs: number;
  /** Wait after the first transient failure, in milliseconds; doubles on each further one. */
  readonly baseDelayMs: number;
  /** Longest wait between two attempts, in milliseconds. */
  readonly maxDelayMs: number;
}

/** What a step's requests did: reported per step. Shared by every call of the step. */
export interface AttemptLog {
  /** Requests sent, retries included. */
  attempts: number;
  /** The last failure seen, even if a later attempt succeeded (`<operation>: <error>`). */
  lastError?: string;
  /** Set when a permanent error ended the step: it was not retried. */
  permanent?: boolean;
}

/** What {@link retry} needs from its step. */
export interface RetryContext {
  /** The step's deadline: aborts waits and requests when it arrives. */
  readonly signal: AbortSignal;
  readonly log: AttemptLog;
  /** Waits between attempts; tests pass an instant one. */
  readonly sleep: (ms: number, signal: AbortSignal) => Promise<void>;
  /** Jitter source in [0, 1). @default Math.random */
  readonly random?: () => number;
}

/**
 * Sends `call` until it succeeds, a permanent error arrives, or the step's signal aborts (its
 * deadline): there is no attempt count, because a stop with time left must not give up. Each
 * attempt has `policy.requestMs`; waits grow exponentially with "equal jitter" (half fixed, half
 * random: AWS Architecture Blog, "Exponential Backoff And Jitter"), so concurrent runs spread out
 * but never hammer a busy service. A permanent error is rethrown at once, marked in `log`.
 */
export async function retry<T>(
  operation: string,
  policy: RetryPolicy,
  ctx: RetryContext,
  call: (signal: AbortSignal) => Promise<T>,
): Promise<T> {
  const random = ctx.random ?? Math.random;
  for (let failures = 0; ; failures++) {
    if (ctx.signal.aborted) throw ctx.signal.reason;
    ctx.log.attempts++;
    try {
      return await withTimeout(operation, policy.requestMs, call, ctx.signal);
    } catch (err) {
      // The step's deadline: its runner reports it with the last error recorded so far.
      if (ctx.signal.aborted) throw err;
      ctx.log.lastError = `${operation}: ${errorMessage(err)}`;
      if (classify(err) === 'permanent') {
        ctx.log.permanent = true;
        throw err;
      }
      const cap = Math.min(policy.maxDelayMs, policy.baseDelayMs * 2 ** Math.min(failures, 20));
      await ctx.sleep(Math.round(cap / 2 + (random() * cap) / 2), ctx.signal);
    }
  }
}
