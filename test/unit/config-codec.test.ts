// Pure logic of the config center: key checks, value encoding/decoding, schema checks, prefix ends.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { z } from 'zod';
import * as zm from 'zod/mini';
import { ErrorCode, type ConfigSchema } from '../../src/index.js';
import { checkKey, checkSchema, decodeValue, encodeValue, parseWith, MAX_VALUE_BYTES } from '../../src/config/codec.js';
import { prefixEnd } from '../../src/client/prefix-end.js';

const invalid = { code: ErrorCode.Validation };

test('checkKey accepts ordinary keys, rejects empty, NUL, non-strings and very long keys', () => {
  assert.equal(checkKey('app/db.host'), 'app/db.host');
  assert.equal(checkKey('', 'prefix', true), '');
  assert.throws(() => checkKey(''), invalid);
  assert.throws(() => checkKey('a\0b'), invalid);
  assert.throws(() => checkKey(undefined), invalid);
  assert.throws(() => checkKey('k'.repeat(5000)), invalid);
});

test('encodeValue writes JSON; strings stay quoted so "8080" reads back as a string', () => {
  assert.equal(encodeValue('k', '8080').toString(), '"8080"');
  assert.equal(encodeValue('k', { a: [1, null, true] }).toString(), '{"a":[1,null,true]}');
  assert.equal(decodeValue(encodeValue('k', '8080')), '8080');
  assert.equal(encodeValue('k', { a: undefined, b: 1 }).toString(), '{"b":1}', 'undefined properties drop like JSON');
  assert.equal(encodeValue('k', new Date(0)).toString(), '"1970-01-01T00:00:00.000Z"');
});

test('encodeValue rejects what JSON cannot carry faithfully, naming the path but not the value', () => {
  const circular: unknown[] = [];
  circular.push(circular);
  for (const value of [undefined, () => 1, Symbol('s'), 1n, NaN, Infinity, [undefined], { deep: { f: Symbol('x') } }, circular]) {
    assert.throws(() => encodeValue('k', value), invalid);
  }
  assert.throws(() => encodeValue('k', { deep: { n: 2n } }), /at \.deep\.n/);
  assert.throws(() => encodeValue('k', 'x'.repeat(MAX_VALUE_BYTES)), /limit/);
  assert.doesNotThrow(() => encodeValue('k', 'x'.repeat(MAX_VALUE_BYTES - 2)));
  const shared = { x: 1 };
  assert.doesNotThrow(() => encodeValue('k', [shared, shared]), 'a repeated (non-circular) object is fine');
});

test('decodeValue parses JSON and falls back to the raw text', () => {
  assert.deepEqual(decodeValue(Buffer.from('{"a":1}')), { a: 1 });
  assert.equal(decodeValue(Buffer.from('plain')), 'plain');
  assert.equal(decodeValue(Buffer.from('')), '');
  assert.equal(decodeValue(Buffer.from('42')), 42);
});

/** A Standard Schema written by hand, no library: a positive integer port. */
const portSchema: ConfigSchema<number> = {
  '~standard': {
    version: 1,
    vendor: 'hand-written',
    validate: (v) =>
      typeof v === 'number' && Number.isInteger(v) && v > 0 ? { value: v } : { issues: [{ message: 'must be a positive integer', path: [{ key: 'port' }] }] },
  },
};

test('checkSchema accepts any Standard Schema (zod classic, zod mini, hand-written), nothing else', () => {
  assert.doesNotThrow(() => checkSchema(z.string()));
  assert.doesNotThrow(() => checkSchema(zm.string()));
  assert.doesNotThrow(() => checkSchema(portSchema));
  for (const bad of [undefined, {}, { parse: () => 1 }, 'string', { '~standard': { version: 2, validate: () => ({ value: 1 }) } }]) {
    assert.throws(() => checkSchema(bad as unknown as ConfigSchema<unknown>), invalid);
  }
});

test('a hand-written Standard Schema: value through, issues as VALIDATION_ERROR with the path', () => {
  const port: number = parseWith(portSchema, 'k', 8080);
  assert.equal(port, 8080);
  assert.throws(() => parseWith(portSchema, 'k', -1), (err: Error & { code: string }) => err.code === ErrorCode.Validation && / at port: must be a positive integer/.test(err.message));
});

test('a schema that validates asynchronously is refused (VALIDATION_ERROR), not awaited', () => {
  const asyncSchema: ConfigSchema<number> = { '~standard': { version: 1, vendor: 'x', validate: async (v) => ({ value: v as number }) } };
  assert.throws(() => parseWith(asyncSchema, 'k', 1), (err: Error & { code: string }) => err.code === ErrorCode.Validation && /synchronously/.test(err.message));
});

test('zod output types flow through ConfigSchema<T> (compile-time check)', () => {
  const schema = z.object({ port: z.number(), host: z.string().default('localhost') });
  const parsed = parseWith(schema, 'k', { port: 1 });
  const typed: { port: number; host: string } = parsed;
  assert.deepEqual(typed, { port: 1, host: 'localhost' });
});

test('parseWith returns parsed data or VALIDATION_ERROR with the path, never the value', () => {
  const schema = z.object({ port: z.number() });
  assert.deepEqual(parseWith(schema, 'k', { port: 1 }), { port: 1 });
  assert.throws(
    () => parseWith(schema, 'k', { port: 'SECRET-VALUE' }),
    (err: Error & { code: string }) => err.code === ErrorCode.Validation && /port/.test(err.message) && !err.message.includes('SECRET-VALUE'),
  );
});

test('prefixEnd is the first key after every key with the prefix', () => {
  assert.deepEqual(prefixEnd(Buffer.from('a/')), Buffer.from('a0'));
  assert.deepEqual(prefixEnd(Buffer.from([0x61, 0xff])), Buffer.from([0x62]));
  assert.deepEqual(prefixEnd(Buffer.from([0xff])), Buffer.from([0]));
});
