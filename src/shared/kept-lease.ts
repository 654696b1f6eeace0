// A lease we hold: granted once, optionally kept alive on the coordinator's shared keep-alive
// stream, and declared lost — locally, within its TTL — as soon as etcd can no longer be shown to
// hold it. Locks, registrations and instance IDs all stand on this.
import { CoordinationError, ErrorCode } from '../errors.js';
import { toCoordinationError } from '../client/errors.js';
import { errorText } from '../logger.js';
import { race, type EtcdClient } from '../client/etcd-client.js';
import { LeaseKeeper } from '../client/lease-keeper.js';

/** etcd rounds lease TTLs up to whole seconds and never grants less than its minimum (2 s by default). */
export function ttlSeconds(ttlMs: number): number {
  return Math.max(1, Math.ceil(ttlMs / 1000));
}

const keepers = new WeakMap<EtcdClient, LeaseKeeper>();
function keeperOf(client: EtcdClient): LeaseKeeper {
  let keeper = keepers.get(client);
  if (!keeper) keepers.set(client, (keeper = new LeaseKeeper(client)));
  return keeper;
}

export interface GrantOptions {
  signal?: AbortSignal;
  /** Keep the lease alive in the background (every TTL/3) until revoke() or loss. @default false */
  keepAlive?: boolean;
}

/** A lease ID (decimal string) in lowercase hex, as etcd's Go recipes (`%x`) put it in keys. */
export function leaseHex(id: string): string {
  return BigInt(id).toString(16);
}

export class KeptLease implements AsyncDisposable {
  /** Aborts when the lease is lost (expired, revoked behind our back, or unconfirmable for a whole TTL). */
  readonly signal: AbortSignal;
  private readonly lost = new AbortController();
  private confirmedAt: number; // performance.now() when the last confirmed grant/keep-alive was *sent*
  private expiryTimer: NodeJS.Timeout | undefined;
  private keepAliveTimer: NodeJS.Timeout | undefined;
  /** The running keep-alive loop; a loop whose token is no longer this one ends at its next step. */
  private keepAliveLoop: object | undefined;
  private revoked = false;
  private revoking: Promise<void> | undefined;
  private unown: () => void;
  /** Told once of the loss, after `signal`: a set is cheaper to join and leave than an abort listener (a lock joins per acquire). */
  private readonly lossWatchers = new Set<() => void>();
  /** Lease ID in lowercase hex, as etcd's Go recipes put it in keys. */
  readonly hexId: string;

  private constructor(
    private readonly client: EtcdClient,
    /** Lease ID as a decimal string (etcd's int64). */
    readonly id: string,
    /** TTL etcd granted, in seconds. */
    readonly ttlSeconds: number,
    sentAt: number,
  ) {
    this.signal = this.lost.signal;
    this.hexId = leaseHex(id);
    this.confirmedAt = sentAt;
    this.unown = client.own({ close: () => this.revoke().catch(() => undefined) });
    this.armExpiry();
  }

  /** Grants a lease of `ttlMs` (rounded up to whole seconds; etcd applies its minimum). */
  static async grant(client: EtcdClient, ttlMs: number, options: GrantOptions = {}): Promise<KeptLease> {
    const sentAt = performance.now();
    // Not tied to the caller's signal: a grant abandoned in flight may still land in etcd.
    const granting = client.call(
      'lease.grant',
      '',
      (o) => client.rpc.lease.grant({ TTL: ttlSeconds(ttlMs), ID: 0 }, o),
      { signal: client.closing, idempotent: true, level: 'debug' },
    );
    let res;
    try {
      res = await race(granting, options.signal, 'lease.grant');
    } catch (err) {
      // The caller has gone: revoke what etcd may still grant, so an abort leaves no lease behind.
      if (options.signal?.aborted) {
        revokeWhenGranted(client, granting);
        // Out of time: a connect pending since before this grant began is stuck (e.g. its handshake
        // went into a black hole); give it up, so the caller's next attempt dials afresh.
        const reason: unknown = options.signal.reason;
        if (reason instanceof Error && reason.name === 'TimeoutError') client.rpc.channel.abandonConnect(sentAt);
      }
      throw err;
    }
    const lease = new KeptLease(client, res.ID, Number(res.TTL), sentAt);
    if (options.keepAlive) lease.startKeepAlive();
    return lease;
  }


