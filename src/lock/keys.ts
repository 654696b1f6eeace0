// Key layout shared with etcd's Go concurrency.Mutex: lock `K` lives under `<ns>/locks/K/`, each
// contender's key is that prefix + its lease ID in lowercase hex, the holder has the lowest create
// revision.
import type { RangeRequest } from '../client/grpc/messages.js';
import { prefixEnd } from '../client/prefix-end.js';

/** Full etcd prefix of lock `key`: what Go's `NewMutex(session, "<ns>/locks/<key>")` uses. */
export function lockPrefix(namespacePrefix: string, key: string): string {
  return `${namespacePrefix}locks/${key}/`;
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
