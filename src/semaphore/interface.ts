// Public shape of the counting semaphore: at most `permits` holders of a name across the cluster,
// served in order of arrival (FIFO by create revision), fenced, cancellable, and freed by etcd
// within its TTL when a holder crashes. Keys: `<ns>/semaphores/<name>/<lease ID hex>`, value = permits.
import type { HolderInfo, OwnershipCondition, SignalOptions } from '../shared/vocabulary.js';

/** How to take a permit of a name. */
export interface PermitOptions extends SignalOptions {
  /**
   * How many holders the name allows at once: an integer in [1, 10000]. Recorded with the name (in
   * every contender's key): a contender that passes another number while any contender is there gets
   * VALIDATION_ERROR, nothing written.
   */
  permits: number;
  /**
   * How long the permit is valid unless renewed (`renew()`; `withPermit` renews every TTL/3): a
   * crashed holder's permit frees at most this long after its last renewal. @default DEFAULT_TTL_MS
   */
  ttlMs?: number;
}

export interface Semaphore {
  /**
   * Waits until we are among the first `permits` contenders of `name` (first come, first served)
   * and returns the permit. Rejects CANCELLED / TIMEOUT_ERROR when `signal` aborts (our place is
   * given up), NOT_FOUND if our place vanished while waiting (its lease expired), VALIDATION_ERROR
   * for bad input or a `permits` other than the name's (nothing written).
   */
  acquire(name: string, options: PermitOptions): Promise<Permit>;
  /** Like acquire() but never waits: CONFLICT at once when no permit is free (our place is given up). */
  tryAcquire(name: string, options: PermitOptions): Promise<Permit>;
  /**
   * Acquires a permit, runs `fn` while renewing it every TTL/3, and always releases it (also when
   * `fn` throws). `fn` gets a signal that aborts when the permit is lost or `options.signal` aborts.
   * Resolves with `fn`'s result; `fn`'s own errors pass through unchanged.
   */
  withPermit<T>(name: string, options: PermitOptions, fn: (signal: AbortSignal) => Promise<T>): Promise<T>;
  /**
   * The semaphores whose name starts with `prefix` ('' = all) as etcd holds them now: their permits,
   * holders (oldest first) and waiters; sorted by name. Read-only, for `coordctl semaphores ls`.
   */
  list(prefix?: string, opts?: SignalOptions): Promise<SemaphoreInfo[]>;
}

/** One semaphore as `list()` reads it. */
export interface SemaphoreInfo {
  name: string;
  /** The permits recorded with the name (by its oldest contender). */
  permits: number;
  /** The first `permits` contenders, oldest first. */
  holders: HolderInfo[];
  /** Contenders queued behind them. */
  waiters: number;
}

/** A permit we hold. */
export interface Permit extends AsyncDisposable {
  /** The semaphore's name as passed to acquire(). */
  readonly key: string;
  /** Our key in etcd: `<namespace>/semaphores/<name>/<lease ID in hex>`. */
  readonly ownerKey: string;
  /** Create revision of our key: strictly increasing per name; hand it to fenced resources. */
  readonly fencingToken: bigint;
  /**
   * Aborts when the permit is lost (reason: a CoordinationError): NOT_FOUND when its lease expired
   * or was revoked, our key was deleted, or the lease could not be confirmed alive for a whole TTL.
   * It does not abort on release() or close().
   */
  readonly signal: AbortSignal;
  /** Gives the permit back (deletes our key; the lease serves the next acquire, as the lock's). Idempotent; after a failure, call again. */
  release(opts?: SignalOptions): Promise<void>;
  /**
   * Keeps the permit for another TTL (one keep-alive) and checks our key is still there. The TTL is
   * the acquire's: a `ttlMs` of other whole seconds is VALIDATION_ERROR. NOT_FOUND once released.
   */
  renew(ttlMs?: number, opts?: SignalOptions): Promise<void>;
  /** Remaining validity in ms as etcd reports it (whole seconds). NOT_FOUND once released; the loss reason if lost. */
  remainingMs(opts?: SignalOptions): Promise<number>;
  /** etcd's Txn comparison that holds only while we hold the permit: `create_revision(ownerKey) == fencingToken`. */
  ownershipCondition(): OwnershipCondition;
  /** Writes `entries` (keys relative to the namespace) only while we hold the permit; CONFLICT (nothing written) if not. */
  putIfHeld(entries: Record<string, string | Buffer>, opts?: SignalOptions): Promise<bigint>;
}
