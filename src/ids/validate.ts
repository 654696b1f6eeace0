// Input checks for the ID allocator: all run before anything is sent to etcd, and messages name the
// field and the bound, never anything the caller might consider private.
import { validationError } from '../errors.js';
import { checkTtlMs } from '../ttl.js';
import { DEFAULT_ALLOCATE_OPTIONS, type AllocateOptions } from './interface.js';

/** Most IDs one range may span: the allocator lists every taken ID of a pool. */
export const MAX_RANGE_SIZE = 1_000_000;
/** Longest pool name, in bytes (it is part of every key of the pool). */
export const MAX_POOL_NAME_BYTES = 128;

export interface ResolvedAllocate {
  min: number;
  max: number;
  ttlMs: number;
  preferred: number | undefined;
}

/** Pool names become one key segment: non-empty, no `/`, no control characters, bounded length. */
export function validatePool(pool: unknown, what: string): string {
  if (typeof pool !== 'string' || pool.length === 0) throw validationError(`${what}: pool name must be a non-empty string`);
  if (pool.includes('/')) throw validationError(`${what}: pool name must not contain "/"`);
  if (pool === '.' || pool === '..') throw validationError(`${what}: pool name must not be "." or ".."`);
  // eslint-disable-next-line no-control-regex
  if (/[\x00-\x1f\x7f]/.test(pool)) throw validationError(`${what}: pool name must not contain control characters`);
  if (Buffer.byteLength(pool) > MAX_POOL_NAME_BYTES) throw validationError(`${what}: pool name longer than ${MAX_POOL_NAME_BYTES} bytes`);
  return pool;
}

/** Fills defaults and checks the range, TTL and preferred ID. */
export function resolveAllocate(options: AllocateOptions, what: string): ResolvedAllocate {
  const { min, max, ttlMs } = { ...DEFAULT_ALLOCATE_OPTIONS, ...definedOnly(options) };
  if (!Number.isSafeInteger(min)) throw validationError(`${what}: min must be an integer`);
  if (!Number.isSafeInteger(max)) throw validationError(`${what}: max must be an integer`);
  if (min < 0) throw validationError(`${what}: min must be ≥ 0`);
  if (min > max) throw validationError(`${what}: min (${min}) > max (${max})`);
  if (max - min + 1 > MAX_RANGE_SIZE) throw validationError(`${what}: range ${min}..${max} spans more than ${MAX_RANGE_SIZE} IDs`);
  checkTtlMs(ttlMs, `${what}: ttlMs`);
  const preferred = options.preferred;
  if (preferred !== undefined && (!Number.isSafeInteger(preferred) || preferred < min || preferred > max)) {
    throw validationError(`${what}: preferred must be an integer in ${min}..${max}`);
  }
  return { min, max, ttlMs, preferred };
}

function definedOnly(options: AllocateOptions): Partial<Record<'min' | 'max' | 'ttlMs', number>> {
  const out: Partial<Record<'min' | 'max' | 'ttlMs', number>> = {};
  if (options.min !== undefined) out.min = options.min;
  if (options.max !== undefined) out.max = options.max;
  if (options.ttlMs !== undefined) out.ttlMs = options.ttlMs;
  return out;
}
