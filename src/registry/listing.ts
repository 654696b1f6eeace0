// ServiceRegistry.list(): what etcd holds now under `/services/` — ours and Go services' instances —
// with each instance's remaining lease TTL. A read for operators' tools, not the discovery path.
import type { EtcdClient } from '../client/etcd-client.js';
import { leaseTtls } from '../shared/lease-ttl.js';
import { prefixEnd } from '../client/prefix-end.js';
import { decodeService, servicePrefix } from './codec.js';
import type { ServiceListing } from './interface.js';

export async function listServices(client: EtcdClient, name: string | undefined, signal?: AbortSignal): Promise<ServiceListing[]> {
  const prefix = name === undefined ? client.dirs.registry : servicePrefix(client.dirs.registry, name);
  const key = Buffer.from(client.key(prefix));
  // One snapshot, in pages (a big registry does not fit one 4 MiB response).
  const { kvs } = await client.rangeAll('registry.list', prefix, { key, range_end: prefixEnd(key) }, { signal, level: 'debug' });
  const ttls = await leaseTtls(client, kvs.map((kv) => kv.lease), signal);
  const out: ServiceListing[] = [];
  for (const kv of kvs) {
    const info = decodeService(kv.value, kv.key.toString());
    // Values that are not instance JSON are not instances: skipped, as discovery skips them.
    if (info) out.push({ ...info, remainingMs: ttls.get(kv.lease), revision: kv.mod_revision });
  }
  return out.sort((a, b) => (a.name === b.name ? cmp(a.id, b.id) : cmp(a.name, b.name)));
}

const cmp = (a: string, b: string): number => (a < b ? -1 : a > b ? 1 : 0);
