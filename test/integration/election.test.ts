// Leader election against a real etcd: Go-format keys, one leader at a time, hand-over on resign,
// fencing, proclaim, observe, list, validation, and each bug of other implementations named in
// issue 16 (Go's Campaign without a key, etcd#21128, etcd#22123, etcd3 #158/#176).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ErrorCode, type CoordinationError, type Coordinator, type LeaderEvent, type LeaderInfo } from '../../src/index.js';
import { TcpProxy } from '../helpers/proxy.js';
import { etcdEndpoints, eventually, headRevision, pending, rawClient, testCoordinator } from '../helpers/etcd.js';

/** Full etcd prefix of election `name` (Go's `NewElection(s, "<ns>/elections/<name>")` + '/'). */
const prefixOf = (c: Coordinator, name: string): string => `${c.namespace}/elections/${name}/`;

async function candidates(c: Coordinator, name: string): Promise<string[]> {
  const raw = await rawClient();
  return raw.getAll().prefix(prefixOf(c, name)).sort('Create', 'Ascend').keys();
}



test('campaign writes a Go-format candidate key (lease hex, value) whose create revision is the fencing token', async () => {
  const c = await testCoordinator();
  const lead = await c.election.campaign('sched', 'host-a:1', { ttlMs: 5000 });
  assert.match(lead.key, new RegExp(`^${c.namespace}/elections/sched/[0-9a-f]+$`));
  const raw = await rawClient();
  const kv = (await raw.kv.range({ key: Buffer.from(lead.key) })).kvs[0]!;
  assert.equal(kv.value.toString(), 'host-a:1');
  assert.equal(BigInt(kv.create_revision), lead.fencingToken);
  assert.equal(BigInt(kv.lease).toString(16), lead.key.split('/').pop(), 'key name is its lease ID in hex');
  assert.deepEqual(await c.election.leader('sched'), { name: 'sched', value: 'host-a:1', key: lead.key, fencingToken: lead.fencingToken });
  await lead.resign();
  assert.deepEqual(await candidates(c, 'sched'), []);
  assert.equal(await c.election.leader('sched'), undefined);
});

test('a second candidate waits, then leads as soon as the leader resigns, with a higher fencing token', async () => {
  const a = await testCoordinator();
  const b = await testCoordinator({ namespace: a.namespace });
  const first = await a.election.campaign('job', 'a');
  const second = b.election.campaign('job', 'b');
  await eventually(async () => (await candidates(a, 'job')).length === 2, { what: 'b to queue' });
  assert.equal(await pending(second), true, 'b must not lead while a does');
  assert.equal((await b.election.leader('job'))?.value, 'a');
  await first.resign();
  const next = await second;
  assert.ok(next.fencingToken > first.fencingToken);
  assert.equal((await a.election.leader('job'))?.value, 'b');
  await next.resign();
});

test('bad name, value or ttlMs: VALIDATION_ERROR and nothing written', async () => {
  const c = await testCoordinator();
  const before = await headRevision();
  const bad: Array<[unknown, unknown, unknown]> = [
    ['', 'v', undefined],
    ['/abs', 'v', undefined],
    ['x/', 'v', undefined],
    ['a\0b', 'v', undefined],
    [42, 'v', undefined],
    ['ok', 7, undefined],
    ['ok', 'v', 1.5],
    ['ok', 'v', -1],
    ['ok', 'v', Number.NaN],
  ];
  for (const [name, value, ttlMs] of bad) {
    await assert.rejects(c.election.campaign(name as string, value as string, { ttlMs: ttlMs as number }), { code: ErrorCode.Validation });
  }
  await assert.rejects(c.election.campaign('ok', 'v', { ttlMs: 10 }), (err: Error & { code: string }) => {
    assert.equal(err.code, ErrorCode.Validation);
    assert.match(err.message, /milliseconds/);
    return true;
  });
  await assert.rejects(c.election.leader(''), { code: ErrorCode.Validation });
  assert.throws(() => c.election.observe('/x'), { code: ErrorCode.Validation });
  await assert.rejects(c.election.list('a\0'), { code: ErrorCode.Validation });
  assert.equal(await headRevision(), before, 'nothing written');
});

test('a cancelled campaign rejects CANCELLED and leaves no candidate key (etcd#21128)', async () => {
  const c = await testCoordinator();
  const lead = await c.election.campaign('cancel', 'a');
  const ac = new AbortController();
  const waiting = c.election.campaign('cancel', 'b', { signal: ac.signal });
  await eventually(async () => (await candidates(c, 'cancel')).length === 2, { what: 'b to queue' });
  ac.abort();
  await assert.rejects(waiting, { code: ErrorCode.Cancelled });
  assert.deepEqual(await candidates(c, 'cancel'), [lead.key], 'the cancelled candidate left nothing');
  await lead.resign();
});

