// A key we hold on a kept lease (a lock's contender key, a leader's candidate key, an instance ID):
// the key, its create revision (the fencing token) and the lease that keeps it. It is lost — once,
// for good — when the lease is lost (expired, revoked, or unconfirmed for a whole TTL: a local
// deadline), when a watch on the key sees it deleted (or, for a lease-bound key, moved off our
// lease), or when its holder learns so another way (markLost). `signal` fires with the loss reason.
//
// The one rule after loss: every operation that needs the key rethrows the loss reason
// (assertHeld), whose code says how it was lost — NOT_FOUND (key or lease gone) or CONFLICT (key
// replaced). After detach() nothing can mark it lost any more.
//
// Cheap to hold: `signal` (its AbortController and the watch on our key) is created on first use,
// so a lock taken and released without anyone looking at `signal` pays for neither. Holders extend
// it (no object of its own per hold); what differs between them is a constant LeasedKeyRole.
import type { EtcdClient } from '../client/etcd-client.js';
import type { KeptLease } from './kept-lease.js';
import type { HubWatch } from '../client/watch-hub.js';
import { CoordinationError, ErrorCode, isTransient } from '../errors.js';
import { toCoordinationError } from '../client/errors.js';

/** What a holder is called in logs and errors; one constant per kind of holder. */
export interface LeasedKeyRole {
  /** Operation prefix: 'lock', 'election', 'ids'. */
  noun: string;
  /** The state before loss in the loss log line: 'held', 'leader'. */
  from: string;
  /** The loss log line's operation and message. */
  lostOperation: string;
  lostMessage: string;
  /** Why an operation after detach() fails: 'the lock was released'. */
  released: string;
  /**
   * The key lives and dies with our lease: a put that moves it off our lease (or recreates it) is a
   * loss too, and a delete is first checked against the lease — a revoked or expired lease deletes
   * its keys, and the watch sees that before the keep-alive does, so the loss must say "lease lost",
   * not "key deleted". Otherwise only deletes count, as deletes.
   */
  leaseBound: boolean;
}

/** How long a deleted lease-bound key waits for its lease's answer before reporting the delete. */
const LEASE_PROBE_MS = 1000;

export abstract class LeasedKey {
  private controller: AbortController | undefined;
  private watcher: HubWatch | undefined;
  private lostReason: CoordinationError | undefined;
  private detached = false;
  private readonly unown: () => void;
  private readonly onLeaseLost = (): void => this.markLost(this.lossOf(this.lease.signal.reason as CoordinationError));

  constructor(
    protected readonly client: EtcdClient,
    private readonly role: LeasedKeyRole,
    /** Names the holder in logs and errors (lock key, election name, ID key). */
    protected readonly label: string,
    /** Our full key as sent to etcd: never changed. */
    protected readonly ownKey: Buffer,
    /** The revision that created our key: a key of that name with another one is not ours. */
    readonly fencingToken: bigint,
    /** The lease that keeps our key (moveTo() swaps it). */
    protected lease: KeptLease,
  ) {
    lease.watchLoss(this.onLeaseLost);
    // close() revokes the lease itself (KeptLease is owned too); here we only stop the watch.
    this.unown = client.own({ close: () => this.onClose() });
  }

  /** Fires with the loss reason. Created on first use, with the watch on our key. */
  get signal(): AbortSignal {
    // A look at the signal is up to date: a lease past its local deadline is lost now (KeptLease.checkDeadline).
    if (!this.detached) this.lease.checkDeadline();
    if (!this.controller) {
      this.controller = new AbortController();
      if (this.lostReason) this.controller.abort(this.lostReason);
      else if (this.detached) return this.controller.signal;
      else this.watchOwnKey();
    }
    return this.controller.signal;
  }

  /** The loss reason, once lost. */
  protected get lost(): CoordinationError | undefined {
    return this.lostReason;
  }

  /** True once detach() has run. */
  protected get isDetached(): boolean {
    return this.detached;
  }

  /** Records the loss (first reason wins; ignored after detach()), stops the lease and the watch, fires `signal`. */
  markLost(reason: CoordinationError): void {
    if (this.detached || this.lostReason) return;
    this.lostReason = reason;
    this.lease.stopKeepAlive();
    this.stopWatch();
    const r = this.role;
    this.client.logger.warn({ operation: r.lostOperation, key: this.label, from: r.from, to: 'lost', code: reason.code }, r.lostMessage);
    this.controller?.abort(reason);
    this.onLost(reason);
  }

  /** The one rule: after loss, the loss reason; after detach(), NOT_FOUND. */
  assertHeld(op: string): void {
    if (this.lostReason) throw this.lostReason;
    if (this.detached) throw new CoordinationError(ErrorCode.NotFound, `${this.role.noun}.${op} ${this.label}: ${this.role.released}`);
  }

  /** Stops watching and listening (idempotent); from here on nothing can mark the key lost. */
  detach(): void {
    if (this.detached) return;
    this.detached = true;
    this.unown();
    this.lease.unwatchLoss(this.onLeaseLost);
    this.lease.stopKeepAlive();
    this.stopWatch();
  }

