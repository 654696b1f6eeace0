// A key held on a lease of its own (a semaphore's permit, a read or write lock): the handle users get.
// Its fencing token is the key's create revision; a guarded write lands only while we hold; it is
// lost as LeasedKey says (lease gone, key deleted or replaced). The lease comes from the component's
// spares and goes back there on release (our key deleted), so a cycle is one transaction and one
// delete, as the lock's. The TTL is fixed at acquire: keys are never moved to another lease, since a
// put would change their mod revision, which Go's RWMutex orders its queue by.
import type { EtcdClient } from '../client/etcd-client.js';
import type { Compare } from '../client/grpc/messages.js';
import { CoordinationError, ErrorCode, abortError, validationError } from '../errors.js';
import { toCoordinationError } from '../client/errors.js';
import { errorText, type LogFields } from '../logger.js';
import { checkTtlMs } from '../ttl.js';
import { heldAt } from './guard.js';
import { ttlSeconds, type KeptLease } from './kept-lease.js';
import { LeasedKey, type LeasedKeyRole } from './leased-key.js';
import { RetryableOnce } from './retryable-once.js';
import { linkSignals } from './signals.js';
import { FRESH_MS, SpareLeases } from './spare-leases.js';
import type { OwnershipCondition, SignalOptions } from './vocabulary.js';

/**
 * Writes `entries` (keys relative to the namespace) in one transaction guarded by `guard`; the
 * revision of the write, or undefined when the guard failed (nothing written). Bad entries are
 * VALIDATION_ERROR before anything is sent.
 */
export async function guardedPut(
  client: EtcdClient,
  operation: string,
  label: string,
  guard: Compare,
  entries: Record<string, string | Buffer>,
  signal: AbortSignal | undefined,
  beforeSend: () => void,
): Promise<bigint | undefined> {
  if (typeof entries !== 'object' || entries === null || Object.keys(entries).length === 0) {
    throw validationError('putIfHeld: entries must be a non-empty object of key → value');
  }
  const puts = Object.entries(entries).map(([k, v]) => {
    if (k.length === 0 || k.includes('\0')) throw validationError('putIfHeld: keys must be non-empty and free of NUL');
    if (typeof v !== 'string' && !Buffer.isBuffer(v)) throw validationError(`putIfHeld: value of ${k} must be a string or Buffer`);
    return { request_put: { key: Buffer.from(client.key(k)), value: Buffer.from(v) } };
  });
  beforeSend();
  const res = await client.call(operation, label, (o) => client.rpc.kv.txn({ compare: [guard], success: puts }, o), { signal, idempotent: false });
  return res.succeeded ? res.header.revision : undefined;
}

export interface HeldKeyOptions {
  client: EtcdClient;
  role: LeasedKeyRole;
  /** The name as the caller gave it (semaphore or lock name). */
  name: string;
  /** Our full key in etcd. */
  ownerKey: string;
  fencingToken: bigint;
  /** A lease of this key's own, from `spares` (and back there on release). */
  lease: KeptLease;
  spares: SpareLeases;
  /** The TTL asked for: which spares bucket the lease goes back to. */
  ttlMs: number;
}

export class HeldKey extends LeasedKey implements AsyncDisposable {
  /** The name as passed to acquire. */
  readonly key: string;
  /** Our full key in etcd. */
  readonly ownerKey: string;
  private readonly releasing = new RetryableOnce(); // the lease frees the key at its TTL if nobody tries again
  private readonly spares: SpareLeases;
  private readonly ttlMs: number;
  /** 'semaphore', 'rwlock': names operations and errors. */
  readonly noun: string;

  constructor(o: HeldKeyOptions) {
    super(o.client, o.role, o.name, Buffer.from(o.ownerKey), o.fencingToken, o.lease);
    this.key = o.name;
    this.ownerKey = o.ownerKey;
    this.noun = o.role.noun;
    this.spares = o.spares;
    this.ttlMs = o.ttlMs;
  }

  /** Releases (deletes our key; the lease serves the next acquire). Idempotent; after a failure it can be called again. */
  release(opts: SignalOptions = {}): Promise<void> {
    return this.releasing.run(() => this.giveBack(opts.signal), `${this.noun}.release ${this.key}`);
  }

