export interface RetryPolicy {
  /** Attempts including the first, for failures the server gave no time for (a throttled request waits instead). */
  maxAttempts: number;
  /** The longest one request may spend waiting between its attempts, however many it takes. */
  maxWaitMs: number;
  baseDelayMs: number;
  maxDelayMs: number;
  /** A server asking for a longer wait than this fails the request rather than stalling the run. */
  maxRetryAfterMs: number;
}

/** Statuses that mean "the server did not handle this; try again later" whatever the method. */
const ALWAYS_RETRYABLE = new Set([408, 429, 503]);
/** Gateway failures: the request may or may not have reached the server, so only idempotent requests repeat. */
const RETRYABLE_IF_IDEMPOTENT = new Set([502, 504]);

export function isRetryableStatus(status: number, idempotent: boolean): boolean {
  return ALWAYS_RETRYABLE.has(status) || (idempotent && RETRYABLE_IF_IDEMPOTENT.has(status));
}

/**
 * Exponential backoff with full jitter (a random delay up to the exponential cap), never shorter than what the
 * server asked for in `Retry-After`.
 */
export function retryDelayMs(
  policy: RetryPolicy,
  retryNumber: number,
  retryAfterMs: number | undefined,
  random: () => number
): number {
  const cap = Math.min(policy.maxDelayMs, policy.baseDelayMs * 2 ** (retryNumber - 1));
  const jittered = Math.round(cap * random());
  return Math.max(jittered, retryAfterMs ?? 0);
}

/** `Retry-After` as milliseconds from `now`: either delta-seconds or an HTTP date. Undefined when absent or invalid. */
export function parseRetryAfter(value: string | null, now: number): number | undefined {
  if (!value) {
    return undefined;
  }
  const trimmed = value.trim();
  if (/^\d+$/.test(trimmed)) {
    return Number(trimmed) * 1000;
  }
  const date = Date.parse(trimmed);
  return Number.isNaN(date) ? undefined : Math.max(0, date - now);
}

/** Resolves after `ms`, or rejects as soon as `signal` aborts. */
export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) {
      reject(signal.reason);
      return;
    }
    const timer = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    const onAbort = (): void => {
      clearTimeout(timer);
      reject(signal?.reason);
    };
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}
