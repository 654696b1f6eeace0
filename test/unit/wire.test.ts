// wire.ts on its own: what Writer.int64 takes (and refuses), and varints at the ten-byte limit on
// every reader path. kv-codec.test.ts holds the same edges to protobufjs on random messages.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Reader, WIRE_VARINT, Writer, type Int64Input } from '../../src/client/grpc/wire.js';

const written = (v: Int64Input): Buffer => {
  const w = new Writer().reset();
  w.int64(1, v);
  return w.finish();
};

/** A varint of `value` (below 2^53) spread over `width` bytes. */
function spread(value: number, width: number): Buffer {
  const out = Buffer.alloc(width, 0x80);
  for (let i = 0; i < width; i++) {
    out[i] = (value % 128) | (i < width - 1 ? 0x80 : 0);
    value = Math.floor(value / 128);
  }
  return out;
}

test('int64: a decimal string, a safe integer and a bigint of the same value are the same bytes', () => {
  for (const [text, n, big] of [
    ['0', 0, 0n],
    ['300', 300, 300n],
    ['-1', -1, -1n],
    ['9007199254740991', Number.MAX_SAFE_INTEGER, 9007199254740991n],
    ['-9007199254740991', -Number.MAX_SAFE_INTEGER, -9007199254740991n],
  ] as const) {
    assert.deepEqual(written(n), written(text), text);
    assert.deepEqual(written(big), written(text), text);
  }
  assert.deepEqual(written('9223372036854775807'), written(2n ** 63n - 1n));
  assert.deepEqual(written('-9223372036854775808'), written(-(2n ** 63n)));
  // Leading zeros and '-0' are still decimal integers.
  assert.deepEqual(written('007'), written(7));
  assert.deepEqual(written('-0'), written(0));
  assert.deepEqual(written('-000000000000000000000042'), written(-42));
  assert.equal(written('-1').length, 1 + 10, 'a negative int64 is ten bytes of two’s complement');
});

test('int64: anything else is a TypeError or RangeError that names the value', () => {
  for (const v of ['', '-', ' 12', '12 ', '+3', '1e3', '0x10', '0b1', '1.5', '1_000', 'abc', '١٢']) {
    assert.throws(() => written(v), { name: 'TypeError', message: `protobuf: int64 value ${JSON.stringify(v)} is not a decimal integer` });
  }
  for (const v of [1.5, NaN, Infinity, -Infinity]) assert.throws(() => written(v), TypeError, String(v));
  for (const v of [2 ** 53, -(2 ** 53), 1e21]) assert.throws(() => written(v), { name: 'RangeError', message: /not a safe integer: pass it as a decimal string/ });
  // Even right after its text was written (as a string or a bigint, both exact): 2^53 as a number is not.
  written('9007199254740992');
  written(-(2n ** 53n));
  for (const v of [2 ** 53, -(2 ** 53)]) assert.throws(() => written(v), { name: 'RangeError', message: /not a safe integer/ });
  for (const v of ['9223372036854775808', '-9223372036854775809', '18446744073709551615', 2n ** 63n, -(2n ** 63n) - 1n]) {
    assert.throws(() => written(v), { name: 'RangeError', message: /out of range/ }, String(v));
  }
  for (const v of [undefined, null, true, {}]) assert.throws(() => written(v as unknown as Int64Input), TypeError, String(v));
});

test('varints: ten bytes read as the value they carry, an eleventh is an invalid encoding', () => {
  const tagged = (body: Buffer): Reader => {
    const r = new Reader(Buffer.concat([Buffer.from([(1 << 3) | WIRE_VARINT]), body]));
    assert.equal(r.uint32(), (1 << 3) | WIRE_VARINT);
    return r;
  };
  const invalid = { name: 'RangeError', message: /invalid varint encoding/ };
  for (const width of [1, 5, 6, 8, 10]) {
    assert.equal(tagged(spread(5, width)).uint32(), 5, `uint32 in ${width}`);
    assert.equal(tagged(spread(5, width)).int64(true), '5', `int64 in ${width}`);
    assert.equal(tagged(spread(5, width)).bigint(), 5n, `bigint in ${width}`);
    const r = tagged(spread(5, width));
    r.skip(WIRE_VARINT);
    assert.ok(r.done, `skip of ${width}`);
  }
  // An int32 enum below zero comes as ten bytes; uint32 keeps its low 32 bits.
  const minusOne = written(-1).subarray(1);
  assert.equal(tagged(minusOne).uint32(), 0xffffffff);
  assert.equal(tagged(minusOne).int64(true), '-1');
  assert.equal(tagged(minusOne).int64(false), '18446744073709551615');
  assert.equal(tagged(minusOne).bigint(), -1n);
  for (const body of [spread(5, 11), spread(0, 11), Buffer.concat([Buffer.alloc(10, 0xff), Buffer.from([0x01])])]) {
    assert.throws(() => tagged(body).uint32(), invalid);
    assert.throws(() => tagged(body).int64(true), invalid);
    assert.throws(() => tagged(body).bigint(), invalid);
    assert.throws(() => tagged(body).skip(WIRE_VARINT), invalid);
  }
  // A truncated varint is still the end of the message, not this.
  assert.throws(() => tagged(Buffer.alloc(3, 0x80)).int64(true), { name: 'RangeError', message: /runs past the end/ });
  assert.throws(() => tagged(Buffer.alloc(9, 0x80)).bigint(), { name: 'RangeError', message: /runs past the end/ });
});

test('bigint: an int64 read as a bigint is exact on both sides of the seven-byte (2^49) short path', () => {
  const read = (v: Int64Input): bigint => {
    const r = new Reader(written(v));
    assert.equal(r.uint32(), (1 << 3) | WIRE_VARINT);
    const got = r.bigint();
    assert.ok(r.done, `the whole varint of ${String(v)} is read`);
    return got;
  };
  for (const v of [0n, 1n, 127n, 128n, 2n ** 49n - 1n, 2n ** 49n, 2n ** 49n + 1n, 2n ** 53n + 1n, 2n ** 63n - 1n, -1n, -(2n ** 63n), 7587870915349862154n]) {
    assert.equal(read(v), v, String(v));
    assert.equal(read(v.toString()), v, `${v} as text`);
    assert.equal(read(v), BigInt(new Reader(written(v), 1).int64(true)), `${v} as int64(true)`);
  }
});

test('int64: a 64-bit value read again comes from the cache unchanged, and neither sign nor a neighbour is confused with it', () => {
  const id = 14841639068965178418n;
  const bytes = written(BigInt.asIntN(64, id)); // above 2^63: sent as its negative int64, ten bytes
  const signed = BigInt.asIntN(64, id).toString();
  for (let round = 0; round < 3; round++) {
    assert.equal(new Reader(bytes, 1).int64(false), id.toString());
    assert.equal(new Reader(bytes, 1).int64(true), signed);
    assert.equal(new Reader(written(BigInt.asIntN(64, id + 1n)), 1).int64(false), (id + 1n).toString());
  }
  // The same bytes inside a larger buffer, at an offset: compared in place.
  const inside = Buffer.concat([Buffer.from([0x08, 0x01]), bytes]);
  assert.equal(new Reader(inside, 3).int64(false), id.toString());
});
