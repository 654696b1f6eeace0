import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { ErrorCode, type ServiceEvent, type ServiceInfo } from '../../src/index.js';
import { etcdEndpoints, eventually, rawClient, testCoordinator, uniqueNamespace } from '../helpers/etcd.js';

const svc = (over: Partial<ServiceInfo> = {}): ServiceInfo => ({
  id: 'chat-1',
  name: 'chat',
  address: '127.0.0.1',
  port: 8080,
  metadata: { version: '1.0.0', region: 'us-west' },
  ttlMs: 5000,
  ...over,
});

/** Collects a watch's events in the background until the test ends. */
function collect(iterable: AsyncIterable<ServiceEvent>): ServiceEvent[] {
  const events: ServiceEvent[] = [];
  void (async () => {
    for await (const e of iterable) events.push(e);
  })();
  return events;
}

test('register → discover from a second coordinator, metadata intact', async () => {
  const namespace = uniqueNamespace('reg');
  const a = await testCoordinator({ namespace });
  const b = await testCoordinator({ namespace });
  await a.registry.register(svc());
  const found = await b.registry.discover('chat');
  assert.deepEqual(found, [svc()]);
});

test('the key and value follow the Go layout: <ns>/services/<name>/<id>, ttl in ns', async () => {
  const namespace = uniqueNamespace('reg');
  const a = await testCoordinator({ namespace });
  await a.registry.register(svc());
  const raw = await rawClient();
  const value = await raw.get(`${namespace}/services/chat/chat-1`).string();
  assert.ok(value);
  assert.deepEqual(JSON.parse(value), {
    id: 'chat-1',
    name: 'chat',
    address: '127.0.0.1',
    port: 8080,
    metadata: { region: 'us-west', version: '1.0.0' },
    ttl: 5_000_000_000,
  });
});

test('a Go-written entry (ttl in ns, null metadata) is discovered as-is', async () => {
  const namespace = uniqueNamespace('reg');
  const raw = await rawClient();
  await raw.put(`${namespace}/services/chat/go-1`).value('{"id":"go-1","name":"chat","address":"10.0.0.7","port":9090,"metadata":null,"ttl":30000000000}');
  const a = await testCoordinator({ namespace });
  assert.deepEqual(await a.registry.discover('chat'), [{ id: 'go-1', name: 'chat', address: '10.0.0.7', port: 9090, metadata: {}, ttlMs: 30_000 }]);
});

test('unregister → DELETE event carrying the last known instance; unregister again → NOT_FOUND', async () => {
  const namespace = uniqueNamespace('reg');
  const a = await testCoordinator({ namespace });
  const b = await testCoordinator({ namespace });
  const ac = new AbortController();
  after(() => ac.abort());
  await b.registry.discover('chat');
  const events = collect(b.registry.watch('chat', { signal: ac.signal }));
  await a.registry.register(svc());
  await eventually(() => events.length === 1, { what: 'PUT' });
  await a.registry.unregister('chat-1');
  await eventually(() => events.length === 2, { what: 'DELETE' });
  assert.deepEqual(
    events.map((e) => e.type),
    ['PUT', 'DELETE'],
  );
  assert.deepEqual(events[1]!.service, svc());
  assert.ok(events[1]!.revision > events[0]!.revision);
  await assert.rejects(a.registry.unregister('chat-1'), { code: ErrorCode.NotFound });
  assert.deepEqual(await b.registry.discover('chat'), []);
});

