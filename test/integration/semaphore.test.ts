// Counting semaphore against a real etcd: at most `permits` holders, FIFO hand-over, tryAcquire,
// disagreeing permits, cancellation, a crashed holder's permit freed at its TTL, fencing, withPermit,
// listing, close().
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ErrorCode, type Permit } from '../../src/index.js';
import { eventually, headRevision, pending, rawClient, testCoordinator } from '../helpers/etcd.js';

test('permits are held up to the limit; keys are <ns>/semaphores/<name>/<lease hex> with the permits as value', async () => {
  const c = await testCoordinator();
  const a = await c.semaphore.acquire('jobs', { permits: 2 });
  const b = await c.semaphore.acquire('jobs', { permits: 2 });
  assert.match(a.ownerKey, new RegExp(`^${c.namespace}/semaphores/jobs/[0-9a-f]+$`));
  assert.ok(b.fencingToken > a.fencingToken);
  const raw = await rawClient();
  const kv = (await raw.kv.range({ key: Buffer.from(a.ownerKey) })).kvs[0]!;
  assert.equal(kv.value.toString(), '2');
  assert.equal(BigInt(kv.create_revision), a.fencingToken);
  assert.equal(BigInt(kv.lease).toString(16), a.ownerKey.split('/').pop());
  const third = c.semaphore.acquire('jobs', { permits: 2 });
  assert.equal(await pending(third), true);
  await a.release();
  const p = await third;
  assert.ok(p.fencingToken > b.fencingToken);
  await Promise.all([b.release(), p.release()]);
  assert.equal((await raw.getAll().prefix(`${c.namespace}/semaphores/`).keys()).length, 0);
});

test('waiters get permits in order of arrival, one per release', async () => {
  const c = await testCoordinator();
  const d = await testCoordinator({ namespace: c.namespace });
  const holders = await Promise.all([c.semaphore.acquire('fifo', { permits: 2 }), c.semaphore.acquire('fifo', { permits: 2 })]);
  const order: number[] = [];
  const waiters: Array<Promise<Permit>> = [];
  for (let i = 0; i < 4; i++) {
    const p = (i % 2 ? d : c).semaphore.acquire('fifo', { permits: 2 });
    void p.then(() => order.push(i), () => undefined);
    waiters.push(p);
    // Each waiter's key exists before the next one joins: arrival order is known.
    await eventually(async () => (await c.semaphore.list('fifo'))[0]?.waiters === i + 1, { what: `waiter ${i} queued` });
  }
  await holders[0]!.release();
  const w0 = await waiters[0]!;
  assert.deepEqual(order, [0]);
  await holders[1]!.release();
  const w1 = await waiters[1]!;
  assert.deepEqual(order, [0, 1]);
  assert.equal(await pending(waiters[2]!), true, 'two permits are held again');
  await w0.release();
  await w1.release();
  const rest = await Promise.all(waiters.slice(2));
  assert.deepEqual(order, [0, 1, 2, 3]);
  await Promise.all(rest.map((p) => p.release()));
});

test('never more holders than permits under contention (fenced writes in a guarded txn)', async () => {
  const c = await testCoordinator();
  const d = await testCoordinator({ namespace: c.namespace });
  let inside = 0;
  let most = 0;
  const run = async (i: number): Promise<void> => {
    for (let round = 0; round < 3; round++) {
      await (i % 2 ? c : d).semaphore.withPermit('bounded', { permits: 3 }, async () => {
        inside++;
        most = Math.max(most, inside);
        await new Promise((r) => setTimeout(r, 5));
        inside--;
      });
    }
  };
  await Promise.all(Array.from({ length: 8 }, (_, i) => run(i)));
  assert.ok(most <= 3, `at most 3 inside, saw ${most}`);
  assert.ok(most >= 2, `the permits were shared, saw ${most}`);
});

test('tryAcquire rejects CONFLICT when every permit is held, and leaves no key', async () => {
  const c = await testCoordinator();
  const held = await c.semaphore.acquire('busy', { permits: 1 });
  await assert.rejects(c.semaphore.tryAcquire('busy', { permits: 1 }), { code: ErrorCode.Conflict });
  const raw = await rawClient();
  assert.deepEqual(await raw.getAll().prefix(`${c.namespace}/semaphores/busy/`).keys(), [held.ownerKey]);
  await held.release();
  const mine = await c.semaphore.tryAcquire('busy', { permits: 1 });
  await mine.release();
});

test('a contender with other permits than the name records gets VALIDATION_ERROR, nothing written', async () => {
  const c = await testCoordinator();
  const held = await c.semaphore.acquire('limit', { permits: 2 });
  const raw = await rawClient();
  await assert.rejects(c.semaphore.acquire('limit', { permits: 3 }), (err: unknown) => (err as { code?: string }).code === ErrorCode.Validation && /"2" permits, not 3/.test(String(err)));
  assert.deepEqual(await raw.getAll().prefix(`${c.namespace}/semaphores/limit/`).keys(), [held.ownerKey]);
  await held.release();
  // Once nobody is there, the name takes a new limit.
  const next = await c.semaphore.acquire('limit', { permits: 3 });
  await next.release();
});

