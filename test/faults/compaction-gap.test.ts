// Scenario 5 — compaction gap: a watcher is blackholed, N changes are written, etcd compacts to the
// head, the network heals. The history the watcher needs is gone, so it must reconcile explicitly
// (events marked `reconciled`, logged at WARN) and end equal to a fresh read — never a silent gap.
// Two ways the cut ends: (a) the broken connection is reset when the network heals; (b) the cut
// lasts past gRPC's keep-alive detection, so the watcher reconnects *into* the blackhole (recovered
// by the connect watchdog, src/client/connect-watchdog.ts).
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { createCoordinator, silentLogger, type ConfigEvent } from '../../src/index.js';
import { TcpProxy } from '../helpers/proxy.js';
import { captureLogger } from '../helpers/logs.js';
import { assertNoLeakedHandles, handleCounts, pause, prng, seed, startFaultCluster, type FaultCluster } from './harness.js';
import { table, writeSection } from './report.js';

const N = 200;
const KEYS = 20;
const SEED = seed(6105);
const NS = '/faults-compact';
const KEEPALIVE_DETECT_MS = 12_000;

let fc: FaultCluster;
let baseline: Map<string, number>;

before(async () => {
  fc = await startFaultCluster({ size: 1 });
  baseline = handleCounts();
});
after(async () => {
  try {
    await assertNoLeakedHandles(baseline, fc.proxies);
  } finally {
    await fc?.stop();
  }
});

const rows: Array<Array<string | number>> = [];

async function gap(variant: 'rst' | 'long'): Promise<void> {
  const rng = prng(SEED);
  const proxy = await TcpProxy.forUrl(fc.members[0]!.clientUrl).start();
  const writer = await createCoordinator({ endpoints: fc.direct, namespace: NS, logger: silentLogger });
  const logs = captureLogger();
  const watcher = await createCoordinator({ endpoints: [proxy.url], namespace: NS, timeoutMs: 1000, logger: logs.logger });
  const stop = new AbortController();
  const events: Array<ConfigEvent & { at: number }> = [];
  let done: Promise<void> = Promise.resolve();
  try {
    for (let k = 0; k < KEYS; k++) await writer.config.set(`app/${k}`, { v: 0 });
    const watch = watcher.config.watch('app/', { prefix: true, signal: stop.signal });
    await watch.ready;
    done = (async () => {
      for await (const e of watch) events.push({ ...e, at: performance.now() });
    })();
    await writer.config.set('app/0', { v: 'seen' });
    for (let n = 0; n < 200 && events.length === 0; n++) await pause(10);
    assert.equal(events.length, 1, 'the watch works before the cut');

    await proxy.setMode('blackhole');
    const cutAt = performance.now();
    // N changes the watcher cannot see: puts, deletes, and keys it never knew.
    for (let n = 0; n < N; n++) {
      const k = rng.int(0, KEYS + 5);
      if (rng.next() < 0.2) await writer.config.delete(`app/${k}`);
      else await writer.config.set(`app/${k}`, { v: n });
    }
    const head = await fc.revision();
    await fc.raw().kv.compact({ revision: head.toString(), physical: true });
    // Our proxy drops bytes, which TCP never does on a live connection: a cut that silently ends
    // would lose events inside a stream that stays up. So either the healed network resets the
    // broken connection (a), or the cut outlasts gRPC's keep-alive detection (b, 10 s ping + 1 s).
    if (variant === 'long') await pause(Math.max(0, KEEPALIVE_DETECT_MS - (performance.now() - cutAt)));
    const before = events.length;
    const healedAt = performance.now();
    if (variant === 'rst') await proxy.setMode('rst');
    await proxy.setMode('pass');

    const truth = new Map(Object.entries((await fc.raw().getAll().prefix(`${NS}/config/app/`).json()) as Record<string, unknown>).map(([k, v]) => [k.slice(`${NS}/config/`.length), v]));
    const view = (): Map<string, unknown> => {
      const m = new Map<string, unknown>();
      for (const e of events) {
        if (e.type === 'PUT') m.set(e.key, e.value);
        else m.delete(e.key);
      }
      return m;
    };
    const equal = (): boolean => {
      const v = view();
      return v.size === truth.size && [...truth].every(([k, x]) => JSON.stringify(v.get(k)) === JSON.stringify(x));
    };
    for (let n = 0; n < 1200 && !equal(); n++) await pause(25);
    const resyncMs = Math.round(performance.now() - healedAt);
    const after = events.slice(before);
    const reconciled = after.filter((e) => e.reconciled).length;
    const ordered = after.every((e, i) => i === 0 || e.revision >= after[i - 1]!.revision);
    const warned = logs.lines.filter((l) => l.level === 'warn' && /compact/i.test(`${l.message} ${JSON.stringify(l.fields)}`)).length;
    rows.push([
      variant === 'rst' ? '(a) cut of a few ms, connection reset at the heal' : `(b) cut held ${KEEPALIVE_DETECT_MS / 1000} s: reconnect attempted into the blackhole`,
      after.length,
      reconciled,
      ordered ? 'yes' : 'no',
      warned,
      equal() ? 'yes' : '**no**',
      equal() ? resyncMs : `> ${resyncMs}`,
    ]);
    assert.ok(equal(), 'the watcher view differs from a fresh read: a silent gap');
    assert.ok(reconciled > 0, 'no reconciling events: the gap was not made explicit');
    assert.ok(warned > 0, 'the compaction was not logged at WARN');
    assert.ok(ordered);
  } finally {
    stop.abort();
    await done.catch(() => undefined);
    await watcher.close();
    await writer.close();
    await proxy.stop();
    await fc.reset(`${NS}/`);
  }
}

after(() =>
  writeSection(
    'compaction-gap',
    '5. Compaction gap',
    `A watcher on a prefix of ${KEYS} keys is blackholed; ${N} changes (puts, deletes, new keys; seed ${SEED}) are written and etcd
is compacted to the head revision; then the network heals. The proxy drops bytes, which TCP never does on a live
connection, so the cut ends either with the broken connection reset (a) or after gRPC's keep-alive detection (b).

${table(['variant', 'events after the heal', 'of them reconciled', 'in revision order', 'WARN lines about the compaction', 'final view = fresh read', 'resync time after the heal (ms)'], rows)}

In (b) the watch's channel re-dials during the cut; that HTTP/2 handshake goes into the blackhole and grpc-js never
times it out (grpc-node#2785). Before \`src/client/connect-watchdog.ts\` the watch never resumed and the watcher stayed
silently behind; the watchdog resets a host's channels once one has been CONNECTING for a whole \`timeout\`.`,
  ),
);

test('(a) a watcher that missed compacted history reconciles explicitly and ends equal to a fresh read', () => gap('rst'));

test('(b) the same after a cut that outlasts the keep-alive (the watcher re-dials into the blackhole)', () => gap('long'));
