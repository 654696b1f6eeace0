// Scenario 2 — a waiting lock is never granted on a dead lease (the etcd#11456 class: Go's Mutex
// could return "acquired" to a waiter whose session had expired). A waiter is blackholed past its
// TTL while it queues; the holder then releases; after the network heals the waiter must not hold
// the lock. 20 runs, 5 at a time, each with its own lock key, waiter coordinator and proxy.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { createCoordinator, silentLogger, type Coordinator, type Lock } from '../../src/index.js';
import { TcpProxy } from '../helpers/proxy.js';
import { assertNoLeakedHandles, handleCounts, pause, startFaultCluster, type FaultCluster } from './harness.js';
import { table, writeSection } from './report.js';

const RUNS = 20;
const PARALLEL = 5;
const TTL_MS = 2000;
const NS = '/faults-deadwaiter';

let fc: FaultCluster;
let baseline: Map<string, number>;
let holderCoordinator: Coordinator;

before(async () => {
  fc = await startFaultCluster();
  baseline = handleCounts();
  holderCoordinator = await createCoordinator({ endpoints: fc.direct, namespace: NS, logger: silentLogger, timeoutMs: 1000 });
});
after(async () => {
  await holderCoordinator?.close();
  try {
    await assertNoLeakedHandles(baseline, fc.proxies);
  } finally {
    await fc?.stop();
  }
});

interface Outcome {
  falseGrant: boolean;
  result: string;
  /** ms from blackhole to the waiter's acquire settling (NaN if it never did). */
  settledMs: number;
}

async function oneRun(i: number): Promise<Outcome> {
  const key = `job-${i}`;
  const member = fc.members[i % fc.members.length]!;
  const proxy = await TcpProxy.forUrl(member.clientUrl).start();
  const waiter = await createCoordinator({ endpoints: [proxy.url], namespace: NS, logger: silentLogger, timeoutMs: 1000, retry: { maxAttempts: 1 } });
  let holder: Lock | undefined;
  try {
    holder = await holderCoordinator.lock.acquire(key, 30_000);
    let settled: { at: number; lock?: Lock; error?: { code?: string } } | undefined;
    const acquiring = waiter.lock.acquire(key, TTL_MS).then(
      (lock) => (settled = { at: performance.now(), lock }),
      (error: { code?: string }) => (settled = { at: performance.now(), error }),
    );
    // The waiter is queued once its key exists behind the holder's.
    const raw = fc.raw();
    for (let n = 0; n < 100 && (await raw.getAll().prefix(`${NS}/locks/${key}/`).keys()).length < 2; n++) await pause(20);
    const cut = performance.now();
    await proxy.setMode('blackhole');
    // Past the waiter's TTL: etcd expires its lease (no keep-alive gets through) and deletes its key.
    await pause(TTL_MS + 1500);
    await holder.unlock();
    holder = undefined;
    await proxy.setMode('pass');
    // Bounded wait for the waiter to settle after the heal.
    for (let n = 0; n < 100 && !settled; n++) await pause(50);
    await acquiring;
    const s = settled!;
    if (s.lock) {
      // It claims the lock: a false grant unless its key really is in etcd, first in the queue.
      const keys = await raw.getAll().prefix(`${NS}/locks/${key}/`).sort('Create', 'Ascend').keys();
      const real = keys[0] === s.lock.ownerKey;
      await s.lock.unlock().catch(() => undefined);
      return { falseGrant: !real, result: real ? 'granted (key live, first)' : 'granted on a dead key!', settledMs: Math.round(s.at - cut) };
    }
    return { falseGrant: false, result: `rejected ${s.error?.code}`, settledMs: Math.round(s.at - cut) };
  } finally {
    await holder?.unlock().catch(() => undefined);
    await waiter.close();
    await proxy.stop();
  }
}

test(`a waiter blackholed past its TTL is never granted the lock (${RUNS} runs)`, async () => {
  const outcomes: Outcome[] = [];
  for (let start = 0; start < RUNS; start += PARALLEL) {
    outcomes.push(...(await Promise.all(Array.from({ length: Math.min(PARALLEL, RUNS - start) }, (_, j) => oneRun(start + j)))));
  }
  const falseGrants = outcomes.filter((o) => o.falseGrant).length;
  const byResult = new Map<string, number[]>();
  for (const o of outcomes) byResult.set(o.result, [...(byResult.get(o.result) ?? []), o.settledMs]);
  writeSection(
    'lock-dead-waiter',
    '2. Waiting lock never granted on a dead lease',
    `${RUNS} runs (${PARALLEL} in parallel, own lock key, waiter coordinator and proxy each): the waiter queues behind a
holder, its connection is blackholed for TTL + 1.5 s (TTL ${TTL_MS} ms), the holder releases, the network heals.
**False grants: ${falseGrants} of ${RUNS}.**

${table(
  ['waiter outcome', 'runs', 'settled after blackhole (ms, min–max)'],
  [...byResult].map(([r, ms]) => [r, ms.length, `${Math.min(...ms)}–${Math.max(...ms)}`]),
)}`,
  );
  assert.equal(falseGrants, 0, JSON.stringify(outcomes));
});
