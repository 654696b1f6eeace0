// Pure parts of the lock: input validation, key layout, range bounds, linked signals.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ErrorCode } from '../../src/index.js';
import { prefixEnd } from '../../src/client/prefix-end.js';
import { contenderKey, lockPrefix, newestTwo } from '../../src/lock/keys.js';
import { linkSignals } from '../../src/lock/signals.js';
import { MAX_LOCK_TTL_MS, validateLockKey, validateTtl } from '../../src/lock/validate.js';

test('lock keys follow Go concurrency.Mutex: <ns>/locks/<key>/<lease hex>', () => {
  const prefix = lockPrefix('gochat/', 'orders/42');
  assert.equal(prefix, 'gochat/locks/orders/42/');
  assert.equal(contenderKey(prefix, '7587882335436530187'), 'gochat/locks/orders/42/694d92c82127e20b');
  assert.equal(lockPrefix('', 'k'), 'locks/k/');
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
  assert.equal(req.max_create_revision, '17');
  assert.equal(newestTwo('p/').max_create_revision, undefined);
});

test('key validation rejects empty, slash-ended, NUL, non-string and oversized keys', () => {
  for (const bad of ['', '/a', 'a/', 'a\0', 1, null, undefined, {}, 'x'.repeat(1025)]) {
    assert.throws(() => validateLockKey(bad), { code: ErrorCode.Validation }, String(bad));
  }
  for (const ok of ['a', 'a/b', 'orders:42', 'ü']) validateLockKey(ok);
});

test('ttl validation accepts (0, 1 year] ms', () => {
  for (const bad of [0, -1, Number.NaN, Infinity, MAX_LOCK_TTL_MS + 1, '1000', null]) {
    assert.throws(() => validateTtl(bad), { code: ErrorCode.Validation }, String(bad));
  }
  for (const ok of [1, 999.5, 1000, MAX_LOCK_TTL_MS]) validateTtl(ok);
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
