// Interop with etcd's Go concurrency.Mutex (bench/go/main.go): a Go service locking
// `<namespace>/locks/K` and our acquire('K') exclude each other, in both directions.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ErrorCode } from '../../src/index.js';
import { buildGoLock, goUnavailable } from '../../bench/go/build.js';
import { eventually, rawClient, testCoordinator } from '../helpers/etcd.js';
import { runGo, type GoProcess } from '../helpers/go.js';

const skip = goUnavailable();

async function goMutex(mode: 'hold' | 'acquire', prefix: string): Promise<GoProcess> {
  return runGo(await buildGoLock(), mode, prefix);
}

test('a Go Mutex holding <ns>/locks/K blocks our acquire(K) until it unlocks', { skip, timeout: 120_000 }, async () => {
  const c = await testCoordinator();
  const go = await goMutex('hold', `${c.namespace}/locks/shared`);
  try {
    await eventually(() => go.output().includes('"locked"'), { timeoutMs: 20_000, what: 'Go to lock' });
    await assert.rejects(c.lock.tryAcquire('shared', 5000), { code: ErrorCode.Conflict });
    const waiting = c.lock.acquire('shared', 5000);
    const raw = await rawClient();
    await eventually(async () => (await raw.getAll().prefix(`${c.namespace}/locks/shared/`).keys()).length === 2, { what: 'we queue' });
    let settled = false;
    void waiting.then(() => (settled = true), () => (settled = true));
    assert.equal(settled, false);
    go.proc.stdin.end(); // Go unlocks
    const lock = await waiting;
    assert.equal(await go.exited, 0, go.output());
    await lock.unlock();
  } finally {
    go.proc.kill('SIGKILL');
  }
});

test('our lock on K blocks a Go Mutex on <ns>/locks/K until we unlock', { skip, timeout: 120_000 }, async () => {
  const c = await testCoordinator();
  const lock = await c.lock.acquire('shared', 10_000);
  const go = await goMutex('acquire', `${c.namespace}/locks/shared`);
  try {
    const raw = await rawClient();
    await eventually(async () => (await raw.getAll().prefix(`${c.namespace}/locks/shared/`).keys()).length === 2, {
      timeoutMs: 20_000,
      what: 'Go to queue behind us',
    });
    assert.ok(!go.output().includes('"locked"'), go.output());
    await lock.unlock();
    assert.equal(await go.exited, 0, go.output());
    assert.match(go.output(), /"locked"/);
  } finally {
    go.proc.kill('SIGKILL');
  }
});
