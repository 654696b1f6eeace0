// A lock we hold: our contender key, its create revision (the fencing token), gochat's TryAcquire
// key that we hold alongside (unless the app set lock.holdTryAcquireKey: false), and the lease that
// keeps both. Loss is noticed from the lease (expired, revoked, or unconfirmed for a whole TTL — a
// local deadline) and, once someone looks at `signal`, from a watch on our own key.
import type { Compare } from '../client/grpc/messages.js';
import type { HubWatch } from '../client/watch-hub.js';
import type { EtcdClient } from '../client/etcd-client.js';
import { ttlSeconds, type KeptLease } from '../client/lease.js';
import { CoordinationError, ErrorCode, toCoordinationError, validationError } from '../errors.js';
import type { SignalOptions } from '../shared/vocabulary.js';
import type { Lock } from './interface.js';
import { FRESH_MS, type SpareLeases } from './spare-leases.js';
import { validateTtl } from './validate.js';

export class HeldLock implements Lock {
  private controller: AbortController | undefined;
  private watcher: HubWatch | undefined;
  private lost: CoordinationError | undefined;
  private released = false;
  private keepingAlive = false;
  private unlocking: Promise<void> | undefined;
  private readonly unown: () => void;
  private readonly onLeaseLost = (): void => this.markLost(this.lease.signal.reason as CoordinationError);

  constructor(
    private readonly client: EtcdClient,
    private readonly spares: SpareLeases,
    readonly key: string,
    readonly ownerKey: string,
    /** `ownerKey` as bytes, shared with the lock's key cache: sent, never changed. */
    private readonly ownerBytes: Buffer,
    readonly fencingToken: bigint,
    /** gochat's TryAcquire key `<ns>/locks/K` and its create revision, when we hold it alongside (the default). */
    private readonly bare: { key: Buffer; rev: bigint } | undefined,
    private lease: KeptLease,
    /** Requested TTL: which spares bucket the lease goes back to. */
    private ttlMs: number,
  ) {
    lease.watchLoss(this.onLeaseLost);
    // close() revokes the lease itself (KeptLease is owned too); here we only stop the watch.
    this.unown = client.own({ close: () => this.detach() });
  }

  get signal(): AbortSignal {
    if (!this.controller) {
      // Created on first use: the uncontended fast path pays for no watch it does not need.
      this.controller = new AbortController();
      if (this.lost) this.controller.abort(this.lost);
      else if (!this.released) this.watchOwnKey();
    }
    return this.controller.signal;
  }

