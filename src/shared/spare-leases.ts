// Leases kept ready for the next acquire (of a lock, a permit, a read or write lock), so that the
// uncontended path is one transaction to take and one delete to give back: no lease grant (and no
// revoke) in the critical path. A released holder's lease comes back here; a lease that has idled
// too long is refreshed alongside the acquire.
import type { EtcdClient } from '../client/etcd-client.js';
import { KeptLease, ttlSeconds } from './kept-lease.js';
import { errorText } from '../logger.js';

/** Spares per TTL: one in use + one being released covers back-to-back acquire/unlock. */
const PER_TTL = 2;
/** Distinct TTLs with spares; the least recently used TTL's spares go first. */
const MAX_TTLS = 4;
/** A spare older than this is refreshed (one keep-alive) alongside the acquire, so ttl() ≈ requested. */
export const FRESH_MS = 500;
/** An unused spare is revoked this long before it would expire. */
const RETIRE_BEFORE_MS = 300;

export class SpareLeases {
  private readonly spares = new Map<number, KeptLease[]>();
  private readonly granting = new Map<number, Promise<void>>();
  private readonly pending = new Set<Promise<unknown>>();
  /** Revokes spares shortly before they would expire unused (etcd would drop them anyway, noisily); one timer for all. */
  private sweepTimer: NodeJS.Timeout | undefined;
  private sweepAt = Infinity;

  constructor(
    private readonly client: EtcdClient,
    /** Names the component in log lines: 'lock', 'semaphore', 'rwlock'. */
    private readonly noun = 'lock',
  ) {}

  /**
   * A spare of `ttlMs` if one is ready, synchronously: the uncontended acquire then sends its
   * transaction in the same turn of the event loop as the call (no await before it).
   */
  takeReady(ttlMs: number): KeptLease | undefined {
    const ttl = ttlSeconds(ttlMs);
    const lease = this.pop(ttl);
    if (lease && !this.spares.get(ttl)?.length) this.refill(ttl);
    return lease;
  }

  /** A live lease of `ttlMs` (whole seconds): a spare if one is ready, else a fresh grant. */
  async take(ttlMs: number, signal?: AbortSignal): Promise<KeptLease> {
    const ttl = ttlSeconds(ttlMs);
    let lease = this.pop(ttl);
    if (!lease && this.granting.has(ttl)) {
      // A background grant is already on its way: cheaper to wait for it than to start another.
      await this.granting.get(ttl);
      lease = this.pop(ttl);
    }
    if (!lease) lease = await KeptLease.grant(this.client, ttlMs, { signal });
    // Keep one ready for the next acquire of this TTL (a lock held for long never comes back soon).
    if (!this.spares.get(ttl)?.length) this.refill(ttl);
    return lease;
  }

  /** Takes back the lease of a released lock; revokes it if we already have enough spares. */
  give(lease: KeptLease, ttlMs: number): void {
    const ttl = ttlSeconds(ttlMs);
    lease.stopKeepAlive();
    if (lease.isLost || this.client.isClosed) return this.revoke(lease);
    const list = this.bucket(ttl);
    if (list.length >= PER_TTL) return this.revoke(lease);
    list.push(lease);
    // Freshest last (pop() takes it): one insertion step, the list is at most PER_TTL long.
    for (let i = list.length - 1; i > 0 && list[i - 1]!.remainingMs() > list[i]!.remainingMs(); i--) {
      const fresher = list[i - 1]!;
      list[i - 1] = list[i]!;
      list[i] = fresher;
    }
    this.sweepBy(performance.now() + lease.remainingMs() - RETIRE_BEFORE_MS);
  }

  /** Revokes in the background (deleting its keys); close() waits for it. */
  revoke(lease: KeptLease): void {
    this.track(
      lease.revoke().catch((err: unknown) => {
        this.client.logger.debug({ operation: `${this.noun}.lease.revoke`, key: lease.hexId, error: errorText(err) }, 'spare revoke failed');
      }),
    );
  }

  track(p: Promise<unknown>): void {
    this.pending.add(p);
    void p.finally(() => this.pending.delete(p));
  }

  /** Waits for background grants and revokes; the leases themselves are revoked by the client's close. */
  async close(): Promise<void> {
    while (this.pending.size > 0 || this.granting.size > 0) {
      await Promise.allSettled([...this.pending, ...this.granting.values()]);
    }
    clearTimeout(this.sweepTimer);
    this.sweepTimer = undefined;
    for (const list of this.spares.values()) for (const lease of list) await lease.revoke().catch(() => undefined);
    this.spares.clear();
  }

  private pop(ttl: number): KeptLease | undefined {
    const list = this.spares.get(ttl);
    if (!list) return undefined;
    // Mark this TTL as recently used.
    this.spares.delete(ttl);
    this.spares.set(ttl, list);
    while (list.length > 0) {
      const lease = list.pop()!;
      // A spare whose expiry is near (or past) is worth less than a new grant.
      if (!lease.isLost && lease.remainingMs() > Math.min(1000, lease.ttlSeconds * 500)) return lease;
      this.revoke(lease);
    }
    return undefined;
  }

  private bucket(ttl: number): KeptLease[] {
    let list = this.spares.get(ttl);
    if (!list) {
      if (this.spares.size >= MAX_TTLS) {
        const [oldest, old] = this.spares.entries().next().value as [number, KeptLease[]];
        this.spares.delete(oldest);
        for (const lease of old) this.revoke(lease);
      }
      this.spares.set(ttl, (list = []));
    }
    return list;
  }

  /** Makes sure a sweep runs by `at` (performance.now() time); a sooner one already set stays. */
  private sweepBy(at: number): void {
    if (at >= this.sweepAt || this.client.isClosed) return;
    clearTimeout(this.sweepTimer);
    this.sweepAt = at;
    this.sweepTimer = setTimeout(() => this.sweep(), Math.max(0, at - performance.now()));
    this.sweepTimer.unref();
  }

  /** Revokes the spares about to expire; sets the next sweep for the rest. */
  private sweep(): void {
    this.sweepTimer = undefined;
    this.sweepAt = Infinity;
    let next = Infinity;
    for (const list of this.spares.values()) {
      for (let i = list.length - 1; i >= 0; i--) {
        const lease = list[i]!;
        const left = lease.remainingMs();
        if (left > RETIRE_BEFORE_MS) next = Math.min(next, performance.now() + left - RETIRE_BEFORE_MS);
        else {
          list.splice(i, 1);
          this.revoke(lease);
        }
      }
    }
    if (next < Infinity) this.sweepBy(next);
  }

  private refill(ttl: number): void {
    if (this.granting.has(ttl) || this.client.isClosed) return;
    const p = KeptLease.grant(this.client, ttl * 1000).then(
      (lease) => {
        if (this.client.isClosed) this.revoke(lease);
        else this.give(lease, ttl * 1000);
      },
      (err: unknown) => {
        this.client.logger.debug({ operation: `${this.noun}.lease.grant`, error: errorText(err) }, 'spare grant failed');
      },
    );
    this.granting.set(ttl, p);
    void p.finally(() => this.granting.delete(ttl));
  }
}
