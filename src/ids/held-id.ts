// An ID we hold: its key is bound to a lease kept alive on the coordinator's shared keep-alive
// stream. It is lost — signal aborts, never silently re-acquired — when the lease is lost, or when
// the watch on its key (LeasedKey, bound to our lease) sees it deleted or overwritten behind our
// back (by hand, e.g. etcdctl: the lease alone would keep us confident while a second holder comes
// in). A delete is checked against the lease first, so a revoked lease reads "lease lost".
import type { EtcdClient } from '../client/etcd-client.js';
import type { KeptLease } from '../shared/kept-lease.js';
import { CoordinationError, ErrorCode } from '../errors.js';
import { LeasedKey, type LeasedKeyRole } from '../shared/leased-key.js';
import type { SignalOptions } from '../shared/vocabulary.js';
import type { InstanceId } from './interface.js';
import { RetryableOnce } from '../shared/retryable-once.js';

const ROLE: LeasedKeyRole = {
  noun: 'ids',
  from: 'held',
  lostOperation: 'ids.lost',
  lostMessage: 'instance id lost',
  released: 'the instance id was released',
  leaseBound: true,
};

export class HeldId extends LeasedKey implements InstanceId {
  private readonly releasing = new RetryableOnce(); // the ID frees at its TTL if nobody tries again

  constructor(
    client: EtcdClient,
    readonly pool: string,
    readonly id: number,
    /** Relative key, e.g. `ids/gateway/7`. */
    private readonly key: string,
    lease: KeptLease,
    /** Revision that created our key: a key with another create revision is not ours. */
    createRevision: bigint,
  ) {
    super(client, ROLE, key, Buffer.from(client.key(key)), createRevision, lease);
    // A lost lease means etcd may already hand the ID to someone else.
    if (lease.isLost) this.markLost(this.lossOf(lease.signal.reason as CoordinationError));
    else void this.signal; // check our key from the start
  }

  release(opts: SignalOptions = {}): Promise<void> {
    return this.releasing.run(() => this.leave(opts.signal), `ids.release ${this.key}`);
  }

  private async leave(signal: AbortSignal | undefined): Promise<void> {
    this.detach(); // no more watching; loss no longer reported
    // Revoking the lease deletes the key in the same step: the ID is free for others at once.
    // A failed revoke can be tried again: release() again sends it again.
    await this.lease.revoke(signal);
    this.client.logger.info({ operation: 'ids.release', key: this.key, from: 'held', to: 'released' }, 'instance id released');
  }

  [Symbol.asyncDispose](): Promise<void> {
    return this.release();
  }

  protected override onClose(): Promise<void> {
    return this.release();
  }

  protected override lossOf(leaseReason: CoordinationError): CoordinationError {
    return this.lostAs(leaseReason.message, leaseReason);
  }

  protected keyGone(): CoordinationError {
    return this.lostAs('its key was deleted');
  }

  protected replaced(): CoordinationError {
    return this.lostAs('its key was overwritten');
  }

  /** The key is gone or not ours: the lease holds nothing of ours any more, stop keeping it alive. */
  protected override onLost(): void {
    if (!this.lease.isLost) void this.lease.revoke().catch(() => undefined);
  }

  private lostAs(why: string, cause?: unknown): CoordinationError {
    return new CoordinationError(ErrorCode.NotFound, `instance id ${this.pool}/${this.id} lost: ${why}`, cause === undefined ? undefined : { cause });
  }
}
