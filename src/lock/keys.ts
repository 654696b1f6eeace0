// Key layout shared with etcd's Go concurrency.Mutex: lock `K` lives under `<ns>/locks/K/`, each
// contender's key is that prefix + its lease ID in lowercase hex, the holder has the lowest create
// revision. gochat's Go TryAcquire holds `K` by the bare key `<ns>/locks/K` instead (a create-if-absent
// put), so our holder owns that key too, and a bare key we did not write counts as a holder.
import type { Compare, RangeRequest } from '../client/grpc/messages.js';
import { prefixEnd } from '../client/prefix-end.js';

/** Full etcd prefix of lock `key`: what Go's `NewMutex(session, path.Join("/locks", key))` uses. */
export function lockPrefix(locksRoot: string, key: string): string {
  return `${locksRoot}${key}/`;
}

/** gochat's TryAcquire key of the lock whose prefix is `prefix`: `path.Join("/locks", key)`. */
export function bareKey(prefix: string): string {
  return prefix.slice(0, -1);
}

/** True for a contender key (last segment = its lease ID in hex), false for gochat's bare key. */
export function isContenderKey(key: string, leaseId: string): boolean {
  return leaseId !== '0' && key.endsWith(`/${BigInt(leaseId).toString(16)}`);
}

/** A contender's key: prefix + lease ID (decimal string) in lowercase hex, like Go's `%x`. */
export function contenderKey(prefix: string, leaseId: string): string {
  return prefix + BigInt(leaseId).toString(16);
}


/**
 * The newest two contenders created at or before `maxCreateRevision` (all if omitted), newest
 * first: for a waiter, "is my key still there" (first) and "who is just ahead of me" (second).
 */
export function newestTwo(prefix: string, maxCreateRevision?: bigint): RangeRequest {
  const key = Buffer.from(prefix);
  return {
    key,
    range_end: prefixEnd(key),
    sort_target: 'CREATE',
    sort_order: 'DESCEND',
    limit: 2,
    keys_only: true,
    ...(maxCreateRevision !== undefined && { max_create_revision: maxCreateRevision.toString() }),
  };
}

/** A comparison that holds while `key` (or every key in [key, rangeEnd)) does not exist. */
export function absent(key: Buffer, rangeEnd?: Buffer): Compare {
  return { key, ...(rangeEnd && { range_end: rangeEnd }), target: 'CREATE', result: 'EQUAL', create_revision: 0 };
}
