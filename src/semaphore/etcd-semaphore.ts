// The counting semaphore on etcd: a contender is a key on a lease of its own, `<ns>/semaphores/<name>/<lease hex>`,
// whose value records the name's permits; the first `permits` by create revision hold. Joining and
// "do we hold" are one transaction, and a waiter acts only on deletes ahead of it (permit-queue.ts).
import type { EtcdClient } from '../client/etcd-client.js';
import { validationError } from '../errors.js';
import { HeldKey, OwnLeaseHolds, whileHeld } from '../shared/held-key.js';
import type { LeasedKeyRole } from '../shared/leased-key.js';
import type { SignalOptions } from '../shared/vocabulary.js';
import type { Permit, PermitOptions, Semaphore, SemaphoreInfo } from './interface.js';
import { listSemaphores } from './listing.js';
import { join, waitForPermit } from './permit-queue.js';
import { validatePermitOptions, validateSemaphoreName } from './validate.js';

const ROLE: LeasedKeyRole = {
  noun: 'semaphore',
  from: 'held',
  lostOperation: 'semaphore',
  lostMessage: 'semaphore permit lost',
  released: 'the permit was released',
  leaseBound: false,
};

export class EtcdSemaphore implements Semaphore {
  /** Spares ready for the next acquire (one txn + one delete per cycle) and the acquires in progress. */
  private readonly holds: OwnLeaseHolds;

  constructor(private readonly client: EtcdClient) {
    this.holds = new OwnLeaseHolds(client, 'semaphore');
  }

  acquire(name: string, options: PermitOptions): Promise<Permit> {
    return this.take(name, options, true);
  }

  tryAcquire(name: string, options: PermitOptions): Promise<Permit> {
    return this.take(name, options, false);
  }

  async withPermit<T>(name: string, options: PermitOptions, fn: (signal: AbortSignal) => Promise<T>): Promise<T> {
    if (typeof fn !== 'function') throw validationError('withPermit: fn must be a function');
    return whileHeld(await this.take(name, options, true), options.signal, fn);
  }

  list(prefix = '', opts: SignalOptions = {}): Promise<SemaphoreInfo[]> {
    return listSemaphores(this.client, prefix, opts.signal);
  }

  private async take(name: string, options: PermitOptions, wait: boolean): Promise<HeldKey> {
    validateSemaphoreName(name);
    const { permits, ttlMs, signal } = validatePermitOptions(options);
    const client = this.client;
    const operation = wait ? 'semaphore.acquire' : 'semaphore.tryAcquire';
    const prefix = Buffer.from(client.key(`${client.dirs.semaphore}${name}/`));
    let ownerKey = '';
    const { lease, fencingToken } = await this.holds.acquire({
      operation,
      name,
      ttlMs,
      wait,
      busy: `semaphore ${name}: all ${permits} permits are held`,
      signal,
      join: async (lease) => {
        ownerKey = `${prefix.toString()}${lease.hexId}`;
        const myKey = Buffer.from(ownerKey);
        const { myRev, holds } = await join(client, operation, name, prefix, myKey, lease.id, permits, signal);
        const waiter = (s: AbortSignal) => waitForPermit({ client, operation, name, prefix, myKey, myRev, permits, signal: s });
        return holds ? { fencingToken: myRev } : { fencingToken: myRev, wait: waiter };
      },
    });
    return new HeldKey({ client, role: ROLE, name, ownerKey, fencingToken, lease, spares: this.holds.spares, ttlMs });
  }
}
