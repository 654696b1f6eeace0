// One registered instance that heals itself. The key lives under a lease kept alive on the
// coordinator's shared keep-alive stream, independent of any caller's signal (gochat's Go version
// tied it to the request context and silently vanished). When the lease is lost the instance is
// re-registered with backoff; when the key alone is deleted it is put back under the same lease.
import type { EtcdClient } from '../client/etcd-client.js';
import { KeptLease, revokeLease } from '../shared/kept-lease.js';
import { CoordinationError, ErrorCode } from '../errors.js';
import { toCoordinationError } from '../client/errors.js';
import type { SignalOptions } from '../shared/vocabulary.js';
import { errorText } from '../logger.js';
import { backoffDelays } from '../retry.js';
import { retryUntil } from '../shared/retry-until.js';
import { encodeService, serviceKey } from './codec.js';
import type { DiscoveryCache } from './discovery-cache.js';
import type { Registration, RegistrationState, ServiceInfo } from './interface.js';
import { RetryableOnce } from '../shared/retryable-once.js';

export class RegistrationImpl implements Registration {
  readonly key: string;
  private stateNow: RegistrationState = 'lost';
  private lease: KeptLease | undefined;
  private putRevision = 0n; // deletes at or before our last put are not "behind our back"
  private repairing: Promise<void> | undefined;
  private again = false; // another repair was asked for while one ran
  private readonly stopped = new AbortController();
  private readonly lossController = new AbortController();
  private readonly stop: AbortSignal; // unregistered, or the coordinator closing (which unregisters us)
  private readonly value: string;
  private readonly unwatch: () => void;
  private readonly unown: () => void;
  private readonly unregistering = new RetryableOnce(); // the key goes with its lease's TTL if nobody tries again
  private everRegistered = false;
  private wasRegistered = false; // state when unregister() began, for its log line

  /** Grants the lease and writes the key; live (and in this coordinator's discover()) once it resolves. */
  static async create(client: EtcdClient, cache: DiscoveryCache, service: Readonly<ServiceInfo>, signal: AbortSignal | undefined, onEnd: () => void): Promise<RegistrationImpl> {
    const registration = new RegistrationImpl(client, cache, service, onEnd);
    try {
      const lease = await KeptLease.grant(client, service.ttlMs, { keepAlive: true, ...(signal && { signal }) });
      registration.adopt(lease);
      await registration.put(lease, signal);
      await cache.caughtUp(registration.putRevision);
    } catch (err) {
      await registration.unregister().catch(() => undefined);
      throw toCoordinationError(err, `registry.register ${registration.key}`);
    }
    registration.setState('registered');
    return registration;
  }

  private constructor(
    private readonly client: EtcdClient,
    cache: DiscoveryCache,
    readonly service: Readonly<ServiceInfo>,
    private readonly onEnd: () => void,
  ) {
    this.key = serviceKey(client.dirs.registry, service.name, service.id);
    this.value = encodeService(service);
    // Not AbortSignal.any([.., client.closing]): ~30 µs each and a dependent signal per instance;
    // close() reaches us through own() below and unregisters, which aborts `stopped`.
    this.stop = this.stopped.signal;
    // The discovery cache already watches the service's prefix: one watch for all our instances.
    this.unwatch = cache.onDeleted(this.key, (revision) => {
      if (revision <= this.putRevision || this.stop.aborted) return;
      this.client.logger.warn({ operation: 'registry.register', key: this.key }, 'our key was deleted (by hand, or with its lease); putting it back');
      this.repair();
    });
    this.unown = client.own({ close: () => this.unregister() });
  }

  get state(): RegistrationState {
    return this.stateNow;
  }

  get signal(): AbortSignal {
    return this.lossController.signal;
  }

  /** Keeps the lease; when it is lost, re-registers (unless we are stopping). */
  private adopt(lease: KeptLease): void {
    this.lease = lease;
    lease.signal.addEventListener(
      'abort',
      () => {
        if (this.lease !== lease || this.stop.aborted) return;
        this.repair();
      },
      { once: true },
    );
  }

  /** Writes our key under `lease`; remembers the revision so our own put's echo is not a "delete". */
  private async put(lease: KeptLease, signal?: AbortSignal): Promise<void> {
    const res = await this.client.call(
      'registry.put',
      this.key,
      (o) => this.client.rpc.kv.put({ key: Buffer.from(this.client.key(this.key)), value: Buffer.from(this.value), lease: lease.id }, o),
      { idempotent: true, level: 'debug', ...(signal && { signal }) },
    );
    this.putRevision = res.header.revision;
  }

