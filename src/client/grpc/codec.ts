// Encoders and decoders for the etcd v3 RPCs we use, built once with protobufjs from etcd's own
// .proto files (proto/rpc.proto, proto/kv.proto), compiled into etcd-proto.ts by
// scripts/gen-proto.mjs (so no .proto file is read at run time).
// Requests are encoded straight from our plain objects (Type.encode: generated code, no
// verification pass; bigints turned into decimal strings first); responses are decoded once and
// turned into plain objects with revisions as bigints, other int64s as decimal strings and enums by
// name (see messages.ts).
import protobuf from 'protobufjs';
import { ETCD_PROTO } from './etcd-proto.js';
import * as K from './kv-codec.js';
import * as L from './lease-codec.js';
import { decodeWatchResponse } from './watch-codec.js';
import type * as M from './messages.js';

// protobufjs's INamespace type marks optional descriptor fields (comment) as required: cast.
const root = protobuf.Root.fromJSON(ETCD_PROTO as unknown as protobuf.INamespace);
root.resolveAll();

const TO_OBJECT: protobuf.IConversionOptions = { longs: String, enums: String, defaults: true, arrays: true };

export interface Method<Req, Res> {
  /** HTTP/2 :path, e.g. `/etcdserverpb.KV/Range`. */
  readonly path: string;
  encode(request: Req): Uint8Array;
  decode(bytes: Buffer): Res;
}

function method<Req, Res>(service: string, name: string, prepare?: (req: Req) => Req): Method<Req, Res> {
  const svc = root.lookupService(`etcdserverpb.${service}`);
  const rpc = svc.methods[name]!;
  const reqType = root.lookupType(rpc.requestType);
  const resType = root.lookupType(rpc.responseType);
  return {
    path: `/etcdserverpb.${service}/${name}`,
    encode: (req) => reqType.encode(bigintsAsText(reqType, prepare ? prepare(req) : req) as protobuf.Message).finish(),
    decode: (bytes) => bigRevisions(resType, resType.toObject(resType.decode(bytes), TO_OBJECT)) as Res,
  };
}

/** A field our responses carry as a bigint (messages.ts): an int64 named `*revision`. */
const isRevision = (field: protobuf.Field): boolean => field.type === 'int64' && field.name.endsWith('revision');

/**
 * toObject() gives every int64 as a decimal string: the revisions in `o`, a message of `type`,
 * become bigints, in place, down through nested messages (the hand codecs read them so directly).
 */
function bigRevisions(type: protobuf.Type, o: Record<string, unknown>): Record<string, unknown> {
  for (const field of type.fieldsArray) {
    const v = o[field.name];
    if (v === null || v === undefined) continue;
    if (isRevision(field)) o[field.name] = Array.isArray(v) ? v.map((x: string) => BigInt(x)) : BigInt(v as string);
    else if (field.resolvedType instanceof protobuf.Type) {
      for (const m of Array.isArray(v) ? v : [v]) bigRevisions(field.resolvedType, m as Record<string, unknown>);
    }
  }
  return o;
}

/**
 * protobufjs reads an int64 from a number, a decimal string or a Long, and a bigint as 0 without a
 * word: bigints in `req`, a message of `type`, become decimal strings (in a copy; `req` is the
 * caller's, and comes back as it is when it holds none).
 */
function bigintsAsText<T>(type: protobuf.Type, req: T): T {
  const src = req as Record<string, unknown>;
  let out: Record<string, unknown> | undefined;
  for (const field of type.fieldsArray) {
    const v = src[field.name];
    if (v === null || v === undefined) continue;
    const nested = field.resolvedType instanceof protobuf.Type ? field.resolvedType : undefined;
    const one = (x: unknown): unknown => (typeof x === 'bigint' ? x.toString() : nested && typeof x === 'object' ? bigintsAsText(nested, x) : x);
    let w: unknown;
    if (!Array.isArray(v)) w = one(v);
    else {
      const all = v.map(one);
      w = all.some((x, i) => x !== v[i]) ? all : v;
    }
    if (w !== v) (out ??= { ...src })[field.name] = w;
  }
  return (out ?? req) as T;
}

