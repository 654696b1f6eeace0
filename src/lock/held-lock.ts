// A lock we hold: our contender key, its create revision (the fencing token), gochat's TryAcquire
// key that we hold alongside (unless the app set lock.holdTryAcquireKey: false), and the lease that
// keeps both. Loss is noticed from the lease (expired, revoked, or unconfirmed for a whole TTL — a
// local deadline) and, once someone looks at `signal`, from a watch on our own key.
import type { Compare } from '../client/grpc/messages.js';
import type { EtcdClient } from '../client/etcd-client.js';
import { ttlSeconds, type KeptLease } from '../shared/kept-lease.js';
import { CoordinationError, ErrorCode } from '../errors.js';
import { toCoordinationError } from '../client/errors.js';
import { LeasedKey, type LeasedKeyRole } from '../shared/leased-key.js';
import type { SignalOptions } from '../shared/vocabulary.js';
import type { Lock, OwnershipCondition } from './interface.js';
import { FRESH_MS, type SpareLeases } from '../shared/spare-leases.js';
import { validateTtl } from './validate.js';
import { RetryableOnce } from '../shared/retryable-once.js';
import { heldAt } from '../shared/guard.js';
import { guardedPut } from '../shared/held-key.js';

const ROLE: LeasedKeyRole = {
  noun: 'lock',
  from: 'held',
  lostOperation: 'lock',
  lostMessage: 'lock lost',
  released: 'the lock was released',
  leaseBound: false,
};

export interface HeldLockOptions {
  client: EtcdClient;
  spares: SpareLeases;
  /** Lock name. */
  key: string;
  /** Our contender key, and the same as bytes (shared with the lock's key cache: sent, never changed). */
  ownerKey: string;
  ownerBytes: Buffer;
  fencingToken: bigint;
  /** gochat's TryAcquire key `<ns>/locks/K` when we hold it alongside (the default), and its create revision. */
  bareKey: Buffer | undefined;
  bareRev: bigint;
  lease: KeptLease;
  /** Requested TTL: which spares bucket the lease goes back to. */
  ttlMs: number;
}

export class HeldLock extends LeasedKey implements Lock {
  readonly key: string;
  readonly ownerKey: string;
  private readonly spares: SpareLeases;
  /** gochat's TryAcquire key and its create revision, when we hold it alongside. */
  private readonly bare: Buffer | undefined;
  private readonly bareRev: bigint;
  private ttlMs: number;
  private keepingAlive = false;
  private readonly unlocking = new RetryableOnce(); // the lease expires if nobody tries again

  constructor(o: HeldLockOptions) {
    super(o.client, ROLE, o.key, o.ownerBytes, o.fencingToken, o.lease);
    this.key = o.key;
    this.ownerKey = o.ownerKey;
    this.spares = o.spares;
    this.bare = o.bareKey;
    this.bareRev = o.bareRev;
    this.ttlMs = o.ttlMs;
  }

  unlock(opts: SignalOptions = {}): Promise<void> {
    return this.unlocking.run(() => this.release(opts.signal), `lock.unlock ${this.key}`);
  }

  async renew(ttlMs: number, opts: SignalOptions = {}): Promise<void> {
    validateTtl(ttlMs);
    this.assertHeld('renew');
    if (ttlSeconds(ttlMs) === ttlSeconds(this.ttlMs)) {
      // Same lease TTL: one keep-alive, and a look at our key in case it was deleted under us.
      await Promise.all([this.lease.keepAliveOnce(opts.signal), this.checkOwnKey(opts.signal)]).catch((err: unknown) => {
        throw this.lost ?? toCoordinationError(err, `lock.renew ${this.key}`);
      });
      return;
    }
    // Another TTL: move our key to a new lease in one guarded put — same key, same create
    // revision (fencing token), same place in the queue — then recycle the old lease.
    const next = await this.spares.take(ttlMs, opts.signal);
    let res;
    try {
      if (next.remainingMs() < next.ttlSeconds * 1000 - FRESH_MS) await next.keepAliveOnce(opts.signal);
      const key = this.ownKey;
      const bare = this.bare;
      res = await this.client.call(
        'lock.renew',
        this.key,
        (o) =>
          this.client.rpc.kv.txn(
            {
              compare: bare ? [this.ownershipCondition(), this.bareHeld(bare)] : [this.ownershipCondition()],
              success: [
                { request_put: { key, value: Buffer.alloc(0), lease: next.id } },
                ...(bare ? [{ request_put: { key: bare, value: Buffer.alloc(0), lease: next.id } }] : []),
              ],
              failure: [{ request_range: { key, keys_only: true } }],
            },
            o,
          ),
        { signal: opts.signal, idempotent: true, level: 'debug' },
      );
    } catch (err) {
      this.spares.revoke(next); // the outcome is unknown: it may carry our key now
      throw toCoordinationError(err, `lock.renew ${this.key}`);
    }
    if (!res.succeeded) {
      this.spares.give(next, ttlMs);
      const ours = res.responses[0]?.response_range!.kvs[0];
      this.markLost(
        !ours
          ? new CoordinationError(ErrorCode.NotFound, `lock ${this.key}: our key is gone (lease expired or key deleted)`)
          : ours.create_revision !== this.fencingToken
            ? this.replaced()
            : new CoordinationError(ErrorCode.Conflict, `lock ${this.key}: the key ${this.bare?.toString()} was deleted or taken over`),
      );
      throw this.lost!;
    }
    const [old, oldTtlMs] = [this.lease, this.ttlMs];
    this.moveTo(next);
    this.ttlMs = ttlMs;
    if (this.keepingAlive) next.startKeepAlive();
    this.spares.give(old, oldTtlMs);
  }

