// The lock algorithm, as etcd's Go concurrency.Mutex (same keys, so both exclude each other):
// one transaction creates our key (owned by our lease) and reads who is just ahead of us; if
// nobody is, the lock is ours; else we wait for that key alone to go. Unlock deletes our key.
import type { TxnRequest } from '../client/grpc/messages.js';
import type { EtcdClient } from '../client/etcd-client.js';
import { KeptLease } from '../client/lease.js';
import { CoordinationError, ErrorCode, abortError, toCoordinationError, validationError } from '../errors.js';
import { HeldLock } from './held-lock.js';
import type { DistributedLock, Lock, LockCallOptions, LockInfo } from './interface.js';
import { prefixEnd } from '../client/prefix-end.js';
import { contenderKey, lockPrefix, newestTwo } from './keys.js';
import { listLocks } from './listing.js';
import { linkSignals } from './signals.js';
import { FRESH_MS, SpareLeases } from './spare-leases.js';
import { validateLockKey, validateTtl } from './validate.js';
import { aheadOf, waitForTurn, type Contender } from './wait.js';

export class EtcdDistributedLock implements DistributedLock {
  private readonly spares: SpareLeases;
  /** Acquires in progress: close() lets them finish (they abort on `closing`) and clean up. */
  private readonly inflight = new Set<Promise<unknown>>();
  /** An idle watch on a key nobody writes: keeps the coordinator's watch stream open between waits. */

  constructor(private readonly client: EtcdClient) {
    this.spares = new SpareLeases(client);
    client.own({ close: () => this.close() });
  }

  acquire(key: string, ttlMs: number, opts: LockCallOptions = {}): Promise<Lock> {
    return this.track(this.lock(key, ttlMs, true, opts.signal));
  }

  tryAcquire(key: string, ttlMs: number, opts: LockCallOptions = {}): Promise<Lock> {
    return this.track(this.lock(key, ttlMs, false, opts.signal));
  }

  list(prefix = '', opts: LockCallOptions = {}): Promise<LockInfo[]> {
    return listLocks(this.client, prefix, opts.signal);
  }

  async withLock<T>(key: string, ttlMs: number, fn: (signal: AbortSignal) => Promise<T>, opts: LockCallOptions = {}): Promise<T> {
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
    validateLockKey(key);
    validateTtl(ttlMs);
    const what = `lock.${wait ? 'acquire' : 'tryAcquire'} ${key}`;
    this.client.assertOpen(what);
    if (signal?.aborted) throw abortError(signal, what);
    const started = performance.now();
    const prefix = lockPrefix(this.client.prefix, key);
    let lease = await this.spares.take(ttlMs, signal);
    for (let attempt = 1; ; attempt++) {
      try {
        const lock = await this.enqueue(key, prefix, lease, ttlMs, wait, signal);
        this.client.logger.info({ operation: what.split(' ')[0], key, durationMs: round(performance.now() - started) }, 'lock acquired');
        return lock;
      } catch (err) {
        const error = toCoordinationError(err, what);
        // A spare that died unnoticed (process paused past its TTL): nothing was written; once more.
        if (attempt === 1 && error.code === ErrorCode.NotFound && /lease not found/i.test(error.message)) {
          lease.markLost('not found by etcd');
          lease = await KeptLease.grant(this.client, ttlMs, { signal });
          continue;
        }
        throw error;
      }
    }
  }

  private async enqueue(
    key: string,
    prefix: string,
    lease: KeptLease,
    ttlMs: number,
    wait: boolean,
    signal: AbortSignal | undefined,
  ): Promise<HeldLock> {
    const myKey = contenderKey(prefix, lease.id);
    const mine = Buffer.from(myKey);
    const put = { request_put: { key: mine, value: Buffer.alloc(0), lease: lease.id } };
    // A spare that idled a while gets one keep-alive alongside, so ttl() ≈ the requested TTL.
    const refresh = lease.remainingMs() < lease.ttlSeconds * 1000 - FRESH_MS ? lease.keepAliveOnce(signal) : undefined;
    refresh?.catch(() => undefined);
    const txn: TxnRequest = wait
      ? {
          // Enqueue our key if absent and read the newest two contenders: ours, and who is just ahead.
          compare: [{ key: mine, target: 'CREATE', result: 'EQUAL', create_revision: 0 }],
          success: [put, { request_range: newestTwo(prefix) }],
          failure: [{ request_range: { key: mine, keys_only: true } }],
        }
      : {
          // Only if nobody holds or waits: nothing is written on CONFLICT.
          compare: [{ key: Buffer.from(prefix), range_end: prefixEnd(Buffer.from(prefix)), target: 'CREATE', result: 'EQUAL', create_revision: 0 }],
          success: [put],
          failure: [],
        };
    let res;
    try {
      // Enqueuing is safe to resend: a second attempt finds our key and reads its revision.
      res = await this.client.call(wait ? 'lock.acquire' : 'lock.tryAcquire', key, (o) => this.client.rpc.kv.txn(txn, o), {
        signal,
        idempotent: wait,
        level: 'debug',
      });
    } catch (err) {
      // Unknown outcome: our key may exist, so this lease must never serve again.
      if (!/lease not found/i.test(String((err as Error)?.message))) this.spares.revoke(lease);
      throw err;
    }
    if (!wait && !res.succeeded) {
      this.spares.give(lease, ttlMs);
      throw new CoordinationError(ErrorCode.Conflict, `lock ${key} is held by someone else`);
    }
    try {
      let myRev = BigInt(res.header.revision);
      let ahead: string | undefined;
      const contender = (rev: bigint, s: AbortSignal | undefined): Contender => ({
        client: this.client,
        key,
        prefix,
        myKey,
        myRev: rev,
        signal: s ?? this.client.closing,
      });
      if (wait && res.succeeded) {
        ahead = res.responses[1]?.response_range!.kvs[1]?.key.toString();
      } else if (wait) {
        // Our key was already there (a resent enqueue): find our place from its create revision.
        myRev = BigInt(res.responses[0]!.response_range!.kvs[0]!.create_revision);
        ahead = await aheadOf(contender(myRev, signal));
      }
      if (ahead !== undefined) {
        // Our queue entry must outlive a long wait; the wait ends early if the lease is lost.
        lease.startKeepAlive();
        const linked = linkSignals(signal, this.client.closing, lease.signal);
        try {
          await waitForTurn(contender(myRev, linked.signal), ahead);
        } finally {
          linked.dispose();
          lease.stopKeepAlive();
        }
        if (lease.remainingMs() < lease.ttlSeconds * 1000 - FRESH_MS) await lease.keepAliveOnce(signal);
      }
      await refresh?.catch(() => undefined);
      if (lease.isLost) throw lease.signal.reason as CoordinationError;
      return new HeldLock(this.client, this.spares, key, myKey, myRev, lease, ttlMs);
    } catch (err) {
      // Leave nothing behind: revoking our lease deletes our queue key.
      this.spares.revoke(lease);
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
