// ReadWriteLock.list(): the read-write locks etcd holds now under `rwlocks/` — ours and Go RWMutex's —
// as holders (the oldest key if it is a writer's; else every reader before the first writer) and
// waiters. Read-only.
import type { EtcdClient } from '../client/etcd-client.js';
import type { KeyValue } from '../client/grpc/messages.js';
import { holderInfos, readQueues } from '../shared/queue-listing.js';
import type { RwLockInfo } from './interface.js';

const CONTENDER = /^(.+)\/(read|write)\/[^/]+$/;

export async function listRwLocks(client: EtcdClient, prefix: unknown, signal?: AbortSignal): Promise<RwLockInfo[]> {
  const queues = await readQueues(client, { operation: 'rwlock.list', root: client.dirs.rwlock, prefix, signal, nameOf: (rel) => CONTENDER.exec(rel)?.[1] });
  const rows = queues
    .filter((q) => q.leader !== undefined)
    .map(({ name, contenders }) => {
      const ordered = [...contenders].sort((a, b) => (a.mod_revision < b.mod_revision ? -1 : 1));
      const isWriter = (kv: KeyValue): boolean => CONTENDER.exec(kv.key.toString())?.[2] === 'write';
      const firstWriter = ordered.findIndex(isWriter);
      const holders = firstWriter === 0 ? ordered.slice(0, 1) : ordered.slice(0, firstWriter < 0 ? ordered.length : firstWriter);
      return { name, mode: firstWriter === 0 ? ('write' as const) : ('read' as const), holders, waiters: ordered.length - holders.length };
    });
  const holders = await holderInfos(client, rows.map((r) => r.holders), signal);
  return rows.map(({ name, mode, waiters }, i) => ({ name, mode, holders: holders[i]!, waiters }));
}
