// ── INTERNAL, CLI only ──────────────────────────────────────────────────────────────────────────
// Reads coordctl needs that the components do not expose (yet). They go through the coordinator's
// own EtcdClient.call() — same deadline, retry, error mapping and logging as the library — and
// decode with the components' own codecs, so there is no second path to etcd for what the library
// already does. Each function names the public method that should replace it:
//   serviceEntries()  → ServiceRegistry.list(name?): every instance, with its lease's TTL left
//   lockEntries()     → DistributedLock.list(prefix): holder, fencing token, TTL left, waiters
// ────────────────────────────────────────────────────────────────────────────────────────────────
import type { Coordinator } from '../coordinator.js';
import { EtcdClient } from '../client/etcd-client.js';
import { pagedRange } from '../client/paged-range.js';
import { prefixEnd } from '../client/watch-stream.js';
import { decodeService } from '../registry/codec.js';
import type { ServiceInfo } from '../registry/interface.js';
import { CoordinationError, ErrorCode } from '../errors.js';

interface Options {
  signal?: AbortSignal;
}

/** The one narrow door to the coordinator's client: only the two reads below use it. */
function clientOf(coordinator: Coordinator): EtcdClient {
  const client = (coordinator as Coordinator & { client?: unknown }).client;
  if (!(client instanceof EtcdClient)) throw new CoordinationError(ErrorCode.Validation, 'coordctl needs a coordinator from createCoordinator()');
  return client;
}

interface RawKv {
  /** Relative to the namespace. */
  key: string;
  value: Buffer;
  createRevision: bigint;
  modRevision: bigint;
  version: number;
  /** Lease ID (decimal string), '0' for none. */
  lease: string;
}

/** Every key under `prefix` (relative to the namespace) at one revision, in key order. */
async function rangePrefix(client: EtcdClient, prefix: string, operation: string, opts: Options): Promise<{ kvs: RawKv[]; revision: bigint }> {
  const key = Buffer.from(client.key(prefix));
  // In pages at one revision: a single response is capped at gRPC's 4 MiB (a big config export).
  const res = await client.call(
    operation,
    prefix,
    () => pagedRange({ key, range_end: prefixEnd(key) }, (req) => client.etcd.kv.range(req, client.callOptions())),
    { signal: opts.signal, idempotent: true, level: 'debug' },
  );
  return {
    revision: res.revision,
    kvs: res.kvs.map((kv) => ({
      key: client.relative(kv.key.toString('utf8')),
      value: kv.value,
      createRevision: BigInt(kv.create_revision),
      modRevision: BigInt(kv.mod_revision),
      version: Number(kv.version),
      lease: kv.lease,
    })),
  };
}

/** Remaining TTL of a lease in ms (whole seconds, as etcd reports); undefined for no lease / expired. */
async function leaseTtlMs(client: EtcdClient, lease: string, opts: Options): Promise<number | undefined> {
  if (lease === '0' || lease === '') return undefined;
  const res = await client.call('lease.ttl', lease, (o) => client.etcd.leaseClient.leaseTimeToLive({ ID: lease, keys: false }, o), {
    signal: opts.signal,
    idempotent: true,
    level: 'debug',
  });
  const ttl = Number(res.TTL);
  return ttl < 0 ? undefined : ttl * 1000;
}

/** Looks up each distinct lease once, a few at a time. */
async function leaseTtls(client: EtcdClient, leases: string[], opts: Options): Promise<Map<string, number | undefined>> {
  const distinct = [...new Set(leases.filter((l) => l !== '0'))];
  const out = new Map<string, number | undefined>();
  for (let i = 0; i < distinct.length; i += 16) {
    const batch = distinct.slice(i, i + 16);
    const ttls = await Promise.all(batch.map((l) => leaseTtlMs(client, l, opts)));
    batch.forEach((l, j) => out.set(l, ttls[j]));
  }
  return out;
}

export interface ServiceEntry extends ServiceInfo {
  /** Remaining lease TTL in ms; undefined if the key has no lease (or it just expired). */
  ttlLeft: number | undefined;
  /** Mod revision of the instance's key. */
  revision: bigint;
}

/** Instances of `name` (or of every service), sorted by name then id. → ServiceRegistry.list(name?) */
export async function serviceEntries(coordinator: Coordinator, name: string | undefined, opts: Options = {}): Promise<ServiceEntry[]> {
  const client = clientOf(coordinator);
  const { kvs } = await rangePrefix(client, name === undefined ? 'services/' : `services/${name}/`, 'registry.list', opts);
  const ttls = await leaseTtls(client, kvs.map((kv) => kv.lease), opts);
  const out: ServiceEntry[] = [];
  for (const kv of kvs) {
    const info = decodeService(kv.value, kv.key);
    if (info) out.push({ ...info, ttlLeft: ttls.get(kv.lease), revision: kv.modRevision });
  }
  return out.sort((a, b) => (a.name === b.name ? (a.id < b.id ? -1 : 1) : a.name < b.name ? -1 : 1));
}

export interface LockEntry {
  /** The lock's name (as passed to acquire()). */
  name: string;
  /** Full etcd key of the holder (`<ns>/locks/<name>/<lease hex>`). */
  holderKey: string;
  /** Create revision of the holder's key. */
  fencingToken: bigint;
  /** Remaining TTL of the holder's lease in ms. */
  ttlLeft: number | undefined;
  /** Contenders queued behind the holder. */
  waiters: number;
}

/**
 * Locks whose name starts with `prefix`: contenders grouped by lock (key minus the last `/lease`
 * segment, as etcd's Go Mutex lays them out), holder = lowest create revision. → DistributedLock.list(prefix)
 */
export async function lockEntries(coordinator: Coordinator, prefix: string, opts: Options = {}): Promise<LockEntry[]> {
  const client = clientOf(coordinator);
  const { kvs } = await rangePrefix(client, `locks/${prefix}`, 'lock.list', opts);
  const byName = new Map<string, RawKv[]>();
  for (const kv of kvs) {
    const cut = kv.key.lastIndexOf('/');
    if (cut <= 'locks/'.length) continue; // not `locks/<name>/<lease>`
    const name = kv.key.slice('locks/'.length, cut);
    byName.set(name, [...(byName.get(name) ?? []), kv]);
  }
  const holders = [...byName.entries()].map(([name, contenders]) => {
    const holder = contenders.reduce((a, b) => (b.createRevision < a.createRevision ? b : a));
    return { name, holder, waiters: contenders.length - 1 };
  });
  const ttls = await leaseTtls(client, holders.map((h) => h.holder.lease), opts);
  return holders
    .map(({ name, holder, waiters }) => ({
      name,
      holderKey: client.key(holder.key),
      fencingToken: holder.createRevision,
      ttlLeft: ttls.get(holder.lease),
      waiters,
    }))
    .sort((a, b) => (a.name < b.name ? -1 : 1));
}
