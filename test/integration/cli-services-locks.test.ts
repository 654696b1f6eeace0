// `coordctl services …`, `coordctl locks …` and `coordctl ids …` against instances and locks held by real
// coordinators (and a Go-layout lock key written directly), as an operator would inspect them.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { cliEnv, coordctl, startCoordctl } from '../helpers/cli.js';
import { eventually, rawClient, testCoordinator, uniqueNamespace } from '../helpers/etcd.js';

async function setup() {
  const namespace = uniqueNamespace('cli');
  return { namespace, env: await cliEnv(namespace), coord: await testCoordinator({ namespace }) };
}

const chat = (id: string, port: number, metadata: Record<string, string> = {}) => ({
  id,
  name: 'chat',
  address: '10.0.0.1',
  port,
  metadata,
  ttlMs: 10_000,
});

test('services ls shows every instance: name, id, address:port, TTL left, metadata', async () => {
  const { env, coord } = await setup();
  await coord.registry.register(chat('c1', 9001, { zone: 'a', version: '1.2' }));
  await coord.registry.register(chat('c2', 9002));
  await coord.registry.register({ id: 'g1', name: 'gateway', address: '10.0.0.9', port: 80, metadata: {}, ttlMs: 5000 });
  const r = await coordctl(['services', 'ls'], env);
  assert.equal(r.code, 0, r.stderr);
  const lines = r.stdout.trimEnd().split('\n');
  assert.match(lines[0]!, /^NAME +ID +ADDRESS +TTL LEFT +METADATA$/);
  assert.match(lines[1]!, /^chat +c1 +10\.0\.0\.1:9001 +(10|[1-9])s +version=1\.2,zone=a$/);
  assert.match(lines[2]!, /^chat +c2 +10\.0\.0\.1:9002 +(10|[1-9])s$/);
  assert.match(lines[3]!, /^gateway +g1 +10\.0\.0\.9:80 +[1-5]s$/);
});

test('services ls <name> --json lists only that service, with ttl and remainingMs in ms', async () => {
  const { env, coord } = await setup();
  await coord.registry.register(chat('c1', 9001, { zone: 'a' }));
  await coord.registry.register({ id: 'g1', name: 'gateway', address: '10.0.0.9', port: 80, metadata: {}, ttlMs: 5000 });
  const r = await coordctl(['--json', 'services', 'ls', 'chat'], env);
  assert.equal(r.code, 0, r.stderr);
  const list = JSON.parse(r.stdout) as Array<{ id: string; name: string; port: number; metadata: object; ttlMs: number; remainingMs: number }>;
  assert.deepEqual(
    list.map(({ id, name, port, metadata, ttlMs }) => ({ id, name, port, metadata, ttlMs })),
    [{ id: 'c1', name: 'chat', port: 9001, metadata: { zone: 'a' }, ttlMs: 10_000 }],
  );
  assert.ok(list[0]!.remainingMs > 0 && list[0]!.remainingMs <= 10_000, `remainingMs ${list[0]!.remainingMs}`);
});

test('services ls shows an instance written by a Go service (ttl in ns, nil metadata)', async () => {
  const { namespace, env } = await setup();
  const etcd = await rawClient();
  const lease = etcd.lease(30, { autoKeepAlive: false });
  await lease.put(`${namespace}/services/chat/go-1`).value('{"id":"go-1","name":"chat","address":"10.1.1.1","port":7000,"metadata":null,"ttl":30000000000}');
  const r = await coordctl(['--json', 'services', 'ls', 'chat'], env);
  assert.equal(r.code, 0, r.stderr);
  const [go] = JSON.parse(r.stdout) as Array<{ id: string; address: string; port: number; metadata: object; ttlMs: number; remainingMs: number }>;
  assert.deepEqual([go!.id, go!.address, go!.port, go!.metadata, go!.ttlMs], ['go-1', '10.1.1.1', 7000, {}, 30_000]);
  assert.ok(go!.remainingMs > 0 && go!.remainingMs <= 30_000);
  await lease.revoke();
});

test('services ls <name> with no instances exits 2', async () => {
  const { env } = await setup();
  const r = await coordctl(['services', 'ls', 'nobody'], env);
  assert.equal(r.code, 2);
  assert.match(r.stderr, /no instances of nobody/);
});

