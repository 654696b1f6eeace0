// The generated descriptor matches proto/*.proto, and the codec round-trips what matters:
// 63-bit int64s as decimal strings, bytes as Buffers, enums by etcd's names.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { descriptor } from '../../scripts/gen-proto.mjs';
import { ETCD_PROTO } from '../../src/client/grpc/etcd-proto.js';
import { KV, Lease, Maintenance } from '../../src/client/grpc/codec.js';
import { Writer } from '../../src/client/grpc/wire.js';

test('src/client/grpc/etcd-proto.ts is up to date with proto/ (run node scripts/gen-proto.mjs)', () => {
  assert.deepEqual(JSON.parse(JSON.stringify(ETCD_PROTO)), JSON.parse(JSON.stringify(descriptor())));
});

test('int64 above 2^53 survives as a decimal string', () => {
  const id = '7587870915349862154';
  const bytes = Lease.grant.encode({ TTL: 5, ID: id });
  assert.ok(bytes.length > 0);
  const res = Lease.timeToLive.decode(Buffer.from([0x0a, 0x00, 0x10, ...varint(BigInt(id)), 0x18, 5]));
  assert.equal(res.ID, id);
  assert.equal(res.TTL, '5');
  assert.deepEqual(res.keys, []);
});

test('compare and sort enums are encoded by etcd name (a wrong name throws rather than becoming 0)', () => {
  const a = KV.txn.encode({ compare: [{ key: Buffer.from('k'), target: 'MOD', result: 'GREATER', mod_revision: 3 }] });
  assert.ok(Buffer.from(a).includes(Buffer.from([0x08, 0x01, 0x10, 0x02]))); // result=1 (GREATER), target=2 (MOD)
  assert.throws(() => KV.txn.encode({ compare: [{ key: Buffer.from('k'), target: 'Mod' as never, result: 'EQUAL' }] }), /unknown compare target/);
  const r = KV.range.encode({ key: Buffer.from('k'), sort_order: 'DESCEND', sort_target: 'CREATE' });
  assert.ok(Buffer.from(r).includes(Buffer.from([0x28, 0x02, 0x30, 0x02])));
});

test('a decoded response (with its header) has every field, bytes as Buffer', () => {
  const res = KV.range.decode(Buffer.from([0x0a, 0x00])) // an empty header: a response without one is refused;
  assert.deepEqual(res.kvs, []);
  assert.equal(res.more, false);
  assert.equal(res.count, '0');
  assert.equal(res.header.revision, 0n);
});

function varint(n: bigint): number[] {
  const out: number[] = [];
  while (n > 0x7fn) {
    out.push(Number(n & 0x7fn) | 0x80);
    n >>= 7n;
  }
  out.push(Number(n));
  return out;
}

test("etcd 3.6's new StatusResponse fields (storageVersion, dbSizeQuota, downgradeInfo) are skipped, the known ones read", () => {
  const w = new Writer().reset();
  w.bytes(2, Buffer.from('3.6.5')); // version
  w.int64(3, 4096); // dbSize
  w.bool(10, true); // isLearner
  w.bytes(11, Buffer.from('3.6.0')); // storageVersion (3.6)
  w.int64(12, 2147483648); // dbSizeQuota (3.6)
  w.bytes(13, Buffer.from([0x08, 0x01, 0x12, 0x05, ...Buffer.from('3.5.0')])); // downgradeInfo (3.6): enabled, targetVersion
  const res = Maintenance.status.decode(w.finish());
  assert.equal(res.version, '3.6.5');
  assert.equal(res.dbSize, '4096');
  assert.equal(res.isLearner, true);
});
