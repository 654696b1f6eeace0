// Semaphore and read-write lock benchmark (issue 31), one run, one etcd: uncontended acquire+release
// of coord.semaphore (permits 1 and 4) and of a read lock, cycles/s and client CPU per cycle, next to
// our own lock's acquire+unlock; semaphore hand-over latency with 8 contenders on 2 permits; read-lock
// throughput with 8 readers (8 coordinators) against etcd's Go recipe.RWMutex (bench/go/rwmutex); and
// writer acquire latency while readers keep the lock busy.
import { execFile } from 'node:child_process';
import { createCoordinator, silentLogger, type Coordinator } from '../src/index.js';
import { buildGoRwMutex, goUnavailable } from './go/build.js';
import { endpoints, percentile, table, writeSection } from './report.js';
import { countRpcs, perOperation } from './rpc-count.js';

const SECONDS = Number(process.env['SEM_BENCH_SECONDS'] ?? 2);
const ROUNDS = Number(process.env['SEM_BENCH_ROUNDS'] ?? 3);
const WARMUP_MS = 500;
const TTL_MS = 10_000;
const CONTENDERS = 8;
const PERMITS = 2;
const READERS = 8;
const MIXED_READERS = 4;
const WRITERS = 2;
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));
const gc = (): void => (globalThis as { gc?: () => void }).gc?.();

async function coordinator(namespace: string): Promise<Coordinator> {
  return createCoordinator({ endpoints: endpoints(), namespace, logger: silentLogger });
}

async function coordinators(n: number, namespace: string): Promise<Coordinator[]> {
  const settled = await Promise.allSettled(Array.from({ length: n }, () => coordinator(namespace)));
  const made = settled.flatMap((s) => (s.status === 'fulfilled' ? [s.value] : []));
  const failed = settled.find((s): s is PromiseRejectedResult => s.status === 'rejected');
  if (failed) {
    await Promise.allSettled(made.map((c) => c.close()));
    throw failed.reason;
  }
  return made;
}

async function closeAll(cs: Coordinator[]): Promise<void> {
  await Promise.allSettled(cs.map((c) => c.close()));
}

interface Rate {
  /** Cycles per second in the measured window. */
  rate: number;
  /** This process's CPU (user + system) per cycle, µs: every coordinator of the process together. */
  cpuUs: number;
}

/** One serial loop: warm-up, then `ms` measured; cycles/s and CPU µs per cycle. */
async function serial(fn: () => Promise<unknown>, ms = SECONDS * 1000): Promise<Rate> {
  const warmEnd = performance.now() + WARMUP_MS;
  while (performance.now() < warmEnd) await fn();
  let n = 0;
  const cpu0 = process.cpuUsage();
  const start = performance.now();
  const end = start + ms;
  while (performance.now() < end) {
    await fn();
    n++;
  }
  const seconds = (performance.now() - start) / 1000;
  const cpu = process.cpuUsage(cpu0);
  return { rate: n / seconds, cpuUs: (cpu.user + cpu.system) / n };
}

/** Whether concurrent loops should go on, and whether what they finish now counts. */
interface Phase {
  stop: boolean;
  measuring: boolean;
}

/**
 * `n` concurrent loops of `body` (each on its own coordinator, as `body` chooses): warm-up, then
 * `ms` with `phase.measuring` set; then they are stopped and awaited. A loop's failure is thrown
 * (after every loop has ended), so no figure is written from a broken run.
 */
async function concurrently(n: number, body: (i: number, phase: Phase) => Promise<void>, ms = SECONDS * 1000): Promise<{ seconds: number; cpuMicros: number }> {
  const phase: Phase = { stop: false, measuring: false };
  const loops = Promise.allSettled(
    Array.from({ length: n }, async (_, i) => {
      while (!phase.stop) await body(i, phase);
    }),
  );
  let figures: { seconds: number; cpuMicros: number };
  try {
    await sleep(WARMUP_MS);
    const cpu0 = process.cpuUsage();
    const t0 = performance.now();
    phase.measuring = true;
    await sleep(ms);
    phase.measuring = false;
    const cpu = process.cpuUsage(cpu0);
    figures = { seconds: (performance.now() - t0) / 1000, cpuMicros: cpu.user + cpu.system };
  } finally {
    phase.stop = true;
    const failed = (await loops).find((r): r is PromiseRejectedResult => r.status === 'rejected');
    if (failed) throw failed.reason;
  }
  return figures;
}

