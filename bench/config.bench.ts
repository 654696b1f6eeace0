// Config center benchmark (issue 4), one run, one etcd, raw etcd3 alongside:
//  - set() ops/s vs raw etcd3 put, 1 and 32 in flight (target ≥ 0.9×)
//  - watch propagation set → event in a second coordinator, p50/p99 vs raw etcd3 watch (target ≤ 1.2×)
//  - live().value read cost (target ≤ 1 µs)
//  - 10,000 keys watched by prefix over one watch stream: catch-up time and heap, vs raw etcd3
import { Etcd3, type Watcher } from 'etcd3';
import { createCoordinator, silentLogger, type ConfigEvent, type Coordinator } from '../src/index.js';
import { endpoints, percentile, table, writeSection } from './report.js';

const SECONDS = Number(process.env['CONFIG_BENCH_SECONDS'] ?? 3);
const SAMPLES = Number(process.env['CONFIG_BENCH_SAMPLES'] ?? 500);
const KEYS = 10_000;
const VALUE = { host: 'db.internal', port: 5432, pool: { min: 2, max: 20 }, flags: ['a', 'b'] };

const coordinator = (namespace: string): Promise<Coordinator> => createCoordinator({ endpoints: endpoints(), namespace, logger: silentLogger });
const gc = (): void => (globalThis as { gc?: () => void }).gc?.();

/** `inflight` workers loop `fn` for SECONDS; completed calls per second. */
async function throughput(fn: (i: number) => Promise<unknown>, inflight: number): Promise<number> {
  const warmEnd = performance.now() + 300;
  await Promise.all(Array.from({ length: inflight }, async (_, w) => {
    while (performance.now() < warmEnd) await fn(w);
  }));
  let done = 0;
  const start = performance.now();
  const end = start + SECONDS * 1000;
  await Promise.all(Array.from({ length: inflight }, async (_, w) => {
    while (performance.now() < end) {
      await fn(w);
      done++;
    }
  }));
  return done / ((performance.now() - start) / 1000);
}

async function setThroughput(inflight: number): Promise<{ ours: number; raw: number }> {
  const c = await coordinator('bench-config-set');
  const raw = new Etcd3({ hosts: endpoints() });
  try {
    let ours = 0;
    let rawOps = 0;
    // Interleaved rounds, best of each: the two share the machine with whatever else runs.
    for (let round = 0; round < 3; round++) {
      rawOps = Math.max(rawOps, await throughput((w) => raw.put(`bench-config-raw/k${w}`).value(JSON.stringify(VALUE)).exec(), inflight));
      ours = Math.max(ours, await throughput((w) => c.config.set(`k${w}`, VALUE), inflight));
    }
    return { ours, raw: rawOps };
  } finally {
    raw.close();
    await c.close();
  }
}

/** set → event seen by another client, one at a time. */
async function propagationOurs(): Promise<number[]> {
  const writer = await coordinator('bench-config-prop');
  const reader = await coordinator('bench-config-prop');
  try {
    const watch = reader.config.watch('p');
    await watch.ready;
    const it = watch[Symbol.asyncIterator]();
    const samples: number[] = [];
    for (let i = 0; i < SAMPLES + 20; i++) {
      const started = performance.now();
      const next = it.next();
      await writer.config.set('p', i);
      const ev = (await next).value as ConfigEvent;
      if (ev.value !== i) throw new Error('out of order');
      if (i >= 20) samples.push(performance.now() - started);
    }
    await watch.close();
    return samples;
  } finally {
    await Promise.all([writer.close(), reader.close()]);
  }
}

async function propagationRaw(): Promise<number[]> {
  const writer = new Etcd3({ hosts: endpoints() });
  const reader = new Etcd3({ hosts: endpoints() });
  try {
    const watcher = await reader.watch().key('bench-config-prop-raw/p').create();
    let resolve: (() => void) | undefined;
    watcher.on('put', () => resolve?.());
    const samples: number[] = [];
    for (let i = 0; i < SAMPLES + 20; i++) {
      const started = performance.now();
      const seen = new Promise<void>((r) => (resolve = r));
      await writer.put('bench-config-prop-raw/p').value(JSON.stringify(i)).exec();
      await seen;
      if (i >= 20) samples.push(performance.now() - started);
    }
    await watcher.cancel();
    return samples;
  } finally {
    writer.close();
    reader.close();
  }
}

async function liveReadCost(): Promise<number> {
  const c = await coordinator('bench-config-live');
  try {
    await c.config.set('live', VALUE);
    const view = await c.config.live<typeof VALUE>('live');
    const n = 10_000_000;
    let sink = 0;
    for (let i = 0; i < 100_000; i++) sink += view.value.port; // warm up
    const start = process.hrtime.bigint();
    for (let i = 0; i < n; i++) sink += view.value.port;
    const ns = Number(process.hrtime.bigint() - start) / n;
    if (sink === 42) console.log('');
    await view.close();
    return ns;
  } finally {
    await c.close();
  }
}

async function writeKeys(raw: Etcd3, prefix: string): Promise<bigint> {
  const first = await raw.put(`${prefix}0`).value(JSON.stringify(0)).exec();
  for (let i = 1; i < KEYS; i += 200) {
    await Promise.all(Array.from({ length: Math.min(200, KEYS - i) }, (_, j) => raw.put(`${prefix}${i + j}`).value(JSON.stringify(VALUE)).exec()));
  }
  return BigInt(first.header.revision);
}

