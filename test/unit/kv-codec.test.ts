// The hand-written KV, Lease and Watch codecs (kv-codec.ts, lease-codec.ts, watch-codec.ts on
// wire.ts) against protobufjs's reflection codec built
// from etcd's protos: what one encodes the other decodes to the same message, for random messages
// covering every field (63-bit and negative int64s, empty and large bytes, nested txns, unknown fields).
// Revisions (int64 fields named `*revision`) are bigints on our side, every other int64 a decimal
// string: the reference is protobufjs's toObject() with its revisions turned into bigints here, and
// codec.ts's own protobufjs path (Compact, Status, Auth, Watch requests) is held to the same answer.
// And the edges where we are stricter than protobufjs, on the same random messages: a response
// without its header, an event without its kv or of an unknown type, a varint over ten bytes, and an
// int64 given in a form protobufjs would quietly misread ('1e3' as 1, '0x10' as 0) all throw.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import protobuf from 'protobufjs';
import { ETCD_PROTO } from '../../src/client/grpc/etcd-proto.js';
import { KV, KV_REFLECTED, Lease, LEASE_REFLECTED, Watch, WATCH_REFLECTED } from '../../src/client/grpc/codec.js';
import type * as M from '../../src/client/grpc/messages.js';
import { Reader, Writer } from '../../src/client/grpc/wire.js';
import { hasKeysOnlyRange, keysOnlyAnswers } from '../../src/client/grpc/kv-codec.js';

const root = protobuf.Root.fromJSON(ETCD_PROTO as unknown as protobuf.INamespace);
const type = (name: string): protobuf.Type => root.lookupType(name);
/** protobufjs encoding of a plain object (int64 as strings, enums by name). */
const reference = (name: string, message: object): Buffer => {
  const t = type(name);
  return Buffer.from(t.encode(t.fromObject(message)).finish());
};
const TO_OBJECT = { longs: String, enums: String, defaults: true, arrays: true };
const referenceDecode = (name: string, bytes: Uint8Array): unknown => {
  const t = type(name);
  return bigRevisions(t.toObject(t.decode(bytes), TO_OBJECT));
};

/**
 * Every `*revision` in a toObject() result as a bigint (written apart from codec.ts's own, which
 * goes by the descriptor's field types: this one goes by the plain object alone).
 */
function bigRevisions(o: unknown): unknown {
  if (o === null || typeof o !== 'object' || Buffer.isBuffer(o)) return o;
  for (const [k, v] of Object.entries(o)) {
    if (k.endsWith('revision') && typeof v === 'string') (o as Record<string, unknown>)[k] = BigInt(v);
    else bigRevisions(v);
  }
  return o;
}

// ---- random messages (a fixed seed, so a failure reproduces) ----

// mulberry32: 32-bit state in integer arithmetic. (The LCG here before multiplied past 2^53 in
// doubles, lost bits, and kept to some 13,600 distinct states: most rounds repeated earlier messages.)
let seed = 20261127;
function rnd(): number {
  seed = (seed + 0x6d2b79f5) | 0;
  let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
  t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
  return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
}
const pick = <T>(xs: readonly T[]): T => xs[Math.floor(rnd() * xs.length)]!;
const maybe = (p = 0.5): boolean => rnd() < p;
function int64(): string {
  return pick([
    () => '0',
    () => String(Math.floor(rnd() * 200)),
    () => String(Math.floor(rnd() * 2 ** 40)),
    () => String(BigInt(Math.floor(rnd() * 2 ** 31)) * 2n ** 32n + BigInt(Math.floor(rnd() * 2 ** 32))), // 63 bits
    () => String(-Math.floor(rnd() * 2 ** 40) - 1),
    () => '9223372036854775807',
    () => '-9223372036854775808',
  ])();
}
const uint64 = (): string => pick(['0', '1', String(Math.floor(rnd() * 2 ** 50)), '18446744073709551615', '14841639068965178418']);
function bytes(): Buffer {
  const n = pick([0, 1, 5, 17, 130, 300, 20000]);
  // One draw per value, the bytes from a xorshift on it: drawing each byte was most of this file's time.
  const b = Buffer.allocUnsafe(n);
  let x = Math.floor(rnd() * 2 ** 32) | 1;
  for (let i = 0; i < n; i++) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    b[i] = x & 0xff;
  }
  return b;
}