  unlock(opts: SignalOptions = {}): Promise<void> {
    this.unlocking ??= this.release(opts.signal).catch((err: unknown) => {
      this.unlocking = undefined; // let the caller try again; the lease expires otherwise
      throw toCoordinationError(err, `lock.unlock ${this.key}`);
    });
    return this.unlocking;
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
      const key = this.ownerBytes;
      res = await this.client.call(
        'lock.renew',
        this.key,
        (o) =>
          this.client.rpc.kv.txn(
            {
              compare: this.bare ? [this.ownershipCondition(), this.bareHeld(this.bare)] : [this.ownershipCondition()],
              success: [
                { request_put: { key, value: Buffer.alloc(0), lease: next.id } },
                ...(this.bare ? [{ request_put: { key: this.bare.key, value: Buffer.alloc(0), lease: next.id } }] : []),
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
          : BigInt(ours.create_revision) !== this.fencingToken
            ? new CoordinationError(ErrorCode.Conflict, `lock ${this.key}: our key was replaced`)
            : new CoordinationError(ErrorCode.Conflict, `lock ${this.key}: the key ${this.bare?.key.toString()} was deleted or taken over`),
      );
      throw this.lost!;
    }
    const [old, oldTtlMs] = [this.lease, this.ttlMs];
    old.unwatchLoss(this.onLeaseLost);
    this.lease = next;
    this.ttlMs = ttlMs;
    next.watchLoss(this.onLeaseLost);
    if (this.keepingAlive) next.startKeepAlive();
    this.spares.give(old, oldTtlMs);
  }

  /** @deprecated use remainingMs() (the one name for remaining lease time). */
  ttl(opts: SignalOptions = {}): Promise<number> {
    return this.remainingMs(opts);
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

  ownershipCondition(): Compare {
    return { key: Buffer.from(this.ownerKey), target: 'CREATE', result: 'EQUAL', create_revision: this.fencingToken.toString() };
  }

  /** Holds while the bare key is the one we took. */
  private bareHeld(bare: { key: Buffer; rev: bigint }): Compare {
    return { key: bare.key, target: 'CREATE', result: 'EQUAL', create_revision: bare.rev.toString() };
  }

  async putIfHeld(entries: Record<string, string | Buffer>, opts: SignalOptions = {}): Promise<bigint> {
    if (typeof entries !== 'object' || entries === null || Object.keys(entries).length === 0) {
      throw validationError('putIfHeld: entries must be a non-empty object of key → value');
    }
    const puts = Object.entries(entries).map(([k, v]) => {
      if (k.length === 0 || k.includes('\0')) throw validationError('putIfHeld: keys must be non-empty and free of NUL');
      if (typeof v !== 'string' && !Buffer.isBuffer(v)) throw validationError(`putIfHeld: value of ${k} must be a string or Buffer`);
      return { request_put: { key: Buffer.from(this.client.key(k)), value: Buffer.from(v) } };
    });
    this.assertHeld('putIfHeld'); // released or already lost: the same code as renew() and remainingMs()
    const res = await this.client.call(
      'lock.putIfHeld',
      this.key,
      (o) => this.client.rpc.kv.txn({ compare: [this.ownershipCondition()], success: puts }, o),
      { signal: opts.signal, idempotent: false },
    );
    if (!res.succeeded) {
      this.markLost(this.keyGone());
      throw new CoordinationError(ErrorCode.Conflict, `lock ${this.key} is no longer held: nothing written`);
    }
    return BigInt(res.header.revision);
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
    const mine = { key: this.ownerBytes };
    const settings = { signal, idempotent: true, level: 'debug' as const };
    if (!bare) {
      const res = await this.client.call('lock.unlock', this.key, (o) => this.client.rpc.kv.deleteRange(mine, o), settings);
      return res.deleted === '1';
    }
    const res = await this.client.call(
      'lock.unlock',
      this.key,
      (o) => this.client.rpc.kv.txn({ compare: [this.bareHeld(bare)], success: [{ request_delete_range: mine }, { request_delete_range: { key: bare.key } }] }, o),
      settings,
    );
    if (res.succeeded) return res.responses.every((r) => r.response_delete_range?.deleted === '1');
    // The bare key is no longer the one we took (rare): delete our own key alone, in a second round trip.
    await this.client.call('lock.unlock', this.key, (o) => this.client.rpc.kv.deleteRange(mine, o), settings);
    return false;
  }

  /** Stops watching and listening; from here on nothing can mark this lock lost. */
  private detach(): void {
    if (this.released) return;
    this.released = true;
    this.unown();
    this.lease.unwatchLoss(this.onLeaseLost);
    this.lease.stopKeepAlive();
    this.watcher?.cancel();
    this.watcher = undefined;
  }

  private markLost(reason: CoordinationError): void {
    if (this.released || this.lost) return;
    this.lost = reason;
    this.lease.stopKeepAlive();
    this.watcher?.cancel();
    this.watcher = undefined;
    this.client.logger.warn({ operation: 'lock', key: this.key, from: 'held', to: 'lost', code: reason.code }, 'lock lost');
    this.controller?.abort(reason);
    // Our queue key was deleted while our lease lives on: free the bare key we hold on that lease too,
    // so the next holder need not wait for the lease to end (and gochat's TryAcquire sees it free).
    if (this.bare && !this.lease.isLost && !this.client.isClosed) void this.releaseBareKey(this.bare);
  }

  /** Deletes the bare key if it is still the one we took; best effort (our lease's end removes it anyway). */
  private async releaseBareKey(bare: { key: Buffer; rev: bigint }): Promise<void> {
    await this.client
      .call('lock.release', this.key, (o) => this.client.rpc.kv.txn({ compare: [this.bareHeld(bare)], success: [{ request_delete_range: { key: bare.key } }] }, o), {
        idempotent: true,
        level: 'debug',
      })
      .catch(() => undefined);
  }

  private assertHeld(what: string): void {
    if (this.lost) throw this.lost;
    if (this.released) throw new CoordinationError(ErrorCode.NotFound, `lock.${what} ${this.key}: the lock was released`);
  }

  private keyGone(): CoordinationError {
    return new CoordinationError(ErrorCode.NotFound, `lock ${this.key} lost: our key was deleted`);
  }

  /** NOT_FOUND if our key is gone, CONFLICT if a key of that name now has another create revision. */
  private async checkOwnKey(signal: AbortSignal | undefined): Promise<void> {
    const res = await this.client.call(
      'lock.check',
      this.key,
      (o) => this.client.rpc.kv.range({ key: this.ownerBytes, keys_only: true }, o),
      { signal, idempotent: true, level: 'debug' },
    );
    const kv = res.kvs[0];
    if (!kv) this.markLost(this.keyGone());
    else if (BigInt(kv.create_revision) !== this.fencingToken) {
      this.markLost(new CoordinationError(ErrorCode.Conflict, `lock ${this.key}: our key was replaced`));
    }
    if (this.lost) throw this.lost;
  }

  /** Deletes of our key (revoke, expiry, someone else) abort `signal`; started synced, then one read. */
  private watchOwnKey(): void {
    let checked = false;
    this.watcher = this.client.watches.watch(
      { key: this.ownerBytes, only: 'delete' },
      {
        onEvents: (events) => {
          if (events.length > 0) this.markLost(this.keyGone());
        },
        onCancelled: (reason) => {
          // The lease's local deadline still guards us; note why the watch is gone.
          this.client.logger.warn({ operation: 'lock.watch', key: this.key, error: reason.message }, 'lock watch failed');
        },
        onCreated: () => {
          if (checked || this.released || this.lost) return;
          checked = true;
          this.checkOwnKey(undefined).catch(() => undefined);
        },
      },
    );
  }
}

function round(ms: number): number {
  return Math.round(ms * 100) / 100;
}
