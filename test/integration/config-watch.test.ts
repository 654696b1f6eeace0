// Gap-free config watches against a member of this file's own (it gets cut off, restarted and
// compacted, which must not disturb the suite's shared etcd).
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { Etcd3 } from 'etcd3';
import { startCluster, type EtcdCluster } from '../../scripts/lib/etcd.mjs';
import { createCoordinator, ErrorCode, silentLogger, type ConfigEvent, type Coordinator, type CoordinatorOptions } from '../../src/index.js';
import { clientOf } from '../../src/coordinator.js';
import { eventually, uniqueNamespace } from '../helpers/etcd.js';
import { captureLogger } from '../helpers/logs.js';
import { TcpProxy } from '../helpers/proxy.js';

let cluster: EtcdCluster;
before(async () => {
  cluster = await startCluster({ size: 1 });
});
after(async () => {
  await cluster?.stop();
});

async function coordinator(options: Partial<CoordinatorOptions> = {}): Promise<Coordinator> {
  const coord = await createCoordinator({
    endpoints: cluster.endpoints,
    namespace: uniqueNamespace('w'),
    logger: silentLogger,
    retry: { maxAttempts: 1 },
    timeoutMs: 2000,
    ...options,
  });
  after(() => coord.close());
  return coord;
}

/** A coordinator whose traffic goes through a TCP proxy we can cut. */
async function proxied(namespace: string, options: Partial<CoordinatorOptions> = {}): Promise<{ coord: Coordinator; proxy: TcpProxy }> {
  const proxy = await TcpProxy.forUrl(cluster.endpoints[0]!).start();
  after(() => proxy.stop());
  return { coord: await coordinator({ endpoints: [proxy.url], namespace, ...options }), proxy };
}

/** Collects events of a watch in the background. */
function collect(iterable: AsyncIterable<ConfigEvent>): { events: ConfigEvent[]; done: Promise<void> } {
  const events: ConfigEvent[] = [];
  const done = (async () => {
    for await (const ev of iterable) events.push(ev);
  })();
  return { events, done };
}

function assertGapFree(events: ConfigEvent[]): void {
  for (let i = 1; i < events.length; i++) {
    assert.ok(events[i]!.revision > events[i - 1]!.revision, `revision order at ${i}: ${events[i - 1]!.revision} then ${events[i]!.revision}`);
  }
}

const metric = async (name: string): Promise<number> => {
  const text = await (await fetch(`${cluster.endpoints[0]}/metrics`)).text();
  return Number(text.match(new RegExp(`^${name} (\\S+)$`, 'm'))?.[1] ?? NaN);
};

test('watch sees PUT then DELETE with increasing revisions and a timestamp', async () => {
  const { config } = await coordinator();
  const watch = config.watch('flag');
  await watch.ready;
  const put = await config.set('flag', { on: true });
  await config.delete('flag');
  const seen: ConfigEvent[] = [];
  for await (const ev of watch) {
    seen.push(ev);
    if (seen.length === 2) break;
  }
  assert.deepEqual(
    seen.map((e) => [e.type, e.key, e.value]),
    [
      ['PUT', 'flag', { on: true }],
      ['DELETE', 'flag', undefined],
    ],
  );
  assert.equal(seen[0]!.revision, put.revision);
  assert.ok(seen[1]!.revision > seen[0]!.revision);
  assert.ok(seen[0]!.timestamp instanceof Date);
  assert.equal(seen[0]!.reconciled, false);
});

test('a prefix watch sees only keys under the prefix; fromRevision replays history', async () => {
  const { config } = await coordinator();
  const first = await config.set('app/a', 1);
  await config.set('other', 2);
  await config.set('app/b', 3);
  const seen: ConfigEvent[] = [];
  for await (const ev of config.watch('app/', { prefix: true, fromRevision: first.revision })) {
    seen.push(ev);
    if (seen.length === 2) break;
  }
  assert.deepEqual(
    seen.map((e) => [e.key, e.value]),
    [
      ['app/a', 1],
      ['app/b', 3],
    ],
  );
});

test('breaking the loop, abort and close() end the watch and free its etcd watcher', async () => {
  const { config } = await coordinator();
  const baseline = await metric('etcd_debugging_mvcc_watcher_total');
  const broken = config.watch('x');
  await broken.ready;
  const ac = new AbortController();
  const aborted = config.watch('y', { signal: ac.signal });
  const closed = config.watch('z');
  await Promise.all([aborted.ready, closed.ready]);
  await eventually(async () => (await metric('etcd_debugging_mvcc_watcher_total')) >= baseline + 3, { what: 'watchers created' });
  const abortedRun = collect(aborted);
  const closedRun = collect(closed);
  await config.set('x', 1);
  for await (const _ of broken) break;
  ac.abort();
  await closed.close();
  await Promise.all([abortedRun.done, closedRun.done]);
  await eventually(async () => (await metric('etcd_debugging_mvcc_watcher_total')) === baseline, { what: 'watchers freed' });
});

