// The two comparisons every recipe's transaction stands on (etcd's Go recipes put them in a Txn's If):
// a key is absent (create revision 0: "create if absent"), and a key is still the one we created
// (create revision = our fencing token: "write only while we hold"). Written once, here.
import type { Compare } from '../client/grpc/messages.js';

/** Holds while `key` (or every key in [key, rangeEnd)) does not exist. */
export function absent(key: Buffer, rangeEnd?: Buffer): Compare {
  return rangeEnd ? { key, range_end: rangeEnd, target: 'CREATE', result: 'EQUAL', create_revision: 0 } : { key, target: 'CREATE', result: 'EQUAL', create_revision: 0 };
}

/**
 * The ownership guard: holds while `key` is the one created at `fencingToken`
 * (`create_revision(key) == fencingToken`). Deleted and re-created, or taken by someone else, it fails.
 */
export function heldAt(key: Buffer, fencingToken: bigint): Compare & { readonly target: 'CREATE'; readonly result: 'EQUAL'; readonly create_revision: bigint } {
  return { key, target: 'CREATE', result: 'EQUAL', create_revision: fencingToken };
}
