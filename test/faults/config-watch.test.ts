// Scenario 4 — config watch under faults: a writer puts sequenced values at 50–100/s while 4
// watchers follow the prefix through the proxies; their connections are RST every 2–3 s, a member
// is killed and restarted, the leader is SIGSTOPped. Per watcher: events in revision order, no
// duplicates, no acknowledged write missing, and its final view equals a fresh range read.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { createCoordinator, silentLogger, type ConfigEvent, type Coordinator } from '../../src/index.js';
import { assertNoLeakedHandles, bounded, handleCounts, pause, prng, seed, startFaultCluster, type FaultCluster } from './harness.js';
import { table, writeSection } from './report.js';

const WATCHERS = 4;
const DURATION_MS = 40_000;
const KEYS = 8;
const SEED = seed(6104);
const NS = '/faults-cfgwatch';

let fc: FaultCluster;
let baseline: Map<string, number>;

before(async () => {
  fc = await startFaultCluster();
  baseline = handleCounts();
});
after(async () => {
  try {
    await assertNoLeakedHandles(baseline, fc.proxies);
  } finally {
    await fc?.stop();
  }
});

interface WatcherState {
  c: Coordinator;
  events: ConfigEvent[];
  done: Promise<void>;
  stop: AbortController;
}

test('watchers stay ordered, unique and gap-free through RSTs, a member kill and a stopped leader', async () => {
  const rng = prng(SEED);
  // The writer talks to the members directly: the faults under test are the watchers'.
  const writer = await createCoordinator({ endpoints: fc.direct, namespace: NS, timeoutMs: 1000, logger: silentLogger });
  const watchers: WatcherState[] = [];
  const acked: Array<{ key: string; n: number; revision: bigint }> = [];
  let failedWrites = 0;
  const faults = { rst: 0, memberKills: 0, leaderStops: 0 };
  try {
    for (let i = 0; i < WATCHERS; i++) {
      const c = await createCoordinator({ endpoints: fc.endpoints, namespace: NS, timeoutMs: 1000, logger: silentLogger });
      const stop = new AbortController();
      const events: ConfigEvent[] = [];
      const watch = c.config.watch('seq/', { prefix: true, signal: stop.signal });
      await watch.ready;
      const done = (async () => {
        for await (const e of watch) events.push(e);
      })();
      watchers.push({ c, events, done, stop });
    }
    const started = Date.now();
    // Writer: 50–100 puts/s of a sequence number over KEYS keys, until the run ends.
    const writing = bounded({ maxIterations: 20_000, maxMs: DURATION_MS }, async (n) => {
      const key = `seq/${n % KEYS}`;
      try {
        const { revision } = await writer.config.set(key, { n });
        acked.push({ key, n, revision });
      } catch {
        failedWrites++;
      }
      await pause(rng.int(10, 20));
    });
    // Faults: RST a watcher-side proxy every 2–3 s; kill a member at ~1/3, stop the leader at ~2/3.
    let killed = false;
    let stopped = false;
    await bounded({ maxIterations: 100, maxMs: DURATION_MS - 2000 }, async () => {
      await pause(rng.int(2000, 3000));
      rng.pick(fc.proxies).resetAll();
      faults.rst++;
      const t = Date.now() - started;
      if (!killed && t > DURATION_MS / 3) {
        killed = true;
        const victim = rng.int(0, fc.members.length - 1);
        await fc.members[victim]!.kill();
        faults.memberKills++;
        await pause(1500);
        await fc.members[victim]!.start();
      } else if (!stopped && t > (2 * DURATION_MS) / 3) {
        stopped = true;
        const leader = await fc.leader();
        fc.members[leader]!.pause();
        faults.leaderStops++;
        await pause(2500);
        fc.members[leader]!.resume();
      }
    });
    await writing;
    await fc.heal();
    const last = acked.at(-1)!.revision;
    // Every watcher catches up to the last acknowledged write (bounded).
    const caughtUp = await Promise.all(
      watchers.map(async (w) => {
        const t0 = Date.now();
        for (let n = 0; n < 600 && !(w.events.at(-1)?.revision !== undefined && w.events.at(-1)!.revision >= last); n++) await pause(25);
        return Date.now() - t0;
      }),
    );
    // The truth: a fresh range read of the prefix.
    const truthByKey = new Map(Object.entries(await fc.raw().getAll().prefix(`${NS}/config/`).json()));
    const rows: Array<Array<string | number>> = [];
    const problems: string[] = [];
    watchers.forEach((w, i) => {
      const revs = w.events.map((e) => e.revision);
      let outOfOrder = 0;
      let duplicates = 0;
      for (let j = 1; j < revs.length; j++) {
        if (revs[j]! < revs[j - 1]!) outOfOrder++;
        if (revs[j] === revs[j - 1]) duplicates++;
      }
      const seen = new Set(revs);
      const missing = acked.filter((a) => !seen.has(a.revision)).length;
      const view = new Map<string, unknown>();
      for (const e of w.events) {
        if (e.type === 'PUT') view.set(e.key, e.value);
        else view.delete(e.key);
      }
      let mismatched = 0;
      for (const [k, v] of truthByKey) if (JSON.stringify(view.get(k.slice(`${NS}/config/`.length))) !== JSON.stringify(v)) mismatched++;
      if (view.size !== truthByKey.size) mismatched += Math.abs(view.size - truthByKey.size);
      const reconciled = w.events.filter((e) => e.reconciled).length;
      rows.push([`watcher ${i}`, w.events.length, outOfOrder, duplicates, missing, reconciled, mismatched, caughtUp[i]!]);
      if (outOfOrder || duplicates || missing || mismatched) problems.push(`watcher ${i}: ${outOfOrder} out of order, ${duplicates} duplicates, ${missing} missing, ${mismatched} keys differ`);
    });
    writeSection(
      'config-watch',
      '4. Config watch under faults',
      `${DURATION_MS / 1000} s, seed ${SEED}: a writer (direct to the members) put ${acked.length} acknowledged values over ${KEYS} keys
(${failedWrites} writes failed during faults); ${WATCHERS} watchers on the prefix through the proxies. Faults: ${faults.rst} RSTs of
a member's proxy (every 2–3 s), ${faults.memberKills} member kill + restart, ${faults.leaderStops} leader SIGSTOP for 2.5 s.

${table(['watcher', 'events', 'out of order', 'duplicates', 'acked writes missing', 'reconciled events', 'keys differing from a fresh read', 'catch-up after the run (ms)'], rows)}`,
    );
    assert.deepEqual(problems, []);
  } finally {
    for (const w of watchers) w.stop.abort();
    await Promise.all(watchers.map((w) => w.done.catch(() => undefined)));
    await Promise.all(watchers.map((w) => w.c.close()));
    await writer.close();
    await fc.reset(`${NS}/`);
  }
});
