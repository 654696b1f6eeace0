import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createCoordinator, ErrorCode, silentLogger, type CoordinationError } from '../../src/index.js';
import { EtcdClient } from '../../src/client/etcd-client.js';
import { resolveOptions } from '../../src/options.js';
import { prefixEnd } from '../../src/client/prefix-end.js';
import { etcdEndpoints, eventually, testCoordinator, uniqueNamespace } from '../helpers/etcd.js';
import { freePorts } from '../../scripts/lib/etcd.mjs';
import { runChild } from '../helpers/child.js';
import { captureLogger } from '../helpers/logs.js';
import { TcpProxy } from '../helpers/proxy.js';

test('connects to a live etcd and reports its namespace', async () => {
  const coordinator = await testCoordinator({ namespace: '/ns-a/' });
  assert.equal(coordinator.namespace, '/ns-a');
});

test('an unreachable endpoint rejects with CONNECTION_ERROR within timeout + 10%', async () => {
  const [port] = await freePorts(1);
  const timeout = 1000;
  const started = performance.now();
  await assert.rejects(
    createCoordinator({ endpoints: [`127.0.0.1:${port}`], timeoutMs: timeout, logger: silentLogger }),
    (err: { code: string; cause?: unknown }) => {
      assert.equal(err.code, ErrorCode.Connection);
      assert.ok(err.cause, 'the last underlying error is attached');
      return true;
    },
  );
  const elapsed = performance.now() - started;
  assert.ok(elapsed <= timeout * 1.1, `took ${elapsed} ms`);
});

test('bad options reject with VALIDATION_ERROR before connecting', async () => {
  await assert.rejects(createCoordinator({ endpoints: [] }), { code: ErrorCode.Validation });
  await assert.rejects(createCoordinator({ endpoints: await etcdEndpoints(), timeoutMs: 0 }), { code: ErrorCode.Validation });
});

test('close() is idempotent, resolves `closed`, and is [Symbol.asyncDispose]', async () => {
  const coordinator = await testCoordinator();
  let closed = false;
  void coordinator.closed.then(() => (closed = true));
  await coordinator.close();
  await coordinator.close();
  await coordinator[Symbol.asyncDispose]();
  await coordinator.closed;
  assert.ok(closed);
});

test('`await using` closes the coordinator at scope end', async () => {
  let closedPromise: Promise<void>;
  {
    await using coordinator = await createCoordinator({ endpoints: await etcdEndpoints(), logger: silentLogger });
    closedPromise = coordinator.closed;
  }
  await closedPromise;
});

test('after close() the process exits on its own (no handles left)', async () => {
  const result = await runChild(new URL('../fixtures/open-close.ts', import.meta.url).pathname, [], {
    timeoutMs: 20_000,
    env: { ETCD_ENDPOINTS: (await etcdEndpoints()).join(',') },
  });
  assert.equal(result.signal, null, `child had to be killed; stderr: ${result.stderr}`);
  assert.equal(result.code, 0, result.stderr);
  assert.match(result.stdout, /closed/);
});

test('a watcher stuck on a dead connection at close() does not keep the process alive', async () => {
  const result = await runChild(new URL('../fixtures/watch-leak.ts', import.meta.url).pathname, [], {
    timeoutMs: 20_000,
    env: { ETCD_ENDPOINTS: (await etcdEndpoints()).join(',') },
  });
  assert.equal(result.signal, null, `child had to be killed; stdout: ${result.stdout} stderr: ${result.stderr}`);
  assert.equal(result.code, 0, result.stderr);
  assert.match(result.stdout, /closed/);
});

const get = async (c: EtcdClient, key: string): Promise<string | undefined> =>
  (await c.rpc.kv.range({ key: Buffer.from(c.key(key)) }, c.callOptions())).kvs[0]?.value.toString();
const nsRange = (c: EtcdClient) => ({ key: Buffer.from(c.prefix), range_end: prefixEnd(Buffer.from(c.prefix)) });
const keys = async (c: EtcdClient): Promise<string[]> =>
  (await c.rpc.kv.range({ ...nsRange(c), keys_only: true }, c.callOptions())).kvs.map((kv) => c.relative(kv.key.toString()));
const deleteAll = (c: EtcdClient) => c.rpc.kv.deleteRange(nsRange(c), c.callOptions());

