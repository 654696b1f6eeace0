// Key layout shared with etcd's Go concurrency.Mutex: lock `K` lives under `<ns>/locks/K/`, each
// contender's key is that prefix + its lease ID in lowercase hex, the holder has the lowest create
// revision. gochat's Go TryAcquire holds `K` by the bare key `<ns>/locks/K` instead (a create-if-absent
// put), so our holder owns that key too, and a bare key we did not write counts as a holder.
import type { Compare, FullRangeRequest, RangeRequest } from '../client/grpc/messages.js';
import { newestTwo } from '../shared/fair-queue.js';
import { leaseHex } from '../shared/kept-lease.js';
import { prefixEnd } from '../client/prefix-end.js';
import { absent } from '../shared/guard.js';

/** Full etcd prefix of lock `key`: what Go's `NewMutex(session, path.Join("/locks", key))` uses. */
export function lockPrefix(locksRoot: string, key: string): string {
  return `${locksRoot}${key}/`;
}

/** gochat's TryAcquire key of the lock whose prefix is `prefix`: `path.Join("/locks", key)`. */
export function bareKey(prefix: string): string {
  return prefix.slice(0, -1);
}

/** True for a contender key (last segment = its lease ID in hex), false for gochat's bare key. */
export function isContenderKey(key: string, leaseId: string): boolean {
  return leaseId !== '0' && key.endsWith(`/${leaseHex(leaseId)}`);
}

/** A contender's key: prefix + lease ID in lowercase hex (KeptLease.hexId), like Go's `%x`. */
export function contenderKey(prefix: string, leaseHex: string): string {
  return prefix + leaseHex;
}

/** What every acquire of one lock sends that depends on its name alone. */
export interface LockKeys {
  /** `<ns>/locks/K/`: contender keys are this + lease ID in hex. */
  readonly prefix: string;
  /** gochat's TryAcquire key `<ns>/locks/K`. */
  readonly bare: Buffer;
  /** Holds while nobody holds or waits: no contender, no bare key. */
  readonly free: readonly Compare[];
  /** The newest two contenders. */
  readonly newest: RangeRequest;
  /** The bare key, if anyone holds it: whole, for its lease (a resend of ours is on our lease). */
  readonly bareRead: FullRangeRequest;
  /** Our contender key for a lease (its hex ID), as text and bytes; the last two are remembered (spare leases take turns). */
  contender(leaseHex: string): Contender;
}

export interface Contender {
  readonly key: string;
  readonly bytes: Buffer;
}

/** Most lock names a process keeps ready; beyond it the cache starts afresh. */
const MAX_CACHED = 1024;

/**
 * LockKeys per validated lock name: an app locks the same few names over and over, so the keys,
 * buffers and comparisons are built (and the name checked) once, not on every acquire.
 */
export class LockKeyCache {
  private readonly cache = new Map<string, LockKeys>();

  constructor(private readonly locksRoot: string) {}

  /** The keys of lock `name`; `validate` runs the first time a name is seen (it throws on a bad one). */
  get(name: string, validate: (name: unknown) => void): LockKeys {
    const hit = this.cache.get(name);
    if (hit) return hit;
    validate(name);
    const prefix = lockPrefix(this.locksRoot, name);
    const all = Buffer.from(prefix);
    const bare = Buffer.from(bareKey(prefix));
    let [last, before]: Array<(Contender & { hex: string }) | undefined> = [];
    const keys: LockKeys = Object.freeze({
      prefix,
      bare,
      free: Object.freeze([absent(all, prefixEnd(all)), absent(bare)]),
      newest: newestTwo(prefix),
      bareRead: { key: bare },
      contender(leaseHex: string): Contender {
        if (last?.hex === leaseHex) return last;
        if (before?.hex === leaseHex) [last, before] = [before, last];
        else {
          const key = contenderKey(prefix, leaseHex);
          [last, before] = [{ hex: leaseHex, key, bytes: Buffer.from(key) }, last];
        }
        return last!;
      },
    });
    if (this.cache.size >= MAX_CACHED) this.cache.clear();
    this.cache.set(name, keys);
    return keys;
  }
}
