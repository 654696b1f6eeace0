// The semaphore's queue: contenders are keys `<prefix><lease hex>` on their own leases, the first
// `permits` by create revision hold a permit. One transaction joins the queue and says whether we
// hold; a waiter then follows the deletes under the prefix and counts only those of keys ahead of
// it (keys created later are behind it for good), so it acts only when its place changed.
import type { EtcdClient } from '../client/etcd-client.js';
import type { KeyValue, TxnRequest } from '../client/grpc/messages.js';
import { prefixEnd } from '../client/prefix-end.js';
import type { HubWatch } from '../client/watch-hub.js';
import { toCoordinationError } from '../client/errors.js';
import { CoordinationError, ErrorCode, validationError } from '../errors.js';
import { absent } from '../shared/guard.js';
import { until } from '../shared/fair-queue.js';

export interface JoinResult {
  /** Our key's create revision: our place, and the fencing token. */
  myRev: bigint;
  /** We hold a permit now. */
  holds: boolean;
}

/**
 * Joins the queue of `name` with `permits`, in one round trip: created alone when nobody is there;
 * else created only if every contender recorded the same permits, reading the first `permits`.
 * VALIDATION_ERROR (nothing written) when they recorded another number.
 */
export async function join(client: EtcdClient, operation: string, name: string, prefix: Buffer, myKey: Buffer, lease: string, permits: number, signal: AbortSignal | undefined): Promise<JoinResult> {
  const end = prefixEnd(prefix);
  const value = Buffer.from(String(permits));
  const put = { request_put: { key: myKey, value, lease } };
  const txn: TxnRequest = {
    compare: [absent(prefix, end)],
    success: [put],
    failure: [
      {
        request_txn: {
          compare: [{ key: prefix, range_end: end, target: 'VALUE', result: 'EQUAL', value }],
          success: [put, { request_range: { key: prefix, range_end: end, sort_target: 'CREATE', sort_order: 'ASCEND', limit: permits, keys_only: true } }],
          // Who disagrees: the oldest contenders' values.
          failure: [{ request_range: { key: prefix, range_end: end, sort_target: 'CREATE', sort_order: 'ASCEND', limit: 16 } }],
        },
      },
    ],
  };
  // Not resent: a lost answer leaves our key in etcd, and the caller revokes the lease.
  const res = await client.call(operation, name, (o) => client.rpc.kv.txn(txn, o), { signal, idempotent: false, level: 'debug' });
  if (res.succeeded) return { myRev: res.header.revision, holds: true };
  const inner = res.responses[0]?.response_txn;
  if (!inner) throw new CoordinationError(ErrorCode.Internal, `${operation} ${name}: etcd answered without the nested transaction`);
  if (!inner.succeeded) {
    const other = inner.responses[0]?.response_range?.kvs.map((kv) => (kv as KeyValue).value?.toString()).find((v) => v !== String(permits));
    throw validationError(`${operation} ${name}: the semaphore's contenders use ${other === undefined ? 'another number of' : JSON.stringify(other)} permits, not ${permits}`);
  }
  const first = inner.responses[1]?.response_range?.kvs ?? [];
  return { myRev: res.header.revision, holds: first.some((kv) => kv.key.equals(myKey)) };
}

export interface Waiter {
  client: EtcdClient;
  operation: string;
  name: string;
  prefix: Buffer;
  myKey: Buffer;
  myRev: bigint;
  permits: number;
  /** Aborts the wait: the caller's signal, the coordinator closing, or our lease lost. */
  signal: AbortSignal;
}

/** Resolves once fewer than `permits` contenders are ahead of us: the permit is ours. */
export async function waitForPermit(w: Waiter): Promise<void> {
  const state: WaitState = { ahead: new Set(), deletedDuringRead: [], reading: false, created: false, failure: undefined, wake: undefined, watch: undefined, stale: false };
  watchDeletes(w, state);
  try {
    const what = `${w.operation} ${w.name}`;
    await until(state, w.signal, what, () => state.created);
    for (;;) {
      await readAhead(w, state);
      if (state.ahead.size < w.permits) return;
      await until(state, w.signal, what, () => state.ahead.size < w.permits || state.stale);
      // The set is exact (keys ahead only go; a delete of ours fails the wait): no read needed,
      // unless a replaced watch may have missed a delete.
      if (!state.stale) return;
    }
  } finally {
    state.watch?.cancel();
  }
}

interface WaitState {
  /** Keys created before ours that were there at the last read, minus the deletes seen since. */
  ahead: Set<string>;
  deletedDuringRead: string[];
  reading: boolean;
  created: boolean;
  failure: CoordinationError | undefined;
  wake: (() => void) | undefined;
  watch: HubWatch | undefined;
  /** A replaced (compacted) watch may have missed deletes: read again. */
  stale: boolean;
}

/** Deletes under the prefix; started synced (a watch from an old revision waits on etcd's catch-up loop). */
function watchDeletes(w: Waiter, s: WaitState): void {
  s.watch = w.client.watches.watch(
    { key: w.prefix, range_end: prefixEnd(w.prefix), only: 'delete' },
    {
      onCreated: () => {
        s.created = true;
        s.wake?.();
      },
      onEvents: (events) => {
        for (const ev of events) {
          const key = ev.kv.key.toString();
          if (ev.kv.key.equals(w.myKey)) s.failure = vanished(w);
          if (s.reading) s.deletedDuringRead.push(key);
          s.ahead.delete(key);
        }
        s.wake?.();
      },
      onCancelled: (reason) => {
        if (reason.compactRevision > 0n) {
          // Nothing changed under the prefix past a compaction and the stream was re-created: watch
          // afresh, and read again (a delete may have gone unseen meanwhile).
          s.stale = true;
          watchDeletes(w, s);
          return;
        }
        s.failure = toCoordinationError(reason.error ?? new Error(reason.message), `${w.operation} ${w.name}: watch`);
        s.wake?.();
      },
    },
  );
}

/** Every key created before ours, as of now; NOT_FOUND if ours is gone. */
async function readAhead(w: Waiter, s: WaitState): Promise<void> {
  s.reading = true;
  s.deletedDuringRead = [];
  s.stale = false;
  try {
    const end = prefixEnd(w.prefix);
    const res = await w.client.call(
      `${w.operation.split('.')[0]}.queue`,
      w.name,
      (o) => w.client.rpc.kv.range({ key: w.prefix, range_end: end, max_create_revision: w.myRev, sort_target: 'CREATE', sort_order: 'ASCEND', keys_only: true }, o),
      { signal: w.signal, idempotent: true, level: 'debug' },
    );
    if (!res.kvs.some((kv) => kv.key.equals(w.myKey))) throw vanished(w);
    s.ahead = new Set(res.kvs.filter((kv) => !kv.key.equals(w.myKey)).map((kv) => kv.key.toString()));
    // A delete the watch showed while the read was on its way may be older or newer than the read: gone either way.
    for (const key of s.deletedDuringRead) s.ahead.delete(key);
  } finally {
    s.reading = false;
  }
}

function vanished(w: Waiter): CoordinationError {
  return new CoordinationError(ErrorCode.NotFound, `semaphore ${w.name}: our queue key vanished while waiting (lease expired or key deleted)`);
}
