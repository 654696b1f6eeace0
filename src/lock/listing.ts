// DistributedLock.list(): the locks etcd holds now under `/locks/` — ours and Go Mutex's, which share
// the layout `/locks/<name>/<lease ID hex>`, and gochat TryAcquire's bare `/locks/<name>` — as holder
// (lowest create revision), fencing token, holder's remaining lease TTL, and the number of waiters.
// Read-only, for operators' tools.
import type { EtcdClient } from '../client/etcd-client.js';
import { leaseTtls } from '../client/lease-ttl.js';
import { validationError } from '../errors.js';
import type { LockInfo } from './interface.js';
import { prefixEnd } from '../client/prefix-end.js';
import { isContenderKey } from './keys.js';

export async function listLocks(client: EtcdClient, prefix: unknown, signal?: AbortSignal): Promise<LockInfo[]> {
  if (typeof prefix !== 'string' || prefix.includes('\0')) throw validationError('lock list prefix must be a string without NUL');
  const root = client.dirs.lock;
  const key = Buffer.from(client.key(root + prefix));
  // Every contender of every matching lock, at one revision, in pages: whole keys, since a key's lease
  // tells contender from bare key (a keys-only read has no lease on etcd 3.7; lock values are empty).
  const { kvs } = await client.rangeAll('lock.list', prefix, { key, range_end: prefixEnd(key) }, { signal, level: 'debug' });
  // Group by lock: a contender's key is the lock's prefix plus its lease in hex; any other key is
  // gochat's TryAcquire key of the lock it names (held alone, or alongside by our holder).
  const byLock = new Map<string, { contenders: typeof kvs; bare?: (typeof kvs)[number] }>();
  const entry = (name: string) => byLock.get(name) ?? byLock.set(name, { contenders: [] }).get(name)!;
  for (const kv of kvs) {
    const rel = client.relative(kv.key.toString()).slice(root.length);
    const cut = rel.lastIndexOf('/');
    if (cut > 0 && isContenderKey(rel, kv.lease)) entry(rel.slice(0, cut)).contenders.push(kv);
    else entry(rel).bare = kv;
  }
  // The holder is the oldest contender, exactly as acquire() decides — unless the bare key belongs to
  // none of them: then a gochat TryAcquire holds the lock, and every contender waits.
  const holders = [...byLock].map(([name, { contenders, bare }]) => {
    const oldest = contenders.reduce<(typeof kvs)[number] | undefined>((a, b) => (!a || b.create_revision < a.create_revision ? b : a), undefined);
    const foreign = bare !== undefined && !contenders.some((c) => c.lease === bare.lease);
    return foreign || !oldest ? { name, holder: bare!, waiters: contenders.length } : { name, holder: oldest, waiters: contenders.length - 1 };
  });
  const ttls = await leaseTtls(client, holders.map((h) => h.holder.lease), signal);
  return holders
    .map(({ name, holder, waiters }) => ({
      name,
      holderKey: holder.key.toString(),
      fencingToken: holder.create_revision,
      remainingMs: ttls.get(holder.lease),
      waiters,
    }))
    .sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
}