test('a SIGKILLed registered process disappears from discover within TTL + 1 s', async () => {
  const namespace = uniqueNamespace('reg');
  const a = await testCoordinator({ namespace });
  const child = spawn(process.execPath, ['--import', 'tsx', fileURLToPath(new URL('../fixtures/registry-child.ts', import.meta.url)), namespace, 'chat', 'doomed', '2000'], {
    stdio: ['ignore', 'pipe', 'inherit'],
    env: { ...process.env, ETCD_ENDPOINTS: (await etcdEndpoints()).join(',') },
  });
  after(() => child.kill('SIGKILL'));
  let out = '';
  child.stdout.on('data', (d) => (out += d));
  await eventually(() => out.includes('registered'), { timeoutMs: 20_000, what: 'child registered' });
  await eventually(async () => (await a.registry.discover('chat')).length === 1, { what: 'child discovered' });
  child.kill('SIGKILL');
  const killed = Date.now();
  await eventually(async () => (await a.registry.discover('chat')).length === 0, { timeoutMs: 3000 + 1000, intervalMs: 20, what: 'instance gone' });
  assert.ok(Date.now() - killed <= 3000, `gone after ${Date.now() - killed} ms`);
});

test('a lease revoked behind our back → re-registered within 2 s', async () => {
  const namespace = uniqueNamespace('reg');
  const a = await testCoordinator({ namespace });
  const reg = await a.registry.register(svc({ ttlMs: 10_000 }));
  const raw = await rawClient();
  const key = `${namespace}/services/chat/chat-1`;
  const before = await raw.get(key).exec();
  const lease = before.kvs[0]!.lease;
  await raw.leaseClient.leaseRevoke({ ID: lease });
  const revoked = Date.now();
  const kv = await eventually(
    async () => {
      const r = await raw.get(key).exec();
      return r.kvs[0] && r.kvs[0].lease !== lease ? r.kvs[0] : undefined;
    },
    { timeoutMs: 2000, intervalMs: 20, what: 're-registration' },
  );
  assert.ok(Date.now() - revoked <= 2000);
  assert.deepEqual(JSON.parse(kv.value.toString()).id, 'chat-1');
  await eventually(() => reg.state === 'registered', { what: 'state registered' });
  // The loss was announced on the registration's signal (once), while it healed itself.
  assert.ok(reg.signal.aborted, 'signal aborted on the loss');
  assert.equal((reg.signal.reason as { code: string }).code, ErrorCode.NotFound);
});

test('Registration.signal does not abort on unregister()', async () => {
  const c = await testCoordinator();
  const reg = await c.registry.register(svc({ id: 'calm' }));
  await reg.unregister();
  assert.equal(reg.signal.aborted, false);
});

test("the keep-alive is not tied to register()'s signal: aborting it later keeps the instance past its TTL", async () => {
  const namespace = uniqueNamespace('reg');
  const a = await testCoordinator({ namespace });
  const ac = new AbortController();
  const reg = await a.registry.register(svc({ ttlMs: 2000 }), { signal: ac.signal });
  ac.abort();
  const raw = await rawClient();
  const key = `${namespace}/services/chat/chat-1`;
  const lease = (await raw.get(key).exec()).kvs[0]!.lease;
  const started = Date.now();
  await eventually(() => Date.now() - started > 3500, { timeoutMs: 5000, intervalMs: 100, what: '1.75 × TTL to pass' });
  const kv = (await raw.get(key).exec()).kvs[0];
  assert.equal(kv?.lease, lease, 'same key, same lease, still there');
  assert.equal(reg.state, 'registered');
});

test('a key deleted behind our back is put back under the same lease', async () => {
  const namespace = uniqueNamespace('reg');
  const a = await testCoordinator({ namespace });
  await a.registry.register(svc());
  const raw = await rawClient();
  const key = `${namespace}/services/chat/chat-1`;
  const lease = (await raw.get(key).exec()).kvs[0]!.lease;
  await raw.delete().key(key);
  const kv = await eventually(async () => (await raw.get(key).exec()).kvs[0], { timeoutMs: 3000, what: 'key restored' });
  assert.equal(kv.lease, lease);
});

