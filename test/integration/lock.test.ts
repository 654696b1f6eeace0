// Distributed lock against a real etcd: exclusion, FIFO, tryAcquire, cancellation, TTL expiry,
// renew, fencing, withLock, Go-format keys, close().
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ErrorCode, isCoordinationError, type Coordinator, type Lock } from '../../src/index.js';
import { etcdEndpoints, eventually, headRevision, pending, rawClient, testCoordinator } from '../helpers/etcd.js';
import { TcpProxy } from '../helpers/proxy.js';
import type { EtcdClient } from '../../src/client/etcd-client.js';

/** Full etcd prefix of lock `key` for coordinator `c` (Go's `NewMutex(s, "<ns>/locks/<key>")` + '/'). */
const prefixOf = (c: Coordinator, key: string): string => `${c.namespace}/locks/${key}/`;

async function contenders(c: Coordinator, key: string): Promise<string[]> {
  const raw = await rawClient();
  return raw.getAll().prefix(prefixOf(c, key)).sort('Create', 'Ascend').keys();
}



test('acquire writes a Go-format contender key whose create revision is the fencing token', async () => {
  const c = await testCoordinator();
  const lock = await c.lock.acquire('orders', 5000);
  const raw = await rawClient();
  const keys = await contenders(c, 'orders');
  assert.deepEqual(keys, [lock.ownerKey]);
  assert.match(lock.ownerKey, new RegExp(`^${c.namespace}/locks/orders/[0-9a-f]+$`));
  const res = await raw.kv.range({ key: Buffer.from(lock.ownerKey) });
  const kv = res.kvs[0]!;
  assert.equal(BigInt(kv.create_revision), lock.fencingToken);
  assert.equal(BigInt(kv.lease).toString(16), lock.ownerKey.split('/').pop(), 'key name is its lease ID in hex');
  await lock.unlock();
  assert.deepEqual(await contenders(c, 'orders'), []);
});

test('tryAcquire on a held lock rejects CONFLICT and writes nothing', async () => {
  const a = await testCoordinator();
  const b = await testCoordinator({ namespace: a.namespace });
  const held = await a.lock.acquire('k', 5000);
  const before = await headRevision();
  await assert.rejects(b.lock.tryAcquire('k', 5000), { code: ErrorCode.Conflict });
  assert.equal(await headRevision(), before);
  await held.unlock();
  const mine = await b.lock.tryAcquire('k', 5000);
  assert.ok(mine.fencingToken > held.fencingToken);
  await mine.unlock();
});

test('bad input rejects VALIDATION_ERROR and writes nothing', async () => {
  const c = await testCoordinator();
  const before = await headRevision();
  const bad: Array<[unknown, unknown]> = [
    ['', 1000],
    ['/a', 1000],
    ['a/', 1000],
    ['a\0b', 1000],
    [42, 1000],
    [undefined, 1000],
    ['a', 0],
    ['a', -5],
    ['a', Number.NaN],
    ['a', Infinity],
    ['a', 366 * 24 * 3600 * 1000],
    ['a', '1000'],
  ];
  for (const [key, ttl] of bad) {
    await assert.rejects(c.lock.acquire(key as string, ttl as number), { code: ErrorCode.Validation }, `acquire(${String(key)}, ${String(ttl)})`);
    await assert.rejects(c.lock.tryAcquire(key as string, ttl as number), { code: ErrorCode.Validation });
    await assert.rejects(
      c.lock.withLock(key as string, ttl as number, async () => 1),
      { code: ErrorCode.Validation },
    );
  }
  await assert.rejects(c.lock.withLock('a', 1000, 'nope' as never), { code: ErrorCode.Validation });
  assert.equal(await headRevision(), before);
});

