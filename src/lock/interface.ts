// Public shape of the distributed lock (seed §2.1): fair (FIFO by create revision), fenced,
// cancellable, aware of losing the lock, and wire-compatible with etcd's Go concurrency.Mutex.
import type { OwnershipCondition, RemainingMs, SignalOptions } from '../shared/vocabulary.js';

export type { OwnershipCondition } from '../shared/vocabulary.js';

/** Distributed lock settings (`CoordinatorOptions.lock`). */
export interface LockSettings {
  /**
   * gochat's Go `TryAcquire` holds lock K by the bare key `<ns>/locks/K` alone. A bare key present
   * always makes our acquire wait (and our tryAcquire CONFLICT). With `true` our holder also writes
   * that key, on its lease, so a Go TryAcquire fails while we hold: exclusion both ways. Set `false`
   * when no Go service calls TryAcquire on names you lock: every acquire and unlock then writes one
   * key instead of two (~15% more uncontended cycles/s), and a Go TryAcquire could take a name we
   * hold. @default true
   */
  holdTryAcquireKey?: boolean;
}

export interface DistributedLock {
  /**
   * Waits until the lock `key` is ours (first come, first served) and returns it. The lock is valid
   * for `ttlMs` (rounded up to whole seconds, at least etcd's minimum lease TTL) unless renewed.
   * Not reentrant: a second acquire of a key this process holds waits like any other contender.
   * Rejects NOT_FOUND if our queue entry vanished while waiting (its lease expired), CANCELLED /
   * TIMEOUT_ERROR when `signal` aborts (the queue entry is then removed), VALIDATION_ERROR for bad
   * input (nothing written).
   */
  acquire(key: string, ttlMs: number, opts?: SignalOptions): Promise<Lock>;
  /** Like acquire() but never waits: rejects CONFLICT at once (writing nothing) if anyone holds or waits for `key`. */
  tryAcquire(key: string, ttlMs: number, opts?: SignalOptions): Promise<Lock>;
  /**
   * Acquires `key`, runs `fn` while renewing the lock every TTL/3, and always unlocks (also when
   * `fn` throws). `fn` gets a signal that aborts when the lock is lost (reason: a CoordinationError)
   * or `opts.signal` aborts. Resolves with `fn`'s result; `fn`'s own errors pass through unchanged.
   */
  withLock<T>(key: string, ttlMs: number, fn: (signal: AbortSignal) => Promise<T>, opts?: SignalOptions): Promise<T>;
  /**
   * The locks whose name starts with `prefix` ('' = all) as etcd holds them now — taken by us or by
   * Go's Mutex: holder, fencing token, remaining TTL, waiters; sorted by name. Read-only, for
   * operators' tools such as `coordctl locks ls`.
   */
  list(prefix?: string, opts?: SignalOptions): Promise<LockInfo[]>;
}

/** One lock as `list()` reads it. */
export interface LockInfo {
  /** The lock's name, as passed to acquire(). */
  name: string;
  /** Full etcd key of the holder: `<namespace>/locks/<name>/<lease ID in hex>`. */
  holderKey: string;
  /** The holder's fencing token (create revision of its key). */
  fencingToken: bigint;
  /** Remaining time of the holder's lease in ms, as etcd reports it (whole seconds); undefined without a lease. */
  remainingMs: RemainingMs;
  /** Contenders queued behind the holder. */
  waiters: number;
}

export interface Lock extends AsyncDisposable {
  /** The lock's name as passed to acquire(). */
  readonly key: string;
  /** Our contender key in etcd: `<namespace>/locks/<key>/<lease ID in hex>` (as Go's Mutex writes it). */
  readonly ownerKey: string;
  /** Create revision of our key: strictly increasing per lock key; hand it to fenced resources. */
  readonly fencingToken: bigint;
  /**
   * Aborts when the lock is lost. The reason is a CoordinationError: NOT_FOUND when its lease
   * expired or was revoked, our key was deleted, or the lease could not be confirmed alive for a
   * whole TTL; CONFLICT when our key was replaced (same name, another create revision). It does
   * not abort on unlock() or close().
   */
  readonly signal: AbortSignal;
  /** Releases the lock (deletes our key). Idempotent. */
  unlock(opts?: SignalOptions): Promise<void>;
  /**
   * Makes the lock valid for `ttlMs` from now. Same whole-second TTL: one keep-alive; another TTL:
   * our key moves to a new lease in one guarded transaction (same key, same fencing token, same
   * queue position). NOT_FOUND if the lock was released (the same code from remainingMs() and
   * putIfHeld()) or lost, CONFLICT if our key was replaced.
   */
  renew(ttlMs: number, opts?: SignalOptions): Promise<void>;
  /** Remaining validity in ms as etcd reports it (whole seconds). NOT_FOUND if the lock was released; the loss reason if lost. */
  remainingMs(opts?: SignalOptions): Promise<number>;
  /**
   * An etcd transaction comparison (etcd's `Compare` message, field names as in etcd's proto) that
   * holds only while this lock is held: `create_revision(ownerKey) == fencingToken`. Add it to the
   * `compare` list of a Txn.
   */
  ownershipCondition(): OwnershipCondition;
  /**
   * Writes `entries` (keys relative to the coordinator's namespace) in one transaction that
   * succeeds only while this lock is still held; CONFLICT (nothing written) if the guard fails.
   * Like renew() and remainingMs(): NOT_FOUND if the lock was released, the loss reason if it is
   * already known lost.
   * Resolves with the revision of the write.
   */
  putIfHeld(entries: Record<string, string | Buffer>, opts?: SignalOptions): Promise<bigint>;
}
