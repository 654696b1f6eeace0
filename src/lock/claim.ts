// Taking the lock once it may be ours. gochat's Go TryAcquire holds lock K by the bare key
// `<ns>/locks/K` alone, so our holder owns that key too. One transaction checks that nobody queued
// before us and takes the bare key; when it cannot, it tells who blocks us — the contender just ahead,
// or a gochat TryAcquire holding the bare key — and we wait for that key alone to go.
import { prefixEnd } from '../client/prefix-end.js';
import { newestTwo, vanished, waitGone, type Blocker, type Contender } from '../shared/fair-queue.js';
import { absent, heldAt } from '../shared/guard.js';

/**
 * Waits (behind `blocker`, if any) until the lock is ours; resolves with the bare key's create
 * revision. `holdOn`: the lease to take the bare key on; without it the bare key is only checked.
 */
export async function waitForLock(c: Contender, blocker: Blocker | undefined, bare: Buffer, holdOn: string | undefined): Promise<bigint> {
  for (;;) {
    if (blocker !== undefined) await waitGone(c, blocker);
    const claimed = await claim(c, bare, holdOn);
    if (typeof claimed === 'bigint') return claimed;
    blocker = claimed.blocker;
  }
}

/** One round trip: the bare key's create revision if the lock is now ours, else what blocks us. */
async function claim(c: Contender, bare: Buffer, holdOn: string | undefined): Promise<bigint | { blocker: Blocker | undefined }> {
  const queue = Buffer.from(c.prefix);
  const res = await c.client.call(
    'lock.claim',
    c.key,
    (o) =>
      c.client.rpc.kv.txn(
        {
          compare: [
            // Every key in the queue was created at or after ours: nobody is ahead of us …
            { key: queue, range_end: prefixEnd(queue), target: 'CREATE', result: 'GREATER', create_revision: c.myRev - 1n },
            // … ours is still the one we created, and no gochat TryAcquire holds the bare key.
            heldAt(Buffer.from(c.myKey), c.myRev),
            absent(bare),
          ],
          success: holdOn === undefined ? [] : [{ request_put: { key: bare, value: Buffer.alloc(0), lease: holdOn } }],
          // The bare key whole: its lease tells a resend of ours (a keys-only read has no lease on etcd 3.7).
          failure: [{ request_range: newestTwo(c.prefix, c.myRev) }, { request_range: { key: bare } }],
        },
        o,
      ),
    // Safe to resend: a second attempt finds the bare key on our own lease.
    { signal: c.signal, idempotent: true, level: 'debug' },
  );
  if (res.succeeded) return res.header.revision;
  const [ours, ahead] = res.responses[0]?.response_range!.kvs ?? [];
  if (ours?.key.toString() !== c.myKey) throw vanished(c);
  if (ahead) return { blocker: { key: ahead.key.toString(), rev: ahead.create_revision } };
  const holder = res.responses[1]?.response_range!.kvs[0];
  if (holdOn !== undefined && holder?.lease === holdOn) return holder.create_revision; // a resend had taken it
  return { blocker: holder && { key: bare.toString(), rev: holder.create_revision } };
}