  /** Lost, as of now: the local deadline is checked on every look (see checkDeadline()). */
  get isLost(): boolean {
    this.checkDeadline();
    return this.lost.signal.aborted;
  }

  /**
   * Marks the lease lost now if its local deadline has passed, rather than when the expiry timer
   * gets to run: after a process pause (SIGSTOP, a long GC) every overdue timer fires at once, in the
   * order they were due, so an app's own timer can run before ours and act on a lease that is gone.
   * Every look at `isLost`, and at a holder's `signal`, is up to date.
   */
  checkDeadline(): void {
    if (this.expiryTimer !== undefined && !this.lost.signal.aborted && this.remainingMs() <= 0) {
      this.markLost(`not confirmed for its whole TTL (${this.ttlSeconds} s)`);
    }
  }

  /** Milliseconds until etcd may expire the lease, as far as we can prove (a lower bound). */
  remainingMs(): number {
    return Math.max(0, this.confirmedAt + this.ttlSeconds * 1000 - performance.now());
  }

  /** One keep-alive now; resolves with the TTL in seconds; NOT_FOUND (and loss) if etcd no longer has it. */
  async keepAliveOnce(signal?: AbortSignal): Promise<number> {
    if (this.isLost) throw this.lost.signal.reason as CoordinationError;
    const sentAt = performance.now();
    let ttl: number;
    try {
      // A stream stuck on a hung member must be given up in time to renew through another one
      // before the TTL runs out: wait at most a third of the TTL for the answer.
      const answerWithin = Math.min(this.client.timeout, Math.max(500, (this.ttlSeconds * 1000) / 3));
      ttl = await keeperOf(this.client).keepAlive(this.id, signal, answerWithin);
    } catch (err) {
      throw toCoordinationError(err, `lease.keepalive ${this.hexId}`);
    }
    if (ttl <= 0) {
      this.markLost('revoked or expired in etcd');
      throw this.lost.signal.reason as CoordinationError;
    }
    if (!this.ending && !this.isLost) {
      this.confirmedAt = Math.max(this.confirmedAt, sentAt);
      this.armExpiry();
    }
    return ttl;
  }

  /** Keeps the lease alive every TTL/3 (sooner after a failed attempt) until stopKeepAlive(), revoke() or loss. */
  startKeepAlive(): void {
    if (this.keepAliveLoop || this.ending || this.isLost) return;
    const loop = {};
    this.keepAliveLoop = loop;
    const interval = Math.max(300, (this.ttlSeconds * 1000) / 3);
    const tick = (): void => {
      this.keepAliveOnce().then(
        () => schedule(interval),
        (err: unknown) => {
          if (this.keepAliveLoop !== loop || this.isLost || this.ending) return;
          this.client.logger.warn(
            { operation: 'lease.keepalive', key: this.hexId, code: toCoordinationError(err, 'keepalive').code, error: errorText(err) },
            'keep-alive failed; retrying',
          );
          schedule(Math.min(interval, 500));
        },
      );
    };
    // A keep-alive in flight when the loop was stopped (or replaced) must not re-arm it when it answers.
    const schedule = (ms: number): void => {
      if (this.keepAliveLoop !== loop || this.ending || this.isLost) return;
      this.keepAliveTimer = setTimeout(tick, ms);
      this.keepAliveTimer.unref();
    };
    schedule(interval);
  }

  /** Stops the keep-alive loop, a keep-alive in flight included (its answer still counts). */
  stopKeepAlive(): void {
    this.keepAliveLoop = undefined;
    clearTimeout(this.keepAliveTimer);
    this.keepAliveTimer = undefined;
  }