test('waiters are granted the lock in FIFO order', async () => {
  const holder = await testCoordinator();
  const others = await Promise.all([1, 2, 3].map(() => testCoordinator({ namespace: holder.namespace })));
  const first = await holder.lock.acquire('fifo', 5000);
  const order: number[] = [];
  const waits: Array<Promise<void>> = [];
  for (const [i, c] of others.entries()) {
    waits.push(
      c.lock.acquire('fifo', 5000).then(async (lock) => {
        order.push(i);
        await lock.unlock();
      }),
    );
    // Enqueue strictly one after another.
    await eventually(async () => (await contenders(holder, 'fifo')).length === i + 2, { what: `waiter ${i} enqueued` });
  }
  assert.deepEqual(order, []);
  await first.unlock();
  await Promise.all(waits);
  assert.deepEqual(order, [0, 1, 2]);
});

test('the lock is not reentrant: a second acquire in the same process waits for unlock', async () => {
  const c = await testCoordinator();
  const first = await c.lock.acquire('re', 5000);
  const second = c.lock.acquire('re', 5000);
  await eventually(async () => (await contenders(c, 're')).length === 2, { what: 'second contender' });
  assert.ok(await pending(second));
  await first.unlock();
  const lock = await second;
  assert.ok(lock.fencingToken > first.fencingToken);
  await lock.unlock();
});

test('aborting a waiting acquire rejects CANCELLED promptly and leaves no queue key', async () => {
  const a = await testCoordinator();
  const b = await testCoordinator({ namespace: a.namespace });
  const held = await a.lock.acquire('abort', 5000);
  const controller = new AbortController();
  const waiting = b.lock.acquire('abort', 5000, { signal: controller.signal });
  await eventually(async () => (await contenders(a, 'abort')).length === 2, { what: 'waiter enqueued' });
  const started = performance.now();
  controller.abort();
  await assert.rejects(waiting, { code: ErrorCode.Cancelled });
  const took = performance.now() - started;
  assert.ok(took < 1000, `rejected after ${took} ms`);
  await eventually(async () => (await contenders(a, 'abort')).length === 1, { what: 'queue key removed' });
  assert.deepEqual(await contenders(a, 'abort'), [held.ownerKey]);
  await held.unlock();
});

test('AbortSignal.timeout() on a waiting acquire rejects TIMEOUT_ERROR', async () => {
  const a = await testCoordinator();
  const held = await a.lock.acquire('t', 5000);
  await assert.rejects(a.lock.acquire('t', 5000, { signal: AbortSignal.timeout(200) }), { code: ErrorCode.Timeout });
  await eventually(async () => (await contenders(a, 't')).length === 1, { what: 'queue key removed' });
  await held.unlock();
});

test('a lock not renewed expires after its TTL: signal fires, the next waiter gets it', async () => {
  const a = await testCoordinator();
  const b = await testCoordinator({ namespace: a.namespace });
  const stale = await a.lock.acquire('exp', 1000);
  const lost = new Promise<unknown>((resolve) => stale.signal.addEventListener('abort', () => resolve(stale.signal.reason)));
  const next = await b.lock.acquire('exp', 5000, { signal: AbortSignal.timeout(10_000) });
  assert.ok(next.fencingToken > stale.fencingToken);
  const reason = await lost;
  assert.ok(isCoordinationError(reason, ErrorCode.NotFound), String(reason));
  await assert.rejects(stale.renew(1000), { code: ErrorCode.NotFound });
  await assert.rejects(stale.remainingMs(), { code: ErrorCode.NotFound });
  await stale.unlock(); // harmless after loss
  assert.deepEqual(await contenders(a, 'exp'), [next.ownerKey]);
  await next.unlock();
});

