// The lock when the network fails: a holder cut off from etcd learns it lost the lock within the
// TTL (before etcd can hand it to someone else), and the lock does go to the next contender.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ErrorCode, isCoordinationError } from '../../src/index.js';
import { etcdEndpoints, eventually, testCoordinator } from '../helpers/etcd.js';
import { TcpProxy } from '../helpers/proxy.js';
import { Etcd3 } from 'etcd3';
import { startCluster } from '../../scripts/lib/etcd.mjs';
import { clientOf } from '../../src/coordinator.js';

test('a withLock holder cut off from etcd sees its signal fire within the TTL; the next contender gets the lock', async () => {
  const proxy = await TcpProxy.forUrl((await etcdEndpoints())[0]!).start();
  try {
    const cutOff = await testCoordinator({ endpoints: [proxy.url], timeoutMs: 500 });
    const other = await testCoordinator({ namespace: cutOff.namespace });
    let next: Promise<unknown> | undefined;
    const result = await cutOff.lock.withLock('cut', 2000, async (signal) => {
      next = other.lock.acquire('cut', 5000, { signal: AbortSignal.timeout(10_000) });
      await proxy.setMode('blackhole');
      const cut = performance.now();
      await eventually(() => signal.aborted, { timeoutMs: 5000, intervalMs: 20, what: 'lost signal' });
      const after = performance.now() - cut;
      assert.ok(after <= 2000 + 250, `lost after ${Math.round(after)} ms`);
      assert.ok(isCoordinationError(signal.reason, ErrorCode.NotFound), String(signal.reason));
      return 'done';
    });
    assert.equal(result, 'done', 'a failed unlock after withLock does not mask the result');
    const lock = (await next) as { unlock(): Promise<void> };
    await lock.unlock();
  } finally {
    await proxy.stop();
  }
});

test("a waiter whose watch on the key ahead fell behind a compaction and was cut keeps its place and gets the lock", async () => {
  // Its own etcd: the compaction must not touch other files' history.
  const cluster = await startCluster({ size: 1 });
  const proxy = await TcpProxy.forUrl(cluster.endpoints[0]!).start();
  const raw = new Etcd3({ hosts: cluster.endpoints });
  const holder = await testCoordinator({ endpoints: cluster.endpoints });
  const waiter = await testCoordinator({ endpoints: [proxy.url], namespace: holder.namespace });
  try {
    const held = await holder.lock.acquire('q', 10_000);
    const waiting = waiter.lock.acquire('q', 10_000, { signal: AbortSignal.timeout(20_000) });
    waiting.catch(() => undefined);
    // The waiter watches the holder's key; watches share one stream and etcd creates them in order.
    await eventually(() => clientOf(waiter).watches.size === 1, { timeoutMs: 5000, what: 'the queue watch' });
    const barrier = waiter.config.watch('barrier');
    await barrier.ready;
    await barrier.close();
    // The key ahead sees no change, so its watch stays at its start; compact past it, then cut the
    // connection: the re-created stream cannot resume that watch (etcd cancels it as compacted).
    for (let i = 0; i < 3; i++) await raw.put(`${holder.namespace}/other/${i}`).value('x');
    const { header } = await raw.kv.range({ key: Buffer.from(`${holder.namespace}/other/0`) });
    await raw.kv.compact({ revision: header.revision, physical: true });
    proxy.resetAll();
    await held.unlock();
    const lock = await waiting;
    assert.ok(lock.fencingToken > held.fencingToken);
    await lock.unlock();
  } finally {
    await waiter.close();
    await holder.close();
    raw.close();
    await proxy.stop();
    await cluster.stop();
  }
});
