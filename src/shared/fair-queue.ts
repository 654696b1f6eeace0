// The fair queue of etcd's Go concurrency recipes (Mutex and Election alike): contenders are keys
// under one prefix, the oldest (lowest create revision) is served first.
//
// Waiting for our turn — etcd's key.go `waitDeletes`, made quiet and fast: watch only the contender
// just ahead of us, start that watch *synced* (no start revision, then re-read), and re-check the
// queue after every wake-up. A watch with an old start revision would join etcd's "unsynced" group,
// served by a 100 ms catch-up loop: that is why Go's Mutex needs ~100 ms per contended wait.
// The watches share the coordinator's one Watch stream, which stays open a moment after the last
// watch ends, so a busy lock's waiters do not pay for a new stream on every wait.

import type { EtcdClient } from '../client/etcd-client.js';
import type { RangeRequest } from '../client/grpc/messages.js';
import { prefixEnd } from '../client/prefix-end.js';
import type { HubWatch } from '../client/watch-hub.js';
import { CoordinationError, ErrorCode, abortError } from '../errors.js';
import { toCoordinationError } from '../client/errors.js';

/**
 * The newest two contenders created at or before `maxCreateRevision` (all if omitted), newest
 * first: for a waiter, "is my key still there" (first) and "who is just ahead of me" (second).
 */
export function newestTwo(prefix: string, maxCreateRevision?: bigint): RangeRequest {
  const key = Buffer.from(prefix);
  return {
    key,
    range_end: prefixEnd(key),
    sort_target: 'CREATE',
    sort_order: 'DESCEND',
    limit: 2,
    keys_only: true,
    ...(maxCreateRevision !== undefined && { max_create_revision: maxCreateRevision }),
  };
}

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
  /** What waits, for errors and operation names: 'lock' (default) or 'election'. */
  noun?: string;
  /** The operation that waits, for errors (default: `lock.acquire <key>` or `<noun>.campaign <key>`). */
  operation?: string;
}

/** Resolves once no contender created before us is left, i.e. the lock is ours. */
export async function waitForTurn(c: Contender, ahead: string): Promise<void> {
  await waitUntilClear(c, ahead, (atLeast) => aheadOf(c, atLeast));
}

/**
 * Waits for `first` to go, then for whatever `check` says blocks us next (read at least at the
 * revision the watch has shown), until nothing does. For queues whose blocker is not simply the key
 * ahead (a reader waits only for the last writer before it).
 */
export async function waitUntilClear(c: Contender, first: string, check: (atLeast: bigint) => Promise<string | undefined>): Promise<void> {
  let blocker: string | undefined = first;
  while (blocker !== undefined) blocker = await waitForDelete(c, blocker, check);
}

/**
 * Who is just ahead of us now (undefined: nobody, the lock is ours). One range: the newest two keys
 * created at or before our revision — ours first, then our predecessor. NOT_FOUND if ours vanished.
 * With `atLeast` (a revision we know happened: the watch's start, the delete we were woken by) a
 * member-local read is enough if it has seen that revision; else we ask the leader (linearizable).
 */
export async function aheadOf(c: Contender, atLeast?: bigint): Promise<string | undefined> {
  const read = (serializable: boolean) =>
    c.client.call(`${c.noun ?? 'lock'}.queue`, c.key, (o) => c.client.rpc.kv.range({ ...newestTwo(c.prefix, c.myRev), serializable }, o), {
      signal: c.signal,
      idempotent: true,
      level: 'debug',
    });
  let res = await read(atLeast !== undefined);
  if (atLeast !== undefined && res.header.revision < atLeast) res = await read(false);
  if (res.kvs[0]?.key.toString() !== c.myKey) throw vanished(c);
  return res.kvs[1]?.key.toString();
}

/** NOT_FOUND: our queue key is gone (lease expired, or deleted by someone). */
export function vanished(c: Pick<Contender, 'key' | 'noun'>): CoordinationError {
  return new CoordinationError(ErrorCode.NotFound, `${c.noun ?? 'lock'} ${c.key}: our queue key vanished while waiting (lease expired or key deleted)`);
}

/** A key that blocks us, as created at `rev`: a key of that name created later is another key. */
export interface Blocker {
  key: string;
  rev: bigint;
}

/** Resolves once `b` is gone (the contender ahead of us, or gochat's bare key). */
export async function waitGone(c: Contender, b: Blocker): Promise<void> {
  await waitForDelete(c, b.key, (atLeast) => existing(c, b, atLeast));
}

/**
 * Waits until `predecessor` is gone; returns what blocks us then, as `check` tells (by default the
 * contender now ahead of us, if any).
 */