test('deleting the lock key behind our back fires signal', async () => {
  const c = await testCoordinator();
  const lock = await c.lock.acquire('del', 5000);
  const signal = lock.signal;
  const raw = await rawClient();
  // The watch on our key starts lazily; wait until a delete would reach it.
  await new Promise((r) => setTimeout(r, 0));
  await eventually(async () => {
    await raw.delete().key(lock.ownerKey);
    return signal.aborted;
  }, { what: 'signal aborted' });
  assert.ok(isCoordinationError(signal.reason, ErrorCode.NotFound));
  await assert.rejects(lock.remainingMs(), { code: ErrorCode.NotFound });
  // Having noticed, the holder frees the bare key it held on its (still live) lease: the lock is free now.
  const next = await testCoordinator({ namespace: c.namespace });
  const taken = await eventually(() => next.lock.tryAcquire('del', 5000), { timeoutMs: 2000, what: 'the lock to be free' });
  await taken.unlock();
  await lock.unlock();
});

test('renew extends ttl(); renew with another TTL keeps key and fencing token', async () => {
  const c = await testCoordinator();
  const lock = await c.lock.acquire('renew', 3000);
  const initial = await lock.remainingMs();
  assert.ok(initial >= 2000 && initial <= 3000, `ttl ${initial}`);
  await eventually(async () => (await lock.remainingMs()) <= 1000, { timeoutMs: 5000, intervalMs: 100, what: 'ttl to run down' });
  await lock.renew(3000);
  const renewed = await lock.remainingMs();
  assert.ok(renewed >= 2000, `ttl after renew ${renewed}`);
  await lock.renew(20_000);
  const longer = await lock.remainingMs();
  assert.ok(longer > 15_000 && longer <= 20_000, `ttl after renew(20 s) ${longer}`);
  const raw = await rawClient();
  const kv = (await raw.kv.range({ key: Buffer.from(lock.ownerKey) })).kvs[0]!;
  assert.equal(BigInt(kv.create_revision), lock.fencingToken, 'same key, same create revision');
  assert.deepEqual(await contenders(c, 'renew'), [lock.ownerKey]);
  await lock.unlock();
  assert.deepEqual(await contenders(c, 'renew'), []);
  await assert.rejects(lock.renew(3000), { code: ErrorCode.NotFound });
});

test('ttl() right after acquire is within 1 s of the requested TTL', async () => {
  const c = await testCoordinator();
  for (let i = 0; i < 3; i++) {
    const lock = await c.lock.acquire('fresh', 10_000);
    const ttl = await lock.remainingMs();
    assert.ok(ttl >= 9000 && ttl <= 10_000, `ttl ${ttl}`);
    await lock.unlock();
  }
});

test('fencing tokens strictly increase across holders', async () => {
  const a = await testCoordinator();
  const b = await testCoordinator({ namespace: a.namespace });
  let last = -1n;
  for (let i = 0; i < 6; i++) {
    const lock = await (i % 2 ? a : b).lock.acquire('fence', 5000);
    assert.ok(lock.fencingToken > last, `${lock.fencingToken} > ${last}`);
    last = lock.fencingToken;
    await lock.unlock();
  }
});

test("a stale holder's guarded write is rejected CONFLICT; the holder's goes through", async () => {
  const a = await testCoordinator();
  const b = await testCoordinator({ namespace: a.namespace });
  const raw = await rawClient();
  const stale = await a.lock.acquire('guard', 5000);
  await stale.putIfHeld({ 'data/x': 'from-a' });
  await raw.leaseClient.leaseRevoke({ ID: (await raw.kv.range({ key: Buffer.from(stale.ownerKey) })).kvs[0]!.lease }); // e.g. a long GC pause: the lease expired meanwhile
  const holder = await b.lock.acquire('guard', 5000);
  await assert.rejects(stale.putIfHeld({ 'data/x': 'stale' }), { code: ErrorCode.Conflict });
  const rev = await holder.putIfHeld({ 'data/x': 'from-b' });
  assert.ok(rev > holder.fencingToken);
  assert.equal(await raw.get(`${a.namespace}/data/x`).string(), 'from-b');
  // The comparison works in any transaction of our etcd client too.
  const client = (a as unknown as { client: EtcdClient }).client;
  const txn = await client.rpc.kv.txn({ compare: [stale.ownershipCondition()], success: [] }, client.callOptions());
  assert.equal(txn.succeeded, false);
  assert.equal((await client.rpc.kv.txn({ compare: [holder.ownershipCondition()], success: [] }, client.callOptions())).succeeded, true);
  await stale.unlock();
  await holder.unlock();
});