test('discover answers from the cache: zero etcd requests after warm-up', async () => {
  const namespace = uniqueNamespace('reg');
  const a = await testCoordinator({ namespace });
  await a.registry.register(svc());
  assert.equal((await a.registry.discover('chat')).length, 1);
  const client = (a as unknown as { client: { rpc: { kv: Record<string, unknown> } } }).client;
  const kv = client.rpc.kv;
  let requests = 0;
  const methods = ['range', 'put', 'deleteRange', 'txn', 'compact'];
  const originals = methods.map((m) => kv[m]);
  for (const m of methods) {
    const original = kv[m] as (...args: unknown[]) => unknown;
    kv[m] = (...args: unknown[]) => {
      requests++;
      return original.apply(kv, args);
    };
  }
  after(() => methods.forEach((m, i) => (kv[m] = originals[i])));
  for (let i = 0; i < 100; i++) assert.equal((await a.registry.discover('chat')).length, 1);
  assert.equal(requests, 0);
});

test('register, unregister on close: close() deletes the key and revokes the lease', async () => {
  const namespace = uniqueNamespace('reg');
  const a = await testCoordinator({ namespace });
  await a.registry.register(svc());
  const raw = await rawClient();
  const key = `${namespace}/services/chat/chat-1`;
  const lease = (await raw.get(key).exec()).kvs[0]!.lease;
  await a.close();
  assert.equal((await raw.get(key).exec()).kvs.length, 0);
  assert.ok(Number((await raw.leaseClient.leaseTimeToLive({ ID: lease, keys: false })).TTL) <= 0);
});

test('registering the same id twice in one coordinator → CONFLICT', async () => {
  const a = await testCoordinator();
  await a.registry.register(svc());
  await assert.rejects(a.registry.register(svc({ port: 9999 })), { code: ErrorCode.Conflict });
});

test('unregister() can be retried after a failure (aborted signal): the second call removes the key', async () => {
  const c = await testCoordinator();
  const reg = await c.registry.register(svc({ id: 'retry-1' }));
  const raw = await rawClient();
  const key = `${c.namespace}/services/chat/retry-1`;
  await assert.rejects(reg.unregister({ signal: AbortSignal.abort() }), { code: ErrorCode.Cancelled });
  assert.equal(reg.state, 'unregistered');
  assert.ok(await raw.get(key).string(), 'the failed unregister left the key (its lease still lives)');
  await reg.unregister();
  assert.equal(await raw.get(key).string(), null);
});

test('registry.watch is a handle like config.watch: ready, close(), reconciled on events', async () => {
  const c = await testCoordinator();
  const watch = c.registry.watch('chat');
  const from = await watch.ready;
  assert.equal(typeof from, 'bigint');
  const reg = await c.registry.register(svc({ id: 'w-1' }));
  const it = watch[Symbol.asyncIterator]();
  const first = await it.next();
  assert.equal(first.done, false);
  const ev = first.value as ServiceEvent;
  assert.deepEqual([ev.type, ev.service.id, ev.reconciled], ['PUT', 'w-1', false]);
  assert.ok(ev.revision > from);
  await watch.close();
  assert.deepEqual(await it.next(), { done: true, value: undefined });
  await reg.unregister();
});

test('registry.watch({ fromRevision }) resumes from etcd history; a DELETE carries the instance as it was', async () => {
  const c = await testCoordinator();
  const reg = await c.registry.register(svc({ id: 'r-1', metadata: { zone: 'b' } }));
  const [put] = await c.registry.list('chat');
  await reg.unregister();
  const watch = c.registry.watch('chat', { fromRevision: put!.revision });
  await watch.ready;
  const seen: ServiceEvent[] = [];
  for await (const ev of watch) {
    seen.push(ev);
    if (seen.length === 2) break;
  }
  assert.deepEqual(seen.map((e) => [e.type, e.service.id, e.service.metadata['zone'], e.reconciled]), [['PUT', 'r-1', 'b', false], ['DELETE', 'r-1', 'b', false]]);
  // Resume after the PUT only: the DELETE's instance comes from the revision before it.
  const resumed = c.registry.watch('chat', { fromRevision: put!.revision + 1n });
  for await (const ev of resumed) {
    assert.deepEqual([ev.type, ev.service.id, ev.service.address, ev.service.metadata['zone']], ['DELETE', 'r-1', '127.0.0.1', 'b']);
    break;
  }
  assert.throws(() => c.registry.watch('chat', { fromRevision: 0n }), { code: ErrorCode.Validation });
});
