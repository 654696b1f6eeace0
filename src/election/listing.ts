// LeaderElection.list(): the elections etcd holds now under `elections/` — ours and Go's, which
// share the layout `elections/<name>/<lease ID hex>` — as leader (oldest candidate), its value,
// fencing token and remaining lease TTL, and the number of candidates behind it. Read-only.
import type { EtcdClient } from '../client/etcd-client.js';
import { leaseTtls } from '../shared/lease-ttl.js';
import { readQueues } from '../shared/queue-listing.js';
import type { ElectionInfo } from './interface.js';

export async function listElections(client: EtcdClient, prefix: unknown, signal?: AbortSignal): Promise<ElectionInfo[]> {
  // A candidate's key is the election's prefix plus one last segment (its lease); other keys are not ours.
  const queues = (await readQueues(client, { operation: 'election.list', root: client.dirs.election, prefix, signal })).filter((q) => q.leader !== undefined);
  const ttls = await leaseTtls(client, queues.map((q) => q.leader!.lease), signal);
  return queues.map(({ name, leader, contenders }) => ({
    name,
    leader: { name, value: leader!.value.toString(), key: leader!.key.toString(), fencingToken: leader!.create_revision },
    remainingMs: ttls.get(leader!.lease),
    candidates: contenders.length - 1,
  }));
}