test('withLock runs fn under the lock and unlocks, also when fn throws', async () => {
  const c = await testCoordinator();
  const result = await c.lock.withLock('w', 5000, async (signal) => {
    assert.equal(signal.aborted, false);
    assert.equal((await contenders(c, 'w')).length, 1);
    return 42;
  });
  assert.equal(result, 42);
  assert.deepEqual(await contenders(c, 'w'), []);
  const boom = new Error('boom');
  await assert.rejects(
    c.lock.withLock('w', 5000, async () => {
      throw boom;
    }),
    (err) => err === boom,
  );
  assert.deepEqual(await contenders(c, 'w'), []);
  const again = await c.lock.tryAcquire('w', 5000);
  await again.unlock();
});

test('withLock keeps the lock alive past its TTL while fn runs', async () => {
  const c = await testCoordinator();
  const raw = await rawClient();
  await c.lock.withLock('long', 1000, async (signal) => {
    const [key] = await contenders(c, 'long');
    const kv = (await raw.kv.range({ key: Buffer.from(key!) })).kvs[0]!;
    const started = Date.now();
    // Past two lease TTLs (etcd grants at least 2 s): the key survives only if renewed.
    await eventually(async () => Date.now() - started > 4500 && !signal.aborted, { timeoutMs: 6000, intervalMs: 250, what: 'time to pass' });
    assert.equal(signal.aborted, false);
    const now = (await raw.kv.range({ key: Buffer.from(key!) })).kvs[0];
    assert.equal(now?.create_revision, kv.create_revision);
  });
  assert.deepEqual(await contenders(c, 'long'), []);
});

test('a Go-format contender key written with etcd3 blocks us until it is deleted', async () => {
  const c = await testCoordinator();
  const raw = await rawClient();
  const lease = raw.lease(10, { autoKeepAlive: false });
  const id = await lease.grant();
  const goKey = `${prefixOf(c, 'go')}${BigInt(id).toString(16)}`;
  await raw.put(goKey).value('').lease(id);
  await assert.rejects(c.lock.tryAcquire('go', 5000), { code: ErrorCode.Conflict });
  const waiting = c.lock.acquire('go', 5000);
  await eventually(async () => (await contenders(c, 'go')).length === 2, { what: 'we queue behind the Go key' });
  assert.ok(await pending(waiting));
  await raw.delete().key(goKey);
  const lock = await waiting;
  await lock.unlock();
  await lease.revoke();
});

test('a contender whose lease expires while waiting fails NOT_FOUND', async () => {
  const a = await testCoordinator();
  const b = await testCoordinator({ namespace: a.namespace });
  const raw = await rawClient();
  const held = await a.lock.acquire('vanish', 5000);
  const waiting = b.lock.acquire('vanish', 5000);
  waiting.catch(() => undefined);
  let keys: string[] = [];
  await eventually(async () => (keys = await contenders(a, 'vanish')).length === 2, { what: 'waiter enqueued' });
  // Revoke the waiter's lease behind its back (as if it expired during a long pause).
  const kv = (await raw.kv.range({ key: Buffer.from(keys[1]!) })).kvs[0]!;
  await raw.leaseClient.leaseRevoke({ ID: kv.lease });
  await assert.rejects(waiting, { code: ErrorCode.NotFound });
  await held.unlock();
});

