// A user's process stays free of Node warnings at realistic scale: one coordinator holding 1,000
// registrations, 200 locks and 50 watches (sharing one app signal) emits no process 'warning'
// (MaxListenersExceededWarning came from one listener per resource on a shared AbortSignal).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { testCoordinator } from '../helpers/etcd.js';

test('1,000 registrations, 200 held locks and 50 watches in one coordinator: no process warning', async () => {
  const warnings: Error[] = [];
  const onWarning = (w: Error): void => void warnings.push(w);
  process.on('warning', onWarning);
  try {
    const c = await testCoordinator();
    const regs = [];
    for (let i = 0; i < 1000; i += 50) {
      regs.push(
        ...(await Promise.all(
          Array.from({ length: 50 }, (_, j) => c.registry.register({ id: `i${i + j}`, name: `svc${(i + j) % 10}`, address: '127.0.0.1', port: 1000 + i + j, metadata: {}, ttlMs: 30_000 })),
        )),
      );
    }
    const locks = [];
    for (let i = 0; i < 200; i += 50) locks.push(...(await Promise.all(Array.from({ length: 50 }, (_, j) => c.lock.acquire(`k${i + j}`, 30_000)))));
    // One app-wide shutdown signal shared by every watch, as apps do.
    const ac = new AbortController();
    const watches = [];
    for (let i = 0; i < 25; i++) {
      const w = c.config.watch(`w${i}`, { signal: ac.signal });
      await w.ready;
      watches.push(w);
    }
    const iterators = Array.from({ length: 25 }, (_, i) => c.registry.watch(`svc${i % 10}`, { signal: ac.signal })[Symbol.asyncIterator]());
    const firsts = iterators.map((it) => it.next());
    await c.registry.register({ id: 'late', name: 'svc0', address: '127.0.0.1', port: 1, metadata: {}, ttlMs: 30_000 });
    await Promise.race([Promise.all(firsts.slice(0, 1)), new Promise((r) => setTimeout(r, 5000))]);
    await new Promise((r) => setImmediate(r)); // warnings are emitted on the next tick
    assert.equal(regs.length, 1000);
    assert.equal(locks.length, 200);
    ac.abort();
    await Promise.allSettled(firsts);
    for (const w of watches) await w.close();
    for (const l of locks) await l.unlock();
    await c.close();
    await new Promise((r) => setImmediate(r));
    assert.deepEqual(warnings.map((w) => `${w.name}: ${w.message}`), []);
  } finally {
    process.off('warning', onWarning);
  }
});
