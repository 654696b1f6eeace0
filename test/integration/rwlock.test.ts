// Read-write lock against a real etcd: readers share, a writer excludes everyone, writers are not
// starved by later readers, try…(), cancellation, fencing, with…(), listing, Go's key layout.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ErrorCode, type RwLockHandle } from '../../src/index.js';
import { eventually, headRevision, pending, rawClient, testCoordinator } from '../helpers/etcd.js';

test("readers share the lock; keys are Go RWMutex's <ns>/rwlocks/<name>/read/<id>", async () => {
  const c = await testCoordinator();
  const a = await c.rwlock.acquireRead('doc');
  const b = await c.rwlock.acquireRead('doc');
  assert.equal(a.mode, 'read');
  assert.match(a.ownerKey, new RegExp(`^${c.namespace}/rwlocks/doc/read/[0-9a-f]+$`));
  const raw = await rawClient();
  const kv = (await raw.kv.range({ key: Buffer.from(b.ownerKey) })).kvs[0]!;
  assert.equal(BigInt(kv.create_revision), b.fencingToken);
  assert.ok(BigInt(kv.lease) > 0n);
  await Promise.all([a.unlock(), b.unlock()]);
  assert.deepEqual(await raw.getAll().prefix(`${c.namespace}/rwlocks/`).keys(), []);
});

test('a writer waits for the readers before it, and readers after it wait for the writer', async () => {
  const c = await testCoordinator();
  const d = await testCoordinator({ namespace: c.namespace });
  const r1 = await c.rwlock.acquireRead('wq');
  const w = d.rwlock.acquireWrite('wq');
  await eventually(async () => (await c.rwlock.list('wq'))[0]?.waiters === 1, { what: 'writer queued' });
  // A reader after a waiting writer waits too: the writer is not starved.
  const r2 = c.rwlock.acquireRead('wq');
  await eventually(async () => (await c.rwlock.list('wq'))[0]?.waiters === 2, { what: 'reader queued' });
  assert.equal(await pending(w), true);
  assert.equal(await pending(r2), true);
  await r1.unlock();
  const writer = await w;
  assert.equal(writer.mode, 'write');
  assert.match(writer.ownerKey, /\/rwlocks\/wq\/write\/[0-9a-f]+$/);
  assert.equal(await pending(r2), true, 'the reader waits while the writer holds');
  await writer.unlock();
  const reader = await r2;
  assert.ok(reader.fencingToken > writer.fencingToken);
  await reader.unlock();
});

test('a writer never overlaps a reader or another writer (fenced writes under contention)', async () => {
  const c = await testCoordinator();
  const d = await testCoordinator({ namespace: c.namespace });
  let readers = 0;
  let writers = 0;
  let readersMost = 0;
  const violations: string[] = [];
  const tick = () => new Promise((r) => setTimeout(r, 3));
  const reader = (i: number) =>
    (i % 2 ? c : d).rwlock.withRead('mix', {}, async () => {
      readers++;
      readersMost = Math.max(readersMost, readers);
      if (writers > 0) violations.push('reader with a writer');
      await tick();
      readers--;
    });
  const writer = (i: number) =>
    (i % 2 ? c : d).rwlock.withWrite('mix', {}, async (signal) => {
      writers++;
      if (writers > 1 || readers > 0) violations.push(`writer with ${writers - 1} writers, ${readers} readers`);
      assert.equal(signal.aborted, false);
      await tick();
      writers--;
    });
  const jobs: Array<Promise<void>> = [];
  for (let i = 0; i < 18; i++) jobs.push(i % 3 === 0 ? writer(i) : reader(i));
  await Promise.all(jobs);
  assert.deepEqual(violations, []);
  assert.ok(readersMost >= 2, `readers shared the lock (at most ${readersMost} at once)`);
});

test('tryAcquireWrite and tryAcquireRead reject CONFLICT when blocked, leaving no key', async () => {
  const c = await testCoordinator();
  const r = await c.rwlock.acquireRead('try');
  await assert.rejects(c.rwlock.tryAcquireWrite('try'), { code: ErrorCode.Conflict });
  const r2 = await c.rwlock.tryAcquireRead('try');
  await Promise.all([r.unlock(), r2.unlock()]);
  const w = await c.rwlock.tryAcquireWrite('try');
  await assert.rejects(c.rwlock.tryAcquireRead('try'), { code: ErrorCode.Conflict });
  await assert.rejects(c.rwlock.tryAcquireWrite('try'), { code: ErrorCode.Conflict });
  const raw = await rawClient();
  assert.deepEqual(await raw.getAll().prefix(`${c.namespace}/rwlocks/try/`).keys(), [w.ownerKey]);
  await w.unlock();
});

