// Interop with etcd's Go recipe.RWMutex (bench/go/rwmutex/main.go) on the prefix <ns>/rwlocks/<name>:
// a Go writer excludes our readers and writers, Go readers share with ours, and ours exclude Go's
// writer (and our writer Go's readers).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ErrorCode } from '../../src/index.js';
import { buildGoRwMutex, goUnavailable } from '../../bench/go/build.js';
import { eventually, pending, rawClient, testCoordinator } from '../helpers/etcd.js';
import { runGo, type GoProcess } from '../helpers/go.js';

const skip = goUnavailable();

async function goRwMutex(mode: 'rhold' | 'whold' | 'racquire' | 'wacquire', prefix: string): Promise<GoProcess> {
  return runGo(await buildGoRwMutex(), mode, prefix);
}

async function keysUnder(prefix: string): Promise<string[]> {
  return (await rawClient()).getAll().prefix(prefix).keys();
}

test('a Go writer excludes our readers and writers until it unlocks', { skip, timeout: 120_000 }, async () => {
  const c = await testCoordinator();
  const go = await goRwMutex('whold', `${c.namespace}/rwlocks/shared`);
  try {
    await eventually(() => go.output().includes('"locked":"write"'), { timeoutMs: 20_000, what: 'Go to lock' });
    await assert.rejects(c.rwlock.tryAcquireRead('shared'), { code: ErrorCode.Conflict });
    await assert.rejects(c.rwlock.tryAcquireWrite('shared'), { code: ErrorCode.Conflict });
    const reading = c.rwlock.acquireRead('shared');
    await eventually(async () => (await keysUnder(`${c.namespace}/rwlocks/shared/`)).length === 2, { what: 'we queue' });
    assert.equal(await pending(reading), true);
    go.proc.stdin.end(); // Go unlocks
    const r = await reading;
    assert.equal(await go.exited, 0, go.output());
    await r.unlock();
  } finally {
    go.proc.kill('SIGKILL');
  }
});

test('Go readers share the lock with ours, and keep our writer out', { skip, timeout: 120_000 }, async () => {
  const c = await testCoordinator();
  const go = await goRwMutex('rhold', `${c.namespace}/rwlocks/shared`);
  try {
    await eventually(() => go.output().includes('"locked":"read"'), { timeoutMs: 20_000, what: 'Go to read-lock' });
    const ours = await c.rwlock.tryAcquireRead('shared');
    await assert.rejects(c.rwlock.tryAcquireWrite('shared'), { code: ErrorCode.Conflict });
    // A second Go reader joins while both hold.
    const goToo = await goRwMutex('racquire', `${c.namespace}/rwlocks/shared`);
    assert.equal(await goToo.exited, 0, goToo.output());
    await ours.unlock();
    go.proc.stdin.end();
    assert.equal(await go.exited, 0, go.output());
  } finally {
    go.proc.kill('SIGKILL');
  }
});

test("our reader keeps Go's writer out, and our writer Go's reader", { skip, timeout: 120_000 }, async () => {
  const c = await testCoordinator();
  const prefix = `${c.namespace}/rwlocks/shared/`;
  const r = await c.rwlock.acquireRead('shared');
  const goWriter = await goRwMutex('wacquire', `${c.namespace}/rwlocks/shared`);
  try {
    await eventually(async () => (await keysUnder(prefix)).length === 2, { timeoutMs: 20_000, what: 'Go writer to queue behind us' });
    assert.ok(!goWriter.output().includes('"locked"'), goWriter.output());
    await r.unlock();
    assert.equal(await goWriter.exited, 0, goWriter.output());
    assert.match(goWriter.output(), /"locked":"write"/);
  } finally {
    goWriter.proc.kill('SIGKILL');
  }
  const w = await c.rwlock.acquireWrite('shared');
  const goReader = await goRwMutex('racquire', `${c.namespace}/rwlocks/shared`);
  try {
    await eventually(async () => (await keysUnder(prefix)).length === 2, { timeoutMs: 20_000, what: 'Go reader to queue behind us' });
    assert.ok(!goReader.output().includes('"locked"'), goReader.output());
    await w.unlock();
    assert.equal(await goReader.exited, 0, goReader.output());
    assert.match(goReader.output(), /"locked":"read"/);
  } finally {
    goReader.proc.kill('SIGKILL');
  }
});
