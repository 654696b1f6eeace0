// The registry across connection cuts (TcpProxy between the coordinator and etcd) and compaction.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import type { ServiceEvent } from '../../src/index.js';
import { encodeService } from '../../src/registry/codec.js';
import { etcdEndpoints, eventually, rawClient, testCoordinator, uniqueNamespace } from '../helpers/etcd.js';
import { captureLogger } from '../helpers/logs.js';
import { TcpProxy } from '../helpers/proxy.js';

const instance = (id: string, port: number) => ({ id, name: 'chat', address: '127.0.0.1', port, metadata: { secret: 'never-logged-metadata' }, ttlMs: 30_000 });

async function proxied(namespace: string) {
  const proxy = await TcpProxy.forUrl((await etcdEndpoints())[0]!).start();
  after(() => proxy.stop());
  const logs = captureLogger();
  const c = await testCoordinator({ namespace, endpoints: [proxy.url], timeoutMs: 1000, logger: logs.logger });
  return { proxy, logs, c };
}

function collect(iterable: AsyncIterable<ServiceEvent>): ServiceEvent[] {
  const events: ServiceEvent[] = [];
  void (async () => {
    for await (const e of iterable) events.push(e);
  })();
  return events;
}

test('watch is gap-free across a connection cut; discover serves the last list meanwhile and WARNs once', async () => {
  const namespace = uniqueNamespace('regf');
  const { proxy, logs, c } = await proxied(namespace);
  const raw = await rawClient();
  const ac = new AbortController();
  after(() => ac.abort());
  await raw.put(`${namespace}/services/chat/i-0`).value(encodeService(instance('i-0', 1000)));
  assert.equal((await c.registry.discover('chat')).length, 1);
  const events = collect(c.registry.watch('chat', { signal: ac.signal }));

  const N = 30;
  const written: bigint[] = [];
  const write = async (i: number) => {
    const res = await raw.put(`${namespace}/services/chat/i-${i % 5}`).value(encodeService(instance(`i-${i % 5}`, 2000 + i))).exec();
    written.push(BigInt(res.header.revision));
  };
  for (let i = 1; i <= 10; i++) await write(i);
  await proxy.setMode('rst');
  await proxy.setMode('refuse');
  for (let i = 11; i <= 20; i++) await write(i);
  // etcd unreachable: discover still answers (from memory) with the last list.
  const during = await c.registry.discover('chat');
  assert.ok(during.length >= 1);
  await proxy.setMode('pass');
  for (let i = 21; i <= N; i++) await write(i);
  // etcd3 re-attaches watchers after its watch backoff (capped at 2 s by the client); generous for a loaded machine.
  await eventually(() => events.length >= N, { timeoutMs: 20_000, what: `${N} events` });
  await new Promise((r) => setTimeout(r, 200)); // any duplicate would arrive right behind
  assert.deepEqual(
    events.map((e) => e.revision),
    written,
    'every write exactly once, in revision order',
  );
  assert.deepEqual(
    events.map((e) => e.service.port),
    Array.from({ length: N }, (_, i) => 2001 + i),
  );
  assert.equal((await c.registry.discover('chat')).length, 5);
  const warns = logs.lines.filter((l) => l.level === 'warn' && /disconnected/.test(l.message));
  assert.equal(warns.length, 1, `one WARN for the outage, got ${warns.length}`);
  logs.assertNotContains('never-logged-metadata');
});

test('after a compaction while cut off, the cache re-lists and reconciles deletes', async () => {
  const namespace = uniqueNamespace('regf');
  const { proxy, c } = await proxied(namespace);
  const raw = await rawClient();
  const ac = new AbortController();
  after(() => ac.abort());
  await raw.put(`${namespace}/services/chat/a`).value(encodeService(instance('a', 1)));
  await raw.put(`${namespace}/services/chat/b`).value(encodeService(instance('b', 2)));
  assert.equal((await c.registry.discover('chat')).length, 2);
  const events = collect(c.registry.watch('chat', { signal: ac.signal }));
  await proxy.setMode('refuse');
  await raw.delete().key(`${namespace}/services/chat/a`);
  await raw.put(`${namespace}/services/chat/c`).value(encodeService(instance('c', 3)));
  const head = await raw.put(`${namespace}/other`).value('x').exec();
  await raw.kv.compact({ revision: head.header.revision, physical: true });
  await proxy.setMode('pass');
  await eventually(async () => (await c.registry.discover('chat')).map((s) => s.id).sort().join() === 'b,c', { timeoutMs: 15_000, what: 'reconciled list' });
  await eventually(() => events.length >= 2, { what: 'reconcile events' });
  const del = events.find((e) => e.type === 'DELETE');
  assert.equal(del?.service.id, 'a', 'DELETE carries the last known instance');
  assert.equal(del?.service.port, 1);
  assert.ok(events.some((e) => e.type === 'PUT' && e.service.id === 'c'));
});

test('a registration outlives an outage longer than its TTL: registered -> lost -> registered', async () => {
  const namespace = uniqueNamespace('regf');
  const { proxy, logs, c } = await proxied(namespace);
  const reg = await c.registry.register({ ...instance('x', 7), ttlMs: 2000 });
  await proxy.setMode('refuse');
  await eventually(() => reg.state === 'lost', { timeoutMs: 5000, what: 'lost' });
  const raw = await rawClient();
  await eventually(async () => (await raw.get(`${namespace}/services/chat/x`).exec()).kvs.length === 0, { timeoutMs: 5000, what: 'key expired' });
  await proxy.setMode('pass');
  await eventually(() => reg.state === 'registered', { timeoutMs: 10_000, what: 're-registered' });
  await eventually(async () => (await raw.get(`${namespace}/services/chat/x`).exec()).kvs.length === 1, { what: 'key back' });
  const changes = logs.lines.filter((l) => l.fields.operation === 'registry.register' && l.fields.from).map((l) => `${l.fields.from} -> ${l.fields.to}`);
  assert.ok(changes.includes('registered -> lost') && changes.includes('lost -> registered'), changes.join(', '));
  logs.assertNotContains('never-logged-metadata');
});
