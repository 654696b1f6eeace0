// The lock algorithm, as etcd's Go concurrency.Mutex (same keys, so both exclude each other):
// one transaction creates our key (owned by our lease) and reads who is just ahead of us; if
// nobody is, the lock is ours; else we wait for that key alone to go. The holder also owns gochat's
// TryAcquire key `<ns>/locks/K` (so gochat's TryAcquire fails while we hold; option
// lock.holdTryAcquireKey: false leaves it out), and we wait while such a key exists. Unlock deletes
// what we wrote.
import type { FullRangeRequest, PutRequest, RangeRequest, RequestOp, TxnRequest, TxnResult } from '../client/grpc/messages.js';
import type { EtcdClient } from '../client/etcd-client.js';
import { KeptLease } from '../shared/kept-lease.js';
import { CoordinationError, ErrorCode, abortError, validationError } from '../errors.js';
import { isLeaseNotFound, toCoordinationError } from '../client/errors.js';
import { HeldLock } from './held-lock.js';
import type { DistributedLock, Lock, LockInfo, LockSettings } from './interface.js';
import { LockKeyCache, type LockKeys } from './keys.js';
import { listLocks } from './listing.js';
import { linkSignals } from '../shared/signals.js';
import type { SignalOptions } from '../shared/vocabulary.js';
import { FRESH_MS, SpareLeases } from '../shared/spare-leases.js';
import { validateLockKey, validateTtl } from './validate.js';
import { waitForLock } from './claim.js';
import type { Contender } from '../shared/fair-queue.js';

export class EtcdDistributedLock implements DistributedLock {
  private readonly spares: SpareLeases;
  private readonly keys: LockKeyCache;
  /** Whether our holder also writes gochat's TryAcquire key (option lock.holdTryAcquireKey). */
  private readonly holdBare: boolean;
  /** Acquires in progress: close() lets them finish (they abort on `closing`) and clean up. */
  private readonly inflight = new Set<Promise<unknown>>();

  constructor(
    private readonly client: EtcdClient,
    settings: Required<LockSettings>,
  ) {
    this.spares = new SpareLeases(client);
    this.keys = new LockKeyCache(client.key(client.dirs.lock));
    this.holdBare = settings.holdTryAcquireKey;
    client.own({ close: () => this.close() });
  }

  acquire(key: string, ttlMs: number, opts: SignalOptions = {}): Promise<Lock> {
    return this.track(this.lock(key, ttlMs, true, opts.signal));
  }

  tryAcquire(key: string, ttlMs: number, opts: SignalOptions = {}): Promise<Lock> {
    return this.track(this.lock(key, ttlMs, false, opts.signal));
  }

  list(prefix = '', opts: SignalOptions = {}): Promise<LockInfo[]> {
    return listLocks(this.client, prefix, opts.signal);
  }

  async withLock<T>(key: string, ttlMs: number, fn: (signal: AbortSignal) => Promise<T>, opts: SignalOptions = {}): Promise<T> {
    if (typeof fn !== 'function') throw validationError('withLock: fn must be a function');
    const lock = await this.track(this.lock(key, ttlMs, true, opts.signal));
    lock.keepAlive();
    const linked = linkSignals(lock.signal, opts.signal);
    try {
      return await fn(linked.signal);
    } finally {
      linked.dispose();
      // fn's outcome wins; a failed unlock only means the lock frees itself after its TTL.
      await lock.unlock().catch((err: unknown) => {
        const error = toCoordinationError(err, `lock.unlock ${key}`);
        this.client.logger.warn({ operation: 'lock.unlock', key, code: error.code, error: error.message }, 'unlock after withLock failed');
      });
    }
  }