/** Catch-up of KEYS events by one prefix watch from the first write; heap held while it is open. */
async function prefixCatchUp(): Promise<{ ours: { ms: number; heapMiB: number }; raw: { ms: number; heapMiB: number } }> {
  const raw = new Etcd3({ hosts: endpoints() });
  const c = await coordinator('bench-config-many');
  try {
    const fromOurs = await writeKeys(raw, '/bench-config-many/config/many/');
    const fromRaw = await writeKeys(raw, 'bench-config-many-raw/');

    let started = performance.now();
    const watch = c.config.watch('many/', { prefix: true, fromRevision: fromOurs });
    let n = 0;
    for await (const _ of watch) if (++n === KEYS) break;
    const oursMs = performance.now() - started;
    // Heap of a second watch, left open and synced at head (its key map is what a long-lived watch holds).
    gc();
    let heap = process.memoryUsage().heapUsed;
    const open = c.config.watch('many/', { prefix: true });
    await open.ready;
    gc();
    const oursHeap = Math.max(0, process.memoryUsage().heapUsed - heap) / 2 ** 20;
    await open.close();

    gc();
    heap = process.memoryUsage().heapUsed;
    started = performance.now();
    let m = 0;
    let done!: () => void;
    const all = new Promise<void>((r) => (done = r));
    const watcher: Watcher = await raw.watch().prefix('bench-config-many-raw/').startRevision(String(fromRaw)).create();
    watcher.on('put', () => ++m === KEYS && done());
    await all;
    const rawMs = performance.now() - started;
    gc();
    const rawHeap = Math.max(0, process.memoryUsage().heapUsed - heap) / 2 ** 20;
    await watcher.cancel();
    return { ours: { ms: oursMs, heapMiB: oursHeap }, raw: { ms: rawMs, heapMiB: rawHeap } };
  } finally {
    await c.close();
    raw.close();
  }
}

const ratio = (a: number, b: number): string => `${(a / b).toFixed(2)}×`;

// Bun and Deno beside Node (scripts/bench.mjs, section "runtimes"): BENCH_OURS_ONLY=1 measures
// config.get() alone (1 in flight, best of three rounds) and prints it as one JSON line.
if (process.env['BENCH_OURS_ONLY']) {
  const c = await coordinator('bench-config-rt');
  let best = 0;
  try {
    await c.config.set('g', VALUE);
    for (let round = 0; round < 3; round++) best = Math.max(best, await throughput(() => c.config.get('g'), 1));
  } finally {
    await c.close();
  }
  console.log(JSON.stringify({ configGetPerSec: best }));
  process.exit(0);
}

const set1 = await setThroughput(1);
console.log('set, 1 in flight', set1);
const set32 = await setThroughput(32);
console.log('set, 32 in flight', set32);
// Interleaved rounds, best p50 of each side (as for set): sub-millisecond figures swing with
// whatever else the machine does, and whichever side runs first also pays the warm-up.
const best = (rounds: number[][]): readonly [number, number] => {
  const byP50 = rounds.map((r) => [percentile(r, 50), percentile(r, 99)] as const).sort((a, b) => a[0] - b[0]);
  return byP50[0]!;
};
const rawRounds: number[][] = [];
const oursRounds: number[][] = [];
for (let round = 0; round < 3; round++) {
  rawRounds.push(await propagationRaw());
  oursRounds.push(await propagationOurs());
}
const prop = { ours: best(oursRounds), raw: best(rawRounds) };
console.log('propagation ms (p50, p99)', prop);
const liveNs = await liveReadCost();
console.log('live().value ns/read', liveNs);
const many = await prefixCatchUp();
console.log('10k prefix catch-up', many);

writeSection(
  'config',
  'Config center',
  `
${table(
  ['measure', 'coordination', 'raw etcd3', 'ratio', 'target'],
  [
    ['set ops/s, 1 in flight', Math.round(set1.ours), Math.round(set1.raw), ratio(set1.ours, set1.raw), '≥ 0.9×'],
    ['set ops/s, 32 in flight', Math.round(set32.ours), Math.round(set32.raw), ratio(set32.ours, set32.raw), '≥ 0.9×'],
    ['watch propagation p50 (ms)', prop.ours[0], prop.raw[0], ratio(prop.ours[0], prop.raw[0]), '≤ 1.2×'],
    ['watch propagation p99 (ms)', prop.ours[1], prop.raw[1], ratio(prop.ours[1], prop.raw[1]), '≤ 1.2×'],
    ['live().value read (ns)', liveNs, '—', '—', '≤ 1000 ns'],
    [`catch-up of ${KEYS} keys by one prefix watch (ms)`, many.ours.ms, many.raw.ms, ratio(many.ours.ms, many.raw.ms), '—'],
    [`heap of that watch (MiB)`, many.ours.heapMiB, many.raw.heapMiB, '—', '—'],
  ],
)}

- set: \`config.set(key, object)\` (validated, JSON-encoded, with a deadline) against
  \`etcd3.put(key).value(JSON.stringify(object))\` (no deadline), each on its own
  client; 1 and 32 callers looping for ${SECONDS} s, best of three interleaved rounds.
- propagation: best of three interleaved rounds (raw, ours, raw, …) of ${SAMPLES} sequential samples of "call set/put → the watcher of a second client sees the value".
- catch-up: one prefix watch started at the revision of the first of ${KEYS} existing keys, until all ${KEYS} events
  arrived. Heap: our figure is a second watch on the same prefix left open and synced (it keeps each key's mod
  revision to reconcile deletes after a compaction), measured after gc; etcd3's is its watcher after the catch-up.
`,
);
process.exit(0);
