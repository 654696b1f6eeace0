// Our etcd v3 client (gRPC over node:http2) against real etcd: the RPCs we use, cancels that free
// their HTTP/2 stream, a black-holed connect bounded by the timeout, auth with token refresh, mTLS.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { rmSync } from 'node:fs';
import { EtcdRpc } from '../../src/client/grpc/etcd-rpc.js';
import type { WatchResponse } from '../../src/client/grpc/messages.js';
import { GrpcError } from '../../src/client/grpc/status.js';
import { CoordinationError, ErrorCode } from '../../src/errors.js';
import { toCoordinationError } from '../../src/client/errors.js';
import { EtcdClient } from '../../src/client/etcd-client.js';
import { KV } from '../../src/client/grpc/codec.js';
import { resolveOptions } from '../../src/options.js';
import { silentLogger } from '../../src/index.js';
import type { EtcdCluster } from '../../scripts/lib/etcd.mjs';
import { startAuthEtcd, ROOT_PASSWORD } from '../helpers/auth-etcd.js';
import { etcdEndpoints, eventually, uniqueNamespace } from '../helpers/etcd.js';
import { TcpProxy } from '../helpers/proxy.js';
import { makePki, startTlsEtcd, type Pki } from '../helpers/tls-etcd.js';

const T = { timeoutMs: 3000 };
const rpcs: EtcdRpc[] = [];
const proxies: TcpProxy[] = [];
after(async () => {
  for (const r of rpcs) r.close();
  for (const p of proxies) await p.stop();
});

function rpc(endpoints: string[], extra: Partial<ConstructorParameters<typeof EtcdRpc>[0]> = {}): EtcdRpc {
  const r = new EtcdRpc({ endpoints, connectTimeoutMs: 2000, ...extra });
  rpcs.push(r);
  return r;
}

async function proxy(): Promise<TcpProxy> {
  const [endpoint] = await etcdEndpoints();
  const p = await TcpProxy.forUrl(endpoint!).start();
  proxies.push(p);
  return p;
}

const code = (err: unknown) => toCoordinationError(err, 'test').code;

test('put, range, txn, deleteRange, leases and status round-trip with etcd', async () => {
  const r = rpc(await etcdEndpoints());
  const key = Buffer.from(`${uniqueNamespace('grpc')}/k`);
  const lease = await r.lease.grant({ TTL: 10 }, T);
  assert.ok(BigInt(lease.ID) > 0n);
  const put = await r.kv.put({ key, value: Buffer.from('v1'), lease: lease.ID }, T);
  const ttl = await r.lease.timeToLive({ ID: lease.ID, keys: true }, T);
  assert.deepEqual(ttl.keys.map(String), [key.toString()]);
  assert.ok(Number(ttl.TTL) > 0 && Number(ttl.grantedTTL) === 10);
  const got = await r.kv.range({ key }, T);
  assert.equal(got.kvs.length, 1);
  assert.equal(got.kvs[0]!.value.toString(), 'v1');
  assert.equal(got.kvs[0]!.lease, lease.ID, 'a 63-bit lease ID survives the round trip');
  assert.equal(got.kvs[0]!.mod_revision, put.header.revision);
  const txn = await r.kv.txn(
    {
      compare: [{ key, target: 'CREATE', result: 'EQUAL', create_revision: got.kvs[0]!.create_revision }],
      success: [{ request_put: { key, value: Buffer.from('v2'), lease: lease.ID } }, { request_range: { key } }],
    },
    T,
  );
  assert.equal(txn.succeeded, true);
  assert.equal(txn.responses[1]!.response_range!.kvs[0]!.value.toString(), 'v2');
  const lost = await r.kv.txn({ compare: [{ key, target: 'VERSION', result: 'EQUAL', version: 0 }], success: [{ request_put: { key } }] }, T);
  assert.equal(lost.succeeded, false);
  await r.lease.revoke({ ID: lease.ID }, T);
  assert.equal((await r.kv.range({ key, count_only: true }, T)).count, '0');
  await assert.rejects(r.lease.revoke({ ID: lease.ID }, T), (err) => code(err) === ErrorCode.NotFound);
  const status = await r.status(T);
  // The server `npm test` started for this run (it reads GET /version), else any 3.x.
  const expected = process.env['COORD_ETCD_VERSION'];
  if (expected) assert.equal(status.version, expected);
  else assert.match(status.version, /^3\.\d+\./);
});