  /**
   * One keep-alive, and a look at our key in case it was deleted under us. `ttlMs`, if given, must
   * be the TTL of the acquire (in whole seconds): VALIDATION_ERROR otherwise (see the file comment).
   */
  async renew(ttlMs?: number, opts: SignalOptions = {}): Promise<void> {
    if (ttlMs !== undefined && ttlSeconds(checkTtlMs(ttlMs, `${this.noun} ttlMs`)) !== this.lease.ttlSeconds) {
      throw validationError(`${this.noun}.renew ${this.key}: the TTL is fixed at acquire (${this.lease.ttlSeconds} s); got ${ttlMs} ms`);
    }
    this.assertHeld('renew');
    await Promise.all([this.lease.keepAliveOnce(opts.signal), this.checkOwnKey(opts.signal)]).catch((err: unknown) => {
      throw this.lost ?? toCoordinationError(err, `${this.noun}.renew ${this.key}`);
    });
  }

  /** Remaining validity in ms as etcd reports it (whole seconds). NOT_FOUND once released; the loss reason if lost. */
  async remainingMs(opts: SignalOptions = {}): Promise<number> {
    this.assertHeld('remainingMs');
    const res = await this.client.call(`${this.noun}.ttl`, this.key, (o) => this.client.rpc.lease.timeToLive({ ID: this.lease.id, keys: true }, o), {
      signal: opts.signal,
      idempotent: true,
      level: 'debug',
    });
    if (Number(res.TTL) <= 0) this.lease.markLost('expired in etcd');
    else if (!res.keys.some((k) => k.toString() === this.ownerKey)) this.markLost(this.keyGone());
    if (this.lost) throw this.lost;
    return Number(res.TTL) * 1000;
  }

  /** `create_revision(ownerKey) == fencingToken`, for the `compare` list of a raw Txn. */
  ownershipCondition(): OwnershipCondition {
    return heldAt(this.ownKey, this.fencingToken);
  }

  /** Writes `entries` only while we hold; CONFLICT (nothing written) if not. Resolves with the write's revision. */
  async putIfHeld(entries: Record<string, string | Buffer>, opts: SignalOptions = {}): Promise<bigint> {
    const guard = this.ownershipCondition();
    const revision = await guardedPut(this.client, `${this.noun}.putIfHeld`, this.key, guard, entries, opts.signal, () => this.assertHeld('putIfHeld'));
    if (revision === undefined) {
      this.markLost(this.keyGone());
      throw new CoordinationError(ErrorCode.Conflict, `${this.noun} ${this.key} is no longer held: nothing written`);
    }
    return revision;
  }

  /** with…(): keep the lease alive every TTL/3 until release (loss shows on `signal`). */
  keepAlive(): void {
    this.lease.startKeepAlive();
  }

  [Symbol.asyncDispose](): Promise<void> {
    return this.release();
  }

  /** A line in the coordinator's log (for whileHeld()). */
  log(level: 'warn' | 'debug', fields: LogFields, message: string): void {
    this.client.logger[level](fields, message);
  }

  private async giveBack(signal: AbortSignal | undefined): Promise<void> {
    this.detach();
    const lease = this.lease;
    const started = performance.now();
    if (this.lost || lease.isLost || this.client.isClosed) {
      // Our key may still sit on a live lease (deleted-and-lost, or closing): revoking removes all.
      await lease.revoke(signal).catch((err: unknown) => {
        if (!this.client.isClosed) throw err;
      });
      return;
    }
    // Deleted: the lease carries nothing now and serves the next acquire. Otherwise be thorough.
    const res = await this.client.call(`${this.noun}.release`, this.key, (o) => this.client.rpc.kv.deleteRange({ key: this.ownKey }, o), {
      signal,
      idempotent: true,
      level: 'debug',
    });
    if (res.deleted === '1') this.spares.give(lease, this.ttlMs);
    else this.spares.revoke(lease);
    this.client.logger.info({ operation: `${this.noun}.release`, key: this.key, durationMs: Math.round((performance.now() - started) * 100) / 100 }, `${this.noun} released`);
  }

  protected keyGone(): CoordinationError {
    return new CoordinationError(ErrorCode.NotFound, `${this.noun} ${this.key} lost: our key was deleted`);
  }

  protected replaced(): CoordinationError {
    return new CoordinationError(ErrorCode.Conflict, `${this.noun} ${this.key}: our key was replaced`);
  }
}

/** What joining a queue on our own lease found: our place, and (if we must wait) how to wait for our turn. */
export interface Joined {
  /** Our key's create revision: our place, and the fencing token. */
  fencingToken: bigint;
  /** Set when someone is ahead of us: resolves once it is our turn (rejects when `signal` aborts). */
  wait?: (signal: AbortSignal) => Promise<void>;
}