// ── 1. uncontended ──────────────────────────────────────────────────────────────────────────────

const UNCONTENDED = ['lock', 'sem1', 'sem4', 'read'] as const;
type Loop = (typeof UNCONTENDED)[number];

function cycleOf(kind: Loop, c: Coordinator): () => Promise<void> {
  switch (kind) {
    case 'lock':
      return async () => (await c.lock.acquire('u', TTL_MS)).unlock();
    case 'sem1':
      return async () => (await c.semaphore.acquire('u1', { permits: 1, ttlMs: TTL_MS })).release();
    case 'sem4':
      return async () => (await c.semaphore.acquire('u4', { permits: 4, ttlMs: TTL_MS })).release();
    case 'read':
      return async () => (await c.rwlock.acquireRead('u', { ttlMs: TTL_MS })).unlock();
  }
}

/** ROUNDS rounds; in each, every loop on its own coordinator, one after the other, the order rotating per round. */
async function uncontended(): Promise<Array<Record<Loop, Rate>>> {
  const cs = await coordinators(UNCONTENDED.length, 'bench-sem-u');
  const rounds: Array<Record<Loop, Rate>> = [];
  try {
    for (let round = 0; round < ROUNDS; round++) {
      const result = {} as Record<Loop, Rate>;
      for (let k = 0; k < UNCONTENDED.length; k++) {
        const i = (k + round) % UNCONTENDED.length;
        const kind = UNCONTENDED[i]!;
        gc();
        result[kind] = await serial(cycleOf(kind, cs[i]!));
      }
      rounds.push(result);
      console.log(`[bench] uncontended round ${round + 1}: ${UNCONTENDED.map((k) => `${k} ${Math.round(result[k].rate)}/s ${Math.round(result[k].cpuUs)} µs`).join(', ')}`);
    }
  } finally {
    await closeAll(cs);
  }
  return rounds;
}

/** etcd requests on the wire per uncontended cycle of each loop (20 cycles after a warm one). */
async function requestsPerCycle(): Promise<Record<Loop, string>> {
  const cs = await coordinators(UNCONTENDED.length, 'bench-sem-rt');
  try {
    const out = {} as Record<Loop, string>;
    for (let i = 0; i < UNCONTENDED.length; i++) {
      const kind = UNCONTENDED[i]!;
      const counter = countRpcs(cs[i]!);
      const cycle = cycleOf(kind, cs[i]!);
      await cycle();
      await sleep(20);
      counter.take();
      const N = 20;
      for (let j = 0; j < N; j++) await cycle();
      out[kind] = perOperation(counter.take(), N);
    }
    return out;
  } finally {
    await closeAll(cs);
  }
}

/**
 * etcd requests per hand-over, both sides together: the holder's release and the waiter's whole
 * acquire (join, wait, hold), the waiter queued 20 ms before the holder lets go. For a semaphore
 * (permits 1) and for a writer queued behind a reader. H hand-overs each.
 */
async function requestsPerHandover(): Promise<{ semaphore: string; writerAfterReader: string }> {
  const [a, b] = await coordinators(2, 'bench-sem-rth');
  const [ra, rb] = [countRpcs(a!), countRpcs(b!)];
  const total = new Map<string, number>();
  const skip = (): void => void [ra.take(), rb.take()];
  const add = (): void => {
    for (const m of [ra.take(), rb.take()]) for (const [name, n] of m) total.set(name, (total.get(name) ?? 0) + n);
  };
  const taken = (): Map<string, number> => {
    const m = new Map(total);
    total.clear();
    return m;
  };
  const H = 10;
  try {
    // Semaphore: a holds, b queues behind it; a releases, b's acquire resolves (then b releases, uncounted).
    for (let i = 0; i < H; i++) {
      const held = await a!.semaphore.acquire('h', { permits: 1, ttlMs: TTL_MS });
      skip();
      const next = b!.semaphore.acquire('h', { permits: 1, ttlMs: TTL_MS });
      await sleep(20); // queued behind the holder before it lets go
      await held.release();
      const got = await next;
      add();
      await got.release();
    }
    const semaphore = perOperation(taken(), H);
    // Read-write lock: a reads, b's writer queues behind it; a unlocks, b's acquireWrite resolves.
    for (let i = 0; i < H; i++) {
      const reader = await a!.rwlock.acquireRead('h', { ttlMs: TTL_MS });
      skip();
      const writer = b!.rwlock.acquireWrite('h', { ttlMs: TTL_MS });
      await sleep(20);
      await reader.unlock();
      const got = await writer;
      add();
      await got.unlock();
    }
    return { semaphore, writerAfterReader: perOperation(taken(), H) };
  } finally {
    await closeAll([a!, b!]);
  }
}

