// The lock when the network fails: a holder cut off from etcd learns it lost the lock within the
// TTL (before etcd can hand it to someone else), and the lock does go to the next contender.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ErrorCode, isCoordinationError } from '../../src/index.js';
import { etcdEndpoints, eventually, testCoordinator } from '../helpers/etcd.js';
import { TcpProxy } from '../helpers/proxy.js';

test('a withLock holder cut off from etcd sees its signal fire within the TTL; the next contender gets the lock', async () => {
  const proxy = await TcpProxy.forUrl((await etcdEndpoints())[0]!).start();
  try {
    const cutOff = await testCoordinator({ endpoints: [proxy.url], timeout: 500 });
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
