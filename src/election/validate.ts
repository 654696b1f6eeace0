// Input checks for the election API: bad input is a VALIDATION_ERROR thrown before anything is written.
import { validationError } from '../errors.js';

/** A year: longer TTLs are almost certainly a unit mistake. */
const MAX_TTL_MS = 365 * 24 * 3600 * 1000;
const MAX_NAME_BYTES = 1024;
/** etcd's default request limit is 1.5 MiB; a leader's value is an address or an ID, not a payload. */
const MAX_VALUE_BYTES = 64 * 1024;
export const DEFAULT_ELECTION_TTL_MS = 10_000;

export function validateElectionName(name: unknown): asserts name is string {
  if (typeof name !== 'string') throw validationError(`election name must be a string, got ${typeof name}`);
  if (name.length === 0) throw validationError('election name must not be empty');
  if (name.startsWith('/') || name.endsWith('/')) throw validationError('election name must not start or end with "/"');
  if (name.includes('\0')) throw validationError('election name must not contain NUL');
  if (Buffer.byteLength(name) > MAX_NAME_BYTES) throw validationError(`election name must be at most ${MAX_NAME_BYTES} bytes`);
}

export function validateValue(value: unknown): asserts value is string {
  if (typeof value !== 'string') throw validationError(`election value must be a string, got ${typeof value}`);
  if (Buffer.byteLength(value) > MAX_VALUE_BYTES) throw validationError(`election value must be at most ${MAX_VALUE_BYTES} bytes`);
}

/** The one API rule: TTLs are integer milliseconds, at least 1000. */
export function validateTtlMs(ttlMs: unknown): number {
  if (ttlMs === undefined) return DEFAULT_ELECTION_TTL_MS;
  if (typeof ttlMs !== 'number' || !Number.isInteger(ttlMs) || ttlMs > MAX_TTL_MS) {
    throw validationError(`election ttlMs must be an integer number of milliseconds up to ${MAX_TTL_MS}, got ${String(ttlMs)}`);
  }
  if (ttlMs < 1000) throw validationError(`election ttlMs must be >= 1000: TTLs are milliseconds, got ${ttlMs}`);
  return ttlMs;
}