  private async lock(key: string, ttlMs: number, wait: boolean, signal: AbortSignal | undefined): Promise<HeldLock> {
    const keys = this.keys.get(key, validateLockKey);
    validateTtl(ttlMs);
    const operation = wait ? 'lock.acquire' : 'lock.tryAcquire';
    if (this.client.isClosed) this.client.assertOpen(`${operation} ${key}`);
    if (signal?.aborted) throw abortError(signal, `${operation} ${key}`);
    const started = performance.now();
    let lease = this.spares.takeReady(ttlMs) ?? (await this.spares.take(ttlMs, signal));
    for (let attempt = 1; ; attempt++) {
      try {
        const lock = await this.enqueue(operation, key, keys, lease, ttlMs, wait, signal);
        this.client.logger.info({ operation, key, durationMs: round(performance.now() - started) }, 'lock acquired');
        return lock;
      } catch (err) {
        const error = toCoordinationError(err, `${operation} ${key}`);
        // A spare that died unnoticed (process paused past its TTL): nothing was written; once more.
        if (attempt === 1 && error.code === ErrorCode.NotFound && isLeaseNotFound(error)) {
          lease.markLost('not found by etcd');
          lease = await KeptLease.grant(this.client, ttlMs, { signal });
          continue;
        }
        throw error;
      }
    }
  }

  /**
   * One acquire attempt on `lease`: take the lock if free, else (acquire only) queue up and wait
   * our turn; then hold it. Whatever fails leaves nothing behind (our lease is revoked).
   */
  private async enqueue(
    operation: string,
    key: string,
    keys: LockKeys,
    lease: KeptLease,
    ttlMs: number,
    wait: boolean,
    signal: AbortSignal | undefined,
  ): Promise<HeldLock> {
    const mine = keys.contender(lease.hexId);
    const refresh = this.refreshIfIdle(lease, signal);
    // Safe to resend: a second attempt finds the lock taken — by our own key, which queueing up finds (prev_kv).
    const taken = await this.send(operation, key, lease, this.takeIfFree(keys, mine.bytes, lease), wait, signal);
    let queued: QueuedUp | undefined;
    if (!taken.succeeded) {
      if (!wait) {
        this.spares.give(lease, ttlMs);
        throw new CoordinationError(ErrorCode.Conflict, `lock ${key} is held by someone else`);
      }
      queued = await this.send(operation, key, lease, queueUp(keys, mine.bytes, lease), true, signal);
    }
    try {
      let myRev: bigint;
      let bareRev: bigint;
      if (queued) [myRev, bareRev] = await this.waitInQueue(key, keys, mine.key, lease, queued, signal);
      else myRev = bareRev = taken.header.revision; // taken outright: both keys were created by this txn
      if (refresh) await refresh.catch(() => undefined);
      if (lease.isLost) throw lease.signal.reason as CoordinationError;
      return new HeldLock({
        client: this.client,
        spares: this.spares,
        key,
        ownerKey: mine.key,
        ownerBytes: mine.bytes,
        fencingToken: myRev,
        bareKey: this.holdBare ? keys.bare : undefined,
        bareRev,
        lease,
        ttlMs,
      });
    } catch (err) {
      // Leave nothing behind: revoking our lease deletes our queue key (and the bare key, if ours).
      this.spares.revoke(lease);
      throw err;
    }
  }

  /** A spare that idled a while gets one keep-alive alongside, so ttl() ≈ the requested TTL. */
  private refreshIfIdle(lease: KeptLease, signal: AbortSignal | undefined): Promise<number> | undefined {
    if (lease.remainingMs() >= lease.ttlSeconds * 1000 - FRESH_MS) return undefined;
    const refresh = lease.keepAliveOnce(signal);
    refresh.catch(() => undefined);
    return refresh;
  }

  /**
   * Nobody holds or waits — no contender, no gochat TryAcquire key: the lock is ours in one round
   * trip (and the bare key too, unless the app opted out of holding it). Nothing on failure: a
   * smaller request is a faster one, and only a contended acquire pays the second round trip.
   */
  private takeIfFree(keys: LockKeys, mine: Buffer, lease: KeptLease): TxnRequest {
    const put = { key: mine, value: Buffer.alloc(0), lease: lease.id };
    return {
      compare: keys.free as TxnRequest['compare'],
      success: this.holdBare ? [{ request_put: put }, { request_put: { key: keys.bare, value: put.value, lease: lease.id } }] : [{ request_put: put }],
    };
  }