function rangeRequest(): M.RangeRequest {
  const r: M.RangeRequest = { key: bytes() };
  if (maybe()) r.range_end = bytes();
  if (maybe()) r.limit = int64();
  if (maybe()) r.revision = int64();
  if (maybe()) r.sort_order = pick(['NONE', 'ASCEND', 'DESCEND'] as const);
  if (maybe()) r.sort_target = pick(['KEY', 'VERSION', 'CREATE', 'MOD', 'VALUE'] as const);
  for (const f of ['serializable', 'keys_only', 'count_only'] as const) if (maybe()) r[f] = maybe();
  for (const f of ['min_mod_revision', 'max_mod_revision', 'min_create_revision', 'max_create_revision'] as const) if (maybe(0.3)) r[f] = int64();
  return r;
}
function putRequest(): M.PutRequest {
  const r: M.PutRequest = { key: bytes() };
  if (maybe()) r.value = bytes();
  if (maybe()) r.lease = pick([int64(), 0, 12345]);
  for (const f of ['prev_kv', 'ignore_value', 'ignore_lease'] as const) if (maybe()) r[f] = maybe();
  return r;
}
function deleteRequest(): M.DeleteRangeRequest {
  const r: M.DeleteRangeRequest = { key: bytes() };
  if (maybe()) r.range_end = bytes();
  if (maybe()) r.prev_kv = maybe();
  return r;
}
function compare(): M.Compare {
  const c: M.Compare = { key: bytes(), target: pick(['VERSION', 'CREATE', 'MOD', 'VALUE', 'LEASE'] as const), result: pick(['EQUAL', 'GREATER', 'LESS', 'NOT_EQUAL'] as const) };
  if (maybe()) c.range_end = bytes();
  // One member of the target_union oneof (zero included: a set member is sent even when zero).
  const member = pick(['version', 'create_revision', 'mod_revision', 'value', 'lease'] as const);
  if (member === 'value') c.value = bytes();
  else c[member] = pick([int64(), 0]);
  return c;
}
function requestOp(depth: number): M.RequestOp {
  const kind = pick(depth < 2 ? [0, 1, 2, 3] : [0, 1, 2]);
  if (kind === 0) return { request_range: rangeRequest() };
  if (kind === 1) return { request_put: putRequest() };
  if (kind === 2) return { request_delete_range: deleteRequest() };
  return { request_txn: txnRequest(depth + 1) };
}
function txnRequest(depth = 0): M.TxnRequest {
  const n = (): number => Math.floor(rnd() * 4);
  const t: M.TxnRequest = {};
  if (maybe(0.8)) t.compare = Array.from({ length: n() }, compare);
  if (maybe(0.8)) t.success = Array.from({ length: n() }, () => requestOp(depth));
  if (maybe(0.8)) t.failure = Array.from({ length: n() }, () => requestOp(depth));
  return t;
}

/** Headers are left out now and then, anywhere, to hold the decoders to throwing for each. */
const HEADER_ODDS = 0.97;
const header = (): object => ({ cluster_id: uint64(), member_id: uint64(), revision: int64(), raft_term: uint64() });
const keyValue = (): object => ({ key: bytes(), create_revision: int64(), mod_revision: int64(), version: int64(), value: bytes(), lease: int64() });
const some = <T>(make: () => T): T[] => Array.from({ length: Math.floor(rnd() * 4) }, make);
const rangeResponse = (): object => ({ ...(maybe(HEADER_ODDS) && { header: header() }), kvs: some(keyValue), more: maybe(), count: int64() });
const putResponse = (): object => ({ ...(maybe(HEADER_ODDS) && { header: header() }), ...(maybe() && { prev_kv: keyValue() }) });
const deleteResponse = (): object => ({ ...(maybe(HEADER_ODDS) && { header: header() }), deleted: int64(), prev_kvs: some(keyValue) });
function responseOp(depth: number): object {
  const kind = pick(depth < 2 ? [0, 1, 2, 3, 4] : [0, 1, 2, 4]);
  if (kind === 0) return { response_range: rangeResponse() };
  if (kind === 1) return { response_put: putResponse() };
  if (kind === 2) return { response_delete_range: deleteResponse() };
  if (kind === 3) return { response_txn: txnResponse(depth + 1) };
  return {};
}
function txnResponse(depth = 0): object {
  return { ...(maybe(HEADER_ODDS) && { header: header() }), succeeded: maybe(), responses: some(() => responseOp(depth)) };
}

const leaseGrantResponse = (): object => ({ ...(maybe(HEADER_ODDS) && { header: header() }), ID: int64(), TTL: int64(), ...(maybe(0.3) && { error: pick(['', 'lease not found', 'ünïcode']) }) });
const leaseKeepAliveResponse = (): object => ({ ...(maybe(HEADER_ODDS) && { header: header() }), ID: int64(), TTL: int64() });
const leaseTimeToLiveResponse = (): object => ({ ...(maybe(HEADER_ODDS) && { header: header() }), ID: int64(), TTL: int64(), grantedTTL: int64(), keys: some(bytes) });
/** An event type as etcd sends it, or rarely one this version does not know (-1 takes ten bytes). */
const eventType = (): string | number => (maybe(0.99) ? pick(['PUT', 'DELETE']) : pick([2, 7, 300, -1]));
const event = (): object => ({ ...(maybe(0.8) && { type: eventType() }), ...(maybe(0.997) && { kv: keyValue() }), ...(maybe(0.3) && { prev_kv: keyValue() }) });
const watchResponse = (): object => ({
  ...(maybe(HEADER_ODDS) && { header: header() }),
  watch_id: int64(),
  created: maybe(0.2),
  canceled: maybe(0.1),
  compact_revision: pick(['0', int64()]),
  cancel_reason: pick(['', 'mvcc: required revision has been compacted']),
  fragment: maybe(0.1),
  events: Array.from({ length: pick([0, 1, 3, 40]) }, event),
});

