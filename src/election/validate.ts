// Input checks for the election API: bad input is a VALIDATION_ERROR thrown before anything is written.
import { validationError } from '../errors.js';
import { checkPathName } from '../layout.js';
import { checkTtlMs, DEFAULT_TTL_MS } from '../ttl.js';

/** etcd's default request limit is 1.5 MiB; a leader's value is an address or an ID, not a payload. */
const MAX_VALUE_BYTES = 64 * 1024;

export function validateElectionName(name: unknown): asserts name is string {
  checkPathName(name, 'election name', 'jobs/cleaner');
}

export function validateValue(value: unknown): asserts value is string {
  if (typeof value !== 'string') throw validationError(`election value must be a string, got ${typeof value}`);
  if (Buffer.byteLength(value) > MAX_VALUE_BYTES) throw validationError(`election value must be at most ${MAX_VALUE_BYTES} bytes`);
}

/** The one API rule (src/ttl.ts), with the one default. */
export function validateTtlMs(ttlMs: unknown): number {
  return ttlMs === undefined ? DEFAULT_TTL_MS : checkTtlMs(ttlMs, 'election ttlMs');
}
