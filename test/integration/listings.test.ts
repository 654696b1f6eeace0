// The read-only listings operators' tools stand on: registry.list() and lock.list() read what etcd
// holds now (ours and Go-written entries), with remaining lease TTLs.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ErrorCode } from '../../src/index.js';
import { eventually, rawClient, testCoordinator, uniqueNamespace } from '../helpers/etcd.js';

const instance = (id: string, name = 'chat') => ({ id, name, address: '10.0.0.1', port: 9000, metadata: { zone: 'a' }, ttlMs: 10_000 });

test('registry.list() reads every instance, sorted, with TTL left and revision; by name when given', async () => {
  const c = await testCoordinator();
  await c.registry.register(instance('b'));
  await c.registry.register(instance('a'));
  await c.registry.register(instance('g', 'gateway'));
  const all = await c.registry.list();
  assert.deepEqual(all.map((s) => `${s.name}/${s.id}`), ['chat/a', 'chat/b', 'gateway/g']);
  for (const s of all) {
    assert.ok(s.remainingMs !== undefined && s.remainingMs > 0 && s.remainingMs <= 10_000, `remainingMs ${s.remainingMs}`);
    assert.ok(s.revision > 0n);
    assert.deepEqual(s.metadata, { zone: 'a' });
  }
  assert.deepEqual((await c.registry.list('chat')).map((s) => s.id), ['a', 'b']);
  assert.deepEqual(await c.registry.list('nobody'), []);
});

test('registry.list() includes a Go-written instance (ttl in ns) and rejects a bad name', async () => {
  const c = await testCoordinator();
  const etcd = await rawClient();
  await etcd.put(`${c.namespace}/services/chat/go-1`).value('{"id":"go-1","name":"chat","address":"h","port":1,"metadata":null,"ttl":5000000000}');
  const [go] = await c.registry.list('chat');
  assert.deepEqual({ ...go, revision: 0n }, { id: 'go-1', name: 'chat', address: 'h', port: 1, metadata: {}, ttlMs: 5000, remainingMs: undefined, revision: 0n });
  await assert.rejects(c.registry.list('a/b'), { code: ErrorCode.Validation });
});

test('lock.list() shows holder, fencing token, TTL left and waiters; filtered by name prefix', async () => {
  const namespace = uniqueNamespace('list');
  const c = await testCoordinator({ namespace });
  const other = await testCoordinator({ namespace });
  const held = await c.lock.acquire('room/1', 20_000);
  const jobs = await c.lock.acquire('jobs', 20_000);
  const stop = new AbortController();
  const waiting = other.lock.acquire('room/1', 20_000, { signal: stop.signal }).catch(() => undefined);
  await eventually(async () => (await c.lock.list('room/'))[0]?.waiters === 1, { what: 'the waiter queued' });
  const [room] = await c.lock.list('room/');
  assert.equal(room!.name, 'room/1');
  assert.equal(room!.holderKey, held.ownerKey);
  assert.equal(room!.fencingToken, held.fencingToken);
  assert.ok(room!.remainingMs !== undefined && room!.remainingMs > 0 && room!.remainingMs <= 20_000);
  assert.deepEqual((await c.lock.list()).map((l) => [l.name, l.waiters]), [['jobs', 0], ['room/1', 1]]);
  stop.abort();
  await waiting;
  await held.unlock();
  await jobs.unlock();
  assert.deepEqual(await c.lock.list(), []);
});

test('lock.list() sees a Go Mutex contender and rejects a prefix with NUL', async () => {
  const c = await testCoordinator();
  const etcd = await rawClient();
  const lease = etcd.lease(15, { autoKeepAlive: false });
  const id = await lease.grant();
  await lease.put(`${c.namespace}/locks/go-job/${BigInt(id).toString(16)}`).value('');
  const [go] = await c.lock.list();
  assert.equal(go!.name, 'go-job');
  assert.equal(go!.waiters, 0);
  await assert.rejects(c.lock.list('a\0'), { code: ErrorCode.Validation });
  await lease.revoke();
});

test('discover() loads a service list over gRPC\'s 4 MiB in pages, like registry.list()', async () => {
  const c = await testCoordinator();
  const etcd = await rawClient();
  const blob = 'x'.repeat(400_000);
  const ids = Array.from({ length: 12 }, (_, i) => `big-${String(i).padStart(2, '0')}`); // 12 × 400 kB ≈ 4.8 MB
  for (const id of ids) {
    await etcd.put(`${c.namespace}/services/big/${id}`).value(JSON.stringify({ id, name: 'big', address: 'h', port: 1, metadata: { blob }, ttlMs: 5_000_000_000 }));
  }
  const found = await c.registry.discover('big');
  assert.deepEqual(found.map((s) => s.id).sort(), ids);
  assert.equal(found[0]!.metadata['blob']!.length, blob.length);
});
