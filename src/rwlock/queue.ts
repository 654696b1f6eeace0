// The read-write lock's queue, as etcd's Go recipe.RWMutex keeps it (so both share one lock): under
// `<prefix>/`, readers' keys `read/<id>` and writers' `write/<id>`, each on its holder's lease. A
// reader waits for the last *writer* before it, a writer for the last key of either kind before it
// (so writers are not starved), "before" by mod revision as Go reads it (keys are never rewritten:
// mod = create). Unlike Go: join and first look are one transaction, waits are cancellable, and the
// quiet waiter of the lock (shared/fair-queue.ts) waits for one key at a time.
import type { EtcdClient } from '../client/etcd-client.js';
import type { RangeRequest, TxnRequest } from '../client/grpc/messages.js';
import { prefixEnd } from '../client/prefix-end.js';
import { vanished, waitUntilClear, type Contender } from '../shared/fair-queue.js';
import { absent } from '../shared/guard.js';

export type Mode = 'read' | 'write';

/** The keys a `mode` contender waits behind: writers only for a reader (Go's `pfx + "write"`), everyone for a writer. */
function blockers(prefix: string, mode: Mode, maxModRevision?: bigint): RangeRequest {
  const key = Buffer.from(mode === 'read' ? `${prefix}write` : prefix);
  return {
    key,
    range_end: prefixEnd(key),
    sort_target: 'MOD',
    sort_order: 'DESCEND',
    // A writer's own key is the newest of all: the one after it is what blocks it.
    limit: mode === 'read' ? 1 : 2,
    keys_only: true,
    ...(maxModRevision !== undefined && { max_mod_revision: maxModRevision }),
  };
}

export interface Joined {
  myRev: bigint;
  /** The key we wait for first, if any. */
  blocker: string | undefined;
}

/** Creates our key (on `lease`) and reads what blocks it, in one transaction. */
export async function joinQueue(client: EtcdClient, operation: string, name: string, prefix: string, myKey: string, mode: Mode, lease: string, signal: AbortSignal | undefined): Promise<Joined> {
  const mine = Buffer.from(myKey);
  const txn: TxnRequest = {
    compare: [absent(mine)],
    success: [{ request_put: { key: mine, value: Buffer.alloc(0), lease } }, { request_range: blockers(prefix, mode) }],
    failure: [{ request_range: { key: mine, keys_only: true } }],
  };
  // Safe to resend: a second attempt finds our key (a fresh lease's key is only ever ours).
  const res = await client.call(operation, name, (o) => client.rpc.kv.txn(txn, o), { signal, idempotent: true, level: 'debug' });
  if (!res.succeeded) {
    const myRev = res.responses[0]!.response_range!.kvs[0]!.create_revision;
    return { myRev, blocker: await blockerOf(client, name, prefix, myKey, myRev, mode, signal) };
  }
  const kvs = res.responses[1]!.response_range!.kvs;
  return { myRev: res.header.revision, blocker: (mode === 'read' ? kvs[0] : kvs[1])?.key.toString() };
}

/** Who blocks us now (undefined: nobody, the lock is ours); NOT_FOUND if our key is gone. */
async function blockerOf(client: EtcdClient, name: string, prefix: string, myKey: string, myRev: bigint, mode: Mode, signal: AbortSignal | undefined): Promise<string | undefined> {
  const mine = Buffer.from(myKey);
  const txn: TxnRequest = { success: [{ request_range: { key: mine, keys_only: true } }, { request_range: blockers(prefix, mode, mode === 'read' ? myRev - 1n : myRev) }] };
  const res = await client.call('rwlock.queue', name, (o) => client.rpc.kv.txn(txn, o), { signal, idempotent: true, level: 'debug' });
  if (res.responses[0]?.response_range?.kvs.length !== 1) throw vanished({ key: name, noun: 'rwlock' });
  const kvs = res.responses[1]?.response_range?.kvs ?? [];
  const blocker = mode === 'read' ? kvs[0] : kvs.find((kv) => !kv.key.equals(mine));
  return blocker?.key.toString();
}

/** Waits (on `signal`) until nothing blocks our key. */
export async function waitForLock(client: EtcdClient, operation: string, name: string, prefix: string, myKey: string, myRev: bigint, mode: Mode, first: string, signal: AbortSignal): Promise<void> {
  const c: Contender = { client, key: name, prefix, myKey, myRev, signal, noun: 'rwlock', operation: `${operation} ${name}` };
  await waitUntilClear(c, first, () => blockerOf(client, name, prefix, myKey, myRev, mode, signal));
}
