// How config keys and values are checked, stored and read back. Everything here runs before a
// request is sent, so bad input never reaches etcd. Error messages name keys, never values.
import { validationError } from '../errors.js';
import { isCleanPath } from '../layout.js';
import type { ConfigSchema } from './interface.js';

/** Largest encoded value we write (etcd's default request limit is 1.5 MiB). */
export const MAX_VALUE_BYTES = 1024 * 1024;
/** Longest key, in UTF-8 bytes. */
export const MAX_KEY_BYTES = 4096;

/** Checks a config key; `allowEmpty` for prefixes (`list('')`, a watch of everything). */
export function checkKey(key: unknown, what = 'key', allowEmpty = false): string {
  if (typeof key !== 'string') throw validationError(`config ${what} must be a string`);
  if (key.length === 0 && !allowEmpty) throw validationError(`config ${what} must not be empty`);
  if (key.includes('\0')) throw validationError(`config ${what} must not contain NUL`);
  if (Buffer.byteLength(key) > MAX_KEY_BYTES) throw validationError(`config ${what} is longer than ${MAX_KEY_BYTES} bytes`);
  // Go builds the key with path.Join("/config", key): only keys it leaves as they are meet Go's.
  const path = allowEmpty ? key.replace(/\/$/, '') : key;
  if (path !== '' && !isCleanPath(path)) {
    throw validationError(`config ${what} must be a clean path like "app/db" (no leading "/", "//", "." or ".." segments)`);
  }
  return key;
}

/**
 * JSON-encodes a value. Rejects what JSON would silently change or cannot carry: undefined at
 * the top or in arrays, functions, symbols, BigInt, NaN/Infinity, cycles; and values over 1 MiB.
 */
export function encodeValue(key: string, value: unknown): Buffer {
  const seen = new Set<object>();
  const check = (v: unknown, path: string, inArray: boolean): void => {
    switch (typeof v) {
      case 'undefined':
        if (path === '' || inArray) throw validationError(`config value for ${key}${where(path)} is undefined`);
        return;
      case 'function':
      case 'symbol':
      case 'bigint':
        throw validationError(`config value for ${key}${where(path)} is a ${typeof v}, which JSON cannot hold`);
      case 'number':
        if (!Number.isFinite(v)) throw validationError(`config value for ${key}${where(path)} is not a finite number`);
        return;
      case 'object': {
        if (v === null) return;
        if (seen.has(v)) throw validationError(`config value for ${key}${where(path)} is circular`);
        if (typeof (v as { toJSON?: unknown }).toJSON === 'function') return; // Date and friends encode themselves
        seen.add(v);
        if (Array.isArray(v)) v.forEach((item, i) => check(item, `${path}[${i}]`, true));
        else for (const [k, item] of Object.entries(v)) check(item, `${path}.${k}`, false);
        seen.delete(v);
        return;
      }
      default:
        return;
    }
  };
  check(value, '', false);
  const bytes = Buffer.from(JSON.stringify(value));
  if (bytes.length > MAX_VALUE_BYTES) throw validationError(`config value for ${key} is ${bytes.length} bytes encoded, above the ${MAX_VALUE_BYTES} limit`);
  return bytes;
}

const where = (path: string): string => (path ? ` at ${path}` : '');

/** Reads a stored value: JSON if it parses, else the raw text (etcdctl and Go services store plain strings). */
export function decodeValue(raw: Buffer | Uint8Array): unknown {
  const text = Buffer.from(raw.buffer, raw.byteOffset, raw.byteLength).toString('utf8');
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return text;
  }
}

/** A Standard Schema (zod 4, valibot, arktype…), checked before anything is read or written. */
export function checkSchema<T>(schema: ConfigSchema<T>): ConfigSchema<T> {
  const std = (schema as Partial<ConfigSchema<T>> | null | undefined)?.['~standard'];
  if (typeof std !== 'object' || std === null || std.version !== 1 || typeof std.validate !== 'function') {
    throw validationError('config schema must be a Standard Schema v1 validator (an object with ~standard.validate, e.g. a zod 4 schema)');
  }
  return schema;
}

/** Parses `value` with `schema`; VALIDATION_ERROR naming the key and the failing path (never the value). */
export function parseWith<T>(schema: ConfigSchema<T>, key: string, value: unknown): T {
  const result = schema['~standard'].validate(value);
  if (result instanceof Promise) {
    result.catch(() => undefined); // we do not wait for it; its outcome must not become an unhandled rejection
    throw validationError(`config schema for ${key} validates asynchronously; config schemas must validate synchronously`);
  }
  if (!result.issues) return result.value;
  const issue = result.issues[0];
  const segments = (issue?.path ?? []).map((p) => String(typeof p === 'object' && p !== null ? p.key : p));
  const path = segments.length ? ` at ${segments.join('.')}` : '';
  throw validationError(`config value for ${key} does not match the schema${path}: ${issue?.message ?? 'invalid'}`, result.issues);
}