export interface OwnLeaseAcquire {
  client: EtcdClient;
  spares: SpareLeases;
  /** 'semaphore.acquire', 'rwlock.tryAcquireWrite'…: names errors and log lines. */
  operation: string;
  name: string;
  ttlMs: number;
  /** False for try…(): someone ahead is CONFLICT at once, with this message. */
  wait: boolean;
  busy: string;
  signal: AbortSignal | undefined;
  /** Joins the queue with our key on `lease` (one transaction). */
  join(lease: KeptLease): Promise<Joined>;
}

/**
 * The acquire of a key on a lease of its own (etcd's Go session, one per hold): grant, join, wait our
 * turn with the lease kept alive, then hold for a whole TTL. Every way out short of holding revokes
 * the lease, so no key is left behind. Resolves with the lease and our fencing token.
 */
async function acquireOnOwnLease(a: OwnLeaseAcquire): Promise<{ lease: KeptLease; fencingToken: bigint }> {
  const { client, operation, name, signal } = a;
  client.assertOpen(`${operation} ${name}`);
  if (signal?.aborted) throw abortError(signal, `${operation} ${name}`);
  const started = performance.now();
  const lease = a.spares.takeReady(a.ttlMs) ?? (await a.spares.take(a.ttlMs, signal));
  // A spare that idled a while gets one keep-alive alongside, so remainingMs() ≈ the requested TTL.
  const refresh = lease.remainingMs() < lease.ttlSeconds * 1000 - FRESH_MS ? lease.keepAliveOnce(signal) : undefined;
  refresh?.catch(() => undefined);
  try {
    const { fencingToken, wait } = await a.join(lease);
    if (refresh) await refresh;
    if (wait) {
      if (!a.wait) throw new CoordinationError(ErrorCode.Conflict, `${a.busy}`);
      // Our place must outlive a long wait; the wait ends early if the caller gives up, the
      // coordinator closes, or the lease is lost.
      lease.startKeepAlive();
      const linked = linkSignals(signal, client.closing, lease.signal);
      try {
        await wait(linked.signal);
      } finally {
        linked.dispose();
        lease.stopKeepAlive();
      }
      // Held for (nearly) a whole TTL from now, as an uncontended acquire is.
      if (lease.remainingMs() < lease.ttlSeconds * 1000 - FRESH_MS) await lease.keepAliveOnce(signal);
    }
    if (lease.isLost) throw lease.signal.reason as CoordinationError;
    client.logger.info({ operation, key: name, durationMs: Math.round((performance.now() - started) * 100) / 100 }, `${operation.split('.')[0]} acquired`);
    return { lease, fencingToken };
  } catch (err) {
    const error = toCoordinationError(err, `${operation} ${name}`);
    // Leave nothing behind: revoking our lease deletes our key (bounded: the lease expires anyway).
    await lease.revoke(AbortSignal.timeout(client.timeout)).catch((e: unknown) => {
      client.logger.warn({ operation, key: name, error: errorText(e) }, 'revoke after a failed acquire failed; the key expires with its lease');
    });
    throw error;
  }
}

/**
 * A component's holds on leases of their own (the semaphore's, the read-write lock's): the spares
 * ready for the next acquire, and the acquires in progress — close() lets them finish (they abort on
 * the coordinator's `closing`) and clean up, then revokes the spares.
 */
export class OwnLeaseHolds {
  readonly spares: SpareLeases;
  private readonly inflight = new Set<Promise<unknown>>();

  constructor(
    private readonly client: EtcdClient,
    noun: string,
  ) {
    this.spares = new SpareLeases(client, noun);
    client.own({ close: () => this.close() });
  }

  /** acquireOnOwnLease() with this component's client and spares, tracked until it settles. */
  acquire(a: Omit<OwnLeaseAcquire, 'client' | 'spares'>): Promise<{ lease: KeptLease; fencingToken: bigint }> {
    const p = acquireOnOwnLease({ ...a, client: this.client, spares: this.spares });
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

/**
 * with…(): runs `fn` while the held key is renewed every TTL/3, and always releases it. `fn` gets a
 * signal that aborts on loss or when `signal` aborts; its outcome wins over a failed release, which
 * only means the key frees itself at its TTL.
 */
export async function whileHeld<T>(held: HeldKey, signal: AbortSignal | undefined, fn: (signal: AbortSignal) => Promise<T>): Promise<T> {
  held.keepAlive();
  const linked = linkSignals(held.signal, signal);
  try {
    return await fn(linked.signal);
  } finally {
    linked.dispose();
    await held.release().catch((err: unknown) => {
      const error = toCoordinationError(err, `${held.noun}.release ${held.key}`);
      held.log('warn', { operation: `${held.noun}.release`, key: held.key, code: error.code, error: error.message }, `release after with…() failed`);
    });
  }
}