const ROUNDS = 400;

// ---- where protobufjs's answer is not one of our message types ----

/**
 * What in protobufjs's toObject() result our types would have to lie about: a null header or event
 * kv, an event type left as a number. Each is the text of the error our decoders throw instead.
 */
function untruths(o: unknown, out: string[] = []): string[] {
  if (o === null || typeof o !== 'object' || Buffer.isBuffer(o)) return out;
  for (const [k, v] of Object.entries(o)) {
    if (k === 'header' && v === null) out.push('without its header');
    else if (k === 'kv' && v === null) out.push('without its kv');
    else if (k === 'type' && typeof v === 'number') out.push(`of unknown type ${v}`);
    else untruths(v, out);
  }
  return out;
}

/**
 * Ours decodes `bytes` exactly as protobufjs does, or throws for one of the untruths in its answer.
 * `reflected`, codec.ts's protobufjs decoder of the same message, gives the same answer too.
 */
function decodesAsReference(name: string, decode: (b: Buffer) => unknown, bytes: Buffer, label: string, reflected?: (b: Buffer) => unknown): string {
  const expected = referenceDecode(name, bytes);
  const lies = untruths(expected);
  if (lies.length === 0) {
    assert.deepEqual(decode(bytes), expected, label);
    if (reflected) assert.deepEqual(reflected(bytes), expected, `${label} (codec.ts's protobufjs path)`);
    return 'same';
  }
  let message = '';
  assert.throws(
    () => decode(bytes),
    (err: Error) => err instanceof RangeError && lies.some((l) => (message = err.message).endsWith(l)),
    `${label}: expected an error for ${lies.join(', ')}`,
  );
  return message;
}

/** Counts outcomes, so a test can check its random messages reached every edge it is about. */
class Tally {
  private readonly outcomes: string[] = [];
  add(outcome: string): void {
    this.outcomes.push(outcome);
  }
  expect(...edges: string[]): void {
    assert.ok(this.outcomes.includes('same'), 'no message decoded normally');
    for (const edge of edges) assert.ok(this.outcomes.some((o) => o.includes(edge)), `no message hit the edge '${edge}'`);
  }
}

test('lease requests: protobufjs decodes what we encode to the message it would encode itself', () => {
  const cases = [
    ['etcdserverpb.LeaseGrantRequest', Lease.grant, LEASE_REFLECTED.grant, () => ({ TTL: pick([int64(), 10, 0]), ...(maybe() && { ID: pick([int64(), 0]) }) })],
    ['etcdserverpb.LeaseRevokeRequest', Lease.revoke, LEASE_REFLECTED.revoke, () => ({ ID: pick([int64(), 7]) })],
    ['etcdserverpb.LeaseKeepAliveRequest', Lease.keepAlive, LEASE_REFLECTED.keepAlive, () => ({ ID: int64() })],
    ['etcdserverpb.LeaseTimeToLiveRequest', Lease.timeToLive, LEASE_REFLECTED.timeToLive, () => ({ ID: int64(), ...(maybe() && { keys: maybe() }) })],
  ] as const;
  for (const [name, ours, theirs, make] of cases) {
    for (let i = 0; i < ROUNDS; i++) {
      const message = make();
      const mine = referenceDecode(name, (ours.encode as (m: unknown) => Uint8Array)(message));
      assert.deepEqual(mine, referenceDecode(name, (theirs.encode as (m: unknown) => Uint8Array)(message)), `${name} #${i}`);
    }
  }
});

test('lease and watch responses: we decode what protobufjs encodes exactly as its toObject() does', () => {
  const cases = [
    ['etcdserverpb.LeaseGrantResponse', Lease.grant, LEASE_REFLECTED.grant, leaseGrantResponse],
    ['etcdserverpb.LeaseRevokeResponse', Lease.revoke, LEASE_REFLECTED.revoke, () => ({ ...(maybe(HEADER_ODDS) && { header: header() }) })],
    ['etcdserverpb.LeaseKeepAliveResponse', Lease.keepAlive, LEASE_REFLECTED.keepAlive, leaseKeepAliveResponse],
    ['etcdserverpb.LeaseTimeToLiveResponse', Lease.timeToLive, LEASE_REFLECTED.timeToLive, leaseTimeToLiveResponse],
    ['etcdserverpb.WatchResponse', Watch.watch, WATCH_REFLECTED.watch, watchResponse],
  ] as const;
  const tally = new Tally();
  for (const [name, ours, theirs, make] of cases) {
    for (let i = 0; i < ROUNDS; i++) tally.add(decodesAsReference(name, ours.decode, reference(name, make()), `${name} #${i}`, theirs.decode));
  }
  tally.expect('without its header', 'without its kv', 'of unknown type');
});