  /**
   * Waits until the queued lock is ours; resolves with our key's create revision (our place, the
   * fencing token) and the bare key's. `res` answers queueUp().
   */
  private async waitInQueue(
    key: string,
    keys: LockKeys,
    myKey: string,
    lease: KeptLease,
    res: QueuedUp,
    signal: AbortSignal | undefined,
  ): Promise<[bigint, bigint]> {
    // A resend finds our key already there (prev_kv): our place is where that key was created.
    const prev = res.responses[0]?.response_put!.prev_kv;
    const myRev = prev?.create_revision ?? res.header.revision;
    // Fresh key: it is the newest, so the second newest is just ahead, else the bare key's holder
    // blocks us. Resent: the first claim finds our place.
    const [ahead, holder] = [res.responses[1]?.response_range!.kvs[1], res.responses[2]?.response_range!.kvs[0]];
    if (holder?.lease === lease.id) return [myRev, holder.create_revision]; // a resend had taken the lock outright
    const first = prev ? undefined : (ahead ?? holder);
    const blocker = first && { key: first.key.toString(), rev: first.create_revision };
    // Our queue entry must outlive a long wait; the wait ends early if the lease is lost.
    lease.startKeepAlive();
    const linked = linkSignals(signal, this.client.closing, lease.signal);
    let bareRev: bigint;
    try {
      const contender: Contender = { client: this.client, key, prefix: keys.prefix, myKey, myRev, signal: linked.signal };
      bareRev = await waitForLock(contender, blocker, keys.bare, this.holdBare ? lease.id : undefined);
    } finally {
      linked.dispose();
      lease.stopKeepAlive();
    }
    if (lease.remainingMs() < lease.ttlSeconds * 1000 - FRESH_MS) await lease.keepAliveOnce(signal);
    return [myRev, bareRev];
  }

  /** One lock transaction; on an unknown outcome our key may exist, so the lease never serves again. */
  private async send<const S extends readonly RequestOp[], const F extends readonly RequestOp[]>(
    operation: string,
    key: string,
    lease: KeptLease,
    txn: TxnRequest<S, F>,
    idempotent: boolean,
    signal: AbortSignal | undefined,
  ): Promise<TxnResult<S, F>> {
    try {
      return await this.client.call(operation, key, (o) => this.client.rpc.kv.txn(txn, o), { signal, idempotent, level: 'debug' });
    } catch (err) {
      if (!isLeaseNotFound(err)) this.spares.revoke(lease);
      throw err;
    }
  }

  private track<T>(p: Promise<T>): Promise<T> {
    this.inflight.add(p);
    const done = (): void => void this.inflight.delete(p);
    p.then(done, done);
    return p;
  }

  private async close(): Promise<void> {
    await Promise.allSettled([...this.inflight]);
    await this.spares.close();
  }
}

function round(ms: number): number {
  return Math.round(ms * 100) / 100;
}

/**
 * Queue up: our key (a resend, or a first attempt whose answer was lost, finds it in prev_kv), who
 * is just ahead, the bare key.
 */
type QueueUpOps = [{ request_put: PutRequest }, { request_range: RangeRequest }, { request_range: FullRangeRequest }];
type QueuedUp = TxnResult<QueueUpOps, []>;

function queueUp(keys: LockKeys, mine: Buffer, lease: KeptLease): TxnRequest<QueueUpOps, []> {
  return {
    success: [{ request_put: { key: mine, value: Buffer.alloc(0), lease: lease.id, prev_kv: true } }, { request_range: keys.newest }, { request_range: keys.bareRead }],
  };
}
