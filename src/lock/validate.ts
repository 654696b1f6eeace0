// Input checks for the lock API: bad input is a VALIDATION_ERROR thrown before anything is written.
import { checkPathName } from '../layout.js';
import { checkTtlMs } from '../ttl.js';

export function validateLockKey(key: unknown): asserts key is string {
  checkPathName(key, 'lock key', 'orders/42');
}

export function validateTtl(ttlMs: unknown): asserts ttlMs is number {
  checkTtlMs(ttlMs, 'lock ttlMs');
}