test('requests: protobufjs decodes what we encode to the message it would encode itself', () => {
  const cases = [
    ['etcdserverpb.RangeRequest', KV.range, KV_REFLECTED.range, rangeRequest],
    ['etcdserverpb.PutRequest', KV.put, KV_REFLECTED.put, putRequest],
    ['etcdserverpb.DeleteRangeRequest', KV.deleteRange, KV_REFLECTED.deleteRange, deleteRequest],
    ['etcdserverpb.TxnRequest', KV.txn, KV_REFLECTED.txn, () => txnRequest()],
  ] as const;
  for (const [name, ours, theirs, make] of cases) {
    for (let i = 0; i < ROUNDS; i++) {
      const message = make();
      const mine = referenceDecode(name, (ours.encode as (m: unknown) => Uint8Array)(message));
      const expected = referenceDecode(name, (theirs.encode as (m: unknown) => Uint8Array)(message));
      assert.deepEqual(mine, expected, `${name} #${i}`);
    }
  }
});

test('responses: we decode what protobufjs encodes exactly as its toObject() does', () => {
  const cases = [
    ['etcdserverpb.RangeResponse', KV.range, KV_REFLECTED.range, rangeResponse],
    ['etcdserverpb.PutResponse', KV.put, KV_REFLECTED.put, putResponse],
    ['etcdserverpb.DeleteRangeResponse', KV.deleteRange, KV_REFLECTED.deleteRange, deleteResponse],
    ['etcdserverpb.TxnResponse', KV.txn, KV_REFLECTED.txn, () => txnResponse()],
  ] as const;
  const tally = new Tally();
  for (const [name, ours, theirs, make] of cases) {
    for (let i = 0; i < ROUNDS; i++) tally.add(decodesAsReference(name, ours.decode, reference(name, make()), `${name} #${i}`, theirs.decode));
  }
  tally.expect('without its header');
});

test('revisions decode as bigints (63-bit and negative exactly), every other int64 as a decimal string, in both codecs', () => {
  const big = '7587870915349862154';
  const kv = { key: Buffer.from('k'), create_revision: big, mod_revision: '-5', version: '3', value: Buffer.from('v'), lease: big };
  const head = { cluster_id: '14841639068965178418', member_id: '1', revision: '562949953421312', raft_term: '2' }; // 2^49: eight bytes
  const range = reference('etcdserverpb.RangeResponse', { header: head, kvs: [kv], count: '1' });
  const watch = reference('etcdserverpb.WatchResponse', { header: head, watch_id: '4', compact_revision: '562949953421311', events: [{ type: 'PUT', kv }] });
  const headWant = { cluster_id: '14841639068965178418', member_id: '1', revision: 562949953421312n, raft_term: '2' };
  const kvWant = { key: Buffer.from('k'), create_revision: 7587870915349862154n, mod_revision: -5n, version: '3', value: Buffer.from('v'), lease: big };
  for (const [label, decode] of [['hand', KV.range.decode], ['protobufjs', KV_REFLECTED.range.decode]] as const) {
    assert.deepEqual(decode(range), { header: headWant, kvs: [kvWant], more: false, count: '1' }, label);
  }
  for (const [label, decode] of [['hand', Watch.watch.decode], ['protobufjs', WATCH_REFLECTED.watch.decode]] as const) {
    const res = decode(watch);
    assert.equal(res.compact_revision, 562949953421311n, label);
    assert.equal(res.watch_id, '4', label);
    assert.deepEqual(res.events, [{ type: 'PUT', kv: kvWant, prev_kv: null }], label);
  }
  // Defaults too: an absent revision is 0n, not '0'.
  assert.deepEqual(KV.put.decode(Buffer.from([0x0a, 0x00])).header, { cluster_id: '0', member_id: '0', revision: 0n, raft_term: '0' });
  assert.deepEqual(KV_REFLECTED.put.decode(Buffer.from([0x0a, 0x00])).header, { cluster_id: '0', member_id: '0', revision: 0n, raft_term: '0' });
});

// ---- varints over ten bytes ----

/** Where a varint sits: protobufjs throws for an over-long one only where it reads 64 bits. */
type VarintKind = 'tag' | 'length' | 'int64' | 'uint32';
interface VarintTarget {
  /** Varints still to pass before the one to spread (negative: none, just count). */
  left: number;
  seen: number;
  kind?: VarintKind;
  field?: string;
}

/** `raw` (a varint) spread over `width` bytes: continuation bits on, zero groups, a final 0x00. */
function spread(raw: Uint8Array, width: number): Buffer {
  if (width <= raw.length) return Buffer.from(raw);
  const out = Buffer.alloc(width, 0x80);
  out.set(raw);
  out[raw.length - 1]! |= 0x80;
  out[width - 1] = 0;
  return out;
}

