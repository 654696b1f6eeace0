// etcd's KV messages (proto/rpc.proto, proto/kv.proto: Range, Put, DeleteRange, Txn and what they
// nest), encoded and decoded by hand on wire.ts: every lock, config and registry call is one of
// these, and this costs a fraction of protobufjs's reflection codec. Field numbers and enum values
// are etcd's; the results are exactly what codec.ts's protobufjs path gives (toObject(), then
// revisions as bigints: null for an absent message, defaults for absent scalars;
// test/unit/kv-codec.test.ts checks both ways), except where that would be a lie about our types:
// a response without its header throws (see headed).
import type * as M from './messages.js';
import { decoder, encoder, isZero, Reader, WIRE_BYTES, WIRE_VARINT, Writer } from './wire.js';

// ---- enums (etcd's values) ----

const SORT_ORDER: Record<string, number> = { NONE: 0, ASCEND: 1, DESCEND: 2 };
const SORT_TARGET: Record<string, number> = { KEY: 0, VERSION: 1, CREATE: 2, MOD: 3, VALUE: 4 };
const COMPARE_RESULT: Record<string, number> = { EQUAL: 0, GREATER: 1, LESS: 2, NOT_EQUAL: 3 };
const COMPARE_TARGET: Record<string, number> = { VERSION: 0, CREATE: 1, MOD: 2, VALUE: 3, LEASE: 4 };

function enumValue(values: Record<string, number>, name: string | number, what: string): number {
  if (typeof name === 'number') return name;
  const v = values[name];
  if (v === undefined) throw new TypeError(`unknown ${what} ${name}`);
  return v;
}

// ---- requests ----

/** Scalars are written only when set and not the proto3 default (etcd reads absent as default). */
function writeRange(w: Writer, r: M.RangeRequest): void {
  if (r.key?.length) w.bytes(1, r.key);
  if (r.range_end?.length) w.bytes(2, r.range_end);
  if (!isZero(r.limit)) w.int64(3, r.limit!);
  if (!isZero(r.revision)) w.int64(4, r.revision!);
  if (r.sort_order !== undefined) w.int64(5, enumValue(SORT_ORDER, r.sort_order, 'sort_order'));
  if (r.sort_target !== undefined) w.int64(6, enumValue(SORT_TARGET, r.sort_target, 'sort_target'));
  if (r.serializable) w.bool(7, true);
  if (r.keys_only) w.bool(8, true);
  if (r.count_only) w.bool(9, true);
  if (r.min_mod_revision !== undefined) w.int64(10, r.min_mod_revision);
  if (r.max_mod_revision !== undefined) w.int64(11, r.max_mod_revision);
  if (r.min_create_revision !== undefined) w.int64(12, r.min_create_revision);
  if (r.max_create_revision !== undefined) w.int64(13, r.max_create_revision);
}

function writePut(w: Writer, r: M.PutRequest): void {
  if (r.key?.length) w.bytes(1, r.key);
  if (r.value?.length) w.bytes(2, r.value);
  if (!isZero(r.lease)) w.int64(3, r.lease!);
  if (r.prev_kv) w.bool(4, true);
  if (r.ignore_value) w.bool(5, true);
  if (r.ignore_lease) w.bool(6, true);
}

function writeDeleteRange(w: Writer, r: M.DeleteRangeRequest): void {
  if (r.key?.length) w.bytes(1, r.key);
  if (r.range_end?.length) w.bytes(2, r.range_end);
  if (r.prev_kv) w.bool(3, true);
}

function writeCompare(w: Writer, c: M.Compare): void {
  w.int64(1, enumValue(COMPARE_RESULT, c.result, 'compare result'));
  w.int64(2, enumValue(COMPARE_TARGET, c.target, 'compare target'));
  if (c.key?.length) w.bytes(3, c.key);
  // target_union is a oneof: a member that is set is sent even when zero.
  if (c.version !== undefined) w.int64(4, c.version);
  if (c.create_revision !== undefined) w.int64(5, c.create_revision);
  if (c.mod_revision !== undefined) w.int64(6, c.mod_revision);
  if (c.value !== undefined) w.bytes(7, c.value);
  if (c.lease !== undefined) w.int64(8, c.lease);
  if (c.range_end?.length) w.bytes(64, c.range_end);
}

function writeOp(w: Writer, op: M.RequestOp): void {
  if (op.request_range) w.message(1, op.request_range, writeRange);
  if (op.request_put) w.message(2, op.request_put, writePut);
  if (op.request_delete_range) w.message(3, op.request_delete_range, writeDeleteRange);
  if (op.request_txn) w.message(4, op.request_txn, writeTxn);
}

