// Pure parts of the lock: input validation, key layout, range bounds, linked signals.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ErrorCode } from '../../src/index.js';
import { prefixEnd } from '../../src/client/prefix-end.js';
import { bareKey, contenderKey, isContenderKey, lockPrefix } from '../../src/lock/keys.js';
import { newestTwo } from '../../src/shared/fair-queue.js';
import { leaseHex } from '../../src/shared/kept-lease.js';
import { linkSignals } from '../../src/shared/signals.js';
import { validateLockKey, validateTtl } from '../../src/lock/validate.js';
import { MAX_TTL_MS } from '../../src/ttl.js';
import { checkTtlMs } from '../../src/ttl.js';
import { resolveAllocate } from '../../src/ids/validate.js';
import { validService } from '../../src/registry/validation.js';

test('lock keys follow Go concurrency.Mutex: <ns>/locks/<key>/<lease hex>', () => {
  const prefix = lockPrefix('/gochat/locks/', 'orders/42');
  assert.equal(prefix, '/gochat/locks/orders/42/');
  assert.equal(contenderKey(prefix, leaseHex('7587882335436530187')), '/gochat/locks/orders/42/694d92c82127e20b');
  assert.equal(lockPrefix('/locks/', 'k'), '/locks/k/');
});

test("gochat's TryAcquire key is the bare path.Join(prefix, key); contender keys end in their lease's hex", () => {
  assert.equal(bareKey('/locks/orders/42/'), '/locks/orders/42');
  assert.equal(isContenderKey('/locks/orders/694d92c82127e20b', '7587882335436530187'), true);
  assert.equal(isContenderKey('/locks/orders/42', '7587882335436530187'), false);
  assert.equal(isContenderKey('/locks/orders/0', '0'), false);
});

test('prefixEnd is the first key after every key with the prefix', () => {
  assert.deepEqual(prefixEnd(Buffer.from('a/')), Buffer.from('a0'));
  assert.deepEqual(prefixEnd(Buffer.from([0x61, 0xff])), Buffer.from('b'));
  assert.deepEqual(prefixEnd(Buffer.from([0xff, 0xff])), Buffer.from([0]));
});

test('newestTwo reads ours and the one just ahead, newest first', () => {
  const req = newestTwo('p/', 17n);
  assert.equal(req.limit, 2);
  assert.equal(req.sort_target, 'CREATE');
  assert.equal(req.sort_order, 'DESCEND');
  assert.equal(req.max_create_revision, 17n);
  assert.equal(newestTwo('p/').max_create_revision, undefined);
});

test('key validation rejects empty, slash-ended, NUL, non-string and oversized keys', () => {
  for (const bad of ['', '/a', 'a/', 'a//b', 'a/./b', '..', 'a/..', 'a\0', 1, null, undefined, {}, 'x'.repeat(1025)]) {
    assert.throws(() => validateLockKey(bad), { code: ErrorCode.Validation }, String(bad));
  }
  for (const ok of ['a', 'a/b', 'orders:42', 'ü']) validateLockKey(ok);
});

test('ttl validation accepts integer ms in [1000, 1 year]', () => {
  for (const bad of [0, -1, Number.NaN, Infinity, 999, 1000.5, MAX_TTL_MS + 1, '1000', null]) {
    assert.throws(() => validateTtl(bad), { code: ErrorCode.Validation }, String(bad));
  }
  for (const ok of [1000, 1001, MAX_TTL_MS]) validateTtl(ok);
});

test('a sub-second TTL (seconds meant) is VALIDATION_ERROR saying TTLs are milliseconds, the same text everywhere', () => {
  assert.throws(() => validateTtl(30), (err: Error & { code: string }) => err.code === ErrorCode.Validation && /TTLs are milliseconds/.test(err.message));
  assert.throws(() => checkTtlMs(30, 'x'), /TTLs are milliseconds/);
  assert.throws(() => resolveAllocate({ ttlMs: 30 }, 'ids.allocate p'), /ttlMs must be an integer number of milliseconds .*TTLs are milliseconds/);
  assert.throws(() => validService({ id: 'a', name: 'b', address: 'h', port: 1, ttlMs: 30 }), /ttlMs must be an integer number of milliseconds .*TTLs are milliseconds/);
  assert.throws(() => validService({ id: 'a', name: 'b', address: 'h', port: 1, ttl: 30_000 }), /ttlMs is required .*`ttl` was renamed/);
});

test('linkSignals aborts with the first reason and detaches from its sources on dispose', () => {
  const a = new AbortController();
  const b = new AbortController();
  const linked = linkSignals(a.signal, undefined, b.signal);
  b.abort('b first');
  a.abort('a later');
  assert.equal(linked.signal.reason, 'b first');

  const c = new AbortController();
  const other = linkSignals(c.signal);
  other.dispose();
  c.abort('after dispose');
  assert.equal(other.signal.aborted, false);

  const pre = linkSignals(AbortSignal.abort('already'));
  assert.equal(pre.signal.reason, 'already');
});