/** A length as a (shortest) varint. */
function canonical(n: number): Buffer {
  const out: number[] = [];
  for (; n > 0x7f; n = Math.floor(n / 128)) out.push((n % 128) | 0x80);
  out.push(n);
  return Buffer.from(out);
}

/**
 * `bytes`, a message of type `t`, re-encoded with its varint number `target.left` (in wire order,
 * tags and lengths included, nested messages too) spread over `width` bytes. Protobufjs reads the
 * message to walk it; lengths of the messages around the spread varint are recomputed.
 */
function widen(t: protobuf.Type, bytes: Uint8Array, target: VarintTarget, width: number): Buffer {
  const r = protobuf.Reader.create(bytes);
  const out: Buffer[] = [];
  const next = (kind: VarintKind, field: string): boolean => {
    target.seen++;
    if (target.left-- !== 0) return false;
    target.kind = kind;
    target.field = `${t.name}.${field}`;
    return true;
  };
  while (r.pos < r.len) {
    const start = r.pos;
    const tag = r.uint32();
    const field = t.fieldsById[tag >>> 3];
    const name = field?.name ?? `#${tag >>> 3}`;
    out.push(next('tag', name) ? spread(bytes.subarray(start, r.pos), width) : Buffer.from(bytes.subarray(start, r.pos)));
    if ((tag & 7) === 0) {
      const at = r.pos;
      r.skip();
      const kind = field && /int64$/.test(field.type) ? 'int64' : 'uint32';
      out.push(next(kind, name) ? spread(bytes.subarray(at, r.pos), width) : Buffer.from(bytes.subarray(at, r.pos)));
    } else if ((tag & 7) === 2) {
      const length = r.uint32();
      const body = bytes.subarray(r.pos, r.pos + length);
      r.skip(length);
      const hit = next('length', name); // the length comes first on the wire
      const inner = field?.resolvedType instanceof protobuf.Type ? widen(field.resolvedType, body, target, width) : Buffer.from(body);
      out.push(hit ? spread(canonical(inner.length), width) : canonical(inner.length), inner);
    } else throw new Error(`unexpected wire type ${tag & 7} in a reference encoding`);
  }
  return Buffer.concat(out);
}

test('a varint spread over ten bytes reads as it did; over eleven, it throws (both codecs where protobufjs reads 64 bits)', () => {
  const cases = [
    ['etcdserverpb.RangeResponse', KV.range, rangeResponse],
    ['etcdserverpb.PutResponse', KV.put, putResponse],
    ['etcdserverpb.DeleteRangeResponse', KV.deleteRange, deleteResponse],
    ['etcdserverpb.TxnResponse', KV.txn, () => txnResponse()],
    ['etcdserverpb.LeaseGrantResponse', Lease.grant, leaseGrantResponse],
    ['etcdserverpb.LeaseKeepAliveResponse', Lease.keepAlive, leaseKeepAliveResponse],
    ['etcdserverpb.LeaseTimeToLiveResponse', Lease.timeToLive, leaseTimeToLiveResponse],
    ['etcdserverpb.WatchResponse', Watch.watch, watchResponse],
  ] as const;
  const kinds = new Set<VarintKind>();
  const tally = new Tally();
  for (const [name, ours, make] of cases) {
    const t = type(name);
    for (let i = 0; i < ROUNDS / 4; i++) {
      // A message with a varint, and none of the edges above (they could throw first).
      let bytes: Buffer;
      const count: VarintTarget = { left: -1, seen: 0 };
      do {
        bytes = reference(name, make());
        count.seen = 0;
        assert.deepEqual(widen(t, bytes, count, 0), bytes, 'the walk re-encodes a message as it was');
      } while (count.seen === 0 || untruths(referenceDecode(name, bytes)).length > 0);
      const at = Math.floor(rnd() * count.seen);
      // Ten bytes: the longest a varint may be; both codecs read the value it had.
      const ten = widen(t, bytes, { left: at, seen: 0 }, 10);
      tally.add(decodesAsReference(name, ours.decode, ten, `${name} #${i}, varint ${at} in ten bytes`));
      // Eleven: malformed.
      const target: VarintTarget = { left: at, seen: 0 };
      const eleven = widen(t, bytes, target, 11);
      const label = `${name} #${i}: ${target.kind} of ${target.field} in eleven bytes`;
      assert.throws(() => ours.decode(eleven), { name: 'RangeError', message: /invalid varint encoding/ }, label);
      // protobufjs reads other varints as 32 bits: five bytes, five skipped unseen, the rest misread.
      if (target.kind === 'int64') assert.throws(() => referenceDecode(name, eleven), /invalid varint encoding/, label);
      kinds.add(target.kind!);
    }
  }
  assert.deepEqual([...kinds].sort(), ['int64', 'length', 'tag', 'uint32']);
  tally.expect();
});