  async remainingMs(opts: SignalOptions = {}): Promise<number> {
    this.assertHeld('remainingMs');
    const res = await this.client.call(
      'lock.ttl',
      this.key,
      (o) => this.client.rpc.lease.timeToLive({ ID: this.lease.id, keys: true }, o),
      { signal: opts.signal, idempotent: true, level: 'debug' },
    );
    if (Number(res.TTL) <= 0) this.lease.markLost('expired in etcd');
    else if (!res.keys.some((k) => k.toString() === this.ownerKey)) this.markLost(this.keyGone());
    if (this.lost) throw this.lost;
    return Number(res.TTL) * 1000;
  }

  ownershipCondition(): OwnershipCondition {
    return heldAt(Buffer.from(this.ownerKey), this.fencingToken);
  }

  /** Holds while the bare key is the one we took. */
  private bareHeld(bare: Buffer): Compare {
    return heldAt(bare, this.bareRev);
  }

  async putIfHeld(entries: Record<string, string | Buffer>, opts: SignalOptions = {}): Promise<bigint> {
    // Released or already lost: the same code as renew() and remainingMs().
    const revision = await guardedPut(this.client, 'lock.putIfHeld', this.key, this.ownershipCondition(), entries, opts.signal, () => this.assertHeld('putIfHeld'));
    if (revision === undefined) {
      this.markLost(this.keyGone());
      throw new CoordinationError(ErrorCode.Conflict, `lock ${this.key} is no longer held: nothing written`);
    }
    return revision;
  }

  /** withLock: keep the lease alive every TTL/3 until unlock (loss shows on `signal`). */
  keepAlive(): void {
    this.keepingAlive = true;
    this.lease.startKeepAlive();
  }

  [Symbol.asyncDispose](): Promise<void> {
    return this.unlock();
  }

  private async release(signal: AbortSignal | undefined): Promise<void> {
    this.detach();
    const lease = this.lease;
    if (this.lost || lease.isLost || this.client.isClosed) {
      // Our key may still sit on a live lease (deleted-and-lost, or closing): revoking removes all.
      await lease.revoke(signal).catch((err: unknown) => {
        if (!this.client.isClosed) throw err;
      });
      return;
    }
    const started = performance.now();
    // Deleted: the lease carries nothing now and serves the next acquire. Otherwise be thorough.
    if (await this.deleteKeys(signal)) this.spares.give(lease, this.ttlMs);
    else this.spares.revoke(lease);
    this.client.logger.info({ operation: 'lock.unlock', key: this.key, durationMs: round(performance.now() - started) }, 'lock released');
  }

  /**
   * Deletes our key, and the bare key while it is still the one we took (never someone else's);
   * true if everything we wrote was there to delete. Without the bare key a plain DeleteRange does,
   * which etcd serves faster than a transaction.
   */
  private async deleteKeys(signal: AbortSignal | undefined): Promise<boolean> {
    const bare = this.bare;
    const mine = { key: this.ownKey };
    const settings = { signal, idempotent: true, level: 'debug' as const };
    if (!bare) {
      const res = await this.client.call('lock.unlock', this.key, (o) => this.client.rpc.kv.deleteRange(mine, o), settings);
      return res.deleted === '1';
    }
    const res = await this.client.call(
      'lock.unlock',
      this.key,
      (o) => this.client.rpc.kv.txn({ compare: [this.bareHeld(bare)], success: [{ request_delete_range: mine }, { request_delete_range: { key: bare } }] }, o),
      settings,
    );
    if (res.succeeded) return res.responses.every((r) => r.response_delete_range?.deleted === '1');
    // The bare key is no longer the one we took (rare): delete our own key alone, in a second round trip.
    await this.client.call('lock.unlock', this.key, (o) => this.client.rpc.kv.deleteRange(mine, o), settings);
    return false;
  }

  /**
   * Our queue key was deleted while our lease lives on: free the bare key we hold on that lease too,
   * so the next holder need not wait for the lease to end (and gochat's TryAcquire sees it free).
   */
  protected override onLost(): void {
    if (this.bare && !this.lease.isLost && !this.client.isClosed) void this.releaseBareKey(this.bare);
  }

  /** Deletes the bare key if it is still the one we took; best effort (our lease's end removes it anyway). */
  private async releaseBareKey(bare: Buffer): Promise<void> {
    await this.client
      .call('lock.release', this.key, (o) => this.client.rpc.kv.txn({ compare: [this.bareHeld(bare)], success: [{ request_delete_range: { key: bare } }] }, o), {
        idempotent: true,
        level: 'debug',
      })
      .catch(() => undefined);
  }

  protected keyGone(): CoordinationError {
    return new CoordinationError(ErrorCode.NotFound, `lock ${this.key} lost: our key was deleted`);
  }

  protected replaced(): CoordinationError {
    return new CoordinationError(ErrorCode.Conflict, `lock ${this.key}: our key was replaced`);
  }
}

function round(ms: number): number {
  return Math.round(ms * 100) / 100;
}