test('close() rejects waiting acquires CANCELLED and revokes every lease it held or kept spare', async () => {
  const a = await testCoordinator();
  const b = await testCoordinator({ namespace: a.namespace });
  const raw = await rawClient();
  const held = await a.lock.acquire('close', 5000);
  const released = await b.lock.acquire('other', 5000);
  await released.unlock(); // its lease is now a spare
  const waiting = b.lock.acquire('close', 5000);
  await eventually(async () => (await contenders(a, 'close')).length === 2, { what: 'waiter enqueued' });
  const waiterKey = (await contenders(a, 'close'))[1]!;
  await b.close();
  await assert.rejects(waiting, { code: ErrorCode.Cancelled });
  assert.deepEqual(await contenders(a, 'close'), [held.ownerKey]);
  for (const key of [released.ownerKey, waiterKey]) {
    const res = await raw.leaseClient.leaseTimeToLive({ ID: BigInt('0x' + key.split('/').pop()).toString() });
    assert.ok(Number(res.TTL) <= 0, `lease of ${key} revoked`);
  }
  await held.unlock();
});

test('`await using` unlocks at scope end; unlock is idempotent', async () => {
  const c = await testCoordinator();
  let lock: Lock;
  {
    await using l = await c.lock.acquire('scope', 5000);
    lock = l;
    assert.equal((await contenders(c, 'scope')).length, 1);
  }
  assert.deepEqual(await contenders(c, 'scope'), []);
  await lock.unlock();
  await lock.unlock();
});

test("withLock's signal fires when the lock is lost while fn runs, or when the caller aborts", async () => {
  const c = await testCoordinator();
  const raw = await rawClient();
  const reason = await c.lock.withLock('lost', 5000, async (signal) => {
    const [key] = await contenders(c, 'lost');
    await eventually(async () => {
      await raw.delete().key(key!); // until the watch on our key is established and sees it
      return signal.aborted;
    }, { what: 'signal aborted' });
    return signal.reason;
  });
  assert.ok(isCoordinationError(reason, ErrorCode.NotFound), String(reason));
  assert.deepEqual(await contenders(c, 'lost'), []);

  const controller = new AbortController();
  const why = await c.lock.withLock(
    'caller',
    5000,
    async (signal) => {
      controller.abort(new Error('shutting down'));
      return signal.reason as Error;
    },
    { signal: controller.signal },
  );
  assert.equal(why.message, 'shutting down');
  assert.deepEqual(await contenders(c, 'caller'), []);
});

test('renew, ttl and putIfHeld reject bad input with VALIDATION_ERROR and write nothing', async () => {
  const c = await testCoordinator();
  const lock = await c.lock.acquire('input', 5000);
  const before = await headRevision();
  await assert.rejects(lock.renew(0), { code: ErrorCode.Validation });
  await assert.rejects(lock.renew(Number.NaN), { code: ErrorCode.Validation });
  await assert.rejects(lock.putIfHeld({}), { code: ErrorCode.Validation });
  await assert.rejects(lock.putIfHeld({ '': 'x' }), { code: ErrorCode.Validation });
  await assert.rejects(lock.putIfHeld({ a: 5 as unknown as string }), { code: ErrorCode.Validation });
  assert.equal(await headRevision(), before);
  await lock.unlock();
  // A released lock answers the same from each: NOT_FOUND, nothing written.
  await assert.rejects(lock.putIfHeld({ a: 'x' }), { code: ErrorCode.NotFound });
  await assert.rejects(lock.remainingMs(), { code: ErrorCode.NotFound });
  await assert.rejects(lock.renew(5000), { code: ErrorCode.NotFound });
  assert.equal(await headRevision(), before + 1n); // only the unlock's delete
});

// gochat's Go TryAcquire holds lock K by the bare key <ns>/locks/K alone (create-if-absent put).
const bareOf = (c: Coordinator, key: string): string => `${c.namespace}/locks/${key}`;