function writeTxn(w: Writer, t: M.TxnRequest): void {
  if (t.compare) for (const c of t.compare) w.message(1, c, writeCompare);
  if (t.success) for (const op of t.success) w.message(2, op, writeOp);
  if (t.failure) for (const op of t.failure) w.message(3, op, writeOp);
}

export const encodeRangeRequest = encoder(writeRange);
export const encodePutRequest = encoder(writePut);
export const encodeDeleteRangeRequest = encoder(writeDeleteRange);
export const encodeTxnRequest = encoder(writeTxn);

// ---- responses ----

const EMPTY = Buffer.alloc(0);

/** A response as it is read: the header may not have come (yet). */
export type Unheaded<T extends { header: M.ResponseHeader }> = Omit<T, 'header'> & { header: M.ResponseHeader | undefined };

/**
 * The response once read, if its header came. etcd sends one with every response, nested ones in
 * a Txn included; callers read its revision (fencing tokens, watch starts), so a default 0n would
 * be a wrong answer and protobufjs's null a TypeError far from here: a response without is malformed.
 */
export function headed<T extends { header: M.ResponseHeader }>(m: Unheaded<T>, what: string): T {
  if (m.header === undefined) throw new RangeError(`protobuf: ${what} without its header`);
  return m as unknown as T; // every other field has its default from the start
}

export function readHeader(r: Reader): M.ResponseHeader {
  const h: M.ResponseHeader = { cluster_id: '0', member_id: '0', revision: 0n, raft_term: '0' };
  while (!r.done) {
    const tag = r.uint32();
    const wire = tag & 7;
    if (wire !== WIRE_VARINT) r.skip(wire);
    else if (tag >>> 3 === 1) h.cluster_id = r.int64(false);
    else if (tag >>> 3 === 2) h.member_id = r.int64(false);
    else if (tag >>> 3 === 3) h.revision = r.bigint();
    else if (tag >>> 3 === 4) h.raft_term = r.int64(false);
    else r.skip(wire);
  }
  return h;
}

export function readKeyValue(r: Reader): M.KeyValue {
  const kv: M.KeyValue = { key: EMPTY, create_revision: 0n, mod_revision: 0n, version: '0', value: EMPTY, lease: '0' };
  while (!r.done) {
    const tag = r.uint32();
    switch (tag) {
      case (1 << 3) | WIRE_BYTES:
        kv.key = r.bytes();
        break;
      case (2 << 3) | WIRE_VARINT:
        kv.create_revision = r.bigint();
        break;
      case (3 << 3) | WIRE_VARINT:
        kv.mod_revision = r.bigint();
        break;
      case (4 << 3) | WIRE_VARINT:
        kv.version = r.int64(true);
        break;
      case (5 << 3) | WIRE_BYTES:
        kv.value = r.bytes();
        break;
      case (6 << 3) | WIRE_VARINT:
        kv.lease = r.int64(true);
        break;
      default:
        r.skip(tag & 7);
    }
  }
  return kv;
}

/**
 * A key of a keys-only range: key and revisions, as etcd 3.7 gives them; a `value` or `lease` an
 * older etcd sends is skipped, so every server answers alike (messages.ts, KeyRevision).
 */
export function readKeyRevision(r: Reader): M.KeyRevision {
  const kv: M.KeyRevision = { key: EMPTY, create_revision: 0n, mod_revision: 0n, version: '0' };
  while (!r.done) {
    const tag = r.uint32();
    if (tag === ((1 << 3) | WIRE_BYTES)) kv.key = r.bytes();
    else if (tag === ((2 << 3) | WIRE_VARINT)) kv.create_revision = r.bigint();
    else if (tag === ((3 << 3) | WIRE_VARINT)) kv.mod_revision = r.bigint();
    else if (tag === ((4 << 3) | WIRE_VARINT)) kv.version = r.int64(true);
    else r.skip(tag & 7);
  }
  return kv;
}

/** Only the key and revisions of `kv` (a keys-only answer inside a Txn, read before we knew). */
export function keyRevision(kv: M.KeyRevision): M.KeyRevision {
  return { key: kv.key, create_revision: kv.create_revision, mod_revision: kv.mod_revision, version: kv.version };
}

function readRangeOf<K extends M.KeyRevision>(r: Reader, readKv: (r: Reader) => K): M.RangeResponse<K> {
  const m: Unheaded<M.RangeResponse<K>> = { kvs: [], header: undefined, more: false, count: '0' };
  while (!r.done) {
    const tag = r.uint32();
    if (tag === ((1 << 3) | WIRE_BYTES)) m.header = readHeader(r.nested());
    else if (tag === ((2 << 3) | WIRE_BYTES)) m.kvs.push(readKv(r.nested()));
    else if (tag === ((3 << 3) | WIRE_VARINT)) m.more = r.bool();
    else if (tag === ((4 << 3) | WIRE_VARINT)) m.count = r.int64(true);
    else r.skip(tag & 7);
  }
  return headed(m, 'RangeResponse');
}