test('services ls of an empty namespace exits 0 and says so', async () => {
  const { env } = await setup();
  const r = await coordctl(['services', 'ls'], env);
  assert.equal(r.code, 0);
  assert.equal(r.stdout, '');
  assert.match(r.stderr, /no services registered/);
});

test('services ls with a name containing / exits 1', async () => {
  const { env } = await setup();
  assert.equal((await coordctl(['services', 'ls', 'a/b'], env)).code, 1);
});

test('services watch prints PUT when an instance registers and DELETE when it leaves', async () => {
  const { env, coord } = await setup();
  const watch = startCoordctl(['services', 'watch', 'chat', '--count', '2'], env);
  await watch.waitForStderr('watching service chat: 0 instances now');
  const reg = await coord.registry.register(chat('c1', 9001, { zone: 'a' }));
  await reg.unregister();
  assert.equal(await watch.exited, 0);
  const lines = watch.stdout().trimEnd().split('\n');
  assert.match(lines[0]!, /^PUT +chat\/c1 10\.0\.0\.1:9001 rev=\d+ zone=a$/);
  assert.match(lines[1]!, /^DELETE chat\/c1 10\.0\.0\.1:9001 rev=\d+ zone=a$/);
});

test('services watch --json prints parseable events until Ctrl-C, then exits 0', async () => {
  const { env, coord } = await setup();
  const watch = startCoordctl(['--json', 'services', 'watch', 'chat'], env);
  await watch.waitForStderr('watching service chat');
  await coord.registry.register(chat('c1', 9001));
  const [line] = await watch.waitForLines(1);
  const event = JSON.parse(line!) as { type: string; service: { id: string; port: number }; revision: number };
  assert.equal(event.type, 'PUT');
  assert.deepEqual([event.service.id, event.service.port], ['c1', 9001]);
  watch.child.kill('SIGINT');
  assert.equal(await watch.exited, 0);
});

test('locks ls shows holder key, fencing token, TTL left and the number of waiters', async () => {
  const { namespace, env, coord } = await setup();
  const other = await testCoordinator({ namespace });
  const held = await coord.lock.acquire('room/42', 30_000);
  const waiting = new AbortController();
  const waiter = other.lock.acquire('room/42', 30_000, { signal: waiting.signal }).catch(() => undefined);
  // the waiter's key is in etcd once the lock's prefix has two contenders
  const etcd = await rawClient();
  await eventually(async () => (await etcd.getAll().prefix(`${namespace}/locks/room/42/`).keys()).length === 2, { what: 'the waiter queued' });
  const r = await coordctl(['--json', 'locks', 'ls'], env);
  assert.equal(r.code, 0, r.stderr);
  const locks = JSON.parse(r.stdout) as Array<{ name: string; holderKey: string; fencingToken: number; remainingMs: number; waiters: number }>;
  assert.equal(locks.length, 1);
  assert.equal(locks[0]!.name, 'room/42');
  assert.equal(locks[0]!.holderKey, held.ownerKey);
  assert.equal(BigInt(locks[0]!.fencingToken), held.fencingToken);
  assert.equal(locks[0]!.waiters, 1);
  assert.ok(locks[0]!.remainingMs > 20_000 && locks[0]!.remainingMs <= 30_000, `remainingMs ${locks[0]!.remainingMs}`);
  const table = await coordctl(['locks', 'ls', 'room/'], env);
  assert.match(table.stdout, /^LOCK +HOLDER KEY +TOKEN +TTL LEFT +WAITERS\nroom\/42 +\S+ +\d+ +\d+s +1\n$/);
  waiting.abort();
  await waiter;
  await held.unlock();
});

test('locks ls sees a lock held by a Go service (Mutex layout written directly)', async () => {
  const { namespace, env } = await setup();
  const etcd = await rawClient();
  const lease = etcd.lease(20, { autoKeepAlive: false });
  const id = await lease.grant();
  const key = `${namespace}/locks/jobs/${BigInt(id).toString(16)}`;
  await lease.put(key).value('');
  const r = await coordctl(['locks', 'ls'], env);
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, new RegExp(`^jobs +${key} +\\d+ +(20|1\\d)s +0$`, 'm'));
  await lease.revoke();
});

test('locks ls with no locks prints a note and exits 0', async () => {
  const { env } = await setup();
  const r = await coordctl(['locks', 'ls'], env);
  assert.equal(r.code, 0);
  assert.match(r.stderr, /no locks/);
});

