// The self-healing loop (re-registration, watch reads, re-listing, live-config recovery, connect):
// call fn; on a retryable failure wait the next backoff delay (cut short by `stop`), say so through
// onRetry, and try again. A failure that is not retryable ends it; so does `stop`.
import { CoordinationError, isTransient } from '../errors.js';
import { toCoordinationError } from '../client/errors.js';
import { sleep } from '../retry.js';

export interface RetryUntilOptions {
  /** Names the operation in the CoordinationError each failure becomes. */
  operation: string;
  /** The waits between attempts; a fresh backoffDelays() per loop, so each loop starts short. */
  delays: Iterator<number>;
  /** Which failures are worth another attempt. @default isTransient */
  retryable?: (error: CoordinationError) => boolean;
  /** Told of each failure about to be retried, before the wait (the loop's log line). */
  onRetry?: (error: CoordinationError, delayMs: number) => void;
}

/**
 * Resolves with fn's result, or with `undefined` once `stop` has aborted (checked before every
 * attempt, so fn should not itself resolve to undefined where the caller must tell them apart).
 * Rejects with the first failure that is not retryable, as a CoordinationError.
 */
export async function retryUntil<T>(stop: AbortSignal, fn: () => Promise<T>, options: RetryUntilOptions): Promise<T | undefined> {
  const retryable = options.retryable ?? isTransient;
  while (!stop.aborted) {
    try {
      return await fn();
    } catch (err) {
      const error = toCoordinationError(err, options.operation);
      if (!retryable(error)) throw error;
      const delayMs = options.delays.next().value as number;
      options.onRetry?.(error, delayMs);
      // The wait ends early on `stop`; the loop's check then ends the whole thing.
      await sleep(delayMs, stop).catch(() => undefined);
    }
  }
  return undefined;
}