test('a watch survives a connection cut: values written during the outage all arrive, in order, once', async () => {
  const namespace = uniqueNamespace('cut');
  const { coord, proxy } = await proxied(namespace);
  const writer = await coordinator({ namespace });
  const watch = coord.config.watch('n');
  await watch.ready;
  const run = collect(watch);
  await writer.config.set('n', 0);
  await eventually(() => run.events.length === 1, { what: 'first event' });
  await proxy.setMode('refuse');
  for (let i = 1; i <= 5; i++) await writer.config.set('n', i);
  await proxy.setMode('rst');
  await proxy.setMode('pass');
  await eventually(() => run.events.length >= 6, { what: 'all values after reconnect', timeoutMs: 20_000 });
  await writer.config.set('n', 6);
  await eventually(() => run.events.length >= 7, { what: 'a value after reconnect' });
  await watch.close();
  assert.deepEqual(
    run.events.map((e) => e.value),
    [0, 1, 2, 3, 4, 5, 6],
  );
  assertGapFree(run.events);
});

test('a watch opened while etcd is unreachable waits, then starts synced once etcd answers', async () => {
  const namespace = uniqueNamespace('late');
  const logs = captureLogger();
  const { coord, proxy } = await proxied(namespace, { logger: logs.logger, timeoutMs: 500 });
  const writer = await coordinator({ namespace });
  await proxy.setMode('refuse');
  const watch = coord.config.watch('late');
  let ready = false;
  void watch.ready.then(() => (ready = true));
  await eventually(() => logs.lines.some((l) => l.level === 'warn' && /retrying/.test(l.message)), { what: 'a logged retry' });
  assert.equal(ready, false);
  await proxy.setMode('pass');
  const synced = await watch.ready;
  const put = await writer.config.set('late', 'v');
  assert.ok(put.revision > synced);
  for await (const ev of watch) {
    assert.deepEqual([ev.value, ev.revision], ['v', put.revision]);
    break;
  }
});

test('a cut during a long catch-up resumes after the last delivered event, not at the head etcd3 saw', async () => {
  // etcd sends catch-up in batches of 1000 revisions, each headed with the store's head revision;
  // etcd3 alone would resume after that head and skip the rest of the backlog.
  const namespace = uniqueNamespace('catchup');
  const { coord, proxy } = await proxied(namespace);
  const writer = await coordinator({ namespace });
  const total = 1500;
  const first = await writer.config.set('b/0', 0);
  for (let i = 1; i < total; i += 100) {
    await Promise.all(Array.from({ length: Math.min(100, total - i) }, (_, j) => writer.config.set(`b/${i + j}`, i + j)));
  }
  const watch = coord.config.watch('b/', { prefix: true, fromRevision: first.revision });
  const run = collect(watch);
  await eventually(() => run.events.length > 0, { what: 'the first batch' });
  proxy.resetAll();
  await eventually(() => run.events.length >= total, { what: `all ${total} events`, timeoutMs: 20_000 });
  await watch.close();
  assert.equal(run.events.length, total);
  assertGapFree(run.events);
  assert.deepEqual(new Set(run.events.map((e) => e.key)).size, total);
  // More keys than one page (500): list reads them in pages at one revision.
  const keys = await writer.config.list('b/');
  assert.equal(keys.length, total);
  assert.deepEqual(keys, [...keys].sort((a, b) => Buffer.compare(Buffer.from(a), Buffer.from(b))));
});

test('a watch survives an etcd restart with no missed value', async () => {
  const member = cluster.members[0]!;
  const { config, namespace } = await coordinator();
  const watch = config.watch('r', { prefix: true });
  await watch.ready;
  const run = collect(watch);
  await config.set('r/1', 'before');
  await eventually(() => run.events.length === 1, { what: 'first event' });
  await member.stop();
  await member.start();
  // Written as soon as etcd is back, while the watch may still be reconnecting.
  const direct = new Etcd3({ hosts: cluster.endpoints });
  try {
    for (let i = 2; i <= 4; i++) await direct.put(`${namespace}/config/r/${i}`).value(JSON.stringify(`after-${i}`));
  } finally {
    direct.close();
  }
  await eventually(() => run.events.length >= 4, { what: 'values written after the restart', timeoutMs: 30_000 });
  await watch.close();
  assert.deepEqual(
    run.events.map((e) => [e.key, e.value]),
    [
      ['r/1', 'before'],
      ['r/2', 'after-2'],
      ['r/3', 'after-3'],
      ['r/4', 'after-4'],
    ],
  );
  assertGapFree(run.events);
});