test("our holder owns gochat TryAcquire's bare key on its lease; unlock deletes both keys", async () => {
  const c = await testCoordinator();
  const lock = await c.lock.acquire('bare-own', 5000);
  const raw = await rawClient();
  const [bare, ours] = await Promise.all([raw.kv.range({ key: Buffer.from(bareOf(c, 'bare-own')) }), raw.kv.range({ key: Buffer.from(lock.ownerKey) })]);
  assert.equal(bare.kvs[0]?.lease, ours.kvs[0]?.lease, 'same lease: both go if the holder dies');
  // What gochat's TryAcquire sends: create-if-absent of the bare key. It must fail while we hold.
  const go = await raw.if(bareOf(c, 'bare-own'), 'Create', '==', 0).then(raw.put(bareOf(c, 'bare-own')).value('')).commit();
  assert.equal(go.succeeded, false);
  await lock.unlock();
  assert.equal(await raw.get(bareOf(c, 'bare-own')).string(), null);
  assert.deepEqual(await contenders(c, 'bare-own'), []);
});

test("unlock never deletes a bare key that is no longer ours, and still deletes our own key", async () => {
  const c = await testCoordinator();
  const raw = await rawClient();
  const lock = await c.lock.acquire('bare-taken', 5000);
  // Someone deletes our bare key and a gochat TryAcquire takes it.
  await raw.delete().key(bareOf(c, 'bare-taken'));
  const go = await raw.if(bareOf(c, 'bare-taken'), 'Create', '==', 0).then(raw.put(bareOf(c, 'bare-taken')).value('go')).commit();
  assert.equal(go.succeeded, true);
  await lock.unlock();
  assert.equal(await raw.get(bareOf(c, 'bare-taken')).string(), 'go', "the Go holder's key is untouched");
  assert.deepEqual(await contenders(c, 'bare-taken'), [], 'our key is gone');
  await raw.delete().key(bareOf(c, 'bare-taken'));
});

test('a bare key we did not write is a holder: tryAcquire CONFLICT (nothing written), acquire waits until it goes', async () => {
  const c = await testCoordinator();
  const raw = await rawClient();
  const lease = raw.lease(30, { autoKeepAlive: false });
  await lease.put(bareOf(c, 'bare-foreign')).value('');
  const before = await headRevision();
  await assert.rejects(c.lock.tryAcquire('bare-foreign', 5000), { code: ErrorCode.Conflict });
  assert.equal(await headRevision(), before, 'nothing written');
  const waiting = c.lock.acquire('bare-foreign', 5000);
  await eventually(async () => (await contenders(c, 'bare-foreign')).length === 1, { what: 'us to queue' });
  assert.equal(await pending(waiting), true);
  const [info] = await c.lock.list('bare-foreign');
  assert.deepEqual({ holder: info?.holderKey, waiters: info?.waiters }, { holder: bareOf(c, 'bare-foreign'), waiters: 1 });
  await raw.delete().key(bareOf(c, 'bare-foreign'));
  const lock = await waiting;
  const [now] = await c.lock.list('bare-foreign');
  assert.deepEqual({ holder: now?.holderKey, waiters: now?.waiters }, { holder: lock.ownerKey, waiters: 0 });
  await lock.unlock();
  await lease.revoke();
});

test('renew to another TTL moves the bare key to the new lease along with ours', async () => {
  const c = await testCoordinator();
  const lock = await c.lock.acquire('bare-renew', 3000);
  await lock.renew(20_000);
  const raw = await rawClient();
  const [bare, ours] = await Promise.all([raw.kv.range({ key: Buffer.from(bareOf(c, 'bare-renew')) }), raw.kv.range({ key: Buffer.from(lock.ownerKey) })]);
  assert.equal(bare.kvs[0]?.lease, ours.kvs[0]?.lease);
  const left = await raw.leaseClient.leaseTimeToLive({ ID: bare.kvs[0]!.lease });
  assert.ok(Number(left.TTL) > 15, `bare key's lease TTL ${left.TTL}`);
  await lock.unlock();
});

// lock.holdTryAcquireKey: false — for apps whose Go services never TryAcquire the names they lock.
const oneKey = { lock: { holdTryAcquireKey: false } };

