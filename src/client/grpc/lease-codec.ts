// etcd's Lease messages (proto/rpc.proto: LeaseGrant, LeaseRevoke, LeaseKeepAlive, LeaseTimeToLive)
// by hand on wire.ts, like kv-codec.ts: every lock, registration and instance ID holds a lease, and
// lease IDs are 63-bit int64s, exactly what protobufjs's Long conversions make slow. Results are what
// protobufjs's toObject() gives (test/unit/kv-codec.test.ts checks both ways), except that a
// response without its header throws (kv-codec.ts's headed).
import type * as M from './messages.js';
import { headed, readHeader, type Unheaded } from './kv-codec.js';
import { decoder, encoder, isZero, Reader, WIRE_BYTES, WIRE_VARINT, type Writer } from './wire.js';

export const encodeLeaseGrantRequest = encoder((w: Writer, r: M.LeaseGrantRequest) => {
  if (!isZero(r.TTL)) w.int64(1, r.TTL);
  if (!isZero(r.ID)) w.int64(2, r.ID!);
});

/** Revoke, KeepAlive and TimeToLive all carry the lease ID as field 1. */
export const encodeLeaseIdRequest = encoder((w: Writer, r: { ID: M.Int64; keys?: boolean }) => {
  if (!isZero(r.ID)) w.int64(1, r.ID);
  if (r.keys) w.bool(2, true);
});

function readLease<T extends { header: M.ResponseHeader; ID?: string; TTL?: string }>(
  r: Reader,
  what: string,
  m: Unheaded<T>,
  more?: (tag: number, m: Unheaded<T>) => boolean,
): T {
  // Omit over a generic T hides ID and TTL from the compiler: the same object, seen with them.
  const lease = m as Unheaded<T> & { ID?: string; TTL?: string };
  while (!r.done) {
    const tag = r.uint32();
    if (tag === ((1 << 3) | WIRE_BYTES)) m.header = readHeader(r.nested());
    else if (tag === ((2 << 3) | WIRE_VARINT) && 'ID' in m) lease.ID = r.int64(true);
    else if (tag === ((3 << 3) | WIRE_VARINT) && 'TTL' in m) lease.TTL = r.int64(true);
    else if (!more?.(tag, m)) r.skip(tag & 7);
  }
  return headed<T>(m, what);
}

export const decodeLeaseGrantResponse = decoder((r) =>
  readLease<M.LeaseGrantResponse>(r, 'LeaseGrantResponse', { header: undefined, ID: '0', TTL: '0', error: '' }, (tag, m) => {
    if (tag !== ((4 << 3) | WIRE_BYTES)) return false;
    m.error = r.bytes().toString('utf8');
    return true;
  }),
);

export const decodeLeaseRevokeResponse = decoder((r) => readLease<M.LeaseRevokeResponse>(r, 'LeaseRevokeResponse', { header: undefined }));

export const decodeLeaseKeepAliveResponse = decoder((r) =>
  readLease<M.LeaseKeepAliveResponse>(r, 'LeaseKeepAliveResponse', { header: undefined, ID: '0', TTL: '0' }),
);

export const decodeLeaseTimeToLiveResponse = decoder((r) =>
  readLease<M.LeaseTimeToLiveResponse>(r, 'LeaseTimeToLiveResponse', { keys: [], header: undefined, ID: '0', TTL: '0', grantedTTL: '0' }, (tag, m) => {
    if (tag === ((4 << 3) | WIRE_VARINT)) m.grantedTTL = r.int64(true);
    else if (tag === ((5 << 3) | WIRE_BYTES)) m.keys.push(r.bytes());
    else return false;
    return true;
  }),
);
