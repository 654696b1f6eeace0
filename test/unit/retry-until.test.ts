import { test } from 'node:test';
import assert from 'node:assert/strict';
import { retryUntil } from '../../src/shared/retry-until.js';
import { CoordinationError, ErrorCode } from '../../src/errors.js';

const transient = (message = 'down'): CoordinationError => new CoordinationError(ErrorCode.Unavailable, message);

/** A function failing with `failures` in turn, then resolving with `result`; counts its calls. */
function flaky<T>(failures: unknown[], result: T): { fn: () => Promise<T>; calls: () => number } {
  let calls = 0;
  return {
    fn: async () => {
      const failure = failures[calls++];
      if (failure !== undefined) throw failure;
      return result;
    },
    calls: () => calls,
  };
}

test('retries transient failures, waiting the given delays in turn, then resolves with the result', async () => {
  const { fn, calls } = flaky([transient('a'), transient('b'), transient('c')], 'ok');
  const retries: Array<[string, number]> = [];
  const started = Date.now();
  const result = await retryUntil(new AbortController().signal, fn, {
    operation: 'test.op',
    delays: [5, 10, 15][Symbol.iterator](),
    onRetry: (error, delayMs) => retries.push([error.message, delayMs]),
  });
  assert.equal(result, 'ok');
  assert.equal(calls(), 4);
  assert.deepEqual(
    retries.map(([, d]) => d),
    [5, 10, 15],
  );
  assert.ok(Date.now() - started >= 25, 'waited the delays');
});

test('onRetry gets each failure as a CoordinationError, before the wait', async () => {
  const failure = transient('etcd is away');
  const { fn } = flaky([failure], 1);
  const seen: Array<{ error: CoordinationError; delayMs: number }> = [];
  await retryUntil(new AbortController().signal, fn, {
    operation: 'test.op',
    delays: [1][Symbol.iterator](),
    onRetry: (error, delayMs) => seen.push({ error, delayMs }),
  });
  assert.equal(seen.length, 1);
  assert.ok(seen[0]!.error instanceof CoordinationError);
  assert.equal(seen[0]!.error.code, ErrorCode.Unavailable);
  assert.equal(seen[0]!.delayMs, 1);
});

test('a failure that is not retryable is thrown at once, as a CoordinationError, without onRetry', async () => {
  const { fn, calls } = flaky([new CoordinationError(ErrorCode.Validation, 'bad input')], 1);
  let retried = 0;
  await assert.rejects(
    retryUntil(new AbortController().signal, fn, { operation: 'test.op', delays: [1][Symbol.iterator](), onRetry: () => retried++ }),
    (err: unknown) => err instanceof CoordinationError && err.code === ErrorCode.Validation,
  );
  assert.equal(calls(), 1);
  assert.equal(retried, 0);
});

test('a non-CoordinationError failure is converted before the retryable check', async () => {
  const seen: CoordinationError[] = [];
  await assert.rejects(
    retryUntil(
      new AbortController().signal,
      async () => {
        throw new Error('plain');
      },
      {
        operation: 'test.op',
        delays: [1][Symbol.iterator](),
        retryable: (error) => {
          seen.push(error);
          return false;
        },
      },
    ),
    (err: unknown) => err instanceof CoordinationError,
  );
  assert.equal(seen.length, 1);
  assert.ok(seen[0] instanceof CoordinationError);
});

test('retryable decides what is retried', async () => {
  const conflict = new CoordinationError(ErrorCode.Conflict, 'lost the race');
  const { fn, calls } = flaky([conflict, conflict], 'won');
  const result = await retryUntil(new AbortController().signal, fn, {
    operation: 'test.op',
    delays: [1, 1][Symbol.iterator](),
    retryable: (error) => error.code === ErrorCode.Conflict,
  });
  assert.equal(result, 'won');
  assert.equal(calls(), 3);
});

test('stop already aborted: resolves undefined without calling fn', async () => {
  const stop = new AbortController();
  stop.abort();
  const { fn, calls } = flaky([], 1);
  assert.equal(await retryUntil(stop.signal, fn, { operation: 'test.op', delays: [1][Symbol.iterator]() }), undefined);
  assert.equal(calls(), 0);
});

test('stop during a wait cuts it short and resolves undefined, with no further attempt', async () => {
  const stop = new AbortController();
  const { fn, calls } = flaky([transient(), transient()], 1);
  const started = Date.now();
  const done = retryUntil(stop.signal, fn, {
    operation: 'test.op',
    delays: [60_000][Symbol.iterator](),
    onRetry: () => setImmediate(() => stop.abort()),
  });
  assert.equal(await done, undefined);
  assert.equal(calls(), 1);
  assert.ok(Date.now() - started < 5_000, 'the long wait was cut short');
});
