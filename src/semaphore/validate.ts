// Input checks for the semaphore API: bad input is a VALIDATION_ERROR thrown before anything is written.
import { validationError } from '../errors.js';
import { checkPathName } from '../layout.js';
import { checkTtlMs, DEFAULT_TTL_MS } from '../ttl.js';

export const MAX_PERMITS = 10_000;

export function validateSemaphoreName(name: unknown): asserts name is string {
  checkPathName(name, 'semaphore name', 'jobs/nightly');
}

/** The options of acquire/tryAcquire/withPermit, checked: permits and the TTL (its one default). */
export function validatePermitOptions(options: unknown): { permits: number; ttlMs: number; signal: AbortSignal | undefined } {
  if (typeof options !== 'object' || options === null) throw validationError('semaphore options must be an object with `permits`');
  const { permits, ttlMs, signal } = options as { permits?: unknown; ttlMs?: unknown; signal?: unknown };
  if (typeof permits !== 'number' || !Number.isInteger(permits) || permits < 1 || permits > MAX_PERMITS) {
    throw validationError(`semaphore permits must be an integer in [1, ${MAX_PERMITS}], got ${String(permits)}`);
  }
  if (signal !== undefined && !(signal instanceof AbortSignal)) throw validationError('semaphore signal must be an AbortSignal');
  return { permits, ttlMs: ttlMs === undefined ? DEFAULT_TTL_MS : checkTtlMs(ttlMs, 'semaphore ttlMs'), signal };
}