  /** Runs one repair at a time; a request during a repair runs it once more afterwards. */
  private repair(): void {
    if (this.stop.aborted) return;
    this.setState('lost');
    if (this.repairing) {
      this.again = true;
      return;
    }
    this.repairing = this.repairLoop().finally(() => {
      this.repairing = undefined;
      if (this.again && !this.stop.aborted) {
        this.again = false;
        this.repair();
      }
    });
  }

  /** Re-grant (if the lease is gone) and re-put, with backoff, until it works or we stop. */
  private async repairLoop(): Promise<void> {
    // Every failure is retried until we stop (repairOnce then resolves quietly), so this never rejects.
    await retryUntil(this.stop, () => this.repairOnce(), {
      operation: `registry.register ${this.key}`,
      delays: backoffDelays(this.client.retry),
      retryable: () => true,
      onRetry: (error, delayMs) =>
        this.client.logger.warn({ operation: 'registry.register', key: this.key, code: error.code, error: errorText(error), delayMs }, 're-registration failed; retrying'),
    });
  }

  /** One attempt: re-grant (if the lease is gone) and re-put; a lease etcd no longer knows is re-granted at once. */
  private async repairOnce(): Promise<void> {
    let lease = this.lease;
    // Each attempt gets a third of the TTL, not the coordinator's timeout: a request stuck on a
    // stopped member must not outlast the old lease that still holds our key in etcd.
    const attempt = AbortSignal.any([this.stop, AbortSignal.timeout(Math.max(500, Math.ceil(this.service.ttlMs / 3)))]);
    try {
      if (!lease || lease.isLost) {
        lease = await KeptLease.grant(this.client, this.service.ttlMs, { keepAlive: true, signal: attempt });
        // Unregistered while granting: give the new lease back at once.
        if (this.stop.aborted) return void (await lease.revoke().catch(() => undefined));
        this.adopt(lease);
      }
      await this.put(lease, attempt);
      if (this.stop.aborted) return;
      this.again = false;
      this.setState('registered');
    } catch (err) {
      if (this.stop.aborted) return;
      const error = toCoordinationError(err, `registry.register ${this.key}`);
      // "requested lease not found": etcd dropped the lease (revoked, expired) — grant a new one now.
      if (error.code === ErrorCode.NotFound && lease && !lease.isLost) {
        lease.markLost('not found in etcd');
        return this.repairOnce();
      }
      throw error;
    }
  }

  /** Logs every change as `from -> to`: WARN when lost, INFO otherwise. */
  private setState(to: RegistrationState): void {
    const from = this.stateNow;
    if (from === to || from === 'unregistered') return;
    this.stateNow = to;
    const fields = { operation: 'registry.register', key: this.key, from: this.everRegistered ? from : 'new', to };
    if (to === 'lost') {
      this.client.logger.warn(fields, 'registration lost; re-registering');
      if (this.everRegistered && !this.lossController.signal.aborted) {
        this.lossController.abort(new CoordinationError(ErrorCode.NotFound, `registration ${this.key} lost (lease lost or key deleted); re-registering`));
      }
    }
    else this.client.logger.info(fields, this.everRegistered ? 'instance re-registered' : 'instance registered');
    if (to === 'registered') this.everRegistered = true;
  }

  /**
   * Stops healing, then revokes the lease, which deletes the key in the same step. Idempotent once
   * it succeeded; after a failure (etcd unreachable, `signal` aborted) it can be called again.
   */
  unregister(opts: SignalOptions = {}): Promise<void> {
    return this.unregistering.run(() => this.leave(opts.signal), `registry.unregister ${this.key}`);
  }

  private async leave(signal: AbortSignal | undefined): Promise<void> {
    if (!this.stopped.signal.aborted) {
      this.stopped.abort();
      this.unwatch();
      this.unown();
      this.onEnd();
      this.wasRegistered = this.stateNow === 'registered';
      this.stateNow = 'unregistered';
      await this.repairing?.catch(() => undefined);
    }
    const lease = this.lease;
    if (!lease) return;
    // A lease lost locally may still hold our key in etcd: revoked by ID (KeptLease counts a lost
    // lease as revoked). A failed revoke can be tried again by calling unregister() again.
    if (lease.isLost) await revokeLease(this.client, lease.id, signal);
    else await lease.revoke(signal);
    const from = this.wasRegistered ? 'registered' : 'lost';
    if (this.everRegistered) this.client.logger.info({ operation: 'registry.unregister', key: this.key, from, to: 'unregistered' }, 'instance unregistered');
  }

  [Symbol.asyncDispose](): Promise<void> {
    return this.unregister();
  }
}
