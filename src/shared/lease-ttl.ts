// Remaining TTLs of leases we do not hold (someone else's registration or lock), for read-only
// listings. etcd reports whole seconds; -1 means the lease is gone.
import { hasLease, remainingFromTtl, type RemainingMs } from './vocabulary.js';
import type { EtcdClient } from '../client/etcd-client.js';

/** Look-ups in flight at once when listing many keys. */
const CONCURRENCY = 16;

/** Remaining TTL of `lease` (decimal string, as etcd's int64) in ms; undefined for no lease ('0') or an expired one (the RemainingMs rule). */
export async function leaseTtlMs(client: EtcdClient, lease: string, signal?: AbortSignal): Promise<RemainingMs> {
  if (!hasLease(lease)) return undefined;
  const res = await client.call('lease.ttl', lease, (o) => client.rpc.lease.timeToLive({ ID: lease, keys: false }, o), {
    signal,
    idempotent: true,
    level: 'debug',
  });
  return remainingFromTtl(Number(res.TTL));
}

/** leaseTtlMs() of each distinct lease, CONCURRENCY at a time. */
export async function leaseTtls(client: EtcdClient, leases: string[], signal?: AbortSignal): Promise<Map<string, RemainingMs>> {
  const distinct = [...new Set(leases.filter(hasLease))];
  const out = new Map<string, RemainingMs>();
  for (let i = 0; i < distinct.length; i += CONCURRENCY) {
    const batch = distinct.slice(i, i + CONCURRENCY);
    const ttls = await Promise.all(batch.map((l) => leaseTtlMs(client, l, signal)));
    batch.forEach((l, j) => out.set(l, ttls[j]));
  }
  return out;
}
