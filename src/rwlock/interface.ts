// Public shape of the read-write lock: many readers or one writer, in order of arrival (a writer is
// not starved by readers that come after it), fenced, cancellable, freed by etcd within its TTL when
// a holder crashes. Go's layout (etcd's recipe.RWMutex on prefix `<ns>/rwlocks/<name>`):
// `<prefix>/read/<id>` and `<prefix>/write/<id>`, so Go services share the lock with ours.
import type { HolderInfo, OwnershipCondition, SignalOptions } from '../shared/vocabulary.js';

export interface RwLockOptions extends SignalOptions {
  /**
   * How long the lock is valid unless renewed (`renew()`; `withRead`/`withWrite` renew every TTL/3):
   * a crashed holder's lock frees at most this long after its last renewal. @default DEFAULT_TTL_MS
   */
  ttlMs?: number;
}

export interface ReadWriteLock {
  /**
   * Waits until no writer that came before us holds or waits, then holds a read lock (shared with
   * other readers). Rejects CANCELLED / TIMEOUT_ERROR when `signal` aborts (our place is given up),
   * NOT_FOUND if our place vanished while waiting, VALIDATION_ERROR for bad input (nothing written).
   */
  acquireRead(name: string, options?: RwLockOptions): Promise<RwLockHandle>;
  /** Waits until nobody who came before us (reader or writer) holds or waits, then holds the write lock alone. */
  acquireWrite(name: string, options?: RwLockOptions): Promise<RwLockHandle>;
  /** Like acquireRead() but never waits: CONFLICT at once when a writer holds or waits (our place is given up). */
  tryAcquireRead(name: string, options?: RwLockOptions): Promise<RwLockHandle>;
  /** Like acquireWrite() but never waits: CONFLICT at once when anyone holds or waits. */
  tryAcquireWrite(name: string, options?: RwLockOptions): Promise<RwLockHandle>;
  /** acquireRead(), `fn` while renewing every TTL/3, always unlock; `fn` gets a signal that aborts on loss. */
  withRead<T>(name: string, options: RwLockOptions, fn: (signal: AbortSignal) => Promise<T>): Promise<T>;
  /** acquireWrite(), `fn` while renewing every TTL/3, always unlock; `fn` gets a signal that aborts on loss. */
  withWrite<T>(name: string, options: RwLockOptions, fn: (signal: AbortSignal) => Promise<T>): Promise<T>;
  /**
   * The read-write locks whose name starts with `prefix` ('' = all) as etcd holds them now — ours
   * and Go RWMutex's: holders (the readers, or the writer) and waiters; sorted by name. Read-only.
   */
  list(prefix?: string, opts?: SignalOptions): Promise<RwLockInfo[]>;
}

/** One read-write lock as `list()` reads it. */
export interface RwLockInfo {
  name: string;
  /** 'read': `holders` are readers; 'write': one writer. */
  mode: 'read' | 'write';
  holders: HolderInfo[];
  /** Readers and writers queued behind the holders. */
  waiters: number;
}

/** A read or write lock we hold: the lock's handle. */
export interface RwLockHandle extends AsyncDisposable {
  /** The lock's name as passed to acquire…(). */
  readonly key: string;
  readonly mode: 'read' | 'write';
  /** Our key in etcd: `<namespace>/rwlocks/<name>/read/<id>` or `…/write/<id>`. */
  readonly ownerKey: string;
  /** Create revision of our key: strictly increasing per name; hand it to fenced resources. */
  readonly fencingToken: bigint;
  /** Aborts when the lock is lost (reason: a CoordinationError). Not on unlock() or close(). */
  readonly signal: AbortSignal;
  /** Releases the lock (deletes our key; the lease serves the next acquire). Idempotent; after a failure, call again. */
  unlock(opts?: SignalOptions): Promise<void>;
  /** One keep-alive and a look at our key. The TTL is the acquire's: another `ttlMs` is VALIDATION_ERROR. */
  renew(ttlMs?: number, opts?: SignalOptions): Promise<void>;
  /** Remaining validity in ms as etcd reports it (whole seconds). NOT_FOUND once unlocked; the loss reason if lost. */
  remainingMs(opts?: SignalOptions): Promise<number>;
  /** etcd's Txn comparison that holds only while we hold: `create_revision(ownerKey) == fencingToken`. */
  ownershipCondition(): OwnershipCondition;
  /** Writes `entries` (keys relative to the namespace) only while we hold; CONFLICT (nothing written) if not. */
  putIfHeld(entries: Record<string, string | Buffer>, opts?: SignalOptions): Promise<bigint>;
}
