// The one TTL rule of the public API: TTLs are `ttlMs`, integer milliseconds in [1 s, 1 year].
// etcd leases are whole seconds, so anything under a second is a unit mistake (`ttl: 30` meaning
// seconds would otherwise silently become etcd's 2 s minimum lease); over a year is one too.
import { validationError } from './errors.js';

/** Shortest TTL accepted anywhere (locks, registrations, instance IDs). */
export const MIN_TTL_MS = 1000;
/** Longest TTL accepted anywhere: a year. */
export const MAX_TTL_MS = 365 * 24 * 3600 * 1000;
/**
 * The one default of every optional `ttlMs` (an election's candidacy, an instance ID, the gRPC
 * service manager's registration): how long after a process dies, or loses etcd, what it held is
 * freed. Where the seed makes a TTL required (the lock's `acquire(key, ttlMs)`, `ServiceInfo.ttlMs`)
 * there is no default.
 */
export const DEFAULT_TTL_MS = 10_000;

/** `ttlMs` if it follows the rule, else VALIDATION_ERROR naming `what` (e.g. `lock ttlMs`). Same message everywhere. */
export function checkTtlMs(ttlMs: unknown, what: string): number {
  if (typeof ttlMs !== 'number' || !Number.isInteger(ttlMs) || ttlMs < MIN_TTL_MS || ttlMs > MAX_TTL_MS) {
    const hint = typeof ttlMs === 'number' && ttlMs > 0 && ttlMs < MIN_TTL_MS ? ' (TTLs are milliseconds, not seconds)' : '';
    throw validationError(`${what} must be an integer number of milliseconds in [${MIN_TTL_MS}, ${MAX_TTL_MS}], got ${String(ttlMs)}${hint}`);
  }
  return ttlMs;
}
