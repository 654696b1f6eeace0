// Pure parts of the shared layer: the release step tried again after a failure, and who leads a queue.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { RetryableOnce } from '../../src/shared/retryable-once.js';
import { oldest } from '../../src/shared/queue-listing.js';
import { absent, heldAt } from '../../src/shared/guard.js';
import { CoordinationError, ErrorCode } from '../../src/errors.js';
import { checkPathName } from '../../src/layout.js';

test('RetryableOnce: concurrent callers share one run, and a success is not run again', async () => {
  const once = new RetryableOnce();
  let runs = 0;
  const step = async (): Promise<void> => {
    runs++;
    await new Promise((r) => setImmediate(r));
  };
  await Promise.all([once.run(step, 'x.release a'), once.run(step, 'x.release a')]);
  await once.run(step, 'x.release a');
  assert.equal(runs, 1);
  assert.equal(once.started, true);
});

test('RetryableOnce: a failure rejects as a CoordinationError naming the step, and the next call runs it again', async () => {
  const once = new RetryableOnce();
  let runs = 0;
  const seen: unknown[] = [];
  const failing = async (): Promise<void> => {
    runs++;
    throw new CoordinationError(ErrorCode.Connection, 'etcd unreachable');
  };
  await assert.rejects(once.run(failing, 'x.release a', (err) => seen.push(err)), (err: unknown) => err instanceof CoordinationError && err.code === ErrorCode.Connection);
  assert.equal(once.started, false, 'a failure is forgotten');
  assert.equal(seen.length, 1, 'onFailure saw it');
  await assert.rejects(once.run(async () => Promise.reject(new TypeError('bug')), 'x.release a'), (err: unknown) => err instanceof CoordinationError && err.code === ErrorCode.Internal && /x\.release a/.test(err.message));
  await once.run(async () => void runs++, 'x.release a');
  assert.equal(runs, 2);
  assert.equal(once.started, true);
});

test('oldest(): the lowest create revision leads, whatever the order; none for no contenders', () => {
  const kvs = [{ k: 'c', rev: 9n }, { k: 'a', rev: 3n }, { k: 'b', rev: 5n }];
  assert.equal(oldest(kvs, (x) => x.rev)?.k, 'a');
  assert.equal(oldest(new Map([['x', 7n], ['y', 2n]]), ([, r]) => r)?.[0], 'y');
  assert.equal(oldest([], (x: { rev: bigint }) => x.rev), undefined);
});

test('guards: heldAt is create_revision == token on the key; absent is create_revision == 0 (on a range too)', () => {
  const key = Buffer.from('/locks/a/1');
  assert.deepEqual(heldAt(key, 42n), { key, target: 'CREATE', result: 'EQUAL', create_revision: 42n });
  assert.deepEqual(absent(key), { key, target: 'CREATE', result: 'EQUAL', create_revision: 0 });
  const end = Buffer.from('/locks/a0');
  assert.deepEqual(absent(key, end), { key, range_end: end, target: 'CREATE', result: 'EQUAL', create_revision: 0 });
});

test('checkPathName: names what it checks and shows a good example', () => {
  assert.doesNotThrow(() => checkPathName('jobs/x', 'semaphore name', 'jobs/nightly'));
  for (const bad of ['', '/a', 'a/', 'a//b', 'a/./b', 'a/../b', 'a\0b', 'x'.repeat(1025), 7]) {
    assert.throws(
      () => checkPathName(bad, 'semaphore name', 'jobs/nightly'),
      (err: unknown) => err instanceof CoordinationError && err.code === ErrorCode.Validation && err.message.startsWith('semaphore name '),
      String(bad),
    );
  }
  assert.throws(() => checkPathName('a//b', 'semaphore name', 'jobs/nightly'), /like "jobs\/nightly"/);
});