test('a skipped field with a varint over ten bytes throws too', () => {
  const unknown = Buffer.from([0x0a, 0x00, (15 << 3) | 0, ...spread(Buffer.from([0x05]), 11)]);
  assert.throws(() => KV.range.decode(unknown), { name: 'RangeError', message: /invalid varint encoding/ });
  const fine = Buffer.from([0x0a, 0x00, (15 << 3) | 0, ...spread(Buffer.from([0x05]), 10)]);
  assert.deepEqual(KV.range.decode(fine), referenceDecode('etcdserverpb.RangeResponse', fine));
});

// ---- int64 in requests: the forms an int64 field can hold, and nothing else ----

const INT64_MAX = 2n ** 63n - 1n;
const INT64_MIN = -(2n ** 63n);

/** An int64 as callers may write it: a decimal string (leading zeros, '-0' too), a safe integer or a bigint. */
function int64Form(): M.Int64 {
  const v = BigInt(int64());
  return pick<() => M.Int64>([
    () => v,
    () => pick([0n, -0n, 1n, BigInt(Number.MAX_SAFE_INTEGER), BigInt(Number.MAX_SAFE_INTEGER) + 1n, -1n]),
    () => v.toString(),
    () => (v < 0n ? `-${'0'.repeat(1 + Math.floor(rnd() * 3))}${-v}` : `${'0'.repeat(1 + Math.floor(rnd() * 3))}${v}`),
    () => '-0',
    () => Math.floor((rnd() - 0.5) * 2 * Number.MAX_SAFE_INTEGER),
    () => pick([Number.MAX_SAFE_INTEGER, -Number.MAX_SAFE_INTEGER, 0, -0]),
  ])();
}

/** A value an int64 field cannot hold as given, and the error it must be. */
function badInt64(): [M.Int64, ErrorConstructor] {
  const v = BigInt(int64());
  const digits = String(v < 0n ? -v : v);
  const at = Math.floor(rnd() * (digits.length + 1));
  return pick<() => [M.Int64, ErrorConstructor]>([
    () => [`${digits.slice(0, at)}${pick(['e', 'E', '.', ' ', '_', 'x', 'n', '\n', '٣'])}${digits.slice(at)}`, TypeError],
    () => [pick(['', '-', '+3', ' 12', '12 ', '1e3', '0x10', '0b1', '0o7', '1.5', '1.0', 'Infinity', 'NaN', '--1', '1-']), TypeError],
    () => [`+${digits}`, TypeError],
    () => [(INT64_MAX + 1n + BigInt(Math.floor(rnd() * 2 ** 40))).toString(), RangeError],
    () => [(INT64_MIN - 1n - BigInt(Math.floor(rnd() * 2 ** 40))).toString(), RangeError],
    () => [pick(['18446744073709551615', '99999999999999999999999']), RangeError],
    () => [Math.floor(rnd() * 1e6) + pick([0.5, 0.25, 1e-9]), TypeError],
    () => [pick([NaN, Infinity, -Infinity]), TypeError],
    () => [pick([2 ** 53, -(2 ** 53), 2 ** 63, 1e21]), RangeError],
    () => [pick([INT64_MAX + 1n, INT64_MIN - 1n, 2n ** 64n - 1n, 2n ** 70n]), RangeError],
  ])();
}

/** Every request field that is an int64, through our encoder and protobufjs's. */
const INT64_FIELDS = [
  ['etcdserverpb.RangeRequest', KV.range, KV_REFLECTED.range, (v: M.Int64): object => ({ key: Buffer.from('k'), revision: v, limit: v, min_mod_revision: v })],
  ['etcdserverpb.PutRequest', KV.put, KV_REFLECTED.put, (v: M.Int64): object => ({ key: Buffer.from('k'), lease: v })],
  ['etcdserverpb.TxnRequest', KV.txn, KV_REFLECTED.txn, (v: M.Int64): object => ({ compare: [{ key: Buffer.from('k'), target: 'MOD', result: 'EQUAL', mod_revision: v }] })],
  ['etcdserverpb.LeaseGrantRequest', Lease.grant, LEASE_REFLECTED.grant, (v: M.Int64): object => ({ TTL: v, ID: v })],
  ['etcdserverpb.LeaseKeepAliveRequest', Lease.keepAlive, LEASE_REFLECTED.keepAlive, (v: M.Int64): object => ({ ID: v })],
] as const;

/** int64 request fields that only codec.ts's protobufjs path encodes (it turns bigints into text first). */
const REFLECTED_INT64_FIELDS = [
  ['etcdserverpb.WatchRequest', WATCH_REFLECTED.watch, (v: M.Int64): object => ({ create_request: { key: Buffer.from('k'), start_revision: v, watch_id: v, filters: ['NOPUT'] } })],
  ['etcdserverpb.WatchRequest', WATCH_REFLECTED.watch, (v: M.Int64): object => ({ cancel_request: { watch_id: v } })],
  ['etcdserverpb.CompactionRequest', KV.compact, (v: M.Int64): object => ({ revision: v, physical: true })],
] as const;

