// The hand-written KV, Lease and Watch codecs (kv-codec.ts, lease-codec.ts, watch-codec.ts on
// wire.ts) against protobufjs's reflection codec built
// from etcd's protos: what one encodes the other decodes to the same message, for random messages
// covering every field (63-bit and negative int64s, empty and large bytes, nested txns, unknown fields).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import protobuf from 'protobufjs';
import { ETCD_PROTO } from '../../src/client/grpc/etcd-proto.js';
import { KV, KV_REFLECTED, Lease, LEASE_REFLECTED, Watch } from '../../src/client/grpc/codec.js';
import type * as M from '../../src/client/grpc/messages.js';
import { Reader, Writer } from '../../src/client/grpc/wire.js';

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
  return t.toObject(t.decode(bytes), TO_OBJECT);
};

// ---- random messages (a fixed seed, so a failure reproduces) ----

let seed = 20261127;
function rnd(): number {
  seed = (seed * 1103515245 + 12345) % 2147483648;
  return seed / 2147483648;
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
  return Buffer.from(Array.from({ length: n }, () => Math.floor(rnd() * 256)));
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

const header = (): object => ({ cluster_id: uint64(), member_id: uint64(), revision: int64(), raft_term: uint64() });
const keyValue = (): object => ({ key: bytes(), create_revision: int64(), mod_revision: int64(), version: int64(), value: bytes(), lease: int64() });
const some = <T>(make: () => T): T[] => Array.from({ length: Math.floor(rnd() * 4) }, make);
const rangeResponse = (): object => ({ ...(maybe(0.9) && { header: header() }), kvs: some(keyValue), more: maybe(), count: int64() });
const putResponse = (): object => ({ ...(maybe(0.9) && { header: header() }), ...(maybe() && { prev_kv: keyValue() }) });
const deleteResponse = (): object => ({ ...(maybe(0.9) && { header: header() }), deleted: int64(), prev_kvs: some(keyValue) });
function responseOp(depth: number): object {
  const kind = pick(depth < 2 ? [0, 1, 2, 3, 4] : [0, 1, 2, 4]);
  if (kind === 0) return { response_range: rangeResponse() };
  if (kind === 1) return { response_put: putResponse() };
  if (kind === 2) return { response_delete_range: deleteResponse() };
  if (kind === 3) return { response_txn: txnResponse(depth + 1) };
  return {};
}
function txnResponse(depth = 0): object {
  return { ...(maybe(0.9) && { header: header() }), succeeded: maybe(), responses: some(() => responseOp(depth)) };
}

const leaseGrantResponse = (): object => ({ ...(maybe(0.9) && { header: header() }), ID: int64(), TTL: int64(), ...(maybe(0.3) && { error: pick(['', 'lease not found', 'ünïcode']) }) });
const leaseKeepAliveResponse = (): object => ({ ...(maybe(0.9) && { header: header() }), ID: int64(), TTL: int64() });
const leaseTimeToLiveResponse = (): object => ({ ...(maybe(0.9) && { header: header() }), ID: int64(), TTL: int64(), grantedTTL: int64(), keys: some(bytes) });
const event = (): object => ({ ...(maybe(0.8) && { type: pick(['PUT', 'DELETE']) }), ...(maybe(0.9) && { kv: keyValue() }), ...(maybe(0.3) && { prev_kv: keyValue() }) });
const watchResponse = (): object => ({
  ...(maybe(0.9) && { header: header() }),
  watch_id: int64(),
  created: maybe(0.2),
  canceled: maybe(0.1),
  compact_revision: pick(['0', int64()]),
  cancel_reason: pick(['', 'mvcc: required revision has been compacted']),
  fragment: maybe(0.1),
  events: Array.from({ length: pick([0, 1, 3, 40]) }, event),
});

const ROUNDS = 400;

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
    ['etcdserverpb.LeaseGrantResponse', Lease.grant, leaseGrantResponse],
    ['etcdserverpb.LeaseRevokeResponse', Lease.revoke, () => ({ ...(maybe(0.9) && { header: header() }) })],
    ['etcdserverpb.LeaseKeepAliveResponse', Lease.keepAlive, leaseKeepAliveResponse],
    ['etcdserverpb.LeaseTimeToLiveResponse', Lease.timeToLive, leaseTimeToLiveResponse],
    ['etcdserverpb.WatchResponse', Watch.watch, watchResponse],
  ] as const;
  for (const [name, ours, make] of cases) {
    for (let i = 0; i < ROUNDS; i++) {
      const bytes = reference(name, make());
      assert.deepEqual((ours.decode as (b: Buffer) => unknown)(bytes), referenceDecode(name, bytes), `${name} #${i}`);
    }
  }
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
    ['etcdserverpb.RangeResponse', KV.range, rangeResponse],
    ['etcdserverpb.PutResponse', KV.put, putResponse],
    ['etcdserverpb.DeleteRangeResponse', KV.deleteRange, deleteResponse],
    ['etcdserverpb.TxnResponse', KV.txn, () => txnResponse()],
  ] as const;
  for (const [name, ours, make] of cases) {
    for (let i = 0; i < ROUNDS; i++) {
      const bytes = reference(name, make());
      assert.deepEqual(ours.decode(bytes), referenceDecode(name, bytes), `${name} #${i}`);
    }
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
  assert.equal(res.header.revision, '42');
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
  assert.throws(() => new Writer().reset().int64(1, 'not a number'), SyntaxError);
});

test('a value larger than the reused buffer encodes whole, and the next message is unaffected', () => {
  const value = Buffer.alloc(200 * 1024, 3);
  const big = referenceDecode('etcdserverpb.PutRequest', KV.put.encode({ key: Buffer.from('big'), value })) as { value: Buffer };
  assert.deepEqual(big.value, value);
  const small = referenceDecode('etcdserverpb.PutRequest', KV.put.encode({ key: Buffer.from('k'), value: Buffer.from('v') }));
  assert.deepEqual(small, referenceDecode('etcdserverpb.PutRequest', reference('etcdserverpb.PutRequest', { key: Buffer.from('k'), value: Buffer.from('v') })));
});