test('a campaign whose lease is lost while waiting rejects NOT_FOUND and never leads', async () => {
  const c = await testCoordinator();
  const lead = await c.election.campaign('lost-lease', 'a');
  const waiting = c.election.campaign('lost-lease', 'b', { ttlMs: 3000 });
  waiting.catch(() => undefined);
  const raw = await rawClient();
  const [, mine] = await eventually(async () => {
    const keys = await candidates(c, 'lost-lease');
    return keys.length === 2 && keys;
  });
  await raw.leaseClient.leaseRevoke({ ID: BigInt('0x' + mine!.split('/').pop()).toString() }).catch(() => undefined);
  await assert.rejects(waiting, { code: ErrorCode.NotFound });
  await lead.resign();
  assert.deepEqual(await candidates(c, 'lost-lease'), []);
});

test('a candidate whose key is deleted while waiting rejects when the leader goes, instead of leading without a key (Go Campaign)', async () => {
  const c = await testCoordinator();
  const lead = await c.election.campaign('lost-key', 'a');
  const waiting = c.election.campaign('lost-key', 'b');
  waiting.catch(() => undefined);
  const raw = await rawClient();
  const [, mine] = await eventually(async () => {
    const keys = await candidates(c, 'lost-key');
    return keys.length === 2 && keys;
  });
  await raw.delete().key(mine!);
  await lead.resign();
  await assert.rejects(waiting, { code: ErrorCode.NotFound });
  assert.equal(await c.election.leader('lost-key'), undefined, 'nobody leads');
});

test('resign whose delete fails keeps leadership and can be retried (etcd#22123)', async () => {
  const proxy = await TcpProxy.forUrl((await etcdEndpoints())[0]!).start();
  try {
    const c = await testCoordinator({ endpoints: [proxy.url], timeoutMs: 500 });
    const lead = await c.election.campaign('retry', 'a', { ttlMs: 10_000 });
    await proxy.setMode('blackhole');
    await assert.rejects(lead.resign(), (err: Error & { code: string }) => ([ErrorCode.Timeout, ErrorCode.Connection, ErrorCode.Unavailable] as string[]).includes(err.code));
    assert.equal(lead.signal.aborted, false, 'still the leader');
    assert.deepEqual(await candidates(c, 'retry'), [lead.key], 'our key is still there');
    await proxy.setMode('pass');
    await eventually(async () => {
      await lead.resign();
      return true;
    }, { what: 'resign to succeed once etcd is reachable' });
    assert.deepEqual(await candidates(c, 'retry'), []);
    await lead.resign(); // idempotent
  } finally {
    await proxy.stop();
  }
});

test('resign whose delete lands but whose answer is lost: retrying resolves, and the next candidate leads', async () => {
  const proxy = await TcpProxy.forUrl((await etcdEndpoints())[0]!).start();
  try {
    const c = await testCoordinator({ endpoints: [proxy.url], timeoutMs: 500 });
    const lead = await c.election.campaign('lost-answer', 'a', { ttlMs: 10_000 });
    const other = await testCoordinator({ namespace: c.namespace });
    const next = other.election.campaign('lost-answer', 'b', { ttlMs: 10_000 });
    await eventually(async () => (await candidates(c, 'lost-answer')).length === 2, { what: 'the second candidate to queue' });
    await proxy.setMode('oneway');
    await assert.rejects(lead.resign(), (err: Error & { code: string }) => ([ErrorCode.Timeout, ErrorCode.Connection, ErrorCode.Unavailable] as string[]).includes(err.code));
    // The delete landed: the next candidate leads although our resign() failed.
    const successor = await next;
    assert.ok(successor.fencingToken > lead.fencingToken);
    await proxy.setMode('pass');
    await eventually(async () => {
      await lead.resign();
      return true;
    }, { what: 'the retried resign to resolve' });
    assert.equal((await other.election.leader('lost-answer'))?.key, successor.key, 'the retry deleted nothing of the new leader');
    await successor.resign();
  } finally {
    await proxy.stop();
  }
});

test('proclaim changes the value followers see; after losing the key it rejects (the loss reason) and writes nothing', async () => {
  const c = await testCoordinator();
  const lead = await c.election.campaign('proclaim', 'v1');
  await lead.proclaim('v2');
  assert.equal((await c.election.leader('proclaim'))?.value, 'v2');
  assert.equal((await c.election.leader('proclaim'))?.fencingToken, lead.fencingToken, 'same key, same fencing token');
  const raw = await rawClient();
  await raw.delete().key(lead.key);
  const before = await headRevision();
  // The loss reason, as a lock's (NOT_FOUND once our watch saw the delete), or CONFLICT if proclaim's guard found it first.
  await assert.rejects(lead.proclaim('v3'), (err: CoordinationError) => err.code === ErrorCode.NotFound || err.code === ErrorCode.Conflict);
  assert.equal(await headRevision(), before, 'nothing written');
  assert.equal(lead.signal.aborted, true);
  await lead.resign();
});

