// Leadership we hold: our candidate key, its create revision (the fencing token) and the lease
// that keeps it, kept alive until resign(). Loss is noticed from the lease (expired, revoked, or
// unconfirmed for a whole TTL — a local deadline) and from a watch on our own key. Every write
// (proclaim, resign) is guarded by our key's create revision, as Go's Election guards them.
import type { HubWatch } from '../client/watch-hub.js';
import type { EtcdClient } from '../client/etcd-client.js';
import type { KeptLease } from '../client/lease.js';
import { CoordinationError, ErrorCode, toCoordinationError } from '../errors.js';
import { errorText } from '../logger.js';
import type { SignalOptions } from '../shared/vocabulary.js';
import type { Leadership } from './interface.js';
import { validateValue } from './validate.js';

export class HeldLeadership implements Leadership {
  private readonly controller = new AbortController();
  private watcher: HubWatch | undefined;
  private lost: CoordinationError | undefined;
  private resigned = false;
  private resigning: Promise<void> | undefined;
  /** Our key was deleted while a resign was in flight: if that resign fails, it may still have applied. */
  private deletedWhileResigning = false;
  private readonly unown: () => void;
  private readonly onLeaseLost = (): void => this.markLost(this.lease.signal.reason as CoordinationError);

  constructor(
    private readonly client: EtcdClient,
    readonly name: string,
    readonly key: string,
    readonly fencingToken: bigint,
    private readonly lease: KeptLease,
  ) {
    lease.watchLoss(this.onLeaseLost);
    lease.startKeepAlive();
    // close() revokes the lease itself (KeptLease is owned too); here we only stop the watch.
    this.unown = client.own({ close: () => this.detach() });
    this.watchOwnKey();
    client.logger.info({ operation: 'election.campaign', key: name, revision: String(fencingToken) }, 'elected');
  }

  get signal(): AbortSignal {
    return this.controller.signal;
  }

  async proclaim(value: string, opts: SignalOptions = {}): Promise<void> {
    validateValue(value);
    this.assertLeading('proclaim');
    const key = Buffer.from(this.key);
    const res = await this.client.call(
      'election.proclaim',
      this.name,
      (o) =>
        this.client.rpc.kv.txn(
          { compare: [this.guard()], success: [{ request_put: { key, value: Buffer.from(value), lease: this.lease.id } }] },
          o,
        ),
      { signal: opts.signal, idempotent: true, level: 'debug' },
    );
    if (!res.succeeded) {
      this.markLost(this.keyGone());
      throw new CoordinationError(ErrorCode.Conflict, `election ${this.name}: we no longer lead; nothing written`);
    }
  }

  resign(opts: SignalOptions = {}): Promise<void> {
    if (this.resigned) return Promise.resolve();
    this.resigning ??= this.delete(opts.signal).catch((err: unknown) => {
      this.resigning = undefined; // keep our state: the caller may try again (etcd#22123)
      if (this.deletedWhileResigning) this.markLost(this.keyGone()); // the delete landed; only its answer was lost
      throw toCoordinationError(err, `election.resign ${this.name}`);
    });
    return this.resigning;
  }

  [Symbol.asyncDispose](): Promise<void> {
    return this.resign();
  }

  /** Deletes our key if it is still ours; then the lease (now carrying nothing) is revoked. */
  private async delete(signal: AbortSignal | undefined): Promise<void> {
    if (this.client.isClosed) {
      this.detach(); // close() revokes the lease, deleting our key
      return;
    }
    const started = performance.now();
    await this.client.call(
      'election.resign',
      this.name,
      (o) => this.client.rpc.kv.txn({ compare: [this.guard()], success: [{ request_delete_range: { key: Buffer.from(this.key) } }] }, o),
      { signal, idempotent: true, level: 'debug' },
    );
    this.detach();
    // The next candidate already leads; the revoke only tidies up (bounded: the lease expires anyway).
    await this.lease.revoke(AbortSignal.timeout(this.client.timeout)).catch((err: unknown) => {
      this.client.logger.debug({ operation: 'election.resign', key: this.name, error: errorText(err) }, 'lease revoke after resign failed');
    });
    this.client.logger.info({ operation: 'election.resign', key: this.name, durationMs: Math.round(performance.now() - started) }, 'resigned');
  }

  /** Holds only while our key is the one we created: `create_revision(key) == fencingToken`. */
  private guard() {
    return { key: Buffer.from(this.key), target: 'CREATE' as const, result: 'EQUAL' as const, create_revision: this.fencingToken.toString() };
  }

  /** From here on nothing can mark this leadership lost. */
  private detach(): void {
    if (this.resigned) return;
    this.resigned = true;
    this.unown();
    this.lease.unwatchLoss(this.onLeaseLost);
    this.lease.stopKeepAlive();
    this.watcher?.cancel();
    this.watcher = undefined;
  }

  private markLost(reason: CoordinationError): void {
    if (this.resigned || this.lost) return;
    this.lost = reason;
    this.lease.stopKeepAlive();
    this.watcher?.cancel();
    this.watcher = undefined;
    this.client.logger.warn({ operation: 'election', key: this.name, from: 'leader', to: 'lost', code: reason.code }, 'leadership lost');
    this.controller.abort(reason);
  }

  private assertLeading(what: string): void {
    if (this.lost) throw new CoordinationError(ErrorCode.Conflict, `election.${what} ${this.name}: we no longer lead; nothing written`, { cause: this.lost });
    if (this.resigned || this.resigning) throw new CoordinationError(ErrorCode.NotFound, `election.${what} ${this.name}: we resigned`);
  }

  private keyGone(): CoordinationError {
    return new CoordinationError(ErrorCode.NotFound, `election ${this.name}: leadership lost, our key was deleted`);
  }

  /** Deletes of our key (revoke, expiry, an operator) abort `signal`; started synced, then one read. */
  private watchOwnKey(): void {
    let checked = false;
    this.watcher = this.client.watches.watch(
      { key: Buffer.from(this.key), only: 'delete' },
      {
        onEvents: (events) => {
          if (events.length === 0) return;
          if (this.resigning) this.deletedWhileResigning = true;
          else this.markLost(this.keyGone());
        },
        onCancelled: (reason) => {
          // The lease's local deadline still guards us; note why the watch is gone.
          this.client.logger.warn({ operation: 'election.watch', key: this.name, error: reason.message }, 'leadership watch failed');
        },
        onCreated: () => {
          if (checked || this.resigned || this.lost) return;
          checked = true;
          this.client
            .call('election.check', this.name, (o) => this.client.rpc.kv.range({ key: Buffer.from(this.key), keys_only: true }, o), {
              idempotent: true,
              level: 'debug',
            })
            .then((res) => {
              const kv = res.kvs[0];
              if (!this.resigning && (!kv || BigInt(kv.create_revision) !== this.fencingToken)) this.markLost(this.keyGone());
            })
            .catch(() => undefined);
        },
      },
    );
  }
}