const readRange = (r: Reader): M.RangeResponse => readRangeOf(r, readKeyValue);

function readPut(r: Reader): M.PutResponse {
  const m: Unheaded<M.PutResponse> = { header: undefined, prev_kv: null };
  while (!r.done) {
    const tag = r.uint32();
    if (tag === ((1 << 3) | WIRE_BYTES)) m.header = readHeader(r.nested());
    else if (tag === ((2 << 3) | WIRE_BYTES)) m.prev_kv = readKeyValue(r.nested());
    else r.skip(tag & 7);
  }
  return headed(m, 'PutResponse');
}

function readDeleteRange(r: Reader): M.DeleteRangeResponse {
  const m: Unheaded<M.DeleteRangeResponse> = { prev_kvs: [], header: undefined, deleted: '0' };
  while (!r.done) {
    const tag = r.uint32();
    if (tag === ((1 << 3) | WIRE_BYTES)) m.header = readHeader(r.nested());
    else if (tag === ((2 << 3) | WIRE_VARINT)) m.deleted = r.int64(true);
    else if (tag === ((3 << 3) | WIRE_BYTES)) m.prev_kvs.push(readKeyValue(r.nested()));
    else r.skip(tag & 7);
  }
  return headed(m, 'DeleteRangeResponse');
}

function readOp(r: Reader): M.ResponseOp {
  const op: M.ResponseOp = {};
  while (!r.done) {
    const tag = r.uint32();
    // A oneof: the last member on the wire wins, as in every protobuf implementation.
    if (tag === ((1 << 3) | WIRE_BYTES)) setOnly(op, 'response_range', readRange(r.nested()));
    else if (tag === ((2 << 3) | WIRE_BYTES)) setOnly(op, 'response_put', readPut(r.nested()));
    else if (tag === ((3 << 3) | WIRE_BYTES)) setOnly(op, 'response_delete_range', readDeleteRange(r.nested()));
    else if (tag === ((4 << 3) | WIRE_BYTES)) setOnly(op, 'response_txn', readTxn(r.nested()));
    else r.skip(tag & 7);
  }
  return op;
}

function setOnly<K extends keyof M.ResponseOp>(op: M.ResponseOp, key: K, value: M.ResponseOp[K]): void {
  for (const k in op) delete op[k as keyof M.ResponseOp];
  op[key] = value;
}

function readTxn(r: Reader): M.TxnResponse {
  const m: Unheaded<M.TxnResponse> = { responses: [], header: undefined, succeeded: false };
  while (!r.done) {
    const tag = r.uint32();
    if (tag === ((1 << 3) | WIRE_BYTES)) m.header = readHeader(r.nested());
    else if (tag === ((2 << 3) | WIRE_VARINT)) m.succeeded = r.bool();
    else if (tag === ((3 << 3) | WIRE_BYTES)) m.responses.push(readOp(r.nested()));
    else r.skip(tag & 7);
  }
  return headed(m, 'TxnResponse');
}

export const decodeRangeResponse = decoder(readRange);
/** The answer to a keys-only range. */
export const decodeKeysOnlyRangeResponse = decoder((r) => readRangeOf(r, readKeyRevision));
export const decodePutResponse = decoder(readPut);
export const decodeDeleteRangeResponse = decoder(readDeleteRange);
export const decodeTxnResponse = decoder(readTxn);

/** Whether a keys-only range is among `txn`'s ops (then its answer is read with keysOnlyAnswers). */
export function hasKeysOnlyRange(txn: M.TxnRequest): boolean {
  return anyKeysOnly(txn.success) || anyKeysOnly(txn.failure);
}

/** Every txn asks this: a plain loop, no closure per call. */
function anyKeysOnly(ops: readonly M.RequestOp[] | undefined): boolean {
  if (ops === undefined) return false;
  for (const op of ops) {
    if (op.request_range?.keys_only === true || (op.request_txn !== undefined && hasKeysOnlyRange(op.request_txn))) return true;
  }
  return false;
}

/**
 * `res`, the answer to `txn`, with its keys-only ranges' keys cut to key and revisions (in place,
 * down through nested txns): the ops that answered are known only once `succeeded` is read.
 */
export function keysOnlyAnswers(res: M.TxnResponse, txn: M.TxnRequest): M.TxnResponse {
  const ops = (res.succeeded ? txn.success : txn.failure) ?? [];
  res.responses.forEach((answer, i) => {
    const op = ops[i];
    if (op?.request_range?.keys_only && answer.response_range) answer.response_range.kvs = answer.response_range.kvs.map(keyRevision);
    else if (op?.request_txn && answer.response_txn) keysOnlyAnswers(answer.response_txn, op.request_txn);
  });
  return res;
}
