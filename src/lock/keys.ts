// Key layout shared with etcd's Go concurrency.Mutex: lock `K` lives under `<ns>/locks/K/`, each
// contender's key is that prefix + its lease ID in lowercase hex, the holder has the lowest create
// revision.
import type { IRangeRequest } from 'etcd3';

/** Full etcd prefix of lock `key`: what Go's `NewMutex(session, "<ns>/locks/<key>")` uses. */
export function lockPrefix(namespacePrefix: string, key: string): string {
  return `${namespacePrefix}locks/${key}/`;
}

/** A contender's key: prefix + lease ID (decimal string from etcd3) in lowercase hex, like Go's `%x`. */
export function contenderKey(prefix: string, leaseId: string): string {
  return prefix + BigInt(leaseId).toString(16);
}

/** End of the range of all keys starting with `prefix` (etcd's "prefix + 1"). */
export function prefixEnd(prefix: Buffer): Buffer {
  const end = Buffer.from(prefix);
  for (let i = end.length - 1; i >= 0; i--) {
    if (end[i]! < 0xff) {
      end[i] = end[i]! + 1;
      return end.subarray(0, i + 1);
    }
  }
  return Buffer.from([0]);
}

/**
 * The newest two contenders created at or before `maxCreateRevision` (all if omitted), newest
 * first: for a waiter, "is my key still there" (first) and "who is just ahead of me" (second).
 */
export function newestTwo(prefix: string, maxCreateRevision?: bigint): IRangeRequest {
  const key = Buffer.from(prefix);
  return {
    key,
    range_end: prefixEnd(key),
    sort_target: 'Create',
    sort_order: 'Descend',
    limit: 2,
    keys_only: true,
    ...(maxCreateRevision !== undefined && { max_create_revision: maxCreateRevision.toString() }),
  };
}
