import { isServerError, isThrottlingError, isTransientError } from '@smithy/core/retry';
import { BetfairError } from './betfair';
import { errorMessage, TimeoutError } from './time';

/**
 * Whether sending the same request again may succeed. Transient: Betfair's HTTP 5xx / 429,
 * connection resets and refusals, a request that timed out, `SERVICE_BUSY`, `TOO_MANY_REQUESTS`,
 * `TIMEOUT_ERROR`, `ERROR_IN_MATCHER`, a 200 answer that is not JSON (a maintenance page) and an
 * answer of the wrong shape; AWS throttling, 5xx and network errors (the AWS SDK's own
 * classification, `@smithy/core/retry`). Everything else is permanent: bad credentials,
 * `INVALID_APP_KEY`, `ACCOUNT_NOW_LOCKED`, AccessDenied, a missing secret or service, a malformed
 * secret. Asking again would get the same answer, so the step stops at once and says so.
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
  /**
   * Deadline of a call's first attempt, in milliseconds: a hung connection is abandoned after this
   * long. Each later attempt gets twice the time of the one before, and the last attempt all the
   * time the step has left ({@link attemptMs}).
   */
  readonly firstAttemptMs: number;
  /** Wait after the first failure, in milliseconds; doubles on each further one. */
  readonly baseDelayMs: number;
  /** Longest wait between two attempts, in milliseconds. */
  readonly maxDelayMs: number;
}

/**
 * How slow one dependency (Secrets Manager, ECS, SNS, Betfair) has shown itself in this run: the
 * rung of the timeout ladder its calls start on. An attempt that timed out on rung n moves it to
 * n + 1, for every later call to the same dependency too: a service that needed 9 s for one answer
 * is not asked to answer the next within 5 s. It never moves down within a run (a run lasts a minute).
 */
export interface Pace {
  rung: number;
}

/**
 * THE timeout rule, for AWS and Betfair alike: the deadline of an attempt on `rung` when
 * `remainingMs` are left before the operation's deadline. Attempt n gets `firstAttemptMs × 2^n`;
 * when what would be left after it is less than the next attempt would get, it is the last
 * attempt and gets all of `remainingMs`. So a first attempt is short (a hung connection is
 * abandoned quickly), and a dependency that answers within the time the operation has left is
 * always waited for.
 */
export function attemptMs(policy: RetryPolicy, rung: number, remainingMs: number): number {
  const ms = policy.firstAttemptMs * 2 ** Math.min(rung, 20);
  if (remainingMs - ms < 2 * ms) return Math.max(0, Math.floor(remainingMs));
  return ms;
}

/** What a step's requests did: reported per step. Shared by every call of the step. */
export interface AttemptLog {
  /** Requests sent, retries and checks included. */
  attempts: number;
  /** The last failure seen, even if a later attempt succeeded (`<operation>: <error>`). */
  lastError?: string;
  /** Set when a permanent error ended the step: it was not retried. */
  permanent?: boolean;
  /**
   * Requests that timed out at the client but that a check showed had been applied
   * (`UpdateService: DescribeServices shows desiredCount 0`): "applied late", not "failed".
   */
  appliedLate?: string[];
  /**
   * Requests that may have been applied, whose outcome nobody saw: they timed out at the client
   * and no check could read the state before the step ended. Cleared when the operation succeeds.
   */
  unanswered?: Record<string, number>;
}

/** What {@link retry} needs from its step. */
export interface RetryContext {
  /** The operation's deadline: aborts waits and requests when it arrives. */
  readonly signal: AbortSignal;
  /** `performance.now()` at which `signal` aborts: what the last attempt may use. */
  readonly deadlineAt: number;
  readonly log: AttemptLog;
  /** Waits between attempts; tests pass an instant one. */
  readonly sleep: (ms: number, signal: AbortSignal) => Promise<void>;
  /** Jitter source in [0, 1). @default Math.random */
  readonly random?: () => number;
}

/**
 * How to tell whether a request that timed out at the client was applied anyway: reads the state
 * it sets (the desired count, the secret's current version, the open orders).
 */
export interface AppliedCheck<T> {
  /** The read, for the report (`DescribeServices`). */
  readonly operation: string;
  /**
   * Reads the state. Returns the value the request would have returned when it is in place (and
   * a line saying what showed it), undefined when it is not: the request is then sent again.
   */
  readonly read: (signal: AbortSignal) => Promise<{ value: T; evidence: string } | undefined>;
}

export interface RetryOptions<T> {
  /** The dependency's pace, shared by its calls in this run. @default a fresh one */
  readonly pace?: Pace;
  /** For requests that change state: checked before the request is repeated after a timeout. */
  readonly check?: AppliedCheck<T>;
}

type Settled<T> = { readonly value: T; readonly late?: string } | { readonly error: unknown };