// protobufjs encodes enums from numbers only (a name would silently become 0): translate ours.
const enumValues = (path: string): Record<string, number> => root.lookupEnum(path).values;
const SORT_ORDER = enumValues('etcdserverpb.RangeRequest.SortOrder');
const SORT_TARGET = enumValues('etcdserverpb.RangeRequest.SortTarget');
const COMPARE_TARGET = enumValues('etcdserverpb.Compare.CompareTarget');
const COMPARE_RESULT = enumValues('etcdserverpb.Compare.CompareResult');
const FILTER = enumValues('etcdserverpb.WatchCreateRequest.FilterType');

function enumOf(values: Record<string, number>, name: string | number | undefined, what: string): number | undefined {
  if (name === undefined || typeof name === 'number') return name;
  const v = values[name];
  if (v === undefined) throw new TypeError(`unknown ${what} ${name}`);
  return v;
}

function prepareRange(req: M.RangeRequest): M.RangeRequest {
  if (req.sort_order === undefined && req.sort_target === undefined) return req;
  return {
    ...req,
    sort_order: enumOf(SORT_ORDER, req.sort_order, 'sort_order'),
    sort_target: enumOf(SORT_TARGET, req.sort_target, 'sort_target'),
  } as unknown as M.RangeRequest;
}

function prepareCompare(c: M.Compare): M.Compare {
  return { ...c, target: enumOf(COMPARE_TARGET, c.target, 'compare target'), result: enumOf(COMPARE_RESULT, c.result, 'compare result') } as unknown as M.Compare;
}

function prepareOps(ops: readonly M.RequestOp[] | undefined): readonly M.RequestOp[] | undefined {
  if (!ops || !ops.some((op) => op.request_range?.sort_order !== undefined || op.request_range?.sort_target !== undefined || op.request_txn)) return ops;
  return ops.map((op) => {
    if (op.request_range) return { request_range: prepareRange(op.request_range) };
    if (op.request_txn) return { request_txn: prepareTxn(op.request_txn) };
    return op;
  });
}

function prepareTxn(req: M.TxnRequest): M.TxnRequest {
  const out: M.TxnRequest = {};
  if (req.compare) out.compare = req.compare.map(prepareCompare);
  const success = prepareOps(req.success);
  const failure = prepareOps(req.failure);
  if (success) out.success = success;
  if (failure) out.failure = failure;
  return out;
}

function prepareWatch(req: M.WatchRequest): M.WatchRequest {
  const create = req.create_request;
  if (!create?.filters?.length) return req;
  return { create_request: { ...create, filters: create.filters.map((f) => enumOf(FILTER, f, 'filter')) as unknown as M.WatchCreateRequest['filters'] } };
}

/** The KV calls through protobufjs: the reference kv-codec.ts is tested against. */
export const KV_REFLECTED = {
  range: method<M.RangeRequest, M.RangeResponse>('KV', 'Range', prepareRange),
  put: method<M.PutRequest, M.PutResponse>('KV', 'Put'),
  deleteRange: method<M.DeleteRangeRequest, M.DeleteRangeResponse>('KV', 'DeleteRange'),
  txn: method<M.TxnRequest, M.TxnResponse>('KV', 'Txn', prepareTxn),
};

// Range, Put, DeleteRange and Txn carry every lock, config and registry call: hand-written codec.
export const KV = {
  range: { path: KV_REFLECTED.range.path, encode: K.encodeRangeRequest, decode: K.decodeRangeResponse } as Method<M.RangeRequest, M.RangeResponse>,
  /** A keys-only Range: keys come as every etcd gives them (no value, no lease; messages.ts KeyRevision). */
  rangeKeysOnly: { path: KV_REFLECTED.range.path, encode: K.encodeRangeRequest, decode: K.decodeKeysOnlyRangeResponse } as Method<M.RangeRequest, M.RangeResponse<M.KeyRevision>>,
  put: { path: KV_REFLECTED.put.path, encode: K.encodePutRequest, decode: K.decodePutResponse } as Method<M.PutRequest, M.PutResponse>,
  deleteRange: { path: KV_REFLECTED.deleteRange.path, encode: K.encodeDeleteRangeRequest, decode: K.decodeDeleteRangeResponse } as Method<M.DeleteRangeRequest, M.DeleteRangeResponse>,
  txn: { path: KV_REFLECTED.txn.path, encode: K.encodeTxnRequest, decode: K.decodeTxnResponse } as Method<M.TxnRequest, M.TxnResponse>,
  compact: method<M.CompactionRequest, M.CompactionResponse>('KV', 'Compact'),
};

