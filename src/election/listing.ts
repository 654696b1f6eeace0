// LeaderElection.list(): the elections etcd holds now under `elections/` — ours and Go's, which
// share the layout `elections/<name>/<lease ID hex>` — as leader (oldest candidate), its value,
// fencing token and remaining lease TTL, and the number of candidates behind it. Read-only.
import type { EtcdClient } from '../client/etcd-client.js';
import { leaseTtls } from '../client/lease-ttl.js';
import { prefixEnd } from '../client/prefix-end.js';
import { validationError } from '../errors.js';
import type { ElectionInfo } from './interface.js';

export async function listElections(client: EtcdClient, prefix: unknown, signal?: AbortSignal): Promise<ElectionInfo[]> {
  if (typeof prefix !== 'string' || prefix.includes('\0')) throw validationError('election list prefix must be a string without NUL');
  const root = client.dirs.election;
  const key = Buffer.from(client.key(root + prefix));
  // Every candidate of every matching election, at one revision, in pages.
  const { kvs } = await client.rangeAll('election.list', prefix, { key, range_end: prefixEnd(key) }, { signal, level: 'debug' });
  // Group by election: a candidate's key is the election's prefix plus one last segment (its lease).
  const byName = new Map<string, typeof kvs>();
  for (const kv of kvs) {
    const rel = client.relative(kv.key.toString()).slice(root.length);
    const cut = rel.lastIndexOf('/');
    if (cut <= 0) continue; // not `<name>/<lease>`
    const name = rel.slice(0, cut);
    byName.set(name, [...(byName.get(name) ?? []), kv]);
  }
  // The leader is the oldest candidate, exactly as campaign() decides.
  const leaders = [...byName].map(([name, candidates]) => ({
    name,
    leader: candidates.reduce((a, b) => (b.create_revision < a.create_revision ? b : a)),
    candidates: candidates.length - 1,
  }));
  const ttls = await leaseTtls(client, leaders.map((l) => l.leader.lease), signal);
  return leaders
    .map(({ name, leader, candidates }) => ({
      name,
      leader: { name, value: leader.value.toString(), key: leader.key.toString(), fencingToken: leader.create_revision },
      remainingMs: ttls.get(leader.lease),
      candidates,
    }))
    .sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
}
