// Leadership we hold: our candidate key, its create revision (the fencing token) and the lease
// that keeps it, kept alive until resign(). Loss is noticed from the lease (expired, revoked, or
// unconfirmed for a whole TTL — a local deadline) and from a watch on our own key. Every write
// (proclaim, resign) is guarded by our key's create revision, as Go's Election guards them.
import type { EtcdClient } from '../client/etcd-client.js';
import type { KeptLease } from '../shared/kept-lease.js';
import { CoordinationError, ErrorCode } from '../errors.js';
import { errorText } from '../logger.js';
import { LeasedKey, type LeasedKeyRole } from '../shared/leased-key.js';
import type { SignalOptions } from '../shared/vocabulary.js';
import type { Leadership } from './interface.js';
import { validateValue } from './validate.js';
import { RetryableOnce } from '../shared/retryable-once.js';
import { heldAt } from '../shared/guard.js';

const ROLE: LeasedKeyRole = {
  noun: 'election',
  from: 'leader',
  lostOperation: 'election',
  lostMessage: 'leadership lost',
  released: 'we resigned',
  leaseBound: false,
};

export class HeldLeadership extends LeasedKey implements Leadership {
  private readonly resigning = new RetryableOnce(); // keeps our state on failure: the caller may try again (etcd#22123)
  /** Our key was deleted while a resign was in flight: if that resign fails, it may still have applied. */
  private deletedWhileResigning = false;

  constructor(
    client: EtcdClient,
    readonly name: string,
    readonly key: string,
    fencingToken: bigint,
    lease: KeptLease,
  ) {
    super(client, ROLE, name, Buffer.from(key), fencingToken, lease);
    lease.startKeepAlive();
    void this.signal; // a leader watches its key from the start (not lazily, as a lock does)
    client.logger.info({ operation: 'election.campaign', key: name, revision: String(fencingToken) }, 'elected');
  }

  async proclaim(value: string, opts: SignalOptions = {}): Promise<void> {
    validateValue(value);
    this.assertHeld('proclaim');
    if (this.resigning.started) throw new CoordinationError(ErrorCode.NotFound, `election.proclaim ${this.name}: we resigned`);
    const key = this.ownKey;
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
    if (this.isDetached) return Promise.resolve();
    return this.resigning.run(() => this.delete(opts.signal), `election.resign ${this.name}`, () => {
      if (this.deletedWhileResigning) this.markLost(this.keyGone()); // the delete landed; only its answer was lost
    });
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
      (o) => this.client.rpc.kv.txn({ compare: [this.guard()], success: [{ request_delete_range: { key: this.ownKey } }] }, o),
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
    return heldAt(this.ownKey, this.fencingToken);
  }

  /** A delete seen while our resign is in flight may be that resign's: noted, not a loss (yet). */
  protected override keyChanged(reason: CoordinationError): void {
    if (this.resigning.started) this.deletedWhileResigning = true;
    else super.keyChanged(reason);
  }

  protected keyGone(): CoordinationError {
    return new CoordinationError(ErrorCode.NotFound, `election ${this.name}: leadership lost, our key was deleted`);
  }

  protected replaced(): CoordinationError {
    return new CoordinationError(ErrorCode.Conflict, `election ${this.name}: leadership lost, our key was replaced`);
  }
}
