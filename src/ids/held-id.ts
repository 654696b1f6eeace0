// An ID we hold: its key is bound to a lease kept alive on the coordinator's shared keep-alive
// stream. It is lost — signal aborts, never silently re-acquired — when the lease is lost, or when
// its key is deleted or overwritten behind our back (watched from the revision that created it).
import type { IKeyValue, Watcher } from 'etcd3';
import type { EtcdClient } from '../client/etcd-client.js';
import type { KeptLease } from '../client/lease.js';
import { CoordinationError, ErrorCode } from '../errors.js';
import { errorText } from '../logger.js';
import type { InstanceId } from './interface.js';

export class HeldId implements InstanceId {
  readonly signal: AbortSignal;
  private readonly lost = new AbortController();
  private releasing: Promise<void> | undefined;
  private readonly watching: Promise<Watcher | undefined>;
  private readonly unown: () => void;

  constructor(
    private readonly client: EtcdClient,
    readonly pool: string,
    readonly id: number,
    /** Relative key, e.g. `ids/gateway/7`. */
    private readonly key: string,
    private readonly lease: KeptLease,
    createRevision: bigint,
  ) {
    this.signal = this.lost.signal;
    // A lost lease means etcd may already hand the ID to someone else.
    if (lease.isLost) this.markLost(lease.signal.reason);
    else lease.signal.addEventListener('abort', () => this.markLost(lease.signal.reason), { once: true });
    this.unown = client.own({ close: () => this.release() });
    this.watching = this.watchKey(createRevision);
  }

  release(): Promise<void> {
    this.releasing ??= (async () => {
      this.unown();
      await this.stopWatch();
      // Revoking the lease deletes the key in the same step: the ID is free for others at once.
      await this.lease.revoke();
      this.client.logger.info({ operation: 'ids.release', key: this.key, from: 'held', to: 'released' }, 'instance id released');
    })();
    return this.releasing;
  }

  [Symbol.asyncDispose](): Promise<void> {
    return this.release();
  }

  /** Watches our own key from the revision after its creation, so nothing between is missed. */
  private watchKey(createRevision: bigint): Promise<Watcher | undefined> {
    return this.client.ns
      .watch()
      .key(this.key)
      .startRevision(String(createRevision + 1n))
      .create()
      .then(
        (watcher) => {
          watcher.on('delete', () => this.keyGone('its key was deleted'));
          watcher.on('put', (kv: IKeyValue) => {
            if (kv.lease !== this.lease.id) this.keyGone('its key was overwritten by another writer');
          });
          // The lease still guards the ID if the watch fails; say so and carry on.
          watcher.on('error', (err) =>
            this.client.logger.warn({ operation: 'ids.watch', key: this.key, error: errorText(err) }, 'instance id watch failed'),
          );
          if (this.releasing) void watcher.cancel().catch(() => undefined);
          return watcher;
        },
        (err: unknown) => {
          if (!this.releasing && !this.client.isClosed) {
            this.client.logger.warn({ operation: 'ids.watch', key: this.key, error: errorText(err) }, 'instance id watch not started');
          }
          return undefined;
        },
      );
  }

  private async stopWatch(): Promise<void> {
    const watcher = await this.watching;
    await watcher?.cancel().catch(() => undefined);
  }

  private keyGone(why: string): void {
    if (this.releasing || this.signal.aborted) return;
    this.markLost(new CoordinationError(ErrorCode.NotFound, `${why}`));
    // The lease holds nothing of ours any more: stop keeping it alive.
    void this.lease.revoke().catch(() => undefined);
    void this.stopWatch();
  }

  private markLost(reason: unknown): void {
    if (this.releasing || this.signal.aborted) return;
    const why = reason instanceof Error ? reason.message : String(reason);
    this.client.logger.warn({ operation: 'ids.lost', key: this.key, from: 'held', to: 'lost' }, 'instance id lost');
    this.lost.abort(new CoordinationError(ErrorCode.NotFound, `instance id ${this.pool}/${this.id} lost: ${why}`, { cause: reason }));
  }
}