test('bad input rejects VALIDATION_ERROR and writes nothing', async () => {
  const c = await testCoordinator();
  const before = await headRevision();
  for (const [name, options] of [
    ['', {}],
    ['a/', {}],
    [null, {}],
    ['a', { ttlMs: 0 }],
    ['a', { ttlMs: 500 }],
    ['a', 'x'],
    ['a', { signal: {} }],
  ] as Array<[unknown, unknown]>) {
    await assert.rejects(c.rwlock.acquireRead(name as string, options as object), { code: ErrorCode.Validation }, `${String(name)} ${JSON.stringify(options)}`);
    await assert.rejects(c.rwlock.tryAcquireWrite(name as string, options as object), { code: ErrorCode.Validation });
  }
  await assert.rejects(c.rwlock.withWrite('a', {}, undefined as never), { code: ErrorCode.Validation });
  await assert.rejects(c.rwlock.list('\0'), { code: ErrorCode.Validation });
  assert.equal(await headRevision(), before);
});

test('an aborted wait gives up its place and does not hold up those behind it', async () => {
  const c = await testCoordinator();
  const r = await c.rwlock.acquireRead('abort');
  const ac = new AbortController();
  const w = c.rwlock.acquireWrite('abort', { signal: ac.signal });
  await eventually(async () => (await c.rwlock.list('abort'))[0]?.waiters === 1, { what: 'writer queued' });
  ac.abort();
  await assert.rejects(w, { code: ErrorCode.Cancelled });
  // With the writer gone, a reader needs nobody to leave.
  const r2 = await c.rwlock.acquireRead('abort', { signal: AbortSignal.timeout(5000) });
  await Promise.all([r.unlock(), r2.unlock()]);
});

test("a crashed writer's lock is taken after its TTL", async () => {
  const c = await testCoordinator();
  const crashed = await testCoordinator({ namespace: c.namespace });
  const w = await crashed.rwlock.acquireWrite('crash', { ttlMs: 2000 });
  // Nobody keeps its lease alive or revokes it: etcd expires it.
  const r = await c.rwlock.acquireRead('crash', { signal: AbortSignal.timeout(10_000) });
  assert.ok(r.fencingToken > w.fencingToken);
  await r.unlock();
});

test('the handle: putIfHeld, ownershipCondition, renew with the same TTL only, remainingMs, asyncDispose', async () => {
  const c = await testCoordinator();
  let held: RwLockHandle | undefined;
  {
    await using w = await c.rwlock.acquireWrite('handle', { ttlMs: 3000 });
    held = w;
    assert.ok((await w.putIfHeld({ 'handle/out': 'x' })) > w.fencingToken);
    assert.equal(w.ownershipCondition().create_revision, w.fencingToken);
    await w.renew();
    await w.renew(3000);
    await assert.rejects(w.renew(10_000), { code: ErrorCode.Validation });
    const ms = await w.remainingMs();
    assert.ok(ms > 0 && ms <= 3000);
  }
  await assert.rejects(held.putIfHeld({ 'handle/out': 'y' }), { code: ErrorCode.NotFound });
  const raw = await rawClient();
  assert.deepEqual(await raw.getAll().prefix(`${c.namespace}/rwlocks/`).keys(), []);
});

test('list shows the mode, holders and waiters', async () => {
  const c = await testCoordinator();
  const r1 = await c.rwlock.acquireRead('ls/x');
  const r2 = await c.rwlock.acquireRead('ls/x');
  const w = c.rwlock.acquireWrite('ls/x');
  await eventually(async () => (await c.rwlock.list('ls/'))[0]?.waiters === 1, { what: 'writer queued' });
  const [row] = await c.rwlock.list('ls/');
  assert.equal(row!.name, 'ls/x');
  assert.equal(row!.mode, 'read');
  assert.deepEqual(row!.holders.map((h) => h.fencingToken), [r1.fencingToken, r2.fencingToken]);
  await Promise.all([r1.unlock(), r2.unlock()]);
  const writer = await w;
  const [after] = await c.rwlock.list('ls/');
  assert.equal(after!.mode, 'write');
  assert.deepEqual(after!.holders.map((h) => h.key), [writer.ownerKey]);
  await writer.unlock();
});