test('int64 in requests: every form a caller may use encodes as protobufjs encodes its value', () => {
  const bigints = { ours: 0, reflected: 0 };
  for (let i = 0; i < ROUNDS; i++) {
    const [name, ours, theirs, make] = pick(INT64_FIELDS);
    const v = int64Form();
    // protobufjs gets the plain decimal: its parser takes '-0' and leading zeros too, but is the reference only for values.
    const plain = typeof v === 'number' ? v : BigInt(v).toString();
    const label = `${name} #${i} ${typeof v} ${String(v)}`;
    const expected = referenceDecode(name, (theirs.encode as (m: unknown) => Uint8Array)(make(plain)));
    assert.deepEqual(referenceDecode(name, (ours.encode as (m: unknown) => Uint8Array)(make(v))), expected, label);
    if (typeof v !== 'bigint') continue;
    bigints.ours++;
    // codec.ts's protobufjs path takes a bigint too (protobufjs alone would send it as 0).
    assert.deepEqual(referenceDecode(name, (theirs.encode as (m: unknown) => Uint8Array)(make(v))), expected, `${label} (codec.ts's protobufjs path)`);
  }
  for (let i = 0; i < ROUNDS / 4; i++) {
    const [name, reflected, make] = pick(REFLECTED_INT64_FIELDS);
    const v = BigInt(int64());
    const encode = reflected.encode as (m: unknown) => Uint8Array;
    assert.deepEqual(referenceDecode(name, encode(make(v))), referenceDecode(name, reference(name, make(v.toString()))), `${name} #${i} ${v}n`);
    if (v !== 0n) bigints.reflected++;
  }
  assert.ok(bigints.ours > 0 && bigints.reflected > 0, 'no bigint reached the encoders');
});

test('int64 in requests: anything else throws, every time, where protobufjs would send a wrong number', () => {
  const lax = type('etcdserverpb.PutRequest');
  const laxRead = (v: string): unknown => (referenceDecode('etcdserverpb.PutRequest', lax.encode(lax.fromObject({ lease: v })).finish()) as { lease: string }).lease;
  assert.deepEqual(['1e3', '0x10', '1.5', '+3', '9223372036854775808'].map(laxRead), ['1', '0', '1', '3', '-9223372036854775808']);
  for (let i = 0; i < ROUNDS; i++) {
    const [name, ours, , make] = pick(INT64_FIELDS);
    const [v, error] = badInt64();
    const label = `${name} #${i} ${typeof v} ${JSON.stringify(String(v))}`;
    // Twice: a value that failed once must not be remembered as encoded (the big-varint cache).
    for (let twice = 0; twice < 2; twice++) assert.throws(() => (ours.encode as (m: unknown) => Uint8Array)(make(v)), error, label);
    // The shared writer is still fine for the next message.
    const after = KV.put.encode({ key: Buffer.from('k'), lease: '7587870915349862154' });
    assert.deepEqual(referenceDecode('etcdserverpb.PutRequest', after), referenceDecode('etcdserverpb.PutRequest', reference('etcdserverpb.PutRequest', { key: Buffer.from('k'), lease: '7587870915349862154' })), label);
  }
});

test('fields a newer etcd may add are skipped, whatever their wire type', () => {
  const w = new Writer().reset();
  w.int64(3, '42'); // revision
  w.int64(15, '7'); // unknown varint
  w.bytes(16, Buffer.from('future')); // unknown length-delimited
  const fixed = Buffer.from([(13 << 3) | 1, 1, 2, 3, 4, 5, 6, 7, 8, (14 << 3) | 5, 1, 2, 3, 4]); // fixed64, fixed32
  const headerBytes = Buffer.concat([w.finish(), fixed]);
  const res = KV.range.decode(Buffer.concat([Buffer.from([0x0a, headerBytes.length]), headerBytes]));
  assert.equal(res.header.revision, 42n);
});

test('a truncated message is an error, not a wrong answer', () => {
  const full = reference('etcdserverpb.RangeResponse', { header: header(), kvs: [keyValue()], count: '1' });
  for (const cut of [1, 3, full.length - 1]) assert.throws(() => KV.range.decode(full.subarray(0, cut)), RangeError);
});

test('a nested message of 128 bytes or more gets a longer length prefix', () => {
  const value = Buffer.alloc(300, 7);
  const bytes = KV.txn.encode({ success: [{ request_put: { key: Buffer.from('k'), value } }] });
  const back = referenceDecode('etcdserverpb.TxnRequest', bytes) as { success: Array<{ request_put: { value: Buffer } }> };
  assert.deepEqual(back.success[0]!.request_put.value, value);
});