test('namespaces isolate keys: two clients, two namespaces, nothing crosses', async () => {
  const endpoints = await etcdEndpoints();
  const a = new EtcdClient(resolveOptions({ endpoints, namespace: uniqueNamespace('a'), logger: silentLogger }));
  const b = new EtcdClient(resolveOptions({ endpoints, namespace: uniqueNamespace('b'), logger: silentLogger }));
  try {
    await a.call('put', 'k', (o) => a.rpc.kv.put({ key: Buffer.from(a.key('k')), value: Buffer.from('from-a') }, o));
    await b.call('put', 'k', (o) => b.rpc.kv.put({ key: Buffer.from(b.key('k')), value: Buffer.from('from-b') }, o));
    assert.equal(await get(a, 'k'), 'from-a');
    assert.equal(await get(b, 'k'), 'from-b');
    assert.deepEqual(await keys(a), ['k']);
    assert.equal(a.key('k'), `${a.namespace}/k`);
    assert.equal(a.relative(`${a.namespace}/x/y`), 'x/y');
  } finally {
    await Promise.all([deleteAll(a), deleteAll(b)]);
    await Promise.all([a.close(), b.close()]);
  }
});

test('a closed client refuses new calls with CANCELLED', async () => {
  const client = new EtcdClient(resolveOptions({ endpoints: await etcdEndpoints(), logger: silentLogger }));
  await client.close();
  await assert.rejects(client.call('get', 'k', (o) => client.rpc.kv.range({ key: Buffer.from(client.key('k')) }, o)), { code: ErrorCode.Cancelled });
  assert.throws(() => client.own({ close() {} }), { code: ErrorCode.Cancelled });
});

test('a call aborted by the caller rejects promptly with CANCELLED', async () => {
  const client = new EtcdClient(resolveOptions({ endpoints: await etcdEndpoints(), logger: silentLogger }));
  try {
    const ac = new AbortController();
    ac.abort();
    await assert.rejects(client.call('get', 'k', (o) => client.rpc.kv.range({ key: Buffer.from(client.key('k')) }, o), { signal: ac.signal }), {
      code: ErrorCode.Cancelled,
    });
  } finally {
    await client.close();
  }
});

test('logs carry operation, key and duration and never the namespace values or passwords', async () => {
  const logs = captureLogger();
  const client = new EtcdClient(resolveOptions({ endpoints: await etcdEndpoints(), logger: logs.logger, namespace: uniqueNamespace() }));
  try {
    await client.call('put', 'secret-key', (o) => client.rpc.kv.put({ key: Buffer.from(client.key('secret-key')), value: Buffer.from('TOP-SECRET-VALUE') }, o));
    await deleteAll(client);
  } finally {
    await client.close();
  }
  const line = logs.lines.find((l) => l.fields.operation === 'put');
  assert.ok(line, 'a success line was logged');
  assert.equal(line.level, 'info');
  assert.equal(line.fields.key, 'secret-key');
  assert.equal(typeof line.fields.durationMs, 'number');
  logs.assertNotContains('TOP-SECRET-VALUE');
});

test('close() after an outage leaves no connection open (a subchannel that failed to connect does not dial again later)', async () => {
  const proxy = await TcpProxy.forUrl((await etcdEndpoints())[0]!).start();
  const c = new EtcdClient(resolveOptions({ endpoints: [proxy.url], namespace: uniqueNamespace('outage'), logger: silentLogger, timeoutMs: 1000, retry: { maxAttempts: 1 } }));
  const get = () => c.call('get', 'k', (o) => c.rpc.kv.range({ key: Buffer.from('k') }, o));
  try {
    await get();
    await proxy.setMode('refuse'); // as a stopped member: connections reset, new ones refused
    // Once the client has seen its connection go, the next call must dial, and that attempt fails.
    await eventually(() => c.rpc.channel.sessions === 0, { what: 'connection seen closed' });
    await assert.rejects(get(), { code: ErrorCode.Connection });
    await proxy.setMode('pass');
    await eventually(() => get().then(() => true), { what: 'etcd reachable again' });
    await c.close();
    await eventually(() => proxy.connections === 0, { timeoutMs: 5000, what: 'connections closed' });
    // A subchannel left failing when its channel closed would dial again after its backoff (≤ 2 s).
    const until = Date.now() + 3000;
    while (Date.now() < until) {
      assert.equal(proxy.connections, 0, 'a connection was opened after close()');
      await new Promise((r) => setTimeout(r, 100));
    }
  } finally {
    await c.close();
    await proxy.stop();
  }
});

test('credentials sent to an etcd without auth: AUTH_ERROR at once saying so, not "cannot reach" after the timeout', async () => {
  const started = Date.now();
  await assert.rejects(
    createCoordinator({ endpoints: await etcdEndpoints(), username: 'root', password: 'pw', timeoutMs: 5000, logger: silentLogger }),
    (err: CoordinationError) => err.code === ErrorCode.Auth && /authentication is not enabled/.test(err.message),
  );
  assert.ok(Date.now() - started < 4000, `took ${Date.now() - started} ms`);
});

test('an endpoint with a trailing "/" is VALIDATION_ERROR at once', async () => {
  await assert.rejects(createCoordinator({ endpoints: ['127.0.0.1:2379/'], logger: silentLogger }), { code: ErrorCode.Validation });
});
