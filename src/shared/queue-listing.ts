// The queue recipe read back for operators (lock and election listings, the leader observer): every
// queue under a component's root at one revision, its contenders `<name>/<last segment>` grouped by
// name, and who leads — the oldest create revision, exactly as the recipe decides. Read-only.
import type { EtcdClient } from '../client/etcd-client.js';
import type { KeyValue } from '../client/grpc/messages.js';
import { prefixEnd } from '../client/prefix-end.js';
import { validationError } from '../errors.js';
import { leaseTtls } from './lease-ttl.js';
import type { HolderInfo } from './vocabulary.js';

/** The one that leads: the lowest create revision among `items`; undefined when there are none. */
export function oldest<T>(items: Iterable<T>, createOf: (item: T) => bigint): T | undefined {
  let first: T | undefined;
  for (const item of items) if (first === undefined || createOf(item) < createOf(first)) first = item;
  return first;
}

export interface Queue {
  /** The queue's name, relative to the component's root. */
  name: string;
  contenders: KeyValue[];
  /** The oldest contender (undefined only for a queue seen by its bare key alone). */
  leader: KeyValue | undefined;
  /** A key at the queue's own name, not a contender's (gochat TryAcquire's bare lock key). */
  bare: KeyValue | undefined;
}

export interface QueueRead {
  /** Names the read in errors and logs: 'lock.list', 'election.list'. */
  operation: string;
  /** The component's root directory (client.dirs.*). */
  root: string;
  /** Queue names starting with this ('' for all): a string without NUL, else VALIDATION_ERROR. */
  prefix: unknown;
  /** Whether a key `<name>/<segment>` is a contender (default: every such key). */
  isContender?: (relative: string, kv: KeyValue) => boolean;
  /** The queue a contender's key (relative to the root) belongs to, for layouts deeper than `<name>/<segment>`; undefined: not a contender. */
  nameOf?: (relative: string) => string | undefined;
  signal?: AbortSignal | undefined;
}

/** Every queue under `root + prefix`, sorted by name. */
export async function readQueues(client: EtcdClient, o: QueueRead): Promise<Queue[]> {
  const noun = o.operation.split('.')[0]!;
  if (typeof o.prefix !== 'string' || o.prefix.includes('\0')) throw validationError(`${noun} list prefix must be a string without NUL`);
  const key = Buffer.from(client.key(o.root + o.prefix));
  // Whole keys, at one revision, in pages: a key's lease tells a contender from a bare key (a
  // keys-only read has no lease on etcd 3.7).
  const { kvs } = await client.rangeAll(o.operation, o.prefix, { key, range_end: prefixEnd(key) }, { signal: o.signal, level: 'debug' });
  const byName = new Map<string, Queue>();
  const queue = (name: string): Queue => byName.get(name) ?? byName.set(name, { name, contenders: [], leader: undefined, bare: undefined }).get(name)!;
  for (const kv of kvs) {
    const rel = client.relative(kv.key.toString()).slice(o.root.length);
    if (o.nameOf) {
      const name = o.nameOf(rel);
      if (name !== undefined) queue(name).contenders.push(kv);
      continue;
    }
    const cut = rel.lastIndexOf('/');
    if (cut > 0 && (o.isContender?.(rel, kv) ?? true)) queue(rel.slice(0, cut)).contenders.push(kv);
    else queue(rel).bare = kv;
  }
  for (const q of byName.values()) q.leader = oldest(q.contenders, (kv) => kv.create_revision);
  return [...byName.values()].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
}

/** Each row's holders as listings show them: key, fencing token, TTL left (one look-up per distinct lease). */
export async function holderInfos(client: EtcdClient, rows: KeyValue[][], signal?: AbortSignal): Promise<HolderInfo[][]> {
  const ttls = await leaseTtls(client, rows.flat().map((h) => h.lease), signal);
  return rows.map((holders) => holders.map((h) => ({ key: h.key.toString(), fencingToken: h.create_revision, remainingMs: ttls.get(h.lease) })));
}