test('int64 text: the same bytes give the same text, signed and unsigned apart', () => {
  const w = new Writer().reset();
  w.int64(1, '-1');
  const r = new Reader(w.finish());
  r.uint32();
  assert.equal(r.int64(true), '-1');
  const u = new Reader(w.finish());
  u.uint32();
  assert.equal(u.int64(false), '18446744073709551615');
  assert.throws(() => new Writer().reset().int64(1, 'not a number'), TypeError);
});

test('a value larger than the reused buffer encodes whole, and the next message is unaffected', () => {
  const value = Buffer.alloc(200 * 1024, 3);
  const big = referenceDecode('etcdserverpb.PutRequest', KV.put.encode({ key: Buffer.from('big'), value })) as { value: Buffer };
  assert.deepEqual(big.value, value);
  const small = referenceDecode('etcdserverpb.PutRequest', KV.put.encode({ key: Buffer.from('k'), value: Buffer.from('v') }));
  assert.deepEqual(small, referenceDecode('etcdserverpb.PutRequest', reference('etcdserverpb.PutRequest', { key: Buffer.from('k'), value: Buffer.from('v') })));
});

// etcd 3.7 answers a keys-only range from its index: key and revisions only (etcd PR #21791). Ours
// drop value and lease on every server, so a test on 3.4/3.5 sees what 3.7 sends.
const KEY_REVISION_FIELDS = ['create_revision', 'key', 'mod_revision', 'version'];

test('a keys-only range decodes to key and revisions, without the value and lease an older etcd sends', () => {
  const kv = { key: Buffer.from('/locks/a/694d'), create_revision: '7', mod_revision: '9', version: '2', value: Buffer.from('secret'), lease: '7587870915349862154' };
  const head = header();
  const bytes = reference('etcdserverpb.RangeResponse', { header: head, kvs: [kv, kv], more: true, count: '5' });
  const res = KV.rangeKeysOnly.decode(bytes);
  assert.equal(res.kvs.length, 2);
  for (const k of res.kvs) {
    assert.deepEqual(Object.keys(k).sort(), KEY_REVISION_FIELDS);
    assert.deepEqual(k, { key: kv.key, create_revision: 7n, mod_revision: 9n, version: '2' });
  }
  assert.equal(res.more, true);
  assert.equal(res.count, '5');
  // What etcd 3.7 itself sends (no value, no lease on the wire) decodes to the same.
  const v37 = reference('etcdserverpb.RangeResponse', { header: head, kvs: [{ ...kv, value: undefined, lease: undefined }, kv], more: true, count: '5' });
  assert.deepEqual(KV.rangeKeysOnly.decode(v37), res);
  // A full read keeps both.
  assert.equal(KV.range.decode(bytes).kvs[0]!.lease, kv.lease);
});

test('a txn answer: the ranges of the branch that ran that were keys-only lose value and lease, nested txns too, the rest keep them', () => {
  const kv = { key: Buffer.from('k'), create_revision: '3', mod_revision: '4', version: '1', value: Buffer.from('v'), lease: '12' };
  const range = { header: header(), kvs: [kv], count: '1' };
  const request: M.TxnRequest = {
    success: [{ request_range: { key: kv.key, keys_only: true } }, { request_range: { key: kv.key } }],
    failure: [
      { request_range: { key: kv.key } },
      { request_txn: { success: [{ request_range: { key: kv.key, keys_only: true } }] } },
      { request_range: { key: kv.key, keys_only: true } },
    ],
  };
  const answer = (succeeded: boolean, responses: object[]) => reference('etcdserverpb.TxnResponse', { header: header(), succeeded, responses });
  const rpc = (bytes: Buffer) => keysOnlyAnswers(KV.txn.decode(bytes), request);
  const ok = rpc(answer(true, [{ response_range: range }, { response_range: range }]));
  assert.deepEqual(Object.keys(ok.responses[0]!.response_range!.kvs[0]!).sort(), KEY_REVISION_FIELDS);
  assert.equal((ok.responses[1]!.response_range!.kvs[0] as M.KeyValue).lease, '12');
  const nested = { header: header(), succeeded: true, responses: [{ response_range: range }] };
  const failed = rpc(answer(false, [{ response_range: range }, { response_txn: nested }, { response_range: range }]));
  assert.equal((failed.responses[0]!.response_range!.kvs[0] as M.KeyValue).value.toString(), 'v');
  assert.deepEqual(Object.keys(failed.responses[1]!.response_txn!.responses[0]!.response_range!.kvs[0]!).sort(), KEY_REVISION_FIELDS);
  assert.deepEqual(Object.keys(failed.responses[2]!.response_range!.kvs[0]!).sort(), KEY_REVISION_FIELDS);
  assert.equal(hasKeysOnlyRange(request), true);
  assert.equal(hasKeysOnlyRange({ success: [{ request_range: { key: kv.key } }], failure: [{ request_txn: { success: [{ request_put: { key: kv.key } }] } }] }), false);
  assert.equal(hasKeysOnlyRange({ failure: [{ request_txn: { failure: [{ request_range: { key: kv.key, keys_only: true } }] } }] }), true);
});
