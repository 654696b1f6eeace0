// DistributedLock.list(): the locks etcd holds now under `locks/` — ours and Go Mutex's, which share
// the layout `locks/<name>/<lease ID hex>` — as holder (lowest create revision), fencing token,
// holder's remaining lease TTL, and the number of waiters. Read-only, for operators' tools.
import type { EtcdClient } from '../client/etcd-client.js';
import { leaseTtls } from '../client/lease-ttl.js';
import { pagedRange } from '../client/paged-range.js';
import { validationError } from '../errors.js';
import type { LockInfo } from './interface.js';
import { prefixEnd } from '../client/prefix-end.js';

const LOCKS = 'locks/';

export async function listLocks(client: EtcdClient, prefix: unknown, signal?: AbortSignal): Promise<LockInfo[]> {
  if (typeof prefix !== 'string' || prefix.includes('\0')) throw validationError('lock list prefix must be a string without NUL');
  const key = Buffer.from(client.key(LOCKS + prefix));
  // Every contender of every matching lock, at one revision, in pages.
  const { kvs } = await client.call(
    'lock.list',
    prefix,
    () => pagedRange({ key, range_end: prefixEnd(key), keys_only: true }, (req) => client.rpc.kv.range(req, client.callOptions())),
    { signal, idempotent: true, level: 'debug' },
  );
  // Group by lock: a contender's key is the lock's prefix plus one last segment (its lease).
  const byLock = new Map<string, typeof kvs>();
  for (const kv of kvs) {
    const rel = client.relative(kv.key.toString()).slice(LOCKS.length);
    const cut = rel.lastIndexOf('/');
    if (cut <= 0) continue; // not `<name>/<lease>`
    const name = rel.slice(0, cut);
    byLock.set(name, [...(byLock.get(name) ?? []), kv]);
  }
  // The holder is the oldest contender, exactly as acquire() decides.
  const holders = [...byLock].map(([name, contenders]) => ({
    name,
    holder: contenders.reduce((a, b) => (BigInt(b.create_revision) < BigInt(a.create_revision) ? b : a)),
    waiters: contenders.length - 1,
  }));
  const ttls = await leaseTtls(client, holders.map((h) => h.holder.lease), signal);
  return holders
    .map(({ name, holder, waiters }) => ({
      name,
      holderKey: holder.key.toString(),
      fencingToken: BigInt(holder.create_revision),
      ttlLeft: ttls.get(holder.lease),
      waiters,
    }))
    .sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
}
