// Allocating instance IDs on etcd, the way etcd's Go recipes claim a key: each ID is a key created
// only if absent, in one transaction, bound to the holder's own lease. A pool is listed once (keys
// only), then free IDs are tried from a random start, so the common case costs one range + one txn.
import type { KeyRevision, KeyValue } from '../client/grpc/messages.js';
import type { EtcdClient } from '../client/etcd-client.js';
import { KeptLease } from '../shared/kept-lease.js';
import { leaseTtls } from '../shared/lease-ttl.js';
import { CoordinationError, ErrorCode, abortError } from '../errors.js';
import { toCoordinationError } from '../client/errors.js';
import { freeCandidates } from './candidates.js';
import { HeldId } from './held-id.js';
import type { AllocateOptions, InstanceId, InstanceIdAllocator, InstanceIdEntry } from './interface.js';
import { prefixEnd } from '../client/prefix-end.js';
import { idKey, ownerText, ownerValue, parseId, poolPrefix } from './keys.js';
import { resolveAllocate, validatePool, type ResolvedAllocate } from './validate.js';
import { hasLease } from '../shared/vocabulary.js';
import { absent } from '../shared/guard.js';

/** Lost races in a row after which our view of the pool is stale and worth reading again. */
const RELIST_AFTER_LOST_RACES = 3;
/** Keys per range request when listing a pool (a range may span a million IDs). */
const PAGE = 10_000;

export class EtcdIdAllocator implements InstanceIdAllocator {
  constructor(private readonly client: EtcdClient) {}

  async allocate(pool: string, options: AllocateOptions = {}): Promise<InstanceId> {
    // Every check runs before the first request: bad input writes nothing.
    validatePool(pool, 'ids.allocate');
    const what = `ids.allocate ${pool}`;
    const resolved = resolveAllocate(options, what);
    const signal = options.signal;
    if (signal?.aborted) throw abortError(signal, what);
    this.client.assertOpen(what);
    const started = performance.now();

    // One lease per ID, granted before the txn so the key is born bound to it and dies with the
    // process; the grant and the first listing of the pool are independent, so they go together.
    const [granted, listed] = await Promise.allSettled([
      KeptLease.grant(this.client, resolved.ttlMs, { signal, keepAlive: true }),
      this.takenIds(pool, signal),
    ]);
    if (granted.status === 'rejected') throw toCoordinationError(granted.reason, what);
    const lease = granted.value;
    try {
      if (listed.status === 'rejected') throw listed.reason;
      const { id, revision, races } = await this.claim(pool, resolved, lease, listed.value, signal);
      const key = idKey(this.client.dirs.ids, pool, id);
      // The claim landed, but the ID is ours only while the lease lives: one whose TTL ran out while
      // the claim was on its way (a slow link, a paused process) may be gone in etcd already, and the
      // ID with it — another instance may hold it. Never hand that out (the catch revokes the lease).
      if (lease.signal.aborted || lease.remainingMs() <= 0) {
        throw new CoordinationError(ErrorCode.NotFound, `${what}: the lease ran out (TTL ${lease.ttlSeconds} s) before id ${id} was claimed; nothing is held`);
      }
      const durationMs = Math.round((performance.now() - started) * 100) / 100;
      this.client.logger.info({ operation: 'ids.allocate', key, durationMs, attempt: races + 1 }, 'instance id allocated');
      return new HeldId(this.client, pool, id, key, lease, revision);
    } catch (err) {
      // Whatever this attempt may have written is bound to the lease: revoking it removes it.
      await lease.revoke().catch(() => undefined);
      throw toCoordinationError(err, what);
    }
  }

  async list(pool: string, options: { signal?: AbortSignal } = {}): Promise<InstanceIdEntry[]> {
    validatePool(pool, 'ids.list');
    const kvs = await this.scan(pool, false, options.signal);
    // Remaining TTLs come from etcd (one look-up per holder, a few at a time); expired holders are left out.
    const ttls = await leaseTtls(this.client, kvs.map(({ kv }) => kv.lease), options.signal);
    return kvs
      .flatMap(({ id, kv }): InstanceIdEntry[] => {
        const remainingMs = ttls.get(kv.lease);
        if (hasLease(kv.lease) && (remainingMs === undefined || remainingMs <= 0)) return []; // its lease is gone: the ID is free
        return [{ id, owner: ownerText(kv.value), remainingMs }];
      })
      .sort((a, b) => a.id - b.id);
  }

