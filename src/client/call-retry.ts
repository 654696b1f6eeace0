// A call retried (seed §4.2): only transient errors, only for operations the caller marks safe to
// repeat, backing off as src/retry.ts says, and every sleep wakes on the caller's AbortSignal.
import { CoordinationError, abortError, isTransient } from '../errors.js';
import { backoffDelay, sleep, type RetryConfig } from '../retry.js';
import { toCoordinationError } from './errors.js';

export interface RetryOptions {
  config: RetryConfig;
  /** Names the operation in errors and logs. */
  operation: string;
  signal?: AbortSignal;
  /** Whether the operation may be sent again after an unknown outcome. @default false */
  idempotent?: boolean;
  /** Called before each sleep; the coordinator logs here at WARN. */
  onRetry?: (info: { attempt: number; delayMs: number; error: CoordinationError }) => void;
}

/**
 * Runs `fn` until it succeeds, fails with a non-transient error, runs out of attempts, or the
 * signal aborts. Errors leave as CoordinationError.
 */
export async function withRetry<T>(fn: (attempt: number) => Promise<T>, opts: RetryOptions): Promise<T> {
  if (opts.signal?.aborted) throw abortError(opts.signal, opts.operation);
  try {
    return await fn(1);
  } catch (err) {
    return retryAfter(err, fn, opts);
  }
}

/**
 * What withRetry does once the first attempt failed with `err`: throws it (as CoordinationError)
 * unless it is transient and attempts are left, else backs off and tries again. For callers that
 * make the first attempt themselves, so that a call that succeeds builds no retry state at all.
 */
export async function retryAfter<T>(err: unknown, fn: (attempt: number) => Promise<T>, opts: RetryOptions): Promise<T> {
  const attempts = opts.idempotent ? Math.max(1, opts.config.maxAttempts) : 1;
  for (let attempt = 1; ; attempt++) {
    const error = toCoordinationError(err, opts.operation);
    if (attempt >= attempts || !isTransient(error)) throw error;
    const delayMs = backoffDelay(opts.config, attempt);
    opts.onRetry?.({ attempt, delayMs, error });
    // Aborted while backing off: the error names the operation, not the sleep.
    await sleep(delayMs, opts.signal, opts.operation);
    if (opts.signal?.aborted) throw abortError(opts.signal, opts.operation);
    try {
      return await fn(attempt + 1);
    } catch (next) {
      err = next;
    }
  }
}
