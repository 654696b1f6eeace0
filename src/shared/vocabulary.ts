// The library's shared vocabulary: the few words every component speaks (a call's signal, the kind
// of a change, a watch handle, what "remaining time" means). A leaf: it imports nothing of ours, so
// any component, the client, the facade and the CLI can use it without depending on one another.

/**
 * The options of every call that waits (the one rule): aborting `signal` rejects the call promptly
 * with CANCELLED — TIMEOUT_ERROR for `AbortSignal.timeout()` — and leaves nothing half-done behind.
 * For what lives on after the call (a watch, an observation, a live view) the signal bounds its
 * life too: aborting it later ends it as close() does (a watch's iteration ends without an error).
 */
export interface SignalOptions {
  signal?: AbortSignal;
}

/**
 * etcd's Txn comparison that holds only while a key is held: `create_revision(key) == fencingToken`,
 * in etcd's proto field names (what a raw gRPC `Txn` takes in its `compare` list). Every holder's
 * `ownershipCondition()` (lock, permit, read-write lock) returns one.
 */
export interface OwnershipCondition {
  readonly key: Buffer;
  readonly target: 'CREATE';
  readonly result: 'EQUAL';
  readonly create_revision: bigint;
}

/** A holder of a semaphore permit or of a read-write lock, as a listing reads it. */
export interface HolderInfo {
  /** Full etcd key of the holder. */
  key: string;
  /** Its fencing token (create revision of its key). */
  fencingToken: bigint;
  /** Remaining time of its lease in ms, as etcd reports it (whole seconds); undefined without a lease. */
  remainingMs: RemainingMs;
}

/** The kind of a change (seed's EventType): a key written, or deleted (also by lease expiry). */
export type EventType = 'PUT' | 'DELETE';

/**
 * A live, async-iterable view of changes (service instances, config keys, an election's leader):
 * iterate it once with `for await`; `close()` (or disposing it) ends the iteration.
 */
export interface Watch<E> extends AsyncIterable<E>, AsyncDisposable {
  /** Resolves with the revision the watch is synced at: every later change will be delivered. */
  readonly ready: Promise<bigint>;
  /** Ends the iteration and cancels the watch. Idempotent. */
  close(): Promise<void>;
}

/**
 * Remaining time of a holder's lease in ms, as etcd reports it (whole seconds), in read-only
 * listings (`LockInfo`, `ElectionInfo`, `ServiceListing`, `InstanceIdEntry`). The one rule:
 * `undefined` for a holder without a lease (a key written with lease 0, e.g. by hand or by a tool)
 * and for one whose lease is already gone (the IDs listing leaves those out: their ID is free).
 */
export type RemainingMs = number | undefined;

/** etcd's lease ID of a key written without a lease (int64 0, as a decimal string; '' if unset). */
export function hasLease(lease: string): boolean {
  return lease !== '0' && lease !== '';
}

/** RemainingMs from etcd's TimeToLive answer in seconds (-1: the lease is gone). */
export function remainingFromTtl(ttlSeconds: number): RemainingMs {
  return ttlSeconds < 0 ? undefined : ttlSeconds * 1000;
}
