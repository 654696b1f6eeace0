// The etcd v3 messages we send and receive, typed as they look on our side of the codec: field
// names as in the .proto (snake_case), bytes as Buffer, enums by name. In responses, revisions
// (every int64 field named `*revision`) are bigints, as the public API has them, and every other
// int64 (lease IDs, versions, counts, TTLs, cluster and member IDs) is a decimal string; requests
// take any int64 in any of the forms of Int64.
// Requests may leave any field out (proto3 default); responses always carry every field.

export interface ResponseHeader {
  cluster_id: string;
  member_id: string;
  revision: bigint;
  raft_term: string;
}

/**
 * A key as a keys-only range gives it on every etcd: etcd 3.7 answers a keys-only range that is not
 * sorted by value from its in-memory index, without `value` and `lease` (CHANGELOG-3.7, etcd PR
 * #21791), and our decoders drop both on every server, so 3.4–3.6 answer as 3.7 does. A recipe that
 * needs a key's lease or value reads the key (a full range), which the type makes it do.
 */
export interface KeyRevision {
  key: Buffer;
  create_revision: bigint;
  mod_revision: bigint;
  version: string;
}

export interface KeyValue extends KeyRevision {
  value: Buffer;
  lease: string;
}

/** int64 fields of requests: a decimal string, a safe integer or a bigint. */
export type Int64 = string | number | bigint;

export interface RangeRequest {
  key: Buffer;
  range_end?: Buffer;
  limit?: Int64;
  revision?: Int64;
  sort_order?: 'NONE' | 'ASCEND' | 'DESCEND';
  sort_target?: 'KEY' | 'VERSION' | 'CREATE' | 'MOD' | 'VALUE';
  serializable?: boolean;
  keys_only?: boolean;
  count_only?: boolean;
  min_mod_revision?: Int64;
  max_mod_revision?: Int64;
  min_create_revision?: Int64;
  max_create_revision?: Int64;
}

/** A range that certainly reads whole keys: `keys_only` absent or false. */
export type FullRangeRequest = RangeRequest & { keys_only?: false | undefined };

/** What a range of request `R` gives per key: whole keys only when `R` certainly asks for them. */
// (`key` is in the test so that it is no weak type, which a request without `keys_only` would not match.)
export type KvOf<R extends RangeRequest> = R extends { key: Buffer; keys_only?: false | undefined } ? KeyValue : KeyRevision;

export interface RangeResponse<K extends KeyRevision = KeyValue> {
  header: ResponseHeader;
  kvs: K[];
  more: boolean;
  count: string;
}

export interface PutRequest {
  key: Buffer;
  value?: Buffer;
  lease?: Int64;
  prev_kv?: boolean;
  ignore_value?: boolean;
  ignore_lease?: boolean;
}

export interface PutResponse {
  header: ResponseHeader;
  prev_kv: KeyValue | null;
}

export interface DeleteRangeRequest {
  key: Buffer;
  range_end?: Buffer;
  prev_kv?: boolean;
}

export interface DeleteRangeResponse {
  header: ResponseHeader;
  deleted: string;
  prev_kvs: KeyValue[];
}

/** A transaction comparison (etcd's `Compare`): `target(key) result value`, e.g. create_revision(k) == 0. */
export interface Compare {
  key: Buffer;
  range_end?: Buffer;
  target: 'VERSION' | 'CREATE' | 'MOD' | 'VALUE' | 'LEASE';
  result: 'EQUAL' | 'GREATER' | 'LESS' | 'NOT_EQUAL';
  version?: Int64;
  create_revision?: Int64;
  mod_revision?: Int64;
  value?: Buffer;
  lease?: Int64;
}

export interface RequestOp {
  request_range?: RangeRequest;
  request_put?: PutRequest;
  request_delete_range?: DeleteRangeRequest;
  request_txn?: TxnRequest;
}

/** The answer to an op of unknown kind: a range in it may have been keys-only. */
export interface ResponseOp {
  response_range?: RangeResponse<KeyRevision>;
  response_put?: PutResponse;
  response_delete_range?: DeleteRangeResponse;
  response_txn?: TxnResponse;
}

/** The answer to `Op`: a range's keys are whole only when it certainly asked for them. */
export type ResponseOf<Op> = Op extends { readonly request_range: infer R extends RangeRequest }
  ? Omit<ResponseOp, 'response_range'> & { response_range: RangeResponse<KvOf<R>> }
  : ResponseOp;

