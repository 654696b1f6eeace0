// Input checks for the read-write lock API: bad input is a VALIDATION_ERROR thrown before anything is written.
import { validationError } from '../errors.js';
import { checkPathName } from '../layout.js';
import { checkTtlMs, DEFAULT_TTL_MS } from '../ttl.js';

export function validateRwLockName(name: unknown): asserts name is string {
  checkPathName(name, 'rwlock name', 'catalog/prices');
}

/** The options of acquire…/tryAcquire…/with…: the TTL (its one default) and the signal. */
export function validateRwLockOptions(options: unknown): { ttlMs: number; signal: AbortSignal | undefined } {
  if (options === undefined) return { ttlMs: DEFAULT_TTL_MS, signal: undefined };
  if (typeof options !== 'object' || options === null) throw validationError('rwlock options must be an object');
  const { ttlMs, signal } = options as { ttlMs?: unknown; signal?: unknown };
  if (signal !== undefined && !(signal instanceof AbortSignal)) throw validationError('rwlock signal must be an AbortSignal');
  return { ttlMs: ttlMs === undefined ? DEFAULT_TTL_MS : checkTtlMs(ttlMs, 'rwlock ttlMs'), signal };
}