test('a forced compaction while a watch is cut off yields reconciling PUT/DELETE events, logged at WARN', async () => {
  const namespace = uniqueNamespace('compact');
  const logs = captureLogger();
  const { coord, proxy } = await proxied(namespace, { logger: logs.logger });
  const writer = await coordinator({ namespace });
  await writer.config.set('s/keep', 'k');
  await writer.config.set('s/gone', 'g');
  await writer.config.set('s/changed', 'old');
  const watch = coord.config.watch('s/', { prefix: true });
  await watch.ready;
  const run = collect(watch);
  await proxy.setMode('refuse');
  await writer.config.set('s/changed', 'mid');
  await writer.config.set('s/changed', 'new');
  await writer.config.delete('s/gone');
  const added = await writer.config.set('s/added', 'a');
  const etcd = new Etcd3({ hosts: cluster.endpoints });
  try {
    await etcd.kv.compact({ revision: String(added.revision), physical: true });
  } finally {
    etcd.close();
  }
  await proxy.setMode('pass');
  await eventually(() => run.events.length >= 3, { what: 'reconciling events', timeoutMs: 20_000 });
  const after1 = await writer.config.set('s/after', 1);
  await eventually(() => run.events.some((e) => e.key === 's/after'), { what: 'an event after the resync' });
  await watch.close();
  const reconciled = run.events.filter((e) => e.reconciled);
  assert.deepEqual(
    reconciled.map((e) => [e.type, e.key, e.value]),
    [
      ['PUT', 's/changed', 'new'],
      ['PUT', 's/added', 'a'],
      ['DELETE', 's/gone', undefined],
    ],
  );
  assert.equal(run.events.at(-1)!.revision, after1.revision);
  assert.equal(run.events.at(-1)!.reconciled, false);
  assertGapFree(run.events.filter((e) => e.type === 'PUT'));
  for (let i = 1; i < run.events.length; i++) assert.ok(run.events[i]!.revision >= run.events[i - 1]!.revision);
  assert.ok(logs.lines.some((l) => l.level === 'warn' && /compacted/.test(l.message)), 'resync logged at WARN');
  logs.assertNotContains('"new"');
});

test('fromRevision already compacted: current keys changed since then arrive as reconciled PUTs', async () => {
  const { config } = await coordinator();
  const first = await config.set('fc/a', 1);
  const second = await config.set('fc/b', 2);
  const etcd = new Etcd3({ hosts: cluster.endpoints });
  try {
    await etcd.kv.compact({ revision: String(second.revision), physical: true });
  } finally {
    etcd.close();
  }
  const seen: ConfigEvent[] = [];
  const watch = config.watch('fc/', { prefix: true, fromRevision: first.revision + 1n });
  await watch.ready;
  await config.set('fc/c', 3);
  for await (const ev of watch) {
    seen.push(ev);
    if (seen.length === 2) break;
  }
  assert.deepEqual(
    seen.map((e) => [e.key, e.value, e.reconciled]),
    [
      ['fc/b', 2, true],
      ['fc/c', 3, false],
    ],
  );
});

test('history reaches back only to the last compaction; rollback past it is NOT_FOUND', async () => {
  const { config } = await coordinator();
  const r1 = await config.set('c', 1);
  await config.set('c', 2);
  const r3 = await config.set('c', 3);
  const etcd = new Etcd3({ hosts: cluster.endpoints });
  try {
    await etcd.kv.compact({ revision: String(r3.revision), physical: true });
  } finally {
    etcd.close();
  }
  assert.deepEqual((await config.history('c')).map((v) => v.value), [3]);
  await assert.rejects(config.rollback('c', r1.revision), { code: ErrorCode.NotFound });
  await assert.rejects(config.rollback('absent', r3.revision), { code: ErrorCode.NotFound });
});

test('a key named like jobs.compacted keeps its full history: a read of it that fails is that failure, not a compaction', async () => {
  const { coord, proxy } = await proxied(uniqueNamespace('hist'));
  const { config } = coord;
  for (const v of [1, 2, 3]) await config.set('jobs.compacted', v);
  assert.deepEqual((await config.history('jobs.compacted')).map((v) => v.value), [3, 2, 1]);
  // The connection breaks under the walk's second read (the version before the head's).
  const kv = clientOf(coord).rpc.kv;
  const range = kv.range;
  let reads = 0;
  kv.range = async (req, o) => {
    if (++reads === 2) await proxy.setMode('rst');
    return range(req, o);
  };
  try {
    await assert.rejects(config.history('jobs.compacted'), { code: ErrorCode.Connection });
  } finally {
    kv.range = range;
    await proxy.setMode('pass');
  }
  assert.deepEqual((await config.history('jobs.compacted')).map((v) => v.value), [3, 2, 1]);
  // A real compaction still ends the walk at its horizon.
  const etcd = new Etcd3({ hosts: cluster.endpoints });
  try {
    const head = BigInt((await etcd.kv.range({ key: Buffer.from('\0'), count_only: true })).header.revision);
    await etcd.kv.compact({ revision: String(head), physical: true });
  } finally {
    etcd.close();
  }
  assert.deepEqual((await config.history('jobs.compacted')).map((v) => v.value), [3]);
});

test('coordinator.close() ends running watches', async () => {
  const coord = await coordinator();
  const watch = coord.config.watch('w');
  await watch.ready;
  const run = collect(watch);
  await coord.close();
  await run.done;
  assert.throws(() => coord.config.watch('w'), { code: ErrorCode.Cancelled });
});
