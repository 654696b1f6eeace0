// Input checks for the election API: bad input is a VALIDATION_ERROR thrown before anything is written.
import { validationError } from '../errors.js';
import { isCleanPath } from '../layout.js';
import { checkTtlMs, DEFAULT_TTL_MS } from '../ttl.js';

const MAX_NAME_BYTES = 1024;
/** etcd's default request limit is 1.5 MiB; a leader's value is an address or an ID, not a payload. */
const MAX_VALUE_BYTES = 64 * 1024;

export function validateElectionName(name: unknown): asserts name is string {
  if (typeof name !== 'string') throw validationError(`election name must be a string, got ${typeof name}`);
  if (name.length === 0) throw validationError('election name must not be empty');
  if (name.startsWith('/') || name.endsWith('/')) throw validationError('election name must not start or end with "/"');
  if (name.includes('\0')) throw validationError('election name must not contain NUL');
  // Go builds the prefix with path.Join("/elections", name): only names it leaves as they are meet Go's.
  if (!isCleanPath(name)) throw validationError('election name must be a clean path like "jobs/cleaner" (no "//", "." or ".." segments)');
  if (Buffer.byteLength(name) > MAX_NAME_BYTES) throw validationError(`election name must be at most ${MAX_NAME_BYTES} bytes`);
}

export function validateValue(value: unknown): asserts value is string {
  if (typeof value !== 'string') throw validationError(`election value must be a string, got ${typeof value}`);
  if (Buffer.byteLength(value) > MAX_VALUE_BYTES) throw validationError(`election value must be at most ${MAX_VALUE_BYTES} bytes`);
}

/** The one API rule (src/ttl.ts), with the one default. */
export function validateTtlMs(ttlMs: unknown): number {
  return ttlMs === undefined ? DEFAULT_TTL_MS : checkTtlMs(ttlMs, 'election ttlMs');
}
