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
 * When `parent` aborts first (the step's own deadline), so does `work`, with the parent's reason.
 */
export async function withTimeout<T>(
  label: string,
  ms: number,
  work: (signal: AbortSignal) => Promise<T>,
  parent?: AbortSignal,
): Promise<T> {
  const controller = new AbortController();
  let timer: NodeJS.Timeout | undefined;
  let onParentAbort: (() => void) | undefined;
  const deadline = new Promise<never>((_, reject) => {
    timer = setTimeout(() => {
      const err = new TimeoutError(label, ms);
      controller.abort(err);
      reject(err);
    }, ms);
    if (!parent) return;
    onParentAbort = () => {
      controller.abort(parent.reason);
      reject(parent.reason);
    };
    if (parent.aborted) onParentAbort();
    else parent.addEventListener('abort', onParentAbort, { once: true });
  });
  try {
    return await Promise.race([work(controller.signal), deadline]);
  } finally {
    clearTimeout(timer);
    if (onParentAbort) parent?.removeEventListener('abort', onParentAbort);
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
  // Duck-typed, as errors from Node's sockets may come from another realm (a test sandbox).
  if (!(err instanceof Error) && !(typeof err === 'object' && err !== null && 'message' in err))
    return String(err);
  if (!(err instanceof Error)) {
    const e = err as { name?: string; message: string; code?: string };
    return e.code && !e.message.includes(e.code) ? `${e.message} (${e.code})` : e.message;
  }
  const aws = '$metadata' in err || /Exception$/.test(err.name);
  return aws ? `${err.name}: ${err.message}` : err.message;
}
