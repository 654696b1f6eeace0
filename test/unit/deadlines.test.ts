// deadlines.ts: a call's deadline timer is reused by the next call of that timeout, and only ever
// expires the call it currently times.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Deadlines } from '../../src/client/grpc/deadlines.js';

const call = () => {
  const c = { expired: 0, expire: () => void c.expired++ };
  return c;
};
const until = async (cond: () => boolean, ms = 2000): Promise<void> => {
  const end = performance.now() + ms;
  while (!cond()) {
    if (performance.now() > end) throw new Error('timed out waiting');
    await new Promise((r) => setTimeout(r, 5));
  }
};

test('a deadline expires its call once it is due', async () => {
  const d = new Deadlines();
  const a = call();
  d.start(a, 20);
  await until(() => a.expired === 1);
  d.close();
});

test('a released timer is reused for the next call of that timeout, re-armed from then, and never expires the call it timed before', async () => {
  const d = new Deadlines();
  const a = call();
  const first = d.start(a, 60);
  d.release(first);
  const b = call();
  const second = d.start(b, 60);
  assert.equal(second, first, 'the same timer');
  await until(() => b.expired === 1);
  assert.equal(a.expired, 0);
  const c = call();
  assert.notEqual(d.start(c, 80), first, 'another timeout gets its own timer');
  d.close();
});

test('close() clears every timer: nothing expires afterwards, and a call started after it gets a timer cleared on release', async () => {
  const d = new Deadlines();
  const a = call();
  d.start(a, 20);
  d.close();
  const late = call();
  const t = d.start(late, 20);
  d.release(t);
  await new Promise((r) => setTimeout(r, 60));
  assert.equal(a.expired, 0);
  assert.equal(late.expired, 0);
});

test('a timer keeps the process alive while it times a call, and not while it waits for reuse', () => {
  const d = new Deadlines();
  const t = d.start(call(), 1000);
  assert.equal(t.timer.hasRef(), true);
  d.release(t);
  assert.equal(t.timer.hasRef(), false);
  assert.equal(d.start(call(), 1000).timer.hasRef(), true);
  d.close();
});