  /** Tries free IDs until one txn creates its key; CONFLICT once a fresh listing shows none free. */
  private async claim(
    pool: string,
    o: ResolvedAllocate,
    lease: KeptLease,
    listed: Set<number>,
    signal: AbortSignal | undefined,
  ): Promise<{ id: number; revision: bigint; races: number }> {
    const value = Buffer.from(JSON.stringify(ownerValue()));
    let races = 0;
    for (let taken = listed; ; taken = await this.takenIds(pool, signal)) {
      // Candidates straight from one read of what is taken, without re-reading per try.
      let lostInRow = 0;
      for (const id of freeCandidates(o.min, o.max, taken, o.preferred)) {
        const revision = await this.tryCreate(pool, id, lease, value, signal);
        if (revision !== undefined) return { id, revision, races };
        races++;
        // Someone took it since we listed; after a few such races our view is stale: list again.
        if (++lostInRow >= RELIST_AFTER_LOST_RACES) break;
      }
      // A full scan of a fresh listing found nothing free: the pool is full, do not spin.
      if (lostInRow === 0) throw new CoordinationError(ErrorCode.Conflict, `pool ${pool} full (${o.min}..${o.max})`);
    }
  }

  /** Creates the ID's key if absent, bound to `lease`; its create revision, or undefined if taken. */
  private async tryCreate(
    pool: string,
    id: number,
    lease: KeptLease,
    value: Buffer,
    signal: AbortSignal | undefined,
  ): Promise<bigint | undefined> {
    const rel = idKey(this.client.dirs.ids, pool, id);
    const key = Buffer.from(this.client.key(rel));
    const res = await this.client.call(
      'ids.claim',
      rel,
      (o) =>
        this.client.rpc.kv.txn(
          {
            compare: [absent(key)],
            success: [{ request_put: { key, value, lease: lease.id } }],
            // Read the holder back: a retry after an unknown outcome finds our own key there.
            failure: [{ request_range: { key } }],
          },
          o,
        ),
      // Safe to resend: the second attempt recognises the first one's key by its lease.
      { signal, idempotent: true, level: 'debug' },
    );
    if (res.succeeded) return res.header.revision;
    const holder = res.responses[0]?.response_range?.kvs[0];
    return holder && holder.lease === lease.id ? holder.create_revision : undefined;
  }

  /** The taken IDs of `pool`, from one keys-only listing. */
  private async takenIds(pool: string, signal: AbortSignal | undefined): Promise<Set<number>> {
    return new Set((await this.scan(pool, true, signal)).map((e) => e.id));
  }

  /** Every ID key of `pool` (ignoring keys that are not plain decimals), in pages at one revision. */
  private async scan(pool: string, keysOnly: true, signal: AbortSignal | undefined): Promise<Array<{ id: number; kv: KeyRevision }>>;
  private async scan(pool: string, keysOnly: false, signal: AbortSignal | undefined): Promise<Array<{ id: number; kv: KeyValue }>>;
  private async scan(pool: string, keysOnly: boolean, signal: AbortSignal | undefined): Promise<Array<{ id: number; kv: KeyRevision }>> {
    const rel = poolPrefix(this.client.dirs.ids, pool);
    const prefix = this.client.key(rel);
    const key = Buffer.from(prefix);
    const { kvs } = await this.client.rangeAll('ids.scan', rel, { key, range_end: prefixEnd(key), keys_only: keysOnly }, { signal, level: 'debug', pageSize: PAGE });
    return kvs.flatMap((kv) => {
      const id = parseId(kv.key.toString(), prefix);
      return id === undefined ? [] : [{ id, kv }];
    });
  }
}
