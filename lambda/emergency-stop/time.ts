/** Raised when a step or request exceeds its budget. */
export class TimeoutError extends Error {
  constructor(
    readonly label: string,
    readonly ms: number,
  ) {
    super(`${label} timed out after ${ms} ms`);
    this.name = 'TimeoutError';
  }
}

/**
 * Runs `work` with a deadline. On expiry the returned promise rejects with a {@link TimeoutError}
 * and `work`'s signal aborts, so its in-flight requests are torn down rather than left running.
 */
export async function withTimeout<T>(
  label: string,
  ms: number,
  work: (signal: AbortSignal) => Promise<T>,
): Promise<T> {
  const controller = new AbortController();
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<never>((_, reject) => {
    timer = setTimeout(() => {
      const err = new TimeoutError(label, ms);
      controller.abort(err);
      reject(err);
    }, ms);
  });
  try {
    return await Promise.race([work(controller.signal), deadline]);
  } finally {
    clearTimeout(timer);
  }
}

/** Waits `ms`, or rejects as soon as `signal` aborts. */
export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) return reject(signal.reason);
    const timer = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    const onAbort = () => {
      clearTimeout(timer);
      reject(signal!.reason);
    };
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}

/**
 * The message of anything thrown, for reports. AWS errors keep their name (ThrottlingException,
 * AccessDeniedException, …), which says more than their message; this function's own errors are
 * worded to stand alone.
 */
export function errorMessage(err: unknown): string {
  if (!(err instanceof Error)) return String(err);
  const aws = '$metadata' in err || /Exception$/.test(err.name);
  return aws ? `${err.name}: ${err.message}` : err.message;
}
