// DistributedLock.list(): the locks etcd holds now under `/locks/` — ours and Go Mutex's, which share
// the layout `/locks/<name>/<lease ID hex>`, and gochat TryAcquire's bare `/locks/<name>` — as holder
// (lowest create revision), fencing token, holder's remaining lease TTL, and the number of waiters.
// Read-only, for operators' tools.
import type { EtcdClient } from '../client/etcd-client.js';
import { leaseTtls } from '../shared/lease-ttl.js';
import { readQueues } from '../shared/queue-listing.js';
import type { LockInfo } from './interface.js';
import { isContenderKey } from './keys.js';

export async function listLocks(client: EtcdClient, prefix: unknown, signal?: AbortSignal): Promise<LockInfo[]> {
  // A contender's key is the lock's prefix plus its lease in hex; any other key is gochat's
  // TryAcquire key of the lock it names (held alone, or alongside by our holder).
  const queues = await readQueues(client, { operation: 'lock.list', root: client.dirs.lock, prefix, signal, isContender: (rel, kv) => isContenderKey(rel, kv.lease) });
  // The holder is the oldest contender, exactly as acquire() decides — unless the bare key belongs to
  // none of them: then a gochat TryAcquire holds the lock, and every contender waits.
  const holders = queues.map(({ name, contenders, leader, bare }) => {
    const foreign = bare !== undefined && !contenders.some((c) => c.lease === bare.lease);
    return foreign || !leader ? { name, holder: bare!, waiters: contenders.length } : { name, holder: leader, waiters: contenders.length - 1 };
  });
  const ttls = await leaseTtls(client, holders.map((h) => h.holder.lease), signal);
  return holders.map(({ name, holder, waiters }) => ({
    name,
    holderKey: holder.key.toString(),
    fencingToken: holder.create_revision,
    remainingMs: ttls.get(holder.lease),
    waiters,
  }));
}