/**
 * Sends `call` until it succeeds, a permanent error arrives, or the context's signal aborts (its
 * deadline): there is no attempt count, because a stop with time left must not give up.
 *
 * - Each attempt's deadline comes from {@link attemptMs} on the dependency's {@link Pace}.
 * - An attempt that timed out is not torn down: it may still answer, and its answer is taken if it
 *   comes first, until the operation ends. So a slow answer is never wasted.
 * - After a timeout, a request with a {@link AppliedCheck} is checked before it is sent again: if
 *   its effect is in place, the result is that, reported as "applied late".
 * - Waits between attempts grow exponentially with "equal jitter" (half fixed, half random: AWS
 *   Architecture Blog, "Exponential Backoff And Jitter"), so concurrent runs spread out but never
 *   hammer a busy service.
 * - A permanent error is rethrown at once, marked in `log`.
 */
export async function retry<T>(
  operation: string,
  policy: RetryPolicy,
  ctx: RetryContext,
  call: (signal: AbortSignal) => Promise<T>,
  options: RetryOptions<T> = {},
): Promise<T> {
  const random = ctx.random ?? Math.random;
  const pace = options.pace ?? { rung: 0 };
  const { check } = options;
  // Every attempt's requests are torn down when the operation ends, however it ends.
  const done = new AbortController();
  const onAbort = () => done.abort(ctx.signal.reason);
  ctx.signal.addEventListener('abort', onAbort, { once: true });
  // Attempts that timed out but may still answer.
  const late: Promise<Settled<T>>[] = [];
  let rung = 0;
  let checking = false;
  try {
    for (let failures = 0; ;) {
      if (ctx.signal.aborted) throw ctx.signal.reason;
      rung = Math.max(rung, pace.rung);
      const ms = attemptMs(policy, rung, ctx.deadlineAt - performance.now());
      const name = checking && check ? check.operation : operation;
      ctx.log.attempts++;
      const sent: Promise<Settled<T>> =
        checking && check
          ? settle(() => check.read(done.signal)).then(
              (found) =>
                found
                  ? { value: found.value, late: `${operation}: ${found.evidence}` }
                  : { error: NOT_APPLIED },
              (error: unknown) => ({ error }),
            )
          : settle(() => call(done.signal)).then(
              (value) => ({ value }),
              (error: unknown) => ({ error }),
            );
      const outcome = await first(sent, late, ms, ctx.signal);
      if (outcome === 'timeout') {
        const timeout = new TimeoutError(name, ms);
        ctx.log.lastError = `${name}: ${timeout.message}`;
        if (!checking) {
          // Its answer, if it comes while a later attempt is under way, is the result: said so.
          late.push(
            sent.then((s) =>
              'value' in s
                ? { ...s, late: `${operation}: answered after its attempt's ${ms} ms deadline` }
                : s,
            ),
          );
          ctx.log.unanswered = { ...ctx.log.unanswered, [operation]: late.length };
        }
        pace.rung = Math.max(pace.rung, rung + 1);
        rung++;
        checking = !!check;
      } else if ('value' in outcome) {
        if (ctx.log.unanswered) delete ctx.log.unanswered[operation];
        if (outcome.late) (ctx.log.appliedLate ??= []).push(outcome.late);
        return outcome.value;
      } else if (outcome.error === NOT_APPLIED) {
        // The check read the state: not in place, so the request is sent again at once.
        checking = false;
        continue;
      } else {
        if (ctx.signal.aborted) throw ctx.signal.reason;
        ctx.log.lastError = `${name}: ${errorMessage(outcome.error)}`;
        if (classify(outcome.error) === 'permanent') {
          // A check that cannot read (no right to) does not end the step: the request is idempotent.
          if (!checking) {
            ctx.log.permanent = true;
            throw outcome.error;
          }
          checking = false;
        }
      }
      const cap = Math.min(policy.maxDelayMs, policy.baseDelayMs * 2 ** Math.min(failures, 20));
      failures++;
      await ctx.sleep(Math.round(cap / 2 + (random() * cap) / 2), ctx.signal);
    }
  } finally {
    ctx.signal.removeEventListener('abort', onAbort);
    done.abort(new Error(`${operation} ended`));
  }
}

/** `fn()` as a promise, also when it throws or returns a plain value (a mocked client may). */
async function settle<T>(fn: () => Promise<T> | T): Promise<T> {
  return fn();
}

/** A check's "not in place", told apart from its errors. */
const NOT_APPLIED = Symbol('not applied');

/**
 * The first of: `sent` settling, a late attempt answering successfully, `ms` passing ('timeout'),
 * `signal` aborting (rejects with its reason). A late attempt that fails is ignored: the current
 * attempt speaks for the operation.
 */
function first<T>(
  sent: Promise<Settled<T>>,
  late: readonly Promise<Settled<T>>[],
  ms: number,
  signal: AbortSignal,
): Promise<Settled<T> | 'timeout'> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => finish(() => resolve('timeout')), ms);
    const onAbort = () => finish(() => reject(signal.reason));
    let over = false;
    function finish(settle: () => void) {
      if (over) return;
      over = true;
      clearTimeout(timer);
      signal.removeEventListener('abort', onAbort);
      settle();
    }
    if (signal.aborted) return onAbort();
    signal.addEventListener('abort', onAbort, { once: true });
    void sent.then((s) => finish(() => resolve(s)));
    for (const p of late) void p.then((s) => 'value' in s && finish(() => resolve(s)));
  });
}
