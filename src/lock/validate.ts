// Input checks for the lock API: bad input is a VALIDATION_ERROR thrown before anything is written.
import { validationError } from '../errors.js';
import { isCleanPath } from '../layout.js';
import { checkTtlMs } from '../ttl.js';

const MAX_KEY_BYTES = 1024;

export function validateLockKey(key: unknown): asserts key is string {
  if (typeof key !== 'string') throw validationError(`lock key must be a string, got ${typeof key}`);
  if (key.length === 0) throw validationError('lock key must not be empty');
  if (key.startsWith('/') || key.endsWith('/')) throw validationError('lock key must not start or end with "/"');
  if (key.includes('\0')) throw validationError('lock key must not contain NUL');
  // Go builds the key with path.Join("/locks", key): only keys it leaves as they are meet Go's.
  if (!isCleanPath(key)) throw validationError('lock key must be a clean path like "orders/42" (no "//", "." or ".." segments)');
  if (Buffer.byteLength(key) > MAX_KEY_BYTES) throw validationError(`lock key must be at most ${MAX_KEY_BYTES} bytes`);
}

export function validateTtl(ttlMs: unknown): asserts ttlMs is number {
  checkTtlMs(ttlMs, 'lock ttlMs');
}