  /** Our key now lives on `next` (same key, same create revision): loss is watched there. */
  protected moveTo(next: KeptLease): void {
    this.lease.unwatchLoss(this.onLeaseLost);
    this.lease = next;
    next.watchLoss(this.onLeaseLost);
  }

  /** Reads our key back: gone is keyGone(), another create revision (or lease, if lease-bound) is replaced(). */
  protected async checkOwnKey(signal: AbortSignal | undefined): Promise<void> {
    const res = await this.client.call(
      `${this.role.noun}.check`,
      this.label,
      // Whole: a lease-bound key is ours only on our lease (a keys-only read has no lease on etcd 3.7).
      (o) => this.client.rpc.kv.range({ key: this.ownKey }, o),
      { signal, idempotent: true, level: 'debug' },
    );
    const kv = res.kvs[0];
    if (!kv) await this.keyDeleted();
    else if (kv.create_revision !== this.fencingToken || (this.role.leaseBound && kv.lease !== this.lease.id)) {
      this.keyChanged(this.replaced());
    }
    if (this.lostReason) throw this.lostReason;
  }

  /** NOT_FOUND: our key was deleted. */
  protected abstract keyGone(): CoordinationError;

  /** Our key exists, but not as we created it. */
  protected abstract replaced(): CoordinationError;

  /** The loss reason for a lost lease (the lease's own NOT_FOUND by default). */
  protected lossOf(leaseReason: CoordinationError): CoordinationError {
    return leaseReason;
  }

  /** The watch or a check found our key gone or replaced: a loss by default. */
  protected keyChanged(reason: CoordinationError): void {
    this.markLost(reason);
  }

  /** Told once, after `signal` fired: what else the loss undoes. */
  protected onLost(_reason: CoordinationError): void {}

  /** The coordinator closes: stop watching (close() revokes the lease). */
  protected onClose(): void | Promise<void> {
    this.detach();
  }

  private stopWatch(): void {
    this.watcher?.cancel();
    this.watcher = undefined;
  }

  /** Our key is gone; a lease-bound key asks the lease first, so that a lost lease is reported as such. */
  private async keyDeleted(): Promise<void> {
    if (this.role.leaseBound && !this.lostReason && !this.detached) {
      // NOT_FOUND here has marked the lease lost, which marked us lost with the lease's reason.
      // Bounded: the loss is not held back by a slow etcd's timeouts and retries; unanswered in
      // time, it is reported as the delete it is (NOT_FOUND either way).
      const probe = new AbortController();
      const timer = setTimeout(() => probe.abort(), LEASE_PROBE_MS);
      try {
        await this.lease.timeToLive(probe.signal).catch(() => undefined);
      } finally {
        clearTimeout(timer);
      }
    }
    this.keyChanged(this.keyGone()); // ignored if the lease's loss came first
  }

  /** Changes of our key abort `signal`; started synced, then one read covers the time before. */
  private watchOwnKey(): void {
    let checked = false;
    let deleted = false;
    const leaseBound = this.role.leaseBound;
    this.watcher = this.client.watches.watch(
      { key: this.ownKey, only: leaseBound ? undefined : 'delete' },
      {
        onEvents: (events) => {
          // After a delete our key is gone for good: a later put of that name (in this batch or the
          // next, while the lease is asked) is someone else's key, not how ours was lost.
          for (const ev of events) {
            if (deleted) return;
            if (ev.type === 'DELETE') {
              deleted = true;
              void this.keyDeleted();
            } else if (ev.kv.create_revision !== this.fencingToken || ev.kv.lease !== this.lease.id) this.keyChanged(this.replaced());
          }
        },
        onCancelled: (reason) => {
          if (reason.compactRevision > 0n && !this.detached && !this.lostReason) {
            // A key with no changes leaves its watch's revision behind; once compacted, a re-created
            // stream cannot resume it. Watch afresh: the new watch's first read covers the gap.
            this.client.logger.debug({ operation: `${this.role.noun}.watch`, key: this.label }, `${this.role.noun} watch compacted; watching afresh`);
            this.watchOwnKey();
            return;
          }
          // Refused (a role without read on our key): the lease's local deadline still guards us; say why the watch is gone.
          this.client.logger.warn({ operation: `${this.role.noun}.watch`, key: this.label, error: reason.message }, `${this.role.noun} watch failed`);
        },
        onCreated: () => {
          if (checked || this.detached || this.lostReason) return;
          checked = true;
          this.checkOwnKey(undefined).catch((err: unknown) => {
            // A lost key is told through `signal`; a check that could not run says why: an etcd that
            // cannot be reached now is DEBUG (the watch and the lease still guard us), a refusal or a
            // bug of ours (AUTH, INTERNAL) is WARN.
            if (this.lostReason || this.detached) return;
            const error = toCoordinationError(err, `${this.role.noun}.check ${this.label}`);
            const level = isTransient(error) ? 'debug' : 'warn';
            this.client.logger[level]({ operation: `${this.role.noun}.check`, key: this.label, code: error.code, error: error.message }, `${this.role.noun} own-key check failed`);
          });
        },
      },
    );
  }
}
