import { test } from 'node:test';
import assert from 'node:assert/strict';
import { freeCandidates } from '../../src/ids/candidates.js';
import { prefixEnd } from '../../src/client/prefix-end.js';
import { idKey, ownerText, ownerValue, parseId } from '../../src/ids/keys.js';
import { MAX_RANGE_SIZE, resolveAllocate, validatePool } from '../../src/ids/validate.js';
import { ErrorCode } from '../../src/index.js';

const fixed = (x: number) => () => x;

test('freeCandidates yields every free ID once, from a random start, wrapping around', () => {
  const ids = [...freeCandidates(1, 6, new Set([2, 5]), undefined, fixed(0.5))];
  assert.deepEqual(ids, [4, 6, 1, 3]);
});

test('freeCandidates puts a free preferred ID first and does not repeat it', () => {
  const ids = [...freeCandidates(1, 6, new Set([2]), 5, fixed(0))];
  assert.deepEqual(ids, [5, 1, 3, 4, 6]);
});

test('freeCandidates skips a taken preferred ID', () => {
  assert.deepEqual([...freeCandidates(1, 3, new Set([2]), 2, fixed(0))], [1, 3]);
});

test('freeCandidates of a full range is empty; random() = 1 stays in range', () => {
  assert.deepEqual([...freeCandidates(1, 2, new Set([1, 2]))], []);
  assert.deepEqual([...freeCandidates(7, 9, new Set(), undefined, fixed(1))], [9, 7, 8]);
});

test('freeCandidates is lazy: the first ID of a million-ID range comes at once', () => {
  const it = freeCandidates(0, MAX_RANGE_SIZE - 1, new Set());
  assert.equal(typeof it.next().value, 'number');
});

test('parseId accepts plain decimals under the prefix only', () => {
  assert.equal(parseId('ns/ids/p/42', 'ns/ids/p/'), 42);
  assert.equal(parseId('ns/ids/p/0', 'ns/ids/p/'), 0);
  for (const k of ['ns/ids/p/042', 'ns/ids/p/-1', 'ns/ids/p/1.5', 'ns/ids/p/x', 'ns/ids/p/', 'ns/ids/q/1', 'ns/ids/p/1/2']) {
    assert.equal(parseId(k, 'ns/ids/p/'), undefined, k);
  }
  assert.equal(idKey('ids/', 'gateway', 7), 'ids/gateway/7');
});

test('prefixEnd increments the last byte (and drops trailing 0xff)', () => {
  assert.deepEqual(prefixEnd(Buffer.from('a/')), Buffer.from('a0'));
  assert.deepEqual(prefixEnd(Buffer.from([0x61, 0xff])), Buffer.from([0x62]));
  assert.deepEqual(prefixEnd(Buffer.from([0xff])), Buffer.from([0]));
});

test('the owner value names host and pid only, and reads back as host:pid', () => {
  const v = ownerValue(new Date(0));
  assert.deepEqual(Object.keys(v).sort(), ['host', 'pid', 'since']);
  assert.equal(ownerText(JSON.stringify(v)), `${v.host}:${process.pid}`);
  assert.equal(ownerText('not json'), '');
  assert.equal(ownerText('{"host":1}'), '');
});

test('resolveAllocate fills defaults 1..1023, 10 s', () => {
  assert.deepEqual(resolveAllocate({}, 'x'), { min: 1, max: 1023, ttlMs: 10_000, preferred: undefined });
  assert.deepEqual(resolveAllocate({ min: 0, max: MAX_RANGE_SIZE - 1, preferred: 0, ttlMs: 1000 }, 'x'), {
    min: 0,
    max: MAX_RANGE_SIZE - 1,
    ttlMs: 1000,
    preferred: 0,
  });
});

test('resolveAllocate rejects bad ranges, TTLs and preferred IDs with VALIDATION_ERROR', () => {
  const bad = [
    { min: 2, max: 1 },
    { min: 0.5 },
    { max: Infinity },
    { min: -3, max: 3 },
    { min: 1, max: MAX_RANGE_SIZE + 1 },
    { ttlMs: -1 },
    { ttlMs: Number.NaN },
    { ttlMs: 365 * 24 * 3600 * 1000 + 1 },
    { ttlMs: 999 },
    { preferred: 1024 },
    { preferred: Number.NaN },
    { min: '1' as unknown as number },
  ];
  for (const o of bad) assert.throws(() => resolveAllocate(o, 'x'), { code: ErrorCode.Validation }, JSON.stringify(o));
});

test('validatePool rejects empty names, slashes, control characters and long names', () => {
  assert.equal(validatePool('gateway', 'x'), 'gateway');
  assert.equal(validatePool('x'.repeat(128), 'x').length, 128);
  for (const p of ['', 'a/b', 'a\0b', 'a\nb', 'x'.repeat(129), 'é'.repeat(65), 42 as unknown as string]) {
    assert.throws(() => validatePool(p, 'x'), { code: ErrorCode.Validation }, JSON.stringify(p));
  }
});
