// gRPC over the registry with real servers: etcd:/// resolution, round_robin, failover, empty-list
// protection, the service manager's stop order and SIGTERM.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import type { Coordinator } from '../../src/index.js';
import { createGrpcServiceManager, registerGrpcResolver, type GrpcServiceManager } from '../../src/grpc.js';
import { etcdEndpoints, eventually, rawClient, testCoordinator, uniqueNamespace } from '../helpers/etcd.js';
import { echoClient, echoServer } from '../fixtures/registry-echo.js';

async function startInstance(c: Coordinator, name: string, id: string, drainDelayMs = 500): Promise<GrpcServiceManager> {
  const m = createGrpcServiceManager(c.registry, echoServer(id), { name, id, ttlMs: 10_000, drainDelayMs, signals: [] });
  await m.start();
  after(() => m.stop());
  return m;
}

/** Makes `calls` calls one after the other; returns how many each instance answered. */
async function spread(client: ReturnType<typeof echoClient>, calls: number): Promise<Map<string, number>> {
  const counts = new Map<string, number>();
  for (let i = 0; i < calls; i++) {
    const { instance } = await client.say(`hi ${i}`);
    counts.set(instance, (counts.get(instance) ?? 0) + 1);
  }
  return counts;
}

test('etcd:///<name> spreads calls round-robin over all instances; failover and a new instance with no failed call', async () => {
  const c = await testCoordinator();
  const scheme = 'etcd-rr';
  after(registerGrpcResolver(c.registry, { scheme }));
  const ms = [await startInstance(c, 'echo', 'a'), await startInstance(c, 'echo', 'b'), await startInstance(c, 'echo', 'c')];
  const client = echoClient(`${scheme}:///echo`);
  after(() => client.close());
  await eventually(async () => (await spread(client, 6)).size === 3, { what: 'all three instances answering' });
  const counts = await spread(client, 30);
  assert.deepEqual([...counts.keys()].sort(), ['a', 'b', 'c']);
  for (const [id, n] of counts) assert.equal(n, 10, `round robin: ${id} answered ${n} of 30`);

  // Stop b while calls keep flowing: no call fails, then b gets nothing.
  let failures = 0;
  let running = true;
  const answered: string[] = [];
  const load = (async () => {
    while (running) {
      try {
        answered.push((await client.say('x')).instance);
      } catch {
        failures++;
      }
    }
  })();
  await ms[1]!.stop();
  const cut = answered.length;
  await eventually(() => answered.length > cut + 30, { what: 'calls after the stop' });
  const afterStop = answered.slice(cut);
  assert.equal(afterStop.filter((i) => i === 'b').length, 0, 'no call reaches the stopped instance');

  // A new instance gets traffic.
  await startInstance(c, 'echo', 'd');
  await eventually(() => answered.slice(cut).includes('d'), { what: 'd answering' });
  running = false;
  await load;
  assert.equal(failures, 0, `failed calls: ${failures}`);
});

test('empty-list protection: unregistering every instance keeps the last list (configurable)', async () => {
  const c = await testCoordinator();
  after(registerGrpcResolver(c.registry, { scheme: 'etcd-keep' }));
  after(registerGrpcResolver(c.registry, { scheme: 'etcd-drop', keepLastNonEmpty: false }));
  const m = createGrpcServiceManager(c.registry, echoServer('only'), { name: 'echo', id: 'only', ttlMs: 10_000, signals: [] });
  const registration = await m.start();
  after(() => m.stop());
  const keep = echoClient('etcd-keep:///echo');
  const drop = echoClient('etcd-drop:///echo');
  after(() => (keep.close(), drop.close()));
  assert.equal((await keep.say('1')).instance, 'only');
  assert.equal((await drop.say('1')).instance, 'only');
  const events: string[] = [];
  const ac = new AbortController();
  after(() => ac.abort());
  void (async () => {
    for await (const e of c.registry.watch('echo', { signal: ac.signal })) events.push(e.type);
  })();
  // The instance leaves the registry but keeps serving.
  await registration.unregister();
  await eventually(() => events.includes('DELETE'), { what: 'watchers still see the DELETE' });
  await eventually(async () => drop.say('2', 300).then(() => false, (err: { code?: number }) => err.code === 14), { what: 'drop: UNAVAILABLE' });
  assert.equal((await keep.say('3')).instance, 'only', 'keep: still served by the last list');
});

test('a target with no instances fails fast with UNAVAILABLE naming the service', async () => {
  const c = await testCoordinator();
  after(registerGrpcResolver(c.registry, { scheme: 'etcd-none' }));
  const client = echoClient('etcd-none:///nobody');
  after(() => client.close());
  await assert.rejects(client.say('x', 2000), (err: { code?: number; details?: string }) => err.code === 14 && /no instances of "nobody"/.test(err.details ?? ''));
});

test('registerGrpcResolver rejects a bad scheme or policy with VALIDATION_ERROR', async () => {
  const c = await testCoordinator();
  assert.throws(() => registerGrpcResolver(c.registry, { scheme: 'Bad Scheme' }), { code: 'VALIDATION_ERROR' });
  assert.throws(() => registerGrpcResolver(c.registry, { loadBalancingPolicy: 'random' as 'round_robin' }), { code: 'VALIDATION_ERROR' });
});

test('the service manager unregisters on SIGTERM, then shuts down and exits', async () => {
  const namespace = uniqueNamespace('grpc');
  const child = spawn(process.execPath, ['--import', 'tsx', fileURLToPath(new URL('../fixtures/registry-grpc-server.ts', import.meta.url)), namespace, 'echo', 'sig'], {
    stdio: ['ignore', 'pipe', 'inherit'],
    env: { ...process.env, ETCD_ENDPOINTS: (await etcdEndpoints()).join(',') },
  });
  after(() => child.kill('SIGKILL'));
  let out = '';
  child.stdout.on('data', (d) => (out += d));
  const exited = new Promise<NodeJS.Signals | number | null>((r) => child.once('exit', (code, signal) => r(signal ?? code)));
  await eventually(() => out.includes('serving'), { timeoutMs: 20_000, what: 'child serving' });
  const raw = await rawClient();
  const key = `${namespace}/services/echo/sig`;
  assert.equal((await raw.get(key).exec()).kvs.length, 1);
  child.kill('SIGTERM');
  await eventually(async () => (await raw.get(key).exec()).kvs.length === 0, { timeoutMs: 3000, what: 'unregistered (long before its 30 s TTL)' });
  assert.equal(await exited, 'SIGTERM');
});

test('stop({ signal }) aborted: no drain wait, the server is forced down, the instance unregistered', async () => {
  const c = await testCoordinator();
  const m = createGrpcServiceManager(c.registry, echoServer('quick'), { name: 'echo-stop', id: 'quick', ttlMs: 10_000, drainDelayMs: 30_000, signals: [] });
  await m.start();
  const started = Date.now();
  const ac = new AbortController();
  const stopping = m.stop({ signal: ac.signal });
  setTimeout(() => ac.abort(), 200);
  await stopping;
  assert.ok(Date.now() - started < 10_000, `stop took ${Date.now() - started} ms despite the abort`);
  assert.deepEqual(await c.registry.list('echo-stop'), []);
});
