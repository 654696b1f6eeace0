// Semaphore.list(): the semaphores etcd holds now under `semaphores/` — permits (as recorded by the
// oldest contender), holders (the first `permits` by create revision) and waiters. Read-only.
import type { EtcdClient } from '../client/etcd-client.js';
import { holderInfos, readQueues } from '../shared/queue-listing.js';
import type { SemaphoreInfo } from './interface.js';

export async function listSemaphores(client: EtcdClient, prefix: unknown, signal?: AbortSignal): Promise<SemaphoreInfo[]> {
  const queues = (await readQueues(client, { operation: 'semaphore.list', root: client.dirs.semaphore, prefix, signal })).filter((q) => q.leader !== undefined);
  const rows = queues.map(({ name, contenders, leader }) => {
    const permits = Number(leader!.value.toString()) || 1;
    const ordered = [...contenders].sort((a, b) => (a.create_revision < b.create_revision ? -1 : 1));
    return { name, permits, holders: ordered.slice(0, permits), waiters: Math.max(0, ordered.length - permits) };
  });
  const holders = await holderInfos(client, rows.map((r) => r.holders), signal);
  return rows.map(({ name, permits, waiters }, i) => ({ name, permits, holders: holders[i]!, waiters }));
}