// ── 2. semaphore hand-over ───────────────────────────────────────────────────────────────────────

interface Handover {
  perSec: number;
  p50: number;
  p99: number;
  samples: number;
}

/**
 * `n` coordinators loop acquire → release on one name with `permits` permits, no hold time. Every
 * permit is always wanted, so each acquire after the first `permits` follows a release: it is paired
 * with the oldest release() call not yet paired (FIFO), and the hand-over is that call until the
 * acquire resolves.
 */
async function semaphoreHandover(n: number, permits: number): Promise<Handover> {
  const cs = await coordinators(n, 'bench-sem-h');
  const releasedAt: number[] = [];
  const ms: number[] = [];
  let count = 0;
  try {
    const { seconds } = await concurrently(n, async (i, phase) => {
      const permit = await cs[i]!.semaphore.acquire(`h${n}-${permits}`, { permits, ttlMs: TTL_MS });
      const now = performance.now();
      const from = releasedAt.shift();
      if (phase.measuring) {
        count++;
        if (from !== undefined) ms.push(now - from);
      }
      releasedAt.push(performance.now());
      await permit.release();
    });
    return { perSec: count / seconds, p50: percentile(ms, 50), p99: percentile(ms, 99), samples: ms.length };
  } finally {
    await closeAll(cs);
  }
}

/** The same with our lock (one holder): unlock() call until the next holder's acquire resolves. */
async function lockHandover(n: number): Promise<Handover> {
  const cs = await coordinators(n, 'bench-sem-lh');
  let holder = -1;
  let releasedAt = 0;
  const ms: number[] = [];
  let count = 0;
  try {
    const { seconds } = await concurrently(n, async (i, phase) => {
      const lock = await cs[i]!.lock.acquire(`h${n}`, TTL_MS);
      const now = performance.now();
      if (phase.measuring) {
        count++;
        if (holder !== -1 && holder !== i) ms.push(now - releasedAt);
      }
      holder = i;
      releasedAt = performance.now();
      await lock.unlock();
    });
    return { perSec: count / seconds, p50: percentile(ms, 50), p99: percentile(ms, 99), samples: ms.length };
  } finally {
    await closeAll(cs);
  }
}

// ── 3. read throughput ───────────────────────────────────────────────────────────────────────────

/** `n` coordinators loop acquireRead → unlock on one name: cycles/s over all, and CPU per cycle. */
async function readers(n: number): Promise<Rate> {
  const cs = await coordinators(n, 'bench-sem-r');
  let count = 0;
  try {
    const { seconds, cpuMicros } = await concurrently(n, async (i, phase) => {
      const handle = await cs[i]!.rwlock.acquireRead('r', { ttlMs: TTL_MS });
      await handle.unlock();
      if (phase.measuring) count++;
    });
    return { rate: count / seconds, cpuUs: cpuMicros / count };
  } finally {
    await closeAll(cs);
  }
}

