import { test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { CoordinationError, ErrorCode, type Coordinator } from '../../src/index.js';
import { etcdEndpoints, eventually, headRevision, rawClient, testCoordinator } from '../helpers/etcd.js';
import { runChild } from '../helpers/child.js';
import { TcpProxy } from '../helpers/proxy.js';
import { startCluster } from '../../scripts/lib/etcd.mjs';
import { Etcd3 } from 'etcd3';

const fixture = (name: string): string => new URL(`../fixtures/${name}.ts`, import.meta.url).pathname;

/** The raw key-value of one ID, read behind the library's back. */
async function rawId(c: Coordinator, pool: string, id: number) {
  const raw = await rawClient();
  const res = await raw.kv.range({ key: Buffer.from(`${c.namespace}/ids/${pool}/${id}`) });
  return res.kvs[0];
}


test('allocate writes <namespace>/ids/<pool>/<id> bound to a lease, with the holder as value', async () => {
  const c = await testCoordinator();
  const held = await c.ids.allocate('gateway', { min: 1, max: 1023 });
  assert.equal(held.pool, 'gateway');
  assert.ok(held.id >= 1 && held.id <= 1023);
  const kv = await rawId(c, 'gateway', held.id);
  assert.ok(kv, 'key exists');
  assert.notEqual(kv.lease, '0', 'bound to a lease');
  const owner = JSON.parse(kv.value.toString()) as { host: string; pid: number; since: string };
  assert.equal(owner.pid, process.pid);
  assert.equal(typeof owner.host, 'string');
  assert.equal(held.signal.aborted, false);
});

test('release() deletes the key, is idempotent, and is [Symbol.asyncDispose]', async () => {
  const c = await testCoordinator();
  const a = await c.ids.allocate('p', { min: 5, max: 5 });
  await a.release();
  await a.release();
  assert.equal(await rawId(c, 'p', 5), undefined);
  {
    await using b = await c.ids.allocate('p', { min: 5, max: 5 });
    assert.equal(b.id, 5, 'the released ID is free again');
  }
  assert.equal(await rawId(c, 'p', 5), undefined, 'disposed at scope end');
  assert.equal(a.signal.aborted, false, 'release is not a loss');
});

test('IDs are unique within one process: a pool of 8 hands out 8 distinct IDs', async () => {
  const c = await testCoordinator();
  const held = await Promise.all(Array.from({ length: 8 }, () => c.ids.allocate('p', { min: 0, max: 7 })));
  assert.deepEqual(held.map((h) => h.id).sort((a, b) => a - b), [0, 1, 2, 3, 4, 5, 6, 7]);
});

test('50 concurrent allocations from 5 processes in [1, 64] get 50 distinct IDs', async () => {
  const c = await testCoordinator();
  const raw = await rawClient();
  const ns = c.namespace;
  const env = { ETCD_ENDPOINTS: (await etcdEndpoints()).join(',') };
  const children = Array.from({ length: 5 }, () =>
    runChild(fixture('ids-allocate'), [ns, 'gw', '10', '1', '64'], { timeoutMs: 90_000, env }),
  );
  // Let them all start before any allocates, so their allocations really race.
  await eventually(async () => (await raw.getAll().prefix(`${ns}/barrier/ready/`).count()) === 5, {
    timeoutMs: 45_000,
    intervalMs: 50,
    what: '5 children ready',
  });
  await raw.put(`${ns}/barrier/go`).value('1');
  // All 50 held at the same moment (children hold theirs until told to let go).
  await eventually(async () => (await raw.getAll().prefix(`${ns}/ids/gw/`).count()) === 50, {
    timeoutMs: 20_000,
    intervalMs: 20,
    what: '50 IDs held at once',
  });
  await raw.put(`${ns}/barrier/release`).value('1');
  const results = await Promise.all(children);
  const ids: number[] = [];
  for (const r of results) {
    assert.equal(r.code, 0, r.stderr);
    const out = JSON.parse(r.stdout.trim().split('\n').at(-1)!) as { ids: number[]; lost: number };
    assert.equal(out.lost, 0);
    ids.push(...out.ids);
  }
  assert.equal(ids.length, 50);
  assert.equal(new Set(ids).size, 50, `duplicates in ${ids.join(',')}`);
  assert.ok(ids.every((id) => id >= 1 && id <= 64));
  await eventually(async () => (await raw.getAll().prefix(`${ns}/ids/gw/`).count()) === 0, { what: 'children released on close' });
});

test('a SIGKILLed holder keeps its ID until its TTL, then it can be allocated again', async () => {
  const c = await testCoordinator();
  const result = await runChild(fixture('ids-crash'), [c.namespace, 'solo', '2000'], {
    timeoutMs: 30_000,
    env: { ETCD_ENDPOINTS: (await etcdEndpoints()).join(',') },
  });
  assert.equal(result.signal, 'SIGKILL', result.stderr);
  assert.deepEqual(JSON.parse(result.stdout), { id: 1 });
  // Still held by the dead process's lease: not freed early.
  await assert.rejects(c.ids.allocate('solo', { min: 1, max: 1 }), { code: ErrorCode.Conflict });
  const held = await eventually(() => c.ids.allocate('solo', { min: 1, max: 1 }).catch(() => undefined), {
    timeoutMs: 10_000,
    intervalMs: 200,
    what: 'ID 1 to be free after the TTL',
  });
  assert.equal(held.id, 1);
});

test('a full pool rejects with CONFLICT naming the pool and range, and leaves nothing behind', async () => {
  const c = await testCoordinator();
  await c.ids.allocate('small', { min: 1, max: 2 });
  await c.ids.allocate('small', { min: 1, max: 2 });
  const before = await c.ids.list('small');
  const raw = await rawClient();
  const leases = (await raw.leaseClient.leaseLeases({})).leases.length;
  await assert.rejects(c.ids.allocate('small', { min: 1, max: 2 }), (err: CoordinationError) => {
    assert.equal(err.code, ErrorCode.Conflict);
    assert.equal(err.message, 'pool small full (1..2)');
    return true;
  });
  assert.deepEqual((await c.ids.list('small')).map((e) => e.id), before.map((e) => e.id));
  assert.equal((await raw.leaseClient.leaseLeases({})).leases.length, leases, 'the attempt revoked its lease');
});

test('preferred is honoured when free, and any free ID is taken when it is not', async () => {
  const c = await testCoordinator();
  const a = await c.ids.allocate('p', { min: 1, max: 1023, preferred: 777 });
  assert.equal(a.id, 777);
  const b = await c.ids.allocate('p', { min: 1, max: 1023, preferred: 777 });
  assert.notEqual(b.id, 777);
  await a.release();
  const again = await c.ids.allocate('p', { min: 1, max: 1023, preferred: 777 });
  assert.equal(again.id, 777, 'free again after release');
});

test('a lease revoked behind our back aborts the signal with a CoordinationError', async () => {
  const c = await testCoordinator();
  const held = await c.ids.allocate('p', { ttlMs: 3000 });
  const kv = await rawId(c, 'p', held.id);
  const raw = await rawClient();
  await raw.leaseClient.leaseRevoke({ ID: kv!.lease });
  await eventually(() => held.signal.aborted, { timeoutMs: 5000, what: 'lost signal' });
  const reason = held.signal.reason as CoordinationError;
  assert.ok(reason instanceof CoordinationError);
  assert.equal(reason.code, ErrorCode.NotFound);
  assert.match(reason.message, new RegExp(`instance id p/${held.id} lost: lease [0-9a-f]+ lost`));
  await held.release(); // a no-op now, and no error
});

test('a holder cut off from etcd learns its ID is lost within the TTL (before etcd can reassign it)', async () => {
  const proxy = await TcpProxy.forUrl((await etcdEndpoints())[0]!).start();
  const c = await testCoordinator({ endpoints: [proxy.url], timeoutMs: 500 });
  try {
    const held = await c.ids.allocate('p', { ttlMs: 2000 });
    await proxy.setMode('blackhole');
    const cut = performance.now();
    await eventually(() => held.signal.aborted, { timeoutMs: 4000, intervalMs: 20, what: 'lost signal' });
    const after = performance.now() - cut;
    assert.ok(after <= 2000 + 250, `lost after ${Math.round(after)} ms, TTL 2000 ms`);
    assert.match((held.signal.reason as Error).message, /not confirmed for its whole TTL/);
  } finally {
    await proxy.stop();
  }
});

test('a key deleted behind our back aborts the signal within half a TTL (the ID may go to someone else)', async () => {
  const c = await testCoordinator();
  const held = await c.ids.allocate('p', { ttlMs: 2000 });
  const raw = await rawClient();
  await raw.delete().key(`${c.namespace}/ids/p/${held.id}`);
  await eventually(() => held.signal.aborted, { timeoutMs: 5000, what: 'lost signal' });
  assert.match((held.signal.reason as Error).message, /key was deleted/);
});

/**
 * An ID held through a proxy that, once the holder watches its key, delays everything 2 s each way:
 * a change's event reaches the holder ~2 s after it, and an answer to the holder's lease check
 * would come ~4 s after the event. The proxy is stopped when the test ends.
 */
async function heldBehindSlowLink(t: TestContext) {
  const proxy = await TcpProxy.forUrl((await etcdEndpoints())[0]!).start();
  t.after(() => proxy.stop());
  const c = await testCoordinator({ endpoints: [proxy.url] });
  const held = await c.ids.allocate('p', { ttlMs: 30_000 });
  assert.equal(held.signal.aborted, false); // starts the watch on our key
  // Watches share one stream and etcd creates them in order: ours is live once a later one is.
  const barrier = c.config.watch('barrier');
  await barrier.ready;
  await barrier.close();
  await proxy.setMode('delay', 2000);
  return { key: `${c.namespace}/ids/p/${held.id}`, held };
}

test('a deleted key is reported within a second of the event even when the lease check is slow', async (t) => {
  const { key, held } = await heldBehindSlowLink(t);
  const raw = await rawClient();
  await raw.delete().key(key);
  await eventually(() => held.signal.aborted, { timeoutMs: 4500, what: 'lost signal' });
  assert.equal((held.signal.reason as CoordinationError).code, ErrorCode.NotFound);
  assert.match((held.signal.reason as Error).message, /key was deleted/);
});

test('a key deleted and at once re-created by another client is reported as deleted, not overwritten', async (t) => {
  const { key, held } = await heldBehindSlowLink(t);
  const raw = await rawClient();
  const lease = raw.lease(30, { autoKeepAlive: false });
  await raw.delete().key(key);
  // The other client's key reaches the holder while it still asks its lease about the delete.
  await lease.put(key).value('someone else');
  await eventually(() => held.signal.aborted, { timeoutMs: 4500, what: 'lost signal' });
  assert.match((held.signal.reason as Error).message, /key was deleted/);
  await lease.revoke();
});

test('a key deleted after its watch fell behind a compaction and the connection was cut still aborts the signal', async () => {
  // Its own etcd: the compaction must not touch other files' history.
  const cluster = await startCluster({ size: 1 });
  const proxy = await TcpProxy.forUrl(cluster.endpoints[0]!).start();
  const raw = new Etcd3({ hosts: cluster.endpoints });
  const c = await testCoordinator({ endpoints: [proxy.url] });
  try {
    const held = await c.ids.allocate('p', { ttlMs: 5000 });
    // Our key sees no change, so its watch stays at the allocation's revision; compact past it.
    for (let i = 0; i < 3; i++) await raw.put(`${c.namespace}/other/${i}`).value('x');
    const { header } = await raw.kv.range({ key: Buffer.from(`${c.namespace}/other/0`) });
    await raw.kv.compact({ revision: header.revision, physical: true });
    proxy.resetAll(); // the shared watch stream re-creates every watch at its revision: ours is compacted
    await raw.delete().key(`${c.namespace}/ids/p/${held.id}`);
    await eventually(() => held.signal.aborted, { timeoutMs: 8000, what: 'lost signal' });
    assert.match((held.signal.reason as Error).message, /key was deleted/);
  } finally {
    await c.close();
    raw.close();
    await proxy.stop();
    await cluster.stop();
  }
});

test('a key overwritten behind our back aborts the signal', async () => {
  const c = await testCoordinator();
  const held = await c.ids.allocate('p', { ttlMs: 2000 });
  const raw = await rawClient();
  await raw.put(`${c.namespace}/ids/p/${held.id}`).value('someone else');
  await eventually(() => held.signal.aborted, { timeoutMs: 5000, what: 'lost signal' });
  assert.match((held.signal.reason as Error).message, /key was overwritten/);
});

test('an ID taken by another client with the same txn (as a Go service would) counts as taken', async () => {
  const c = await testCoordinator();
  const raw = await rawClient();
  const key = `${c.namespace}/ids/mixed/1`;
  const lease = await raw.leaseClient.leaseGrant({ TTL: 30, ID: 0 });
  const res = await raw.if(key, 'Create', '==', 0).then(raw.put(key).value('go-gateway').lease(lease.ID)).commit();
  assert.equal(res.succeeded, true);
  await assert.rejects(c.ids.allocate('mixed', { min: 1, max: 1 }), { code: ErrorCode.Conflict });
  const held = await c.ids.allocate('mixed', { min: 1, max: 2 });
  assert.equal(held.id, 2);
  const list = await c.ids.list('mixed');
  assert.deepEqual(list.map((e) => [e.id, e.owner]), [[1, ''], [2, list[1]!.owner]]);
  assert.ok((list[0]!.remainingMs ?? 0) > 0 && list[0]!.remainingMs! <= 30_000);
  await raw.leaseClient.leaseRevoke({ ID: lease.ID });
});

test('list() shows an ID whose key has no lease with remainingMs undefined (the listings\' rule)', async () => {
  const c = await testCoordinator();
  const raw = await rawClient();
  await raw.put(`${c.namespace}/ids/bare/4`).value('x');
  assert.deepEqual(await c.ids.list('bare'), [{ id: 4, owner: '', remainingMs: undefined }]);
});

test('list() shows each taken ID with its holder and remaining TTL', async () => {
  const c = await testCoordinator();
  const a = await c.ids.allocate('p', { min: 1, max: 9, preferred: 3, ttlMs: 5000 });
  const b = await c.ids.allocate('p', { min: 1, max: 9, preferred: 2, ttlMs: 5000 });
  const raw = await rawClient();
  await raw.put(`${c.namespace}/ids/p/not-an-id`).value('x'); // foreign keys are ignored
  const list = await c.ids.list('p');
  assert.deepEqual(list.map((e) => e.id), [b.id, a.id]);
  for (const e of list) {
    assert.match(e.owner, new RegExp(`:${process.pid}$`));
    assert.ok((e.remainingMs ?? 0) > 0 && e.remainingMs! <= 5000, `remainingMs ${e.remainingMs}`);
  }
  assert.deepEqual(await c.ids.list('empty'), []);
});

test('coordinator.close() releases every ID it holds', async () => {
  const c = await testCoordinator();
  const held = await Promise.all([c.ids.allocate('p'), c.ids.allocate('p')]);
  await c.close();
  for (const h of held) assert.equal(await rawId(c, 'p', h.id), undefined);
  assert.ok(held.every((h) => !h.signal.aborted));
  await assert.rejects(c.ids.allocate('p'), { code: ErrorCode.Cancelled });
});

test('an aborted signal rejects with CANCELLED and holds nothing', async () => {
  const c = await testCoordinator();
  const controller = new AbortController();
  controller.abort();
  await assert.rejects(c.ids.allocate('p', { signal: controller.signal }), { code: ErrorCode.Cancelled });
  assert.deepEqual(await c.ids.list('p'), []);
});

test('bad pool names and ranges reject with VALIDATION_ERROR and write nothing', async () => {
  const c = await testCoordinator();
  const before = await headRevision();
  const bad: Array<[string, object]> = [
    ['', {}],
    ['a/b', {}],
    ['nul\0', {}],
    ['x'.repeat(129), {}],
    ['p', { min: 5, max: 4 }],
    ['p', { min: 1.5 }],
    ['p', { max: Number.NaN }],
    ['p', { min: -1 }],
    ['p', { min: 0, max: 1_000_000 }],
    ['p', { preferred: 0 }],
    ['p', { preferred: 2.5 }],
    ['p', { ttlMs: 0 }],
    ['p', { ttlMs: Infinity }],
  ];
  for (const [pool, opts] of bad) {
    await assert.rejects(c.ids.allocate(pool, opts), { code: ErrorCode.Validation }, `${JSON.stringify(pool)} ${JSON.stringify(opts)}`);
  }
  await assert.rejects(c.ids.list('a/b'), { code: ErrorCode.Validation });
  assert.equal(await headRevision(), before, 'nothing written');
});

test('release() takes { signal } and can be retried after a failure: the second call frees the ID', async () => {
  const c = await testCoordinator();
  const id = await c.ids.allocate('retry', { min: 1, max: 1 });
  await assert.rejects(id.release({ signal: AbortSignal.abort() }), { code: ErrorCode.Cancelled });
  assert.deepEqual((await c.ids.list('retry')).map((e) => e.id), [1], 'still taken after the failed release');
  await id.release();
  assert.deepEqual(await c.ids.list('retry'), []);
  const again = await c.ids.allocate('retry', { min: 1, max: 1 });
  assert.equal(again.id, 1);
  await again.release();
});

test('an ID whose lease ran out while its claim was on its way is never handed out: NOT_FOUND, nothing held', async () => {
  const proxy = await TcpProxy.forUrl((await etcdEndpoints())[0]!).start();
  try {
    const c = await testCoordinator({ endpoints: [proxy.url], timeoutMs: 5000 });
    // 900 ms each way: the grant answers 1.8 s after it was sent, the claim 3.6 s after, past the 2 s
    // TTL (the first keep-alive, 0.67 s after the grant's answer, answers later still). The claim
    // lands while etcd still has the lease; by the answer the ID may already be someone else's.
    await proxy.setMode('delay', 900);
    await assert.rejects(c.ids.allocate('slow', { min: 1, max: 1, ttlMs: 2000 }), (err: CoordinationError) => err.code === ErrorCode.NotFound && /lease ran out/.test(err.message));
    await proxy.setMode('pass');
    await eventually(async () => (await rawId(c, 'slow', 1)) === undefined, { timeoutMs: 5000, what: 'the claimed key to go with its lease' });
    const again = await c.ids.allocate('slow', { min: 1, max: 1, ttlMs: 2000 });
    assert.equal(again.id, 1, 'the ID is free again');
    await again.release();
  } finally {
    await proxy.stop();
  }
});

test('after a pause past the TTL, the first look at signal says lost, even from a timer due before ours', async () => {
  const c = await testCoordinator();
  const held = await c.ids.allocate('paused', { ttlMs: 2000 });
  assert.equal(held.signal.aborted, false);
  // The app's timer is due first; then the process stalls past the lease's TTL (a SIGSTOP or a long GC,
  // here the event loop blocked), so when it runs on, every overdue timer fires in the order it was due.
  const seen = new Promise<boolean>((resolve) => setTimeout(() => resolve(held.signal.aborted), 1));
  for (const until = Date.now() + 3000; Date.now() < until; );
  assert.equal(await seen, true, 'the app acting first must not see a stale "held"');
  assert.equal((held.signal.reason as CoordinationError).code, ErrorCode.NotFound);
  await held.release();
});
