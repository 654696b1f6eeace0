// An ID we hold: its key is bound to a lease kept alive on the coordinator's shared keep-alive
// stream. It is lost — signal aborts, never silently re-acquired — when the lease is lost, or when
// a periodic check finds its key deleted or overwritten behind our back.
import type { EtcdClient } from '../client/etcd-client.js';
import { revokeLease, type KeptLease } from '../client/lease.js';
import { CoordinationError, ErrorCode, toCoordinationError } from '../errors.js';
import type { SignalOptions } from '../shared/vocabulary.js';
import type { InstanceId } from './interface.js';

export class HeldId implements InstanceId {
  readonly signal: AbortSignal;
  private readonly lost = new AbortController();
  private releasing: Promise<void> | undefined;
  private revokeTried = false;
  private released = false; // release() was called: no more checks, loss no longer reported
  private checkTimer: NodeJS.Timeout | undefined;
  private readonly unown: () => void;

  constructor(
    private readonly client: EtcdClient,
    readonly pool: string,
    readonly id: number,
    /** Relative key, e.g. `ids/gateway/7`. */
    private readonly key: string,
    private readonly lease: KeptLease,
    /** Revision that created our key: a key with another create revision is not ours. */
    private readonly createRevision: bigint,
  ) {
    this.signal = this.lost.signal;
    // A lost lease means etcd may already hand the ID to someone else.
    if (lease.isLost) this.markLost(lease.signal.reason);
    else lease.signal.addEventListener('abort', () => this.markLost(lease.signal.reason), { once: true });
    this.unown = client.own({ close: () => this.release() });
    this.scheduleCheck();
  }

  release(opts: SignalOptions = {}): Promise<void> {
    this.releasing ??= this.leave(opts.signal).catch((err: unknown) => {
      this.releasing = undefined; // let the caller try again; the ID frees at its TTL otherwise
      throw toCoordinationError(err, `ids.release ${this.key}`);
    });
    return this.releasing;
  }

  private async leave(signal: AbortSignal | undefined): Promise<void> {
    this.released = true;
    this.unown();
    clearTimeout(this.checkTimer);
    // Revoking the lease deletes the key in the same step: the ID is free for others at once.
    // A retry after a failed revoke goes by ID (KeptLease counts its own revoke as done).
    if (this.revokeTried) await revokeLease(this.client, this.lease.id, signal);
    else {
      this.revokeTried = true;
      await this.lease.revoke(signal);
    }
    this.client.logger.info({ operation: 'ids.release', key: this.key, from: 'held', to: 'released' }, 'instance id released');
  }

  [Symbol.asyncDispose](): Promise<void> {
    return this.release();
  }

  /**
   * Every half TTL, reads our key back: a key deleted or overwritten by hand (etcdctl) would
   * otherwise let a second holder in while the lease keeps us confident. A poll rather than a
   * watch: one cheap read per half TTL, and nothing to cancel on close().
   */
  private scheduleCheck(): void {
    if (this.released || this.signal.aborted) return;
    this.checkTimer = setTimeout(() => void this.check().finally(() => this.scheduleCheck()), (this.lease.ttlSeconds * 1000) / 2);
    this.checkTimer.unref();
  }

  private async check(): Promise<void> {
    let kv;
    try {
      const res = await this.client.call(
        'ids.check',
        this.key,
        (o) => this.client.rpc.kv.range({ key: Buffer.from(this.client.key(this.key)), keys_only: true }, o),
        { idempotent: true, level: 'debug' },
      );
      kv = res.kvs[0];
    } catch {
      return; // unreachable etcd is the lease's business: it declares the loss within the TTL
    }
    if (this.released || this.signal.aborted) return;
    if (!kv) this.keyGone('its key was deleted');
    else if (kv.lease !== this.lease.id || BigInt(kv.create_revision) !== this.createRevision) this.keyGone('its key was overwritten');
  }

  private keyGone(why: string): void {
    this.markLost(new CoordinationError(ErrorCode.NotFound, why));
    // The lease holds nothing of ours any more: stop keeping it alive.
    void this.lease.revoke().catch(() => undefined);
  }

  private markLost(reason: unknown): void {
    if (this.released || this.signal.aborted) return;
    clearTimeout(this.checkTimer);
    const why = reason instanceof Error ? reason.message : String(reason);
    this.client.logger.warn({ operation: 'ids.lost', key: this.key, from: 'held', to: 'lost' }, 'instance id lost');
    this.lost.abort(new CoordinationError(ErrorCode.NotFound, `instance id ${this.pool}/${this.id} lost: ${why}`, { cause: reason }));
  }
}