test('a keys-only range, alone or in a txn, gives key and revisions only, as etcd 3.7 does, on every server', async () => {
  const r = rpc(await etcdEndpoints());
  const key = Buffer.from(`${uniqueNamespace('keys-only')}/k`);
  const lease = await r.lease.grant({ TTL: 10 }, T);
  const put = await r.kv.put({ key, value: Buffer.from('v'), lease: lease.ID }, T);
  const fields = ['create_revision', 'key', 'mod_revision', 'version'];
  const alone = await r.kv.range({ key, keys_only: true }, T);
  assert.deepEqual(Object.keys(alone.kvs[0]!).sort(), fields);
  assert.deepEqual(alone.kvs[0], { key, create_revision: put.header.revision, mod_revision: put.header.revision, version: '1' });
  const txn = await r.kv.txn(
    { compare: [{ key, target: 'VERSION', result: 'EQUAL', version: 1 }], success: [{ request_range: { key, keys_only: true } }, { request_range: { key } }] },
    T,
  );
  assert.ok(txn.succeeded);
  assert.deepEqual(Object.keys(txn.responses[0].response_range.kvs[0]!).sort(), fields);
  // The full read beside it keeps what a recipe needs.
  assert.equal(txn.responses[1].response_range.kvs[0]!.lease, lease.ID);
  assert.equal(txn.responses[1].response_range.kvs[0]!.value.toString(), 'v');
  await r.lease.revoke({ ID: lease.ID }, T);
});

test('an answer we cannot decode is INTERNAL_ERROR naming the RPC, and is not retried as an outage', async () => {
  const client = new EtcdClient(resolveOptions({ endpoints: await etcdEndpoints(), namespace: uniqueNamespace('undecodable'), logger: silentLogger, retry: { maxAttempts: 3, initialDelayMs: 10 } }));
  try {
    let attempts = 0;
    const broken = { path: KV.range.path, decode: (): never => { throw new RangeError('varint over ten bytes'); } };
    const err = await client
      .call('test.read', 'k', (o) => (attempts++, client.rpc.channel.unary(broken, KV.range.encode({ key: Buffer.from('k') }), o)), { idempotent: true })
      .then(() => undefined, (e: unknown) => e);
    assert.ok(err instanceof CoordinationError);
    assert.equal(err.code, ErrorCode.Internal);
    assert.match(err.message, /undecodable \/etcdserverpb\.KV\/Range response: varint over ten bytes/);
    assert.equal(attempts, 1, 'a bug of ours is not retried');
  } finally {
    await client.close();
  }
});

test('an aborted unary call rejects at once with CANCELLED and frees its HTTP/2 stream', async () => {
  const p = await proxy();
  const r = rpc([p.url]);
  await r.kv.range({ key: Buffer.from('warm-up') }, T);
  await r.channel.whenIdle(); // a unary call resolves on its trailers; its stream closes just after
  await p.setMode('delay', 2000);
  const ac = new AbortController();
  const call = r.kv.range({ key: Buffer.from('slow') }, { timeoutMs: 10_000, signal: ac.signal });
  assert.equal(r.channel.openStreams, 1);
  const started = performance.now();
  ac.abort();
  await assert.rejects(call, (err) => code(err) === ErrorCode.Cancelled);
  assert.ok(performance.now() - started < 500, 'rejected at once');
  await r.channel.whenIdle();
  assert.equal(r.channel.openStreams, 0);
  await p.setMode('pass');
});

test('a cancelled watch stream frees its HTTP/2 stream', async () => {
  const r = rpc(await etcdEndpoints());
  const key = Buffer.from(`${uniqueNamespace('grpc')}/w`);
  const got: WatchResponse[] = [];
  let ended: GrpcError | undefined | 'open' = 'open';
  const stream = await r.watch({ onMessage: (m) => got.push(m), onEnd: (e) => (ended = e) }, 3000);
  stream.write({ create_request: { key } });
  await eventually(() => got.some((m) => m.created), { what: 'the watch to be created' });
  await r.kv.put({ key, value: Buffer.from('x') }, T);
  await eventually(() => got.some((m) => m.events.length === 1 && m.events[0]!.type === 'PUT'), { what: 'the PUT event' });
  // The put resolved on its trailers; its stream closes just after, leaving the watch's alone.
  await eventually(() => r.channel.openStreams === 1, { what: "the put's stream to close" });
  stream.cancel();
  await r.channel.whenIdle();
  assert.equal(r.channel.openStreams, 0);
  assert.ok((ended as unknown) instanceof GrpcError);
});

test('a connect into a black hole fails within the timeout and the next call succeeds after the heal', async () => {
  const p = await proxy();
  await p.setMode('blackhole');
  const r = rpc([p.url], { connectTimeoutMs: 700 });
  const started = performance.now();
  await assert.rejects(r.kv.range({ key: Buffer.from('k') }, { timeoutMs: 700 }), (err) => {
    const c = code(err);
    return c === ErrorCode.Connection || c === ErrorCode.Timeout;
  });
  const took = performance.now() - started;
  assert.ok(took < 1500, `failed after ${Math.round(took)} ms`);
  await eventually(() => r.channel.sessions === 0, { timeoutMs: 1000, what: 'the half-open session to be dropped' });
  await p.setMode('pass');
  p.resetAll();
  const res = await r.kv.range({ key: Buffer.from('k') }, { timeoutMs: 2000 });
  assert.ok(BigInt(res.header.revision) > 0n);
});