/** The Lease calls through protobufjs: the reference lease-codec.ts is tested against. */
export const LEASE_REFLECTED = {
  grant: method<M.LeaseGrantRequest, M.LeaseGrantResponse>('Lease', 'LeaseGrant'),
  revoke: method<M.LeaseRevokeRequest, M.LeaseRevokeResponse>('Lease', 'LeaseRevoke'),
  keepAlive: method<M.LeaseKeepAliveRequest, M.LeaseKeepAliveResponse>('Lease', 'LeaseKeepAlive'),
  timeToLive: method<M.LeaseTimeToLiveRequest, M.LeaseTimeToLiveResponse>('Lease', 'LeaseTimeToLive'),
};

// Every lock, registration and instance ID holds a lease: hand-written codec (63-bit IDs).
export const Lease = {
  grant: { path: LEASE_REFLECTED.grant.path, encode: L.encodeLeaseGrantRequest, decode: L.decodeLeaseGrantResponse } as Method<M.LeaseGrantRequest, M.LeaseGrantResponse>,
  revoke: { path: LEASE_REFLECTED.revoke.path, encode: L.encodeLeaseIdRequest, decode: L.decodeLeaseRevokeResponse } as Method<M.LeaseRevokeRequest, M.LeaseRevokeResponse>,
  keepAlive: { path: LEASE_REFLECTED.keepAlive.path, encode: L.encodeLeaseIdRequest, decode: L.decodeLeaseKeepAliveResponse } as Method<M.LeaseKeepAliveRequest, M.LeaseKeepAliveResponse>,
  timeToLive: { path: LEASE_REFLECTED.timeToLive.path, encode: L.encodeLeaseIdRequest, decode: L.decodeLeaseTimeToLiveResponse } as Method<M.LeaseTimeToLiveRequest, M.LeaseTimeToLiveResponse>,
};

/** The Watch stream through protobufjs: requests stay here; the reference for watch-codec.ts. */
export const WATCH_REFLECTED = {
  watch: method<M.WatchRequest, M.WatchResponse>('Watch', 'Watch', prepareWatch),
};

// Every config and registry change arrives as a WatchResponse: hand-written decoder.
export const Watch = {
  watch: { ...WATCH_REFLECTED.watch, decode: decodeWatchResponse } as Method<M.WatchRequest, M.WatchResponse>,
};

export const Maintenance = {
  status: method<M.StatusRequest, M.StatusResponse>('Maintenance', 'Status'),
};

const PERM_TYPE = enumValues('authpb.Permission.Type');

function prepareGrant(req: M.AuthRoleGrantPermissionRequest): M.AuthRoleGrantPermissionRequest {
  return { ...req, perm: { ...req.perm, permType: enumOf(PERM_TYPE, req.perm.permType, 'permission type') } } as unknown as M.AuthRoleGrantPermissionRequest;
}

export const Auth = {
  authenticate: method<M.AuthenticateRequest, M.AuthenticateResponse>('Auth', 'Authenticate'),
  // Admin calls (etcd's root role), for coordctl roles --apply.
  userAdd: method<M.AuthUserAddRequest, M.AuthHeaderResponse>('Auth', 'UserAdd'),
  userGet: method<M.AuthUserGetRequest, M.AuthUserGetResponse>('Auth', 'UserGet'),
  userGrantRole: method<M.AuthUserGrantRoleRequest, M.AuthHeaderResponse>('Auth', 'UserGrantRole'),
  roleAdd: method<M.AuthRoleAddRequest, M.AuthHeaderResponse>('Auth', 'RoleAdd'),
  roleGet: method<M.AuthRoleGetRequest, M.AuthRoleGetResponse>('Auth', 'RoleGet'),
  roleGrantPermission: method<M.AuthRoleGrantPermissionRequest, M.AuthHeaderResponse>('Auth', 'RoleGrantPermission', prepareGrant),
  roleRevokePermission: method<M.AuthRoleRevokePermissionRequest, M.AuthHeaderResponse>('Auth', 'RoleRevokePermission'),
};