  /** Remaining TTL in ms as etcd reports it; NOT_FOUND if the lease is gone. */
  async timeToLive(signal?: AbortSignal): Promise<number> {
    const res = await this.client.call(
      'lease.ttl',
      this.hexId,
      (o) => this.client.rpc.lease.timeToLive({ ID: this.id, keys: false }, o),
      { signal, idempotent: true, level: 'debug' },
    );
    const ttl = Number(res.TTL);
    if (ttl <= 0) {
      this.markLost('revoked or expired in etcd');
      throw this.lost.signal.reason as CoordinationError;
    }
    return ttl * 1000;
  }

  /**
   * Revokes the lease (deleting its keys); idempotent; a lease already gone counts as revoked, and so
   * does a lost one (owners that must clear a lease lost only locally call revokeLease() by ID). A
   * revoke that fails (etcd unreachable) can be tried again; meanwhile loss is still reported at the
   * end of the TTL.
   */
  revoke(signal?: AbortSignal): Promise<void> {
    if (this.revoked) return Promise.resolve();
    if (this.isLost) {
      this.revoked = true;
      return Promise.resolve();
    }
    this.revoking ??= this.revokeOnce(signal).finally(() => (this.revoking = undefined));
    return this.revoking;
  }

  private async revokeOnce(signal: AbortSignal | undefined): Promise<void> {
    // The expiry timer too: a lease being given up is not "lost" because the revoke is slow.
    this.stopTimers();
    try {
      await revokeLease(this.client, this.id, signal);
    } catch (err) {
      if (!this.isLost) this.armExpiry();
      throw err;
    }
    this.revoked = true;
    this.stopTimers();
    this.unown();
  }

  /** Revoked, or being revoked: no keep-alive starts or re-arms the expiry. */
  private get ending(): boolean {
    return this.revoked || this.revoking !== undefined;
  }

  /** Calls `fn` once when the lease is lost (the reason is on `signal`), unless unwatched first. */
  watchLoss(fn: () => void): void {
    this.lossWatchers.add(fn);
  }

  unwatchLoss(fn: () => void): void {
    this.lossWatchers.delete(fn);
  }

  /** Called by owners that learn of the loss another way (e.g. their key was deleted). */
  markLost(why: string): void {
    if (this.lost.signal.aborted || this.revoked) return;
    this.stopTimers();
    this.unown();
    this.client.logger.warn({ operation: 'lease', key: this.hexId, from: 'alive', to: 'lost' }, `lease lost: ${why}`);
    this.lost.abort(new CoordinationError(ErrorCode.NotFound, `lease ${this.hexId} lost: ${why}`));
    const watchers = [...this.lossWatchers];
    this.lossWatchers.clear();
    for (const watcher of watchers) watcher();
  }

  [Symbol.asyncDispose](): Promise<void> {
    return this.revoke();
  }

  private armExpiry(): void {
    clearTimeout(this.expiryTimer);
    this.expiryTimer = setTimeout(() => {
      if (this.remainingMs() <= 0) this.markLost(`not confirmed for its whole TTL (${this.ttlSeconds} s)`);
      else this.armExpiry();
    }, this.remainingMs() + 1);
    this.expiryTimer.unref();
  }

  private stopTimers(): void {
    this.stopKeepAlive();
    clearTimeout(this.expiryTimer);
    this.expiryTimer = undefined;
  }
}

/** Revokes the lease an abandoned grant brings, if any; close() waits for it. */
function revokeWhenGranted(client: EtcdClient, granting: Promise<{ ID: string }>): void {
  const done = granting.then((res) => revokeLease(client, res.ID)).then(
    () => undefined,
    () => undefined,
  );
  let unown = (): unknown => undefined;
  try {
    unown = client.own({ close: () => done });
  } catch {
    /* closing: own() has already handed `done` to close() */
  }
  void done.finally(() => unown());
}

/** Revokes lease `id` (deleting its keys), also while close() runs; a lease already gone counts as revoked. */
export async function revokeLease(client: EtcdClient, id: string, signal?: AbortSignal): Promise<void> {
  try {
    await client.call('lease.revoke', leaseHex(id), (o) => client.rpc.lease.revoke({ ID: id }, o), {
      signal,
      idempotent: true,
      level: 'debug',
      duringClose: true,
    });
  } catch (err) {
    if (toCoordinationError(err, 'revoke').code !== ErrorCode.NotFound) throw err;
  }
}
