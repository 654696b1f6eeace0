import { test } from 'node:test';
import assert from 'node:assert/strict';
import { EventQueue } from '../../src/shared/event-queue.js';

/** Reads `n` results straight from the iterator (done results included). */
async function take<T>(it: AsyncIterator<T>, n: number): Promise<Array<IteratorResult<T>>> {
  const out: Array<IteratorResult<T>> = [];
  for (let i = 0; i < n; i++) out.push(await it.next());
  return out;
}

/** A queue holding `items`, pushed before anyone reads. */
function queueOf(...items: number[]): EventQueue<number> {
  const q = new EventQueue<number>();
  for (const item of items) q.push(item);
  return q;
}

test('events pushed before the first next() are kept and read in order', async () => {
  const q = queueOf(1, 2, 3);
  const it = q[Symbol.asyncIterator]();
  assert.deepEqual(await take(it, 3), [
    { done: false, value: 1 },
    { done: false, value: 2 },
    { done: false, value: 3 },
  ]);
});

test('a waiting next() is woken by the next push', async () => {
  const q = new EventQueue<string>();
  const it = q[Symbol.asyncIterator]();
  const pending = it.next();
  q.push('a');
  assert.deepEqual(await pending, { done: false, value: 'a' });
});

test('end() delivers what is pending, then ends (and stays ended)', async () => {
  const q = queueOf(1, 2);
  q.end();
  assert.equal(q.done, true);
  const it = q[Symbol.asyncIterator]();
  assert.deepEqual(await take(it, 4), [
    { done: false, value: 1 },
    { done: false, value: 2 },
    { done: true, value: undefined },
    { done: true, value: undefined },
  ]);
});

test('end() wakes a reader that is waiting', async () => {
  const q = new EventQueue<number>();
  const pending = q[Symbol.asyncIterator]().next();
  q.end();
  assert.deepEqual(await pending, { done: true, value: undefined });
});

test('end(error) delivers what is pending, then throws the error at every later next()', async () => {
  const q = new EventQueue<number>();
  const boom = new Error('boom');
  q.push(1);
  q.end(boom);
  const it = q[Symbol.asyncIterator]();
  assert.deepEqual(await it.next(), { done: false, value: 1 });
  await assert.rejects(it.next(), (err) => err === boom);
  await assert.rejects(it.next(), (err) => err === boom);
});

test('end(error) after the quiet signal aborted reads as a plain end', async () => {
  const quiet = new AbortController();
  const q = new EventQueue<number>({ quiet: quiet.signal });
  q.push(1);
  quiet.abort();
  q.end(new Error('after the caller stopped listening'));
  const it = q[Symbol.asyncIterator]();
  assert.deepEqual(await take(it, 2), [
    { done: false, value: 1 },
    { done: true, value: undefined },
  ]);
});

test('end() is idempotent: a later end(error) does not turn a plain end into an error', async () => {
  const q = new EventQueue<number>();
  q.end();
  q.end(new Error('late'));
  assert.deepEqual(await q[Symbol.asyncIterator]().next(), { done: true, value: undefined });
});

test('close() drops what is pending and ends', async () => {
  const q = queueOf(1, 2);
  q.close();
  assert.equal(q.done, true);
  assert.deepEqual(await q[Symbol.asyncIterator]().next(), { done: true, value: undefined });
});

test('close() after end(error) is a no-op: pending events and the error are still read', async () => {
  const q = new EventQueue<number>();
  const boom = new Error('boom');
  q.push(1);
  q.end(boom);
  q.close();
  const it = q[Symbol.asyncIterator]();
  assert.deepEqual(await it.next(), { done: false, value: 1 });
  await assert.rejects(it.next(), (err) => err === boom);
});

test('a push after the end is ignored', async () => {
  const q = new EventQueue<number>();
  q.push(1);
  q.end();
  q.push(2);
  const it = q[Symbol.asyncIterator]();
  assert.deepEqual(await take(it, 2), [
    { done: false, value: 1 },
    { done: true, value: undefined },
  ]);
});

test('break out of for await calls onReturn (the owner\'s close)', async () => {
  let returned = 0;
  const q: EventQueue<number> = new EventQueue<number>({
    onReturn: () => {
      returned++;
      q.close();
    },
  });
  q.push(1);
  q.push(2);
  const seen: number[] = [];
  for await (const n of q) {
    seen.push(n);
    break;
  }
  assert.deepEqual(seen, [1]);
  assert.equal(returned, 1);
  assert.equal(q.done, true);
});

test('return() awaits an async onReturn and reports done', async () => {
  let finished = false;
  const q = new EventQueue<number>({
    onReturn: async () => {
      await new Promise((resolve) => setImmediate(resolve));
      finished = true;
    },
  });
  const result = await q[Symbol.asyncIterator]().return!();
  assert.deepEqual(result, { done: true, value: undefined });
  assert.equal(finished, true);
});

test('return() without onReturn closes the queue (pending dropped)', async () => {
  const q = new EventQueue<number>();
  q.push(1);
  const it = q[Symbol.asyncIterator]();
  assert.deepEqual(await it.return!(), { done: true, value: undefined });
  assert.equal(q.done, true);
  assert.deepEqual(await it.next(), { done: true, value: undefined });
});
