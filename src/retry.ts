// Capped exponential backoff with jitter (seed §4.2), and a sleep that wakes on the caller's
// AbortSignal. Which failures are retried, and how, is the caller's: src/client/call-retry.ts for
// calls, src/shared/retry-until.ts for self-healing loops.
import { abortError } from './errors.js';

/** How failed operations are retried. All durations are milliseconds. */
export interface RetryConfig {
  /** Total attempts including the first one; 1 disables retries. @default 3 */
  maxAttempts: number;
  /** Delay before the first retry. @default 100 */
  initialDelayMs: number;
  /** Upper bound for any single delay. @default 2000 */
  maxDelayMs: number;
  /** Growth factor per retry. @default 2 */
  multiplier: number;
  /** Relative jitter in [0, 1]: each delay is spread uniformly over ±jitter of its value. @default 0.2 */
  jitter: number;
}

export const DEFAULT_RETRY: Readonly<RetryConfig> = Object.freeze({
  maxAttempts: 3,
  initialDelayMs: 100,
  maxDelayMs: 2000,
  multiplier: 2,
  jitter: 0.2,
});

/**
 * Delay before retry number `retry` (1 = the first retry): initialDelayMs·multiplier^(retry-1),
 * capped at maxDelayMs, spread by ±jitter, and never above maxDelayMs after jitter.
 */
export function backoffDelay(config: RetryConfig, retry: number, random: () => number = Math.random): number {
  const base = Math.min(config.maxDelayMs, config.initialDelayMs * Math.pow(config.multiplier, Math.max(0, retry - 1)));
  const spread = base * config.jitter * (2 * random() - 1);
  return Math.max(0, Math.min(config.maxDelayMs, Math.round(base + spread)));
}

/** Endless delays for loops that retry until stopped (re-registration, watch resume). */
export function* backoffDelays(config: RetryConfig, random: () => number = Math.random): Generator<number, never> {
  for (let retry = 1; ; retry++) yield backoffDelay(config, retry, random);
}

/**
 * Sleeps `ms`; rejects with CANCELLED/TIMEOUT_ERROR as soon as `signal` aborts, naming `what` (the
 * operation the sleep is part of). Leaves no timer behind.
 */
export function sleep(ms: number, signal?: AbortSignal, what = 'sleep'): Promise<void> {
  if (signal?.aborted) return Promise.reject(abortError(signal, what));
  return new Promise((resolve, reject) => {
    const onAbort = (): void => {
      clearTimeout(timer);
      reject(abortError(signal!, what));
    };
    const timer = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}