test('signal aborts NOT_FOUND when our key is deleted behind our back', async () => {
  const c = await testCoordinator();
  const lead = await c.election.campaign('sig', 'a');
  const raw = await rawClient();
  const aborted = new Promise((resolve) => lead.signal.addEventListener('abort', resolve, { once: true }));
  await eventually(async () => (await candidates(c, 'sig')).length === 1);
  await new Promise((r) => setTimeout(r, 50)); // let the own-key watch start
  await raw.delete().key(lead.key);
  await aborted;
  assert.equal((lead.signal.reason as { code: string }).code, ErrorCode.NotFound);
  await lead.resign();
});

test('observe delivers every leader change in order: none, a, a\'s new value, b, none', async () => {
  const a = await testCoordinator();
  const b = await testCoordinator({ namespace: a.namespace });
  const obs = a.election.observe('watched');
  await obs.ready;
  const seen: Array<LeaderInfo | undefined> = [];
  const events: LeaderEvent[] = [];
  const done = (async () => {
    for await (const ev of obs) {
      events.push(ev);
      seen.push(ev.leader);
      if (seen.length === 5) break;
    }
  })();
  const la = await a.election.campaign('watched', 'a');
  const pb = b.election.campaign('watched', 'b');
  await eventually(async () => (await candidates(a, 'watched')).length === 2);
  await la.proclaim('a2');
  await la.resign();
  const lb = await pb;
  await lb.resign();
  await done;
  assert.deepEqual(
    seen.map((l) => l && [l.value, l.fencingToken]),
    [undefined, ['a', la.fencingToken], ['a2', la.fencingToken], ['b', lb.fencingToken], undefined],
  );
  // Events like config's and the registry's: a type, and the etcd revision of each change, rising.
  assert.deepEqual(events.map((e) => e.type), ['DELETE', 'PUT', 'PUT', 'PUT', 'DELETE']);
  assert.equal(events[0]!.revision, await obs.ready);
  for (let i = 1; i < events.length; i++) assert.ok(events[i]!.revision > events[i - 1]!.revision, `revision ${events[i]!.revision} after ${events[i - 1]!.revision}`);
  assert.ok(events[1]!.revision >= la.fencingToken, 'the change that made a lead is at or after its key');
  assert.ok(events.every((e) => e.reconciled === false && e.timestamp instanceof Date));
});

test('observe starts with the current leader and ends on close()', async () => {
  const c = await testCoordinator();
  const lead = await c.election.campaign('obs-now', 'x');
  const obs = c.election.observe('obs-now');
  const it = obs[Symbol.asyncIterator]();
  assert.equal((await it.next()).value?.leader?.value, 'x');
  await obs.close();
  assert.equal((await it.next()).done, true);
  await lead.resign();
});

test('list shows each election with its leader, value, fencing token and candidates', async () => {
  const c = await testCoordinator();
  const x = await c.election.campaign('grp/x', 'vx');
  const y = await c.election.campaign('grp/y', 'vy');
  const y2 = c.election.campaign('grp/y', 'vy2');
  await eventually(async () => (await candidates(c, 'grp/y')).length === 2);
  const list = await c.election.list('grp/');
  assert.deepEqual(
    list.map((e) => [e.name, e.leader.value, e.leader.fencingToken, e.candidates]),
    [
      ['grp/x', 'vx', x.fencingToken, 0],
      ['grp/y', 'vy', y.fencingToken, 1],
    ],
  );
  assert.ok(list[0]!.remainingMs! > 0);
  await x.resign();
  await y.resign();
  await (await y2).resign();
});

test('await using resigns at the end of the scope', async () => {
  const c = await testCoordinator();
  {
    await using lead = await c.election.campaign('scoped', 'a');
    assert.equal((await c.election.leader('scoped'))?.key, lead.key);
  }
  assert.deepEqual(await candidates(c, 'scoped'), []);
});

test('close() while campaigning rejects the campaign and leaves no candidate key', async () => {
  const a = await testCoordinator();
  const b = await testCoordinator({ namespace: a.namespace });
  const lead = await a.election.campaign('closing', 'a');
  const waiting = b.election.campaign('closing', 'b');
  const outcome = waiting.then(
    () => 'led',
    (err: { code: string }) => err.code,
  );
  await eventually(async () => (await candidates(a, 'closing')).length === 2);
  await b.close();
  assert.equal(await outcome, ErrorCode.Cancelled);
  assert.deepEqual(await candidates(a, 'closing'), [lead.key]);
  await lead.resign();
});