/** The answers to the ops `Ops`, position by position (a tuple for a tuple). */
export type ResponsesOf<Ops extends readonly RequestOp[]> = { -readonly [I in keyof Ops]: ResponseOf<Ops[I]> };

export interface TxnRequest<S extends readonly RequestOp[] = readonly RequestOp[], F extends readonly RequestOp[] = readonly RequestOp[]> {
  compare?: Compare[];
  success?: S;
  failure?: F;
}

export interface TxnResponse<Responses extends readonly ResponseOp[] = ResponseOp[]> {
  header: ResponseHeader;
  succeeded: boolean;
  responses: Responses;
}

/**
 * The answer to a txn of `success` ops `S` and `failure` ops `F`, as the client's txn() types it:
 * `succeeded` tells which ops answered, and each answer has the type of its op.
 */
export type TxnResult<S extends readonly RequestOp[], F extends readonly RequestOp[]> =
  | (TxnResponse<ResponsesOf<S>> & { succeeded: true })
  | (TxnResponse<ResponsesOf<F>> & { succeeded: false });

export interface CompactionRequest {
  revision: Int64;
  physical?: boolean;
}

export interface CompactionResponse {
  header: ResponseHeader;
}

export interface LeaseGrantRequest {
  TTL: Int64;
  ID?: Int64;
}

export interface LeaseGrantResponse {
  header: ResponseHeader;
  ID: string;
  TTL: string;
  error: string;
}

export interface LeaseRevokeRequest {
  ID: Int64;
}

export interface LeaseRevokeResponse {
  header: ResponseHeader;
}

export interface LeaseKeepAliveRequest {
  ID: Int64;
}

export interface LeaseKeepAliveResponse {
  header: ResponseHeader;
  ID: string;
  TTL: string;
}

export interface LeaseTimeToLiveRequest {
  ID: Int64;
  keys?: boolean;
}

export interface LeaseTimeToLiveResponse {
  header: ResponseHeader;
  ID: string;
  TTL: string;
  grantedTTL: string;
  keys: Buffer[];
}

export interface StatusRequest {}

export interface StatusResponse {
  header: ResponseHeader;
  version: string;
  dbSize: string;
  leader: string;
  raftIndex: string;
  raftTerm: string;
  raftAppliedIndex: string;
  errors: string[];
  dbSizeInUse: string;
  isLearner: boolean;
}

export interface AuthenticateRequest {
  name: string;
  password: string;
}

export interface AuthenticateResponse {
  header: ResponseHeader;
  token: string;
}

/** A key permission of a role (authpb.Permission): `[key, range_end)`, or `key` alone without range_end. */
export interface AuthPermission {
  permType: 'READ' | 'WRITE' | 'READWRITE';
  key: Buffer;
  range_end?: Buffer;
}

export interface AuthUserAddRequest {
  name: string;
  password: string;
}

export interface AuthUserGetRequest {
  name: string;
}

export interface AuthUserGetResponse {
  header: ResponseHeader;
  roles: string[];
}

export interface AuthUserGrantRoleRequest {
  user: string;
  role: string;
}

export interface AuthRoleAddRequest {
  name: string;
}

export interface AuthRoleGetRequest {
  role: string;
}

export interface AuthRoleGetResponse {
  header: ResponseHeader;
  perm: AuthPermission[];
}

export interface AuthRoleGrantPermissionRequest {
  name: string;
  perm: AuthPermission;
}

/** Removes the role's permissions on exactly `[key, range_end)` (every copy etcd holds of that range). */
export interface AuthRoleRevokePermissionRequest {
  role: string;
  key: Buffer;
  range_end?: Buffer;
}

/** The answer of an Auth admin call that returns nothing but the header. */
export interface AuthHeaderResponse {
  header: ResponseHeader;
}

export interface WatchCreateRequest {
  key: Buffer;
  range_end?: Buffer;
  start_revision?: Int64;
  progress_notify?: boolean;
  filters?: Array<'NOPUT' | 'NODELETE'>;
  prev_kv?: boolean;
  watch_id?: Int64;
  fragment?: boolean;
}

export interface WatchRequest {
  create_request?: WatchCreateRequest;
  cancel_request?: { watch_id: Int64 };
  progress_request?: Record<string, never>;
}

export interface Event {
  type: 'PUT' | 'DELETE';
  kv: KeyValue;
  prev_kv: KeyValue | null;
}

export interface WatchResponse {
  header: ResponseHeader;
  watch_id: string;
  created: boolean;
  canceled: boolean;
  compact_revision: bigint;
  cancel_reason: string;
  fragment: boolean;
  events: Event[];
}