test('holdTryAcquireKey: false writes only our contender key, and unlock deletes it', async () => {
  const c = await testCoordinator(oneKey);
  const raw = await rawClient();
  const lock = await c.lock.acquire('one-key', 5000);
  assert.deepEqual(await contenders(c, 'one-key'), [lock.ownerKey]);
  assert.equal(await raw.get(bareOf(c, 'one-key')).string(), null, 'no bare key while we hold');
  await lock.renew(20_000); // moves our key to another lease, still without the bare key
  assert.equal(await raw.get(bareOf(c, 'one-key')).string(), null);
  await lock.unlock();
  assert.deepEqual(await contenders(c, 'one-key'), []);
  // The lease came back as a spare: the next acquire uses it, one transaction again.
  const again = await c.lock.acquire('one-key', 5000);
  await again.unlock();
});

test('holdTryAcquireKey: false still treats a bare key as a holder: tryAcquire CONFLICT, acquire waits until it goes', async () => {
  const c = await testCoordinator(oneKey);
  const raw = await rawClient();
  const lease = raw.lease(30, { autoKeepAlive: false });
  await lease.put(bareOf(c, 'one-foreign')).value('');
  const before = await headRevision();
  await assert.rejects(c.lock.tryAcquire('one-foreign', 5000), { code: ErrorCode.Conflict });
  assert.equal(await headRevision(), before, 'nothing written');
  const waiting = c.lock.acquire('one-foreign', 5000);
  await eventually(async () => (await contenders(c, 'one-foreign')).length === 1, { what: 'us to queue' });
  assert.equal(await pending(waiting), true);
  await raw.delete().key(bareOf(c, 'one-foreign'));
  const lock = await waiting;
  assert.equal(await raw.get(bareOf(c, 'one-foreign')).string(), null, 'taken without writing the bare key');
  await lock.unlock();
  await lease.revoke();
});

test('holdTryAcquireKey: false hands the lock over in FIFO order, and excludes a holder that does hold the bare key', async () => {
  const c = await testCoordinator(oneKey);
  const d = await testCoordinator({ namespace: c.namespace }); // the default: holds the bare key too
  const first = await c.lock.acquire('one-mixed', 5000);
  const second = d.lock.acquire('one-mixed', 5000);
  await eventually(async () => (await contenders(c, 'one-mixed')).length === 2, { what: 'the default holder to queue' });
  assert.equal(await pending(second), true);
  await first.unlock();
  const held = await second;
  assert.notEqual(await (await rawClient()).get(bareOf(c, 'one-mixed')).string(), null, 'the default holder holds the bare key');
  const third = c.lock.acquire('one-mixed', 5000);
  await eventually(async () => (await contenders(c, 'one-mixed')).length === 2, { what: 'the one-key waiter to queue' });
  assert.equal(await pending(third), true);
  await held.unlock();
  await (await third).unlock();
});

test('a contender key deleted and created again under the same name (same lease) is a new contender, behind the waiter', async () => {
  // Our spare leases make this common: a holder unlocks and re-enqueues under the same key name.
  // The waiter hears of the delete 150 ms late, when the name exists again, created anew.
  const proxy = await TcpProxy.forUrl((await etcdEndpoints())[0]!).start();
  try {
    const c = await testCoordinator({ endpoints: [proxy.url] });
    const raw = await rawClient();
    const lease = raw.lease(30, { autoKeepAlive: false });
    const other = `${prefixOf(c, 'aba')}${BigInt(await lease.grant()).toString(16)}`;
    await lease.put(other).value('');
    const waiting = c.lock.acquire('aba', 5000, { signal: AbortSignal.timeout(5000) });
    await eventually(async () => (await contenders(c, 'aba')).length === 2, { what: 'us to queue' });
    await proxy.setMode('delay', 150);
    await raw.delete().key(other);
    await lease.put(other).value('');
    const lock = await waiting; // TIMEOUT_ERROR if the new key were taken for the old one
    assert.deepEqual(await contenders(c, 'aba'), [lock.ownerKey, other]);
    await proxy.setMode('pass');
    await lock.unlock();
    await lease.revoke();
  } finally {
    await proxy.stop();
  }
});
