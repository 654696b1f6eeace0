// The key ranges a request needs, with the etcd permission for each: named in the AUTH_ERROR of a
// request etcd refused with PERMISSION_DENIED (client/errors.ts), and the arithmetic of key ranges the
// grants of src/permissions.ts are built with.
//
// What etcd's auth checks (its apply_auth.go; verified on 3.4.23): a Range, a watch create and every
// comparison of a Txn need READ on their whole key range; a Put and a DeleteRange need WRITE (and READ
// too with prev_kv); a Txn needs what every comparison and every operation of both branches needs; a
// LeaseRevoke needs WRITE on every key attached to the lease, and since 3.4.26 / 3.5.9 a
// LeaseTimeToLive READ on them. Lease grants and keep-alives need no key permission.
import type { DeleteRangeRequest, PutRequest, RangeRequest, RequestOp, TxnRequest, WatchCreateRequest } from './grpc/messages.js';
import { prefixEnd } from './prefix-end.js';

/** etcd's permission types (authpb.Permission.Type), lower case as etcdctl writes them. */
export type Permission = 'read' | 'write' | 'readwrite';

/** One key (no `rangeEnd`) or the range [key, rangeEnd) (`rangeEnd` = `\0`: every key from `key` on). */
export interface KeyNeed {
  permission: Permission;
  key: Buffer;
  rangeEnd?: Buffer;
}

/** gRPC paths of the requests whose needs we can name (as src/client/grpc/codec.ts sends them). */
const KV = '/etcdserverpb.KV/';
export const WATCH_CREATE = '/etcdserverpb.Watch/Watch';
const LEASE_REVOKE = '/etcdserverpb.Lease/LeaseRevoke';
const LEASE_TTL = '/etcdserverpb.Lease/LeaseTimeToLive';

/**
 * Words for what a refused request needed, e.g. `write on /gochat/config/app.name` or
 * `readwrite on prefix /gochat/locks/jobs/, readwrite on /gochat/locks/jobs`; undefined when the
 * request is not one we know.
 */
export function describeRefused(path: string, request: unknown): string | undefined {
  if (path === LEASE_REVOKE) return 'write on every key attached to the lease';
  if (path === LEASE_TTL) return 'read on every key attached to the lease';
  const needs = requestNeeds(path, request);
  return needs && needs.length > 0 ? describeNeeds(needs) : undefined;
}

/** The key ranges a KV request or a watch create needs, with the permission each needs. */
export function requestNeeds(path: string, request: unknown): KeyNeed[] | undefined {
  const r = request as Record<string, unknown>;
  switch (path) {
    case `${KV}Range`:
      return fold([range('read', r as unknown as RangeRequest)]);
    case `${KV}Put`:
      return fold(putNeeds(r as unknown as PutRequest));
    case `${KV}DeleteRange`:
      return fold(deleteNeeds(r as unknown as DeleteRangeRequest));
    case `${KV}Txn`:
      return fold(txnNeeds(r as unknown as TxnRequest));
    case WATCH_CREATE:
      return fold([range('read', r as unknown as WatchCreateRequest)]);
    default:
      return undefined;
  }
}

function range(permission: Permission, r: { key: Buffer; range_end?: Buffer | undefined }): KeyNeed {
  return r.range_end && r.range_end.length > 0 ? { permission, key: r.key, rangeEnd: r.range_end } : { permission, key: r.key };
}

function putNeeds(p: PutRequest): KeyNeed[] {
  return p.prev_kv ? [range('readwrite', p)] : [range('write', p)];
}

function deleteNeeds(d: DeleteRangeRequest): KeyNeed[] {
  return [range(d.prev_kv ? 'readwrite' : 'write', d)];
}

function txnNeeds(t: TxnRequest): KeyNeed[] {
  const needs: KeyNeed[] = (t.compare ?? []).map((c) => range('read', c));
  const ops = (list: readonly RequestOp[] | undefined): void => {
    for (const op of list ?? []) {
      if (op.request_range) needs.push(range('read', op.request_range));
      else if (op.request_put) needs.push(...putNeeds(op.request_put));
      else if (op.request_delete_range) needs.push(...deleteNeeds(op.request_delete_range));
      else if (op.request_txn) needs.push(...txnNeeds(op.request_txn));
    }
  };
  ops(t.success);
  ops(t.failure);
  return needs;
}

export const union = (a: Permission, b: Permission): Permission => (a === b ? a : 'readwrite');

/** Exclusive end of a need; undefined = the end of the keyspace. */
function endOf(n: KeyNeed): Buffer | undefined {
  if (!n.rangeEnd) return Buffer.concat([n.key, Buffer.from([0])]);
  return n.rangeEnd.length === 1 && n.rangeEnd[0] === 0 ? undefined : n.rangeEnd;
}

export function covers(outer: KeyNeed, inner: KeyNeed): boolean {
  if (Buffer.compare(outer.key, inner.key) > 0) return false;
  const [o, i] = [endOf(outer), endOf(inner)];
  return o === undefined || (i !== undefined && Buffer.compare(i, o) <= 0);
}

/**
 * Merges needs: a key or range inside another one adds its permission to it (a contender key under
 * a lock's prefix makes the prefix readwrite: keys named after leases cannot be granted one by one).
 */
export function fold(needs: KeyNeed[]): KeyNeed[] {
  const out = needs.map((n) => ({ ...n }));
  for (let i = 0; i < out.length; ) {
    const outer = out.find((o, j) => j !== i && covers(o, out[i]!));
    if (!outer) {
      i++;
      continue;
    }
    outer.permission = union(outer.permission, out[i]!.permission);
    out.splice(i, 1);
    i = 0; // a widened range may now absorb one seen before
  }
  return out;
}

/** `readwrite on prefix /a/, read on /b`. */
export function describeNeeds(needs: readonly KeyNeed[]): string {
  return needs.map((n) => `${n.permission} on ${describeRange(n.key, n.rangeEnd)}`).join(', ');
}

/** `/k` for a key, `prefix /p/` for [p, prefixEnd(p)), `keys from /k` for [k, \0), else `[/a, /b)`. */
export function describeRange(key: Buffer, rangeEnd?: Buffer): string {
  if (!rangeEnd || rangeEnd.length === 0) return key.toString();
  if (rangeEnd.equals(prefixEnd(key))) return `prefix ${key.toString()}`;
  if (rangeEnd.length === 1 && rangeEnd[0] === 0) return `keys from ${key.toString()}`;
  return `[${key.toString()}, ${rangeEnd.toString()})`;
}