async function goReaders(binary: string, n: number): Promise<number> {
  const eps = endpoints()
    .map((e) => e.replace(/^https?:\/\//, ''))
    .join(',');
  const args = ['-endpoints', eps, '-mode', 'rbench', '-n', String(n), '-seconds', String(SECONDS), '-prefix', 'bench-sem-go/rwlocks/r'];
  const out = await new Promise<Record<string, number>>((resolve, reject) => {
    execFile(binary, args, { timeout: (SECONDS + 60) * 1000 }, (err, stdout, stderr) =>
      err ? reject(new Error(`${binary} ${args.join(' ')}: ${stderr || err.message}`)) : resolve(JSON.parse(stdout.trim().split('\n').pop()!)),
    );
  });
  return out['cyclesPerSec']!;
}

// ── 4. writers among readers ─────────────────────────────────────────────────────────────────────

interface Mixed {
  /** Writer acquireWrite() call until it resolves, ms. */
  p50: number;
  p99: number;
  writesPerSec: number;
  readsPerSec: number;
  samples: number;
}

/**
 * `r` reader coordinators loop acquireRead → unlock while `w` writer coordinators loop
 * acquireWrite → unlock on the same name, no hold time; the writers' acquire latency (call → resolve).
 */
async function writersAmongReaders(r: number, w: number): Promise<Mixed> {
  const cs = await coordinators(r + w, 'bench-sem-w');
  const ms: number[] = [];
  let [writes, reads] = [0, 0];
  const name = `w${r}`;
  try {
    const { seconds } = await concurrently(r + w, async (i, phase) => {
      const c = cs[i]!;
      if (i < w) {
        const t0 = performance.now();
        const handle = await c.rwlock.acquireWrite(name, { ttlMs: TTL_MS });
        if (phase.measuring) {
          ms.push(performance.now() - t0);
          writes++;
        }
        await handle.unlock();
      } else {
        const handle = await c.rwlock.acquireRead(name, { ttlMs: TTL_MS });
        if (phase.measuring) reads++;
        await handle.unlock();
      }
    });
    return { p50: percentile(ms, 50), p99: percentile(ms, 99), writesPerSec: writes / seconds, readsPerSec: reads / seconds, samples: ms.length };
  } finally {
    await closeAll(cs);
  }
}

// ── run ──────────────────────────────────────────────────────────────────────────────────────────

const fmt = (v: number | undefined, digits = 0): string => (v === undefined || Number.isNaN(v) ? 'n/a' : v.toFixed(digits));
const x = (v: number | undefined, digits = 2): string => (v === undefined || !Number.isFinite(v) ? 'n/a' : `${v.toFixed(digits)}×`);

const goWhy = goUnavailable();
let go: string | undefined;
let goNote = goWhy;
if (!goWhy) {
  try {
    go = await buildGoRwMutex();
  } catch (err) {
    goNote = `Go build failed: ${(err as Error).message.split('\n')[0]}`;
    console.error('[bench] Go build failed:', (err as Error).message);
  }
}

console.log(`[bench] semaphore: ${SECONDS} s per measurement (${WARMUP_MS} ms warm-up), ${ROUNDS} uncontended rounds`);
const rounds = await uncontended();
const trips = await requestsPerCycle();
const handTrips = await requestsPerHandover();
const sem = await semaphoreHandover(CONTENDERS, PERMITS);
const sem1 = await semaphoreHandover(CONTENDERS, 1);
const lock8 = await lockHandover(CONTENDERS);
const ours8 = await readers(READERS);
let go8: number | undefined;
if (go) {
  try {
    go8 = await goReaders(go, READERS);
  } catch (err) {
    goNote = `the Go run failed: ${(err as Error).message.split('\n')[0]}`;
    console.error('[bench]', (err as Error).message);
  }
}
const ours1 = await readers(1);
const mixed = await writersAmongReaders(MIXED_READERS, WRITERS);
const alone = await writersAmongReaders(0, WRITERS);

const best = (k: Loop): number => Math.max(...rounds.map((r) => r[k].rate));
const cpu = (k: Loop): number => percentile(rounds.map((r) => r[k].cpuUs), 50);
// Ratios within each round (same moment, same machine state), median over the rounds.
const vsLock = (k: Loop): number => percentile(rounds.map((r) => r[k].rate / r.lock.rate), 50);
const perRound = rounds.map((r) => UNCONTENDED.map((k) => fmt(r[k].rate)).join(' / ')).join('; ');
const label: Record<Loop, string> = {
  lock: 'our lock: `lock.acquire(key, ttlMs)` + `unlock()`',
  sem1: '`semaphore.acquire(name, { permits: 1 })` + `release()`',
  sem4: '`semaphore.acquire(name, { permits: 4 })` + `release()`',
  read: '`rwlock.acquireRead(name)` + `unlock()` (one reader)',
};

const body = `
**Uncontended**: one coordinator per loop, acquire + release of one name in a loop, no hold time (TTL ${TTL_MS / 1000} s);
${ROUNDS} rounds of ${SECONDS} s each (after ${WARMUP_MS} ms unmeasured), the loops one after the other, their order rotating per
round: cycles/s best of the rounds, CPU the median of the rounds (this process's user + system time ÷ cycles;
etcd runs on its own CPU), "÷ lock" the median of the rounds' own ratios. Per round (lock / sem 1 / sem 4 / read):
${perRound}.

${table(
  ['cycle', 'cycles/s', 'client CPU µs/cycle', '÷ lock (cycles/s)', 'etcd requests per cycle'],
  UNCONTENDED.map((k) => [label[k], fmt(best(k)), fmt(cpu(k)), k === 'lock' ? '' : x(vsLock(k)), trips[k]]),
)}

**Semaphore hand-over**: ${CONTENDERS} coordinators (each its own etcd connection) loop acquire → release on one name with
${PERMITS} permits and no hold time, ${SECONDS} s measured; since every permit is always wanted, each acquire after the first
${PERMITS} follows a release, and a hand-over is the oldest release() call not yet paired with an acquire until the next
acquire() resolves (pairs taken in order). For comparison, the same with 1 permit, and our lock with ${CONTENDERS} contenders
(unlock() call until the next holder's acquire() resolves, as in the lock section).

${table(
  ['contenders, permits', 'hand-overs/s', 'hand-over p50 (ms)', 'hand-over p99 (ms)', 'samples'],
  [
    [`semaphore: ${CONTENDERS}, ${PERMITS}`, fmt(sem.perSec), fmt(sem.p50, 2), fmt(sem.p99, 2), sem.samples],
    [`semaphore: ${CONTENDERS}, 1`, fmt(sem1.perSec), fmt(sem1.p50, 2), fmt(sem1.p99, 2), sem1.samples],
    [`our lock: ${CONTENDERS}`, fmt(lock8.perSec), fmt(lock8.p50, 2), fmt(lock8.p99, 2), lock8.samples],
  ],
)}

etcd requests per semaphore hand-over (permits 1, two coordinators, the waiter queued 20 ms before the holder lets go;
the holder's release and the waiter's whole acquire): ${handTrips.semaphore}.

**Read throughput**: ${READERS} readers, each its own coordinator (own etcd connection), loop acquireRead → unlock on one
name with no hold time, ${SECONDS} s measured after ${WARMUP_MS} ms; cycles/s over all readers, CPU this process's for all of
them. Go: etcd's own \`recipe.RWMutex\` (\`bench/go/rwmutex/main.go\`, \`-mode rbench\`: ${READERS} sessions, each with its own
client, looping RLock → RUnlock), same etcd, same run, pinned like us${go8 !== undefined ? '' : ` — **not measured here: ${goNote ?? 'unknown reason'}**`}.

${table(
  ['readers', 'ours cycles/s', 'ours client CPU µs/cycle', 'Go `recipe.RWMutex` cycles/s', 'ours ÷ Go'],
  [
    [READERS, fmt(ours8.rate), fmt(ours8.cpuUs), fmt(go8), go8 ? x(ours8.rate / go8) : 'n/a'],
    [1, fmt(ours1.rate), fmt(ours1.cpuUs), '', ''],
  ],
)}

**Writers among readers**: ${MIXED_READERS} reader coordinators loop acquireRead → unlock while ${WRITERS} writer coordinators loop
acquireWrite → unlock on the same name, no hold time, ${SECONDS} s measured; writer latency is one acquireWrite() call
until it resolves (join, wait behind whoever came before, hold). Baseline: the ${WRITERS} writers alone.

${table(
  ['setting', 'writer acquire p50 (ms)', 'writer acquire p99 (ms)', 'writes/s', 'reads/s', 'samples'],
  [
    [`${MIXED_READERS} readers + ${WRITERS} writers`, fmt(mixed.p50, 2), fmt(mixed.p99, 2), fmt(mixed.writesPerSec), fmt(mixed.readsPerSec), mixed.samples],
    [`${WRITERS} writers alone`, fmt(alone.p50, 2), fmt(alone.p99, 2), fmt(alone.writesPerSec), '', alone.samples],
  ],
)}

etcd requests per hand-over from a reader to a writer queued behind it (two coordinators; the reader's unlock and
the writer's whole acquire): ${handTrips.writerAfterReader}.
`;
console.log(body);
writeSection('semaphore', 'Semaphore and read-write lock (issue 31)', body);
process.exit(0);
