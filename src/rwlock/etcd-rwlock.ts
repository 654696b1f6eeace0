// The read-write lock on etcd, in the layout of Go's recipe.RWMutex (queue.ts): each hold is a key on
// a lease of its own; release revokes the lease. Go services using NewRWMutex(session,
// "<ns>/rwlocks/<name>") share the lock with ours.
import type { EtcdClient } from '../client/etcd-client.js';
import { validationError } from '../errors.js';
import { HeldKey, OwnLeaseHolds, whileHeld, type HeldKeyOptions } from '../shared/held-key.js';
import type { LeasedKeyRole } from '../shared/leased-key.js';
import type { SignalOptions } from '../shared/vocabulary.js';
import type { ReadWriteLock, RwLockHandle, RwLockInfo, RwLockOptions } from './interface.js';
import { listRwLocks } from './listing.js';
import { joinQueue, waitForLock, type Mode } from './queue.js';
import { validateRwLockName, validateRwLockOptions } from './validate.js';

const ROLE: LeasedKeyRole = {
  noun: 'rwlock',
  from: 'held',
  lostOperation: 'rwlock',
  lostMessage: 'read-write lock lost',
  released: 'the lock was released',
  leaseBound: false,
};

/** A read or write lock we hold. */
class HeldRwLock extends HeldKey implements RwLockHandle {
  constructor(
    o: HeldKeyOptions,
    readonly mode: Mode,
  ) {
    super(o);
  }

  unlock(opts: SignalOptions = {}): Promise<void> {
    return this.release(opts);
  }
}

export class EtcdReadWriteLock implements ReadWriteLock {
  /** Spares ready for the next acquire (one txn + one delete per cycle) and the acquires in progress. */
  private readonly holds: OwnLeaseHolds;

  constructor(private readonly client: EtcdClient) {
    this.holds = new OwnLeaseHolds(client, 'rwlock');
  }

  acquireRead(name: string, options: RwLockOptions = {}): Promise<RwLockHandle> {
    return this.take(name, options, 'read', true);
  }

  acquireWrite(name: string, options: RwLockOptions = {}): Promise<RwLockHandle> {
    return this.take(name, options, 'write', true);
  }

  tryAcquireRead(name: string, options: RwLockOptions = {}): Promise<RwLockHandle> {
    return this.take(name, options, 'read', false);
  }

  tryAcquireWrite(name: string, options: RwLockOptions = {}): Promise<RwLockHandle> {
    return this.take(name, options, 'write', false);
  }

  async withRead<T>(name: string, options: RwLockOptions, fn: (signal: AbortSignal) => Promise<T>): Promise<T> {
    if (typeof fn !== 'function') throw validationError('withRead: fn must be a function');
    return whileHeld(await this.take(name, options, 'read', true), options?.signal, fn);
  }

  async withWrite<T>(name: string, options: RwLockOptions, fn: (signal: AbortSignal) => Promise<T>): Promise<T> {
    if (typeof fn !== 'function') throw validationError('withWrite: fn must be a function');
    return whileHeld(await this.take(name, options, 'write', true), options?.signal, fn);
  }

  list(prefix = '', opts: SignalOptions = {}): Promise<RwLockInfo[]> {
    return listRwLocks(this.client, prefix, opts.signal);
  }

  private async take(name: string, options: RwLockOptions, mode: Mode, wait: boolean): Promise<HeldRwLock> {
    validateRwLockName(name);
    const { ttlMs, signal } = validateRwLockOptions(options);
    const client = this.client;
    const kind = mode === 'read' ? 'Read' : 'Write';
    const operation = wait ? `rwlock.acquire${kind}` : `rwlock.tryAcquire${kind}`;
    // Go's RWMutex prefix is `<pfx>/`; our keys are `<pfx>/read/<lease hex>`, `<pfx>/write/<lease hex>`.
    const prefix = client.key(`${client.dirs.rwlock}${name}/`);
    let ownerKey = '';
    const { lease, fencingToken } = await this.holds.acquire({
      operation,
      name,
      ttlMs,
      wait,
      busy: mode === 'read' ? `rwlock ${name}: a writer holds or waits` : `rwlock ${name}: held or waited for`,
      signal,
      join: async (lease) => {
        ownerKey = `${prefix}${mode}/${lease.hexId}`;
        const { myRev, blocker } = await joinQueue(client, operation, name, prefix, ownerKey, mode, lease.id, signal);
        if (blocker === undefined) return { fencingToken: myRev };
        return { fencingToken: myRev, wait: (s) => waitForLock(client, operation, name, prefix, ownerKey, myRev, mode, blocker, s) };
      },
    });
    return new HeldRwLock({ client, role: ROLE, name, ownerKey, fencingToken, lease, spares: this.holds.spares, ttlMs }, mode);
  }
}