test('close() revokes our leadership and ends observations: no key, no lease left', async () => {
  const c = await testCoordinator();
  const lead = await c.election.campaign('close-all', 'a');
  const obs = c.election.observe('close-all');
  await obs.ready;
  const it = obs[Symbol.asyncIterator]();
  assert.equal((await it.next()).value?.leader?.value, 'a');
  const raw = await rawClient();
  const leaseId = BigInt('0x' + lead.key.split('/').pop()).toString();
  await c.close();
  assert.equal((await it.next()).done, true, 'the observation ended');
  assert.deepEqual(await raw.getAll().prefix(prefixOf(c, 'close-all')).keys(), []);
  const ttl = await raw.leaseClient.leaseTimeToLive({ ID: leaseId });
  assert.equal(Number(ttl.TTL), -1, 'our lease is revoked');
});

test('resign after the lease was revoked behind our back: signal fired, resign resolves, nothing left', async () => {
  const c = await testCoordinator();
  const lead = await c.election.campaign('revoked', 'a', { ttlMs: 3000 });
  const aborted = new Promise((resolve) => lead.signal.addEventListener('abort', resolve, { once: true }));
  const raw = await rawClient();
  await raw.leaseClient.leaseRevoke({ ID: BigInt('0x' + lead.key.split('/').pop()).toString() });
  await aborted;
  await lead.resign();
  await assert.rejects(lead.proclaim('b'), { code: ErrorCode.NotFound }); // the loss reason: our lease is gone
  assert.deepEqual(await candidates(c, 'revoked'), []);
});

test('an observer cut off while leaders change and etcd compacts ends at the true leader (reconciled, not silent)', async () => {
  const proxy = await TcpProxy.forUrl((await etcdEndpoints())[0]!).start();
  try {
    const writer = await testCoordinator();
    const watcher = await testCoordinator({ namespace: writer.namespace, endpoints: [proxy.url], timeoutMs: 1000 });
    const first = await writer.election.campaign('compacted', 'a');
    const obs = watcher.election.observe('compacted');
    await obs.ready;
    const seen: Array<LeaderInfo | undefined> = [];
    const following = (async () => {
      for await (const ev of obs) seen.push(ev.leader);
    })();
    await eventually(() => seen.length === 1, { what: 'the first leader' });
    await proxy.setMode('blackhole');
    const second = writer.election.campaign('compacted', 'b');
    await eventually(async () => (await candidates(writer, 'compacted')).length === 2);
    await first.resign();
    const lead = await second;
    await lead.proclaim('b2');
    const raw = await rawClient();
    await raw.kv.compact({ revision: (await headRevision()).toString(), physical: true });
    await proxy.setMode('rst');
    await proxy.setMode('pass');
    await eventually(() => seen.at(-1)?.value === 'b2', { timeoutMs: 20_000, what: 'the observer to reach the true leader' });
    assert.equal(seen.at(-1)?.fencingToken, lead.fencingToken, 'the true create revision, re-read after the compaction');
    await obs.close();
    await following;
    await lead.resign();
  } finally {
    await proxy.stop();
  }
});

test('a leader cut off from etcd loses signal before anyone else can lead (local deadline, never two leaders)', async () => {
  const proxy = await TcpProxy.forUrl((await etcdEndpoints())[0]!).start();
  try {
    const cutOff = await testCoordinator({ endpoints: [proxy.url], timeoutMs: 500 });
    const other = await testCoordinator({ namespace: cutOff.namespace });
    const lead = await cutOff.election.campaign('partition', 'old', { ttlMs: 2000 });
    let lostAt = 0;
    const lost = new Promise<void>((resolve) =>
      lead.signal.addEventListener(
        'abort',
        () => {
          lostAt = performance.now();
          resolve();
        },
        { once: true },
      ),
    );
    const next = other.election.campaign('partition', 'new', { ttlMs: 2000 });
    await eventually(async () => (await candidates(other, 'partition')).length === 2, { what: 'the next candidate to queue' });
    await proxy.setMode('blackhole');
    const lead2 = await next; // etcd expires the cut-off leader's lease
    const ledAt = performance.now();
    await lost;
    assert.ok(lostAt <= ledAt, `the old leader learned of its loss ${Math.round(lostAt - ledAt)} ms after the new one led`);
    assert.equal((lead.signal.reason as { code: string }).code, ErrorCode.NotFound);
    await lead2.resign();
  } finally {
    await proxy.stop();
  }
});
