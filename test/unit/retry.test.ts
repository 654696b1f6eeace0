import { test } from 'node:test';
import assert from 'node:assert/strict';
import { backoffDelay, backoffDelays, sleep, DEFAULT_RETRY } from '../../src/retry.js';
import { withRetry } from '../../src/client/call-retry.js';
import { CoordinationError, ErrorCode } from '../../src/errors.js';

const cfg = { maxAttempts: 5, initialDelayMs: 100, maxDelayMs: 1000, multiplier: 2, jitter: 0 };

test('backoff grows exponentially and is capped', () => {
  assert.deepEqual([1, 2, 3, 4, 5, 6].map((n) => backoffDelay(cfg, n)), [100, 200, 400, 800, 1000, 1000]);
});

test('jitter stays within ±jitter of the base and never exceeds maxDelayMs', () => {
  const j = { ...cfg, jitter: 0.5 };
  assert.equal(backoffDelay(j, 1, () => 0), 50);
  assert.equal(backoffDelay(j, 1, () => 1), 150);
  assert.equal(backoffDelay(j, 10, () => 1), 1000);
  for (let i = 0; i < 200; i++) {
    const d = backoffDelay(j, 2);
    assert.ok(d >= 100 && d <= 300, `delay ${d}`);
  }
});

test('backoffDelays is an endless capped sequence', () => {
  const it = backoffDelays(cfg, () => 0.5);
  assert.deepEqual([1, 2, 3, 4, 5].map(() => it.next().value), [100, 200, 400, 800, 1000]);
});

test('defaults are frozen', () => {
  assert.ok(Object.isFrozen(DEFAULT_RETRY));
});

test('withRetry retries transient errors of idempotent operations and reports each retry', async () => {
  const retries: number[] = [];
  let calls = 0;
  const result = await withRetry(
    async () => {
      calls++;
      if (calls < 3) throw new CoordinationError(ErrorCode.Connection, 'down');
      return 'ok';
    },
    { config: { ...cfg, initialDelayMs: 1, maxDelayMs: 2 }, operation: 'op', idempotent: true, onRetry: (r) => retries.push(r.attempt) },
  );
  assert.equal(result, 'ok');
  assert.equal(calls, 3);
  assert.deepEqual(retries, [1, 2]);
});

test('withRetry does not retry non-idempotent operations', async () => {
  let calls = 0;
  await assert.rejects(
    withRetry(
      async () => {
        calls++;
        throw new CoordinationError(ErrorCode.Connection, 'down');
      },
      { config: cfg, operation: 'op' },
    ),
    { code: ErrorCode.Connection },
  );
  assert.equal(calls, 1);
});

test('withRetry does not retry permanent errors and stops after maxAttempts', async () => {
  let calls = 0;
  await assert.rejects(
    withRetry(async () => {
      calls++;
      throw new CoordinationError(ErrorCode.Conflict, 'taken');
    }, { config: cfg, operation: 'op', idempotent: true }),
    { code: ErrorCode.Conflict },
  );
  assert.equal(calls, 1);
  calls = 0;
  await assert.rejects(
    withRetry(async () => {
      calls++;
      throw new Error('14 UNAVAILABLE: No connection established');
    }, { config: { ...cfg, maxAttempts: 3, initialDelayMs: 1, maxDelayMs: 1 }, operation: 'op', idempotent: true }),
    { code: ErrorCode.Connection },
  );
  assert.equal(calls, 3);
});

test('a retry sleep wakes on abort with CANCELLED', async () => {
  const ac = new AbortController();
  const started = Date.now();
  const p = withRetry(async () => {
    throw new CoordinationError(ErrorCode.Timeout, 'slow');
  }, { config: { ...cfg, initialDelayMs: 10_000, maxDelayMs: 10_000 }, operation: 'op', idempotent: true, signal: ac.signal });
  setTimeout(() => ac.abort(), 20);
  await assert.rejects(p, { code: ErrorCode.Cancelled });
  assert.ok(Date.now() - started < 1000);
});

test('a retry aborted while it backs off names the operation, not the sleep', async () => {
  const ac = new AbortController();
  const p = withRetry(async () => {
    throw new CoordinationError(ErrorCode.Unavailable, 'down');
  }, { config: { ...cfg, initialDelayMs: 10_000, maxDelayMs: 10_000 }, operation: 'config.get app.name', idempotent: true, signal: ac.signal });
  setTimeout(() => ac.abort(), 20);
  await assert.rejects(p, { code: ErrorCode.Cancelled, message: 'config.get app.name: aborted' });
});

test('sleep rejects at once on an aborted signal, TIMEOUT_ERROR for AbortSignal.timeout', async () => {
  await assert.rejects(sleep(10, AbortSignal.abort()), { code: ErrorCode.Cancelled });
  await assert.rejects(sleep(5_000, AbortSignal.timeout(10)), { code: ErrorCode.Timeout });
  await sleep(1);
});

test('withRetry never retries a bug (TypeError from the operation): one attempt, INTERNAL_ERROR with the TypeError as cause', async () => {
  let calls = 0;
  const bug = new TypeError("Cannot read properties of undefined (reading 'connection')");
  await assert.rejects(
    withRetry(async () => {
      calls++;
      throw bug;
    }, { config: cfg, operation: 'op', idempotent: true }),
    (err: CoordinationError) => err.code === ErrorCode.Internal && err.cause === bug,
  );
  assert.equal(calls, 1);
});