test('a call that times out on a session cut off in a black hole gets the session dropped (PING probe); the next call after the heal succeeds', async () => {
  const p = await proxy();
  const r = rpc([p.url], { connectTimeoutMs: 1000 });
  await r.kv.range({ key: Buffer.from('k') }, T);
  assert.equal(r.channel.sessions, 1);
  await p.setMode('blackhole');
  await assert.rejects(r.kv.range({ key: Buffer.from('k') }, { timeoutMs: 500 }), (err) => code(err) === ErrorCode.Timeout);
  // The probe's PING gets no ACK within the keep-alive timeout (1 s here): the session goes.
  await eventually(() => r.channel.sessions === 0, { timeoutMs: 3000, what: 'the dead session to be dropped' });
  await p.setMode('pass');
  const res = await r.kv.range({ key: Buffer.from('k') }, T);
  assert.ok(BigInt(res.header.revision) > 0n);
});

test('a call moves on to the next endpoint when one refuses connections', async () => {
  const p = await proxy();
  await p.setMode('refuse');
  const r = rpc([p.url, ...(await etcdEndpoints())]);
  for (let i = 0; i < 3; i++) await r.kv.range({ key: Buffer.from('k') }, T);
  await p.setMode('pass');
});

test('credentials given to an etcd without auth fail at once with AUTH_ERROR', async () => {
  const r = rpc(await etcdEndpoints(), { username: 'root', password: 'pw-never-shown' });
  const started = performance.now();
  await assert.rejects(r.kv.range({ key: Buffer.from('k') }, T), (err) => {
    assert.equal(code(err), ErrorCode.Auth);
    assert.match(String((err as Error).message), /authentication is not enabled/);
    assert.ok(!String((err as Error).message).includes('pw-never-shown'));
    return true;
  });
  assert.ok(performance.now() - started < 1000);
});

describe('auth-enabled etcd', () => {
  let etcd: EtcdCluster;
  before(async () => {
    etcd = await startAuthEtcd(['--auth-token-ttl', '1']);
  });
  after(() => etcd?.stop());

  test('the token is fetched once, sent as metadata, and fetched again when etcd drops it', async () => {
    const r = rpc(etcd.endpoints, { username: 'root', password: ROOT_PASSWORD });
    await r.kv.put({ key: Buffer.from('auth/k'), value: Buffer.from('1') }, T);
    // Simple tokens expire after --auth-token-ttl idle seconds: the next call meets "invalid auth token".
    await new Promise((res) => setTimeout(res, 2500));
    const res = await r.kv.range({ key: Buffer.from('auth/k') }, T);
    assert.equal(res.kvs[0]!.value.toString(), '1');
  });

  test('a wrong password is AUTH_ERROR and never in the message', async () => {
    const r = rpc(etcd.endpoints, { username: 'root', password: 'wrong-pw-123' });
    await assert.rejects(r.kv.range({ key: Buffer.from('k') }, T), (err) => code(err) === ErrorCode.Auth && !String((err as Error).message).includes('wrong-pw-123'));
  });

  test('without credentials an auth-enabled etcd refuses with AUTH_ERROR', async () => {
    const r = rpc(etcd.endpoints);
    await assert.rejects(r.kv.range({ key: Buffer.from('k') }, T), (err) => code(err) === ErrorCode.Auth);
  });
});

describe('mTLS', () => {
  let pki: Pki;
  let etcd: { url: string; stop(): Promise<void> };
  before(async () => {
    pki = makePki();
    etcd = await startTlsEtcd(pki, true);
  });
  after(async () => {
    await etcd?.stop();
    if (pki) rmSync(pki.dir, { recursive: true, force: true });
  });

  test('a client certificate reaches an etcd that requires one', async () => {
    const r = rpc([etcd.url], { tls: { ca: pki.ca, cert: pki.clientCert, key: pki.clientKey } });
    await r.kv.put({ key: Buffer.from('tls/k'), value: Buffer.from('1') }, T);
    assert.equal((await r.kv.range({ key: Buffer.from('tls/k') }, T)).kvs.length, 1);
  });

  test('without a client certificate the connection fails with CONNECTION_ERROR, not a hang', async () => {
    const r = rpc([etcd.url], { tls: { ca: pki.ca }, connectTimeoutMs: 1000 });
    await assert.rejects(r.kv.range({ key: Buffer.from('k') }, { timeoutMs: 1000 }), (err) => code(err) === ErrorCode.Connection || code(err) === ErrorCode.Timeout);
  });

  test('a server certificate from an unknown CA is refused', async () => {
    const r = rpc([etcd.url], { tls: { ca: pki.otherCa, cert: pki.clientCert, key: pki.clientKey }, connectTimeoutMs: 1000 });
    await assert.rejects(r.kv.range({ key: Buffer.from('k') }, { timeoutMs: 1000 }), (err) => code(err) === ErrorCode.Connection);
  });
});
