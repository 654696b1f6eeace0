// Waiting for our turn — etcd's key.go `waitDeletes`, made quiet and fast: watch only the contender
// just ahead of us, start that watch *synced* (no start revision, then re-read), and re-check the
// queue after every wake-up. A watch with an old start revision would join etcd's "unsynced" group,
// served by a 100 ms catch-up loop: that is why Go's Mutex needs ~100 ms per contended wait.
// The watches share the coordinator's one Watch stream, which stays open a moment after the last
// watch ends, so a busy lock's waiters do not pay for a new stream on every wait.

import type { EtcdClient } from '../client/etcd-client.js';
import { CoordinationError, ErrorCode, abortError, toCoordinationError } from '../errors.js';
import { newestTwo } from './keys.js';

export interface Contender {
  client: EtcdClient;
  /** Lock name, for errors and logs. */
  key: string;
  prefix: string;
  /** Our full contender key and its create revision. */
  myKey: string;
  myRev: bigint;
  /** Aborts the wait: the caller's signal, the coordinator closing, or our lease lost. */
  signal: AbortSignal;
}

/** Resolves once no contender created before us is left, i.e. the lock is ours. */
export async function waitForTurn(c: Contender, ahead: string): Promise<void> {
  let predecessor: string | undefined = ahead;
  while (predecessor !== undefined) predecessor = await waitForDelete(c, predecessor);
}

/**
 * Who is just ahead of us now (undefined: nobody, the lock is ours). One range: the newest two keys
 * created at or before our revision — ours first, then our predecessor. NOT_FOUND if ours vanished.
 * With `atLeast` (a revision we know happened: the watch's start, the delete we were woken by) a
 * member-local read is enough if it has seen that revision; else we ask the leader (linearizable).
 */
export async function aheadOf(c: Contender, atLeast?: bigint): Promise<string | undefined> {
  const read = (serializable: boolean) =>
    c.client.call('lock.queue', c.key, (o) => c.client.rpc.kv.range({ ...newestTwo(c.prefix, c.myRev), serializable }, o), {
      signal: c.signal,
      idempotent: true,
      level: 'debug',
    });
  let res = await read(atLeast !== undefined);
  if (atLeast !== undefined && BigInt(res.header.revision) < atLeast) res = await read(false);
  if (res.kvs[0]?.key.toString() !== c.myKey) {
    throw new CoordinationError(ErrorCode.NotFound, `lock ${c.key}: our queue key vanished while waiting (lease expired or key deleted)`);
  }
  return res.kvs[1]?.key.toString();
}

/** Waits until `predecessor` is gone; returns the contender now ahead of us (if any). */
async function waitForDelete(c: Contender, predecessor: string): Promise<string | undefined> {
  const what = `lock.acquire ${c.key}`;
  let created = false;
  let deletes = 0;
  let revision = 0n; // newest revision the watch has shown us: its start, then the delete
  let failure: CoordinationError | undefined;
  let wake: (() => void) | undefined;
  const watch = c.client.watches.watch(
    { key: Buffer.from(predecessor), only: 'delete' },
    {
      onCreated: (head) => {
        created = true;
        if (head > revision) revision = head;
        wake?.();
      },
      onEvents: (events) => {
        for (const ev of events) {
          deletes++;
          revision = BigInt(ev.kv.mod_revision);
        }
        wake?.();
      },
      onCancelled: (reason) => {
        failure = toCoordinationError(new Error(reason.message), `${what}: watch`);
        wake?.();
      },
    },
  );
  /** Resolves once `ready()` holds; rejects when the watch is cancelled or the contender's signal aborts. */
  const until = (ready: () => boolean): Promise<void> =>
    new Promise<void>((resolve, reject) => {
      if (c.signal.aborted) return reject(abortError(c.signal, what));
      const done = (err?: CoordinationError): void => {
        wake = undefined;
        c.signal.removeEventListener('abort', onAbort);
        if (err) reject(err);
        else resolve();
      };
      const onAbort = (): void => done(abortError(c.signal, what));
      wake = () => {
        if (failure) done(failure);
        else if (ready()) done();
      };
      c.signal.addEventListener('abort', onAbort, { once: true });
      wake();
    });
  try {
    // Once the watch is established every later delete reaches us; one read covers the time before.
    await until(() => created);
    for (;;) {
      const seen = deletes;
      const ahead = await aheadOf(c, revision);
      if (ahead !== predecessor) return ahead;
      if (deletes === seen) await until(() => deletes !== seen);
    }
  } finally {
    watch.cancel();
  }
}