async function waitForDelete(
  c: Contender,
  predecessor: string,
  check: (atLeast: bigint) => Promise<string | undefined> = (atLeast) => aheadOf(c, atLeast),
): Promise<string | undefined> {
  const w: DeleteWait = { c, predecessor, what: waitName(c), created: false, deletes: 0, revision: 0n, failure: undefined, wake: undefined, watch: undefined };
  watchDeletes(w, false);
  try {
    return await recheckOnDeletes(w, check);
  } finally {
    w.watch?.cancel();
  }
}

/** One wait for a delete: whose, of which key, and what its watch has shown us so far. */
interface DeleteWait {
  c: Contender;
  predecessor: string;
  /** Names the wait in errors: the operation the caller is in. */
  what: string;
  /** The watch is established: every later delete reaches us. */
  created: boolean;
  deletes: number;
  /** Newest revision the watch has shown us: its start, then the delete. */
  revision: bigint;
  failure: CoordinationError | undefined;
  /** Re-checks the pending until(), if any. */
  wake: (() => void) | undefined;
  /** The watch now (a compacted one is replaced). */
  watch: HubWatch | undefined;
}

/** Errors name the operation that waits, so a caller sees "lock.acquire x", not our internals. */
function waitName(c: Contender): string {
  return c.operation ?? (c.noun === undefined ? `lock.acquire ${c.key}` : `${c.noun}.campaign ${c.key}`);
}

/**
 * Started synced (no start revision): a watch from an old revision waits on etcd's slow catch-up loop.
 * `afresh`: it replaces a compacted one, so a delete may have gone unseen — its creation counts as one.
 */
function watchDeletes(w: DeleteWait, afresh: boolean): void {
  w.watch = w.c.client.watches.watch(
    { key: Buffer.from(w.predecessor), only: 'delete' },
    {
      onCreated: (head) => {
        w.created = true;
        if (head > w.revision) w.revision = head;
        if (afresh) {
          afresh = false;
          w.deletes++; // the waiter checks again, reading at least at `head`
        }
        w.wake?.();
      },
      onEvents: (events) => {
        for (const ev of events) {
          w.deletes++;
          w.revision = ev.kv.mod_revision;
        }
        w.wake?.();
      },
      onCancelled: (reason) => {
        if (reason.compactRevision > 0n) {
          // The key ahead did not change past a compaction, and a stream re-created after a
          // reconnect could not resume its watch: watch afresh (the waiter keeps its place).
          w.c.client.logger.debug({ operation: w.what, key: w.predecessor }, 'queue watch compacted; watching afresh');
          watchDeletes(w, true);
          return;
        }
        w.failure = toCoordinationError(new Error(reason.message), `${w.what}: watch`);
        w.wake?.();
      },
    },
  );
}

/** What a wait woken by watch events keeps: why it failed, if it did, and how to re-check it. */
export interface Wakeable {
  failure: CoordinationError | undefined;
  wake: (() => void) | undefined;
}

/**
 * Resolves once `ready()` holds, re-checked on every `state.wake()`; rejects with `state.failure`,
 * or when `signal` aborts (naming `what`, the operation that waits).
 */
export function until(state: Wakeable, signal: AbortSignal, what: string, ready: () => boolean): Promise<void> {
  return new Promise<void>((resolve, reject) => {
    if (signal.aborted) return reject(abortError(signal, what));
    const done = (err?: CoordinationError): void => {
      state.wake = undefined;
      signal.removeEventListener('abort', onAbort);
      if (err) reject(err);
      else resolve();
    };
    const onAbort = (): void => done(abortError(signal, what));
    state.wake = () => {
      if (state.failure) done(state.failure);
      else if (ready()) done();
    };
    signal.addEventListener('abort', onAbort, { once: true });
    state.wake();
  });
}

/** Once the watch is established every later delete reaches us; one read covers the time before. */
async function recheckOnDeletes(w: DeleteWait, check: (atLeast: bigint) => Promise<string | undefined>): Promise<string | undefined> {
  await until(w, w.c.signal, w.what, () => w.created);
  for (;;) {
    const seen = w.deletes;
    const ahead = await check(w.revision);
    if (ahead !== w.predecessor) return ahead;
    if (w.deletes === seen) await until(w, w.c.signal, w.what, () => w.deletes !== seen);
  }
}

/**
 * `b.key` if it still exists as created at `b.rev`, else undefined (a spare lease re-enqueued under
 * the same key name is a new contender). Read like aheadOf: member-local if it has seen `atLeast`.
 */
async function existing(c: Contender, b: Blocker, atLeast: bigint): Promise<string | undefined> {
  const read = (serializable: boolean) =>
    c.client.call('lock.queue', c.key, (o) => c.client.rpc.kv.range({ key: Buffer.from(b.key), keys_only: true, serializable }, o), {
      signal: c.signal,
      idempotent: true,
      level: 'debug',
    });
  let res = await read(true);
  if (res.header.revision < atLeast) res = await read(false);
  return res.kvs[0] !== undefined && res.kvs[0].create_revision === b.rev ? b.key : undefined;
}