test('bad input rejects VALIDATION_ERROR and writes nothing', async () => {
  const c = await testCoordinator();
  const before = await headRevision();
  const bad: Array<[unknown, unknown]> = [
    ['', { permits: 1 }],
    ['a//b', { permits: 1 }],
    [7, { permits: 1 }],
    ['a', undefined],
    ['a', { permits: 0 }],
    ['a', { permits: 1.5 }],
    ['a', { permits: 10_001 }],
    ['a', { permits: '2' }],
    ['a', { permits: 1, ttlMs: 30 }],
    ['a', { permits: 1, signal: 'x' }],
  ];
  for (const [name, options] of bad) {
    await assert.rejects(c.semaphore.acquire(name as string, options as { permits: number }), { code: ErrorCode.Validation }, `${String(name)} ${JSON.stringify(options)}`);
  }
  await assert.rejects(c.semaphore.withPermit('a', { permits: 1 }, 'nope' as never), { code: ErrorCode.Validation });
  await assert.rejects(c.semaphore.list('a\0'), { code: ErrorCode.Validation });
  assert.equal(await headRevision(), before);
});

test('an aborted wait gives up its place: no key left, and the next waiter is not held up', async () => {
  const c = await testCoordinator();
  const held = await c.semaphore.acquire('abort', { permits: 1 });
  const ac = new AbortController();
  const waiting = c.semaphore.acquire('abort', { permits: 1, signal: ac.signal });
  await eventually(async () => (await c.semaphore.list('abort'))[0]?.waiters === 1, { what: 'queued' });
  ac.abort();
  await assert.rejects(waiting, { code: ErrorCode.Cancelled });
  await eventually(async () => (await c.semaphore.list('abort'))[0]?.waiters === 0, { what: 'our key gone' });
  const next = c.semaphore.acquire('abort', { permits: 1 });
  await held.release();
  await (await next).release();
});

test("a crashed holder's permit is taken within its TTL", async () => {
  const c = await testCoordinator();
  const crashed = await testCoordinator({ namespace: c.namespace });
  const raw = await rawClient();
  const held = await crashed.semaphore.acquire('crash', { permits: 1, ttlMs: 2000 });
  // The holder vanishes without a word: its lease is no longer kept alive and nobody revokes it.
  const lease = BigInt((await raw.kv.range({ key: Buffer.from(held.ownerKey) })).kvs[0]!.lease);
  assert.ok(lease > 0n);
  // Bounded: the lease's TTL plus etcd's expiry sweep (how soon is measured in the robustness run).
  const next = await c.semaphore.acquire('crash', { permits: 1, signal: AbortSignal.timeout(10_000) });
  assert.ok(next.fencingToken > held.fencingToken);
  await next.release();
});

test('putIfHeld writes while held; after release it is NOT_FOUND; a permit whose key is gone is lost', async () => {
  const c = await testCoordinator();
  const p = await c.semaphore.acquire('fence', { permits: 2 });
  const rev = await p.putIfHeld({ 'fence/out': 'one' });
  assert.ok(rev > p.fencingToken);
  const cond = p.ownershipCondition();
  assert.deepEqual({ ...cond, key: cond.key.toString() }, { key: p.ownerKey, target: 'CREATE', result: 'EQUAL', create_revision: p.fencingToken });
  assert.ok((await p.remainingMs()) > 0);
  await p.renew();
  await assert.rejects(p.renew(60_000), { code: ErrorCode.Validation });
  const lost = new Promise((r) => p.signal.addEventListener('abort', r, { once: true }));
  const raw = await rawClient();
  await raw.delete().key(p.ownerKey);
  await lost;
  assert.equal((p.signal.reason as { code?: string }).code, ErrorCode.NotFound);
  await assert.rejects(p.putIfHeld({ 'fence/out': 'two' }), { code: ErrorCode.NotFound });
  await p.release();
  const q = await c.semaphore.acquire('fence', { permits: 2 });
  await q.release();
  await assert.rejects(q.remainingMs(), { code: ErrorCode.NotFound });
});

test('withPermit releases after fn throws, and passes fn its error', async () => {
  const c = await testCoordinator();
  await assert.rejects(
    c.semaphore.withPermit('with', { permits: 1 }, async () => {
      throw new Error('boom');
    }),
    /boom/,
  );
  const again = await c.semaphore.tryAcquire('with', { permits: 1 });
  await again.release();
});

test('list shows permits, holders oldest first with TTL left, and waiters', async () => {
  const c = await testCoordinator();
  const a = await c.semaphore.acquire('ls/a', { permits: 2, ttlMs: 5000 });
  const b = await c.semaphore.acquire('ls/a', { permits: 2 });
  const w = c.semaphore.acquire('ls/a', { permits: 2 });
  await eventually(async () => (await c.semaphore.list('ls/'))[0]?.waiters === 1, { what: 'queued' });
  const [row] = await c.semaphore.list('ls/');
  assert.equal(row!.name, 'ls/a');
  assert.equal(row!.permits, 2);
  assert.deepEqual(
    row!.holders.map((h) => h.key),
    [a.ownerKey, b.ownerKey],
  );
  assert.equal(row!.holders[0]!.fencingToken, a.fencingToken);
  assert.ok(row!.holders[0]!.remainingMs! > 0 && row!.holders[0]!.remainingMs! <= 5000);
  await a.release();
  const third = await w;
  await Promise.all([b.release(), third.release()]);
  assert.deepEqual(await c.semaphore.list('ls/'), []);
});

test('close() ends a waiting acquire and leaves no key or lease behind', async () => {
  const c = await testCoordinator();
  const d = await testCoordinator({ namespace: c.namespace });
  const held = await c.semaphore.acquire('close', { permits: 1 });
  const waiting = d.semaphore.acquire('close', { permits: 1 });
  await eventually(async () => (await c.semaphore.list('close'))[0]?.waiters === 1, { what: 'queued' });
  const rejected = assert.rejects(waiting, { code: ErrorCode.Cancelled });
  await d.close();
  await rejected;
  await held.release();
  const raw = await rawClient();
  assert.deepEqual(await raw.getAll().prefix(`${c.namespace}/semaphores/`).keys(), []);
});
