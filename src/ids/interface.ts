// Instance-ID allocator: a small integer unique among the live instances of a pool, held by a lease
// and freed on release, on close, or by lease expiry when the process dies.
import type { RemainingMs, SignalOptions } from '../shared/vocabulary.js';
import { DEFAULT_TTL_MS } from '../ttl.js';

/** Options of `ids.allocate()`. Durations are milliseconds. */
export interface AllocateOptions extends SignalOptions {
  /** Smallest ID of the pool (integer). @default 1 */
  min?: number;
  /** Largest ID of the pool (integer, at most 1,000,000 IDs per range). @default 1023 */
  max?: number;
  /**
   * Lease TTL: how long a crashed holder's ID stays taken. Rounded up to whole seconds; etcd applies
   * its minimum (2 s by default). @default DEFAULT_TTL_MS (10000)
   */
  ttlMs?: number;
  /** Try this ID first (e.g. the one this instance had before a restart); any free ID if it is taken. */
  preferred?: number;
}

export const DEFAULT_ALLOCATE_OPTIONS: Readonly<{ min: number; max: number; ttlMs: number }> = Object.freeze({
  min: 1,
  max: 1023,
  ttlMs: DEFAULT_TTL_MS,
});

/** An allocated ID. Release it (or close the coordinator) when the instance stops. */
export interface InstanceId extends AsyncDisposable {
  readonly pool: string;
  readonly id: number;
  /**
   * Aborts when the ID is lost — its lease expired or was revoked elsewhere, could not be confirmed
   * for a whole TTL, or its key was deleted or overwritten behind our back. `reason` is a
   * CoordinationError (NOT_FOUND). The service must stop using the ID at once: it is not re-acquired.
   * Does not fire on release() or close().
   */
  readonly signal: AbortSignal;
  /**
   * Revokes the lease, which deletes the key. Idempotent once it succeeded; after a failure
   * (etcd unreachable, `signal` aborted) it can be called again, and the ID frees at its TTL anyway.
   */
  release(opts?: SignalOptions): Promise<void>;
}

/** One taken ID as `list()` reports it. */
export interface InstanceIdEntry {
  id: number;
  /** Who holds it: `host:pid` of the holder ('' if the key was not written by this library). */
  owner: string;
  /** Remaining lease time in ms as etcd reports it now; `undefined` for a key without lease (RemainingMs). */
  remainingMs: RemainingMs;
}

export interface InstanceIdAllocator {
  /**
   * Takes a free ID of `pool` in [min, max] and keeps it alive in the background.
   * CONFLICT `pool <name> full (<min>..<max>)` when a full scan finds none free; VALIDATION_ERROR
   * for a bad pool name or range (nothing written).
   */
  allocate(pool: string, options?: AllocateOptions): Promise<InstanceId>;
  /** The taken IDs of `pool`, ascending, with holder and remaining TTL. */
  list(pool: string, options?: SignalOptions): Promise<InstanceIdEntry[]>;
}