test('ids ls shows the taken IDs of a pool with holder and TTL left; bad pool names exit 1', async () => {
  const { env, coord } = await setup();
  const a = await coord.ids.allocate('gateway', { ttlMs: 10_000 });
  const b = await coord.ids.allocate('gateway', { ttlMs: 10_000 });
  const r = await coordctl(['--json', 'ids', 'ls', 'gateway'], env);
  assert.equal(r.code, 0, r.stderr);
  const list = JSON.parse(r.stdout) as Array<{ id: number; owner: string; remainingMs: number }>;
  assert.deepEqual(list.map((e) => e.id), [a.id, b.id].sort((x, y) => x - y));
  assert.ok(list.every((e) => e.remainingMs > 0 && e.remainingMs <= 10_000 && e.owner.endsWith(`:${process.pid}`)));
  const table = await coordctl(['ids', 'ls', 'gateway'], env);
  // The ID column is right-aligned to its widest value: no padding when every ID has two digits.
  assert.match(table.stdout, /^ *ID +OWNER +TTL LEFT\n/);
  assert.equal((await coordctl(['ids', 'ls', 'a/b'], env)).code, 1);
});

test('semaphores ls shows permits, holders (tokens, TTL left) and waiters; --json has the same', async () => {
  const { namespace, env, coord } = await setup();
  const a = await coord.semaphore.acquire('jobs/export', { permits: 2, ttlMs: 30_000 });
  const b = await coord.semaphore.acquire('jobs/export', { permits: 2, ttlMs: 30_000 });
  const waiting = new AbortController();
  const waiter = coord.semaphore.acquire('jobs/export', { permits: 2, signal: waiting.signal }).catch(() => undefined);
  const etcd = await rawClient();
  await eventually(async () => (await etcd.getAll().prefix(`${namespace}/semaphores/jobs/export/`).keys()).length === 3, { what: 'the waiter queued' });
  const r = await coordctl(['--json', 'semaphores', 'ls'], env);
  assert.equal(r.code, 0, r.stderr);
  const rows = JSON.parse(r.stdout) as Array<{ name: string; permits: number; holders: Array<{ key: string; fencingToken: number }>; waiters: number }>;
  assert.equal(rows.length, 1);
  assert.equal(rows[0]!.name, 'jobs/export');
  assert.equal(rows[0]!.permits, 2);
  assert.deepEqual(rows[0]!.holders.map((h) => [h.key, BigInt(h.fencingToken)]), [[a.ownerKey, a.fencingToken], [b.ownerKey, b.fencingToken]]);
  assert.equal(rows[0]!.waiters, 1);
  const table = await coordctl(['semaphores', 'ls', 'jobs/'], env);
  assert.match(table.stdout, /^SEMAPHORE +PERMITS +HELD +TOKENS +TTL LEFT +WAITERS\njobs\/export +2 +2 +\d+,\d+ +\d+s,\d+s +1\n$/);
  waiting.abort();
  await waiter;
  await Promise.all([a.release(), b.release()]);
});

test('rwlocks ls shows the mode, holders and waiters (a Go RWMutex writer key written directly counts)', async () => {
  const { namespace, env, coord } = await setup();
  const r1 = await coord.rwlock.acquireRead('catalog');
  const r2 = await coord.rwlock.acquireRead('catalog');
  const table = await coordctl(['rwlocks', 'ls'], env);
  assert.match(table.stdout, /^RWLOCK +MODE +HELD +TOKENS +TTL LEFT +WAITERS\ncatalog +read +2 +\d+,\d+ +\S+ +0\n$/);
  await Promise.all([r1.unlock(), r2.unlock()]);
  // Go's RWMutex writes `<prefix>/write/<unix nanos>` on its session's lease.
  const etcd = await rawClient();
  const lease = etcd.lease(30);
  await lease.put(`${namespace}/rwlocks/catalog/write/1733450000000000000`).value('');
  const r = await coordctl(['--json', 'rwlocks', 'ls'], env);
  const rows = JSON.parse(r.stdout) as Array<{ name: string; mode: string; holders: Array<{ key: string }>; waiters: number }>;
  assert.deepEqual(rows.map((l) => [l.name, l.mode, l.holders.length, l.waiters]), [['catalog', 'write', 1, 0]]);
  await lease.revoke();
});
