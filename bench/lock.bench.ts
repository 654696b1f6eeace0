// Lock benchmark (issue 3), one run, one etcd: uncontended acquire+unlock cycles/s against etcd3's
// `client.lock()` and etcd's Go concurrency.Mutex; contended handoffs/s (2 and 8 contenders, separate
// coordinators, one key, hold 0) with handoff latency, against the Go Mutex in the same setting.
import { execFile } from 'node:child_process';
import { Etcd3 } from 'etcd3';
import { createCoordinator, silentLogger, type Coordinator } from '../src/index.js';
import { ensureGo } from '../scripts/lib/etcd.mjs';
import { EtcdRpc } from '../src/client/grpc/etcd-rpc.js';
import { buildGoLock } from './go/build.js';
import { endpoints, opsPerSecond, percentile, table, writeSection } from './report.js';
import { countRpcs, perOperation } from './rpc-count.js';

const SECONDS = Number(process.env['LOCK_BENCH_SECONDS'] ?? 3);
const TTL_MS = 10_000;
const ROUNDS = Number(process.env['LOCK_BENCH_ROUNDS'] ?? 3);

async function coordinator(namespace: string): Promise<Coordinator> {
  return createCoordinator({ endpoints: endpoints(), namespace, logger: silentLogger });
}

type Round = { ours: number; oursOneKey: number; oursLogged: number; etcd3: number; raw: number; rawOurs: number; twoKeys: number; pipelined: number; ttlAfterAcquire: number };

/** One round of each uncontended loop, each on its own client, measured one after the other (each lock next to its floor). */
async function uncontendedRound(round: number): Promise<Round> {
  const c = await coordinator('bench-lock-u');
  // lock.holdTryAcquireKey: false — one key per transaction, as the issue-14 targets were set.
  const one = await createCoordinator({ endpoints: endpoints(), namespace: 'bench-lock-u1', logger: silentLogger, lock: { holdTryAcquireKey: false } });
  // The library's default logger at its default level (pino, `warn`): what an app gets without options.
  const logged = await createCoordinator({ endpoints: endpoints(), namespace: 'bench-lock-ul', logLevel: 'warn' });
  const client = new Etcd3({ hosts: endpoints() });
  const rpc = new EtcdRpc({ endpoints: endpoints(), connectTimeoutMs: 5000 });
  const cycle = (co: Coordinator) => async () => {
    const lock = await co.lock.acquire('u', TTL_MS);
    await lock.unlock();
  };
  try {
    // Which of a lock and its floor goes first alternates by round, so neither always gets the fresher etcd.
    const floorFirst = round % 2 === 0;
    const rawOurs0 = floorFirst ? await rawPairOurs(rpc) : 0;
    const oursOneKey = await opsPerSecond(cycle(one), SECONDS * 1000);
    const rawOurs = floorFirst ? rawOurs0 : await rawPairOurs(rpc);
    const twoKeys0 = floorFirst ? await rawTwoKeyPairOurs(rpc) : 0;
    const ours = await opsPerSecond(cycle(c), SECONDS * 1000);
    const twoKeys = floorFirst ? twoKeys0 : await rawTwoKeyPairOurs(rpc);
    const oursLogged = await opsPerSecond(cycle(logged), SECONDS * 1000);
    const raw = await rawPair(client);
    const etcd3 = await opsPerSecond(async () => {
      const lock = client.lock('bench-lock-etcd3/u').ttl(TTL_MS / 1000);
      await lock.acquire();
      await lock.release();
    }, SECONDS * 1000);
    const pipelined = await rawPipelined(client);
    const lock = await c.lock.acquire('u', TTL_MS);
    const ttlAfterAcquire = await lock.remainingMs();
    await lock.unlock();
    return { ours, oursOneKey, oursLogged, etcd3, raw, rawOurs, twoKeys, pipelined, ttlAfterAcquire };
  } finally {
    rpc.close();
    client.close();
    await c.close();
    await one.close();
    await logged.close();
  }
}

/** The floor for any lock that writes a key and deletes it: a raw create-if-absent txn + delete, serial. */
function rawPair(client: Etcd3): Promise<number> {
  const key = Buffer.from('bench-lock-raw/k');
  return opsPerSecond(async () => {
    await client.kv.txn({ compare: [{ key, target: 'Create', result: 'Equal', create_revision: 0 }], success: [{ request_put: { key } }] });
    await client.kv.deleteRange({ key });
  }, SECONDS * 1000);
}

/** The same pair over our own etcd client (node:http2): the floor for our lock, which adds only bookkeeping. */
function rawPairOurs(rpc: EtcdRpc): Promise<number> {
  const key = Buffer.from('bench-lock-raw-ours/k');
  const o = { timeoutMs: 5000 };
  return opsPerSecond(async () => {
    await rpc.kv.txn({ compare: [{ key, target: 'CREATE', result: 'EQUAL', create_revision: 0 }], success: [{ request_put: { key } }] }, o);
    await rpc.kv.deleteRange({ key }, o);
  }, SECONDS * 1000);
}

/**
 * The pair our lock must send to exclude gochat's TryAcquire too (issue 13): create-if-absent of a
 * contender key and the bare key in one txn (nobody queued, bare key absent), then both deleted in one
 * txn guarded by the bare key's create revision. The floor for our lock since it co-owns the bare key.
 */
function rawTwoKeyPairOurs(rpc: EtcdRpc): Promise<number> {
  const [queue, bare, mine] = [Buffer.from('/bench-lock-raw2/k/'), Buffer.from('/bench-lock-raw2/k'), Buffer.from('/bench-lock-raw2/k/1')];
  const end = Buffer.from('/bench-lock-raw2/k0');
  const o = { timeoutMs: 5000 };
  return opsPerSecond(async () => {
    const res = await rpc.kv.txn(
      {
        compare: [
          { key: queue, range_end: end, target: 'CREATE', result: 'EQUAL', create_revision: 0 },
          { key: bare, target: 'CREATE', result: 'EQUAL', create_revision: 0 },
        ],
        success: [{ request_put: { key: mine } }, { request_put: { key: bare } }],
      },
      o,
    );
    await rpc.kv.txn(
      {
        compare: [{ key: bare, target: 'CREATE', result: 'EQUAL', create_revision: res.header.revision }],
        success: [{ request_delete_range: { key: mine } }, { request_delete_range: { key: bare } }],
      },
      o,
    );
  }, SECONDS * 1000);
}

/**
 * The ceiling of a lock whose unlock does not wait for etcd: create-if-absent + read of the queue
 * (as our acquire), then a delete that is sent but not awaited; the next create also deletes the
 * previous key, so no round trip ever waits on a delete. Not what we ship (unlock confirms).
 */
async function rawPipelined(client: Etcd3): Promise<number> {
  const keys = [Buffer.from('bench-lock-pipe/a'), Buffer.from('bench-lock-pipe/b')];
  const queue = { key: Buffer.from('bench-lock-pipe/'), range_end: Buffer.from('bench-lock-pipe0'), sort_target: 'Create', sort_order: 'Descend', limit: 2 } as const;
  let i = 0;
  let pending: Promise<unknown> = Promise.resolve();
  const rate = await opsPerSecond(async () => {
    const [mine, previous] = [keys[i % 2]!, keys[++i % 2]!];
    await client.kv.txn({
      compare: [{ key: mine, target: 'Create', result: 'Equal', create_revision: 0 }],
      success: [{ request_delete_range: { key: previous } }, { request_put: { key: mine } }, { request_range: queue }],
    });
    pending = client.kv.deleteRange({ key: mine });
    pending.catch(() => undefined);
  }, SECONDS * 1000);
  await pending;
  return rate;
}

/** N coordinators loop acquire → unlock on one key; handoff = unlock called → next holder's acquire resolves. */
async function contendedOurs(n: number): Promise<{ handoffs: number; p50: number; p99: number }> {
  const cs = await Promise.all(Array.from({ length: n }, () => coordinator('bench-lock-c')));
  let stop = false;
  let count = 0;
  let holder = -1;
  let releasedAt = 0;
  const latencies: number[] = [];
  const loop = async (i: number): Promise<void> => {
    while (!stop) {
      const lock = await cs[i]!.lock.acquire(`c${n}`, TTL_MS);
      const now = performance.now();
      if (holder !== -1 && holder !== i) latencies.push(now - releasedAt);
      holder = i;
      count++;
      releasedAt = performance.now();
      await lock.unlock();
    }
  };
  try {
    const warm = Promise.all(cs.map((_, i) => loop(i)));
    await new Promise((r) => setTimeout(r, 500));
    [count, latencies.length] = [0, 0];
    const started = performance.now();
    await new Promise((r) => setTimeout(r, SECONDS * 1000));
    const handoffs = count / ((performance.now() - started) / 1000);
    const sample = [...latencies];
    stop = true;
    await warm;
    return { handoffs, p50: percentile(sample, 50), p99: percentile(sample, 99) };
  } finally {
    await Promise.all(cs.map((c) => c.close()));
  }
}

async function goRun(binary: string, args: string[]): Promise<Record<string, number>> {
  const eps = endpoints()
    .map((e) => e.replace(/^https?:\/\//, ''))
    .join(',');
  return new Promise((resolve, reject) => {
    execFile(binary, ['-endpoints', eps, '-seconds', String(SECONDS), ...args], { timeout: (SECONDS + 60) * 1000 }, (err, stdout, stderr) =>
      err ? reject(new Error(`${binary} ${args.join(' ')}: ${stderr || err.message}`)) : resolve(JSON.parse(stdout.trim().split('\n').pop()!)),
    );
  });
}

const fmt = (v: number | undefined, digits = 0): string => (v === undefined || Number.isNaN(v) ? 'n/a' : v.toFixed(digits));
const ratio = (a: number, b: number | undefined): string => (b ? `${(a / b).toFixed(1)}×` : 'n/a');

// Bun and Deno beside Node (scripts/bench.mjs, section "runtimes"): BENCH_OURS_ONLY=1 measures our
// default uncontended cycle alone, best of ROUNDS, and prints it as one JSON line; nothing written.
if (process.env['BENCH_OURS_ONLY']) {
  const c = await coordinator('bench-lock-rt');
  let best = 0;
  try {
    for (let round = 0; round < ROUNDS; round++) {
      best = Math.max(best, await opsPerSecond(async () => (await c.lock.acquire('u', TTL_MS)).unlock(), SECONDS * 1000));
    }
  } finally {
    await c.close();
  }
  console.log(JSON.stringify({ lockCyclesPerSec: best }));
  process.exit(0);
}

/**
 * etcd requests counted on the wire: per uncontended acquire + unlock, and per hand-over with two
 * contenders (each its own coordinator; a hand-over's requests are both contenders' together).
 */
async function roundTrips(): Promise<{ uncontended: string; handover: string }> {
  const [a, b] = await Promise.all([coordinator('bench-lock-rt'), coordinator('bench-lock-rt')]);
  const [ra, rb] = [countRpcs(a), countRpcs(b)];
  try {
    const N = 50;
    await (await a.lock.acquire('u', TTL_MS)).unlock(); // warm: a spare lease exists
    ra.take();
    for (let i = 0; i < N; i++) await (await a.lock.acquire('u', TTL_MS)).unlock();
    const uncontended = perOperation(ra.take(), N);
    // Alternate holders: each acquire queues behind the other's hold, then is handed the lock.
    let held = await a.lock.acquire('h', TTL_MS);
    const warm = b.lock.acquire('h', TTL_MS);
    await held.unlock();
    held = await warm;
    ra.take();
    rb.take();
    const H = 20;
    for (let i = 0; i < H; i++) {
      const next = (i % 2 === 0 ? a : b).lock.acquire('h', TTL_MS);
      await new Promise((r) => setTimeout(r, 20)); // queued behind the holder before it lets go
      await held.unlock();
      held = await next;
    }
    await held.unlock();
    const both = ra.take();
    for (const [name, n] of rb.take()) both.set(name, (both.get(name) ?? 0) + n);
    return { uncontended, handover: perOperation(both, H) };
  } finally {
    await Promise.all([a.close(), b.close()]);
  }
}

const goWhy = ensureGo();
let go: string | undefined;
if (!goWhy) {
  try {
    go = await buildGoLock();
  } catch (err) {
    console.error('[bench] Go build failed:', (err as Error).message);
  }
}

console.log(`[bench] lock: ${SECONDS} s per measurement`);
// Interleaved rounds, best of each: sub-millisecond loops swing with whatever else the machine runs.
const rounds: Round[] = [];
for (let round = 0; round < ROUNDS; round++) rounds.push(await uncontendedRound(round));
type Measured = Exclude<keyof Round, 'ttlAfterAcquire'>;
const bestOf = (k: Measured): number => Math.max(...rounds.map((r) => r[k]));
// Ratios within each round (same moment, same machine state), median over the rounds.
const median = (a: Measured, b: Measured): number => percentile(rounds.map((r) => r[a] / r[b]), 50);
const x = (v: number, digits = 2): string => `${v.toFixed(digits)}×`;
const [raw, etcd3, pipelined, rawOurs, twoKeys] = [bestOf('raw'), bestOf('etcd3'), bestOf('pipelined'), bestOf('rawOurs'), bestOf('twoKeys')];
const ours = { cycles: bestOf('ours'), oneKey: bestOf('oursOneKey'), ttlAfterAcquire: rounds[rounds.length - 1]!.ttlAfterAcquire };
const perRound = rounds.map((r) => `${fmt(r.ours)} · ${fmt(r.oursOneKey)} / ${fmt(r.etcd3)}`).join(', ');
const goU = go ? (await goRun(go, ['-mode', 'uncontended', '-prefix', 'bench-lock-go/u']))['cyclesPerSec'] : undefined;
const trips = await roundTrips();
const c2 = await contendedOurs(2);
const c8 = await contendedOurs(8);
const go2 = go ? (await goRun(go, ['-mode', 'contended', '-n', '2', '-prefix', 'bench-lock-go/c2']))['handoffsPerSec'] : undefined;
const go8 = go ? (await goRun(go, ['-mode', 'contended', '-n', '8', '-prefix', 'bench-lock-go/c8']))['handoffsPerSec'] : undefined;

const body = `
Uncontended: one process, acquire + unlock of one key in a loop (TTL ${TTL_MS / 1000} s); ${ROUNDS} interleaved rounds,
each lock measured next to its floor (floor first in odd rounds, second in even ones): cycles/s best of each, ratios the median of the rounds' own
ratios; per round ours (default · \`holdTryAcquireKey: false\`) / etcd3: ${perRound}. Contended: N
coordinators (each its own etcd connection) loop acquire → unlock on one key with no hold time; a
handoff is one holder's unlock() call until the next holder's acquire() resolves. The Go figures come
from etcd's own \`concurrency.Mutex\` (\`bench/go/main.go\`, Debian's etcd client sources) against the
same etcd in the same run${go ? '' : ` — **not measured here: ${goWhy ?? 'Go build failed'}**`}.

${table(
  ['measurement', 'ours', 'etcd3 `client.lock()`', 'Go `concurrency.Mutex`', 'ours ÷ etcd3', 'ours ÷ Go'],
  [
    ['uncontended cycles/s, default (also holds gochat TryAcquire\'s key)', fmt(ours.cycles), fmt(etcd3), fmt(goU), x(median('ours', 'etcd3'), 1), ratio(ours.cycles, goU)],
    ['uncontended cycles/s, `lock: { holdTryAcquireKey: false }`', fmt(ours.oneKey), fmt(etcd3), fmt(goU), x(median('oursOneKey', 'etcd3'), 1), ratio(ours.oneKey, goU)],
    ['2 contenders: handoffs/s', fmt(c2.handoffs), 'cannot wait', fmt(go2), '', ratio(c2.handoffs, go2)],
    ['8 contenders: handoffs/s', fmt(c8.handoffs), 'cannot wait', fmt(go8), '', ratio(c8.handoffs, go8)],
  ],
)}

${table(
  ['contenders', 'handoff p50 (ms)', 'handoff p99 (ms)'],
  [
    [2, fmt(c2.p50, 2), fmt(c2.p99, 2)],
    [8, fmt(c8.p50, 2), fmt(c8.p99, 2)],
  ],
)}

Floors: what each lock must send, raw from Node over our own client (node:http2), serial, no library
around it — with \`unlock()\` resolving only once etcd confirms the delete, no lock can beat them.

| lock | its floor | floor cycles/s | lock ÷ floor |
|---|---|---|---|
| \`holdTryAcquireKey: false\` | create-if-absent txn + delete | ${fmt(rawOurs)} | ${x(median('oursOneKey', 'rawOurs'))} |
| default | the same with gochat's bare TryAcquire key in both transactions (issue 13): create both keys if nobody holds or waits, then delete both guarded by the bare key's create revision | ${fmt(twoKeys)} | ${x(median('ours', 'twoKeys'))} |

The bare key costs etcd a second key in each transaction (two-key floor ÷ one-key floor:
${x(median('twoKeys', 'rawOurs'))}); it is what makes gochat's Go \`TryAcquire\` fail while we hold, and an app
whose Go services never TryAcquire the names it locks can leave it out. Either way a spare lease takes
the grant out of the critical path. The same one-key pair over etcd3: ${fmt(raw)} cycles/s
(${x(median('raw', 'etcd3'), 1)} etcd3). etcd3's \`client.lock()\` is grant + txn + revoke plus a keep-alive
stream; Go's Mutex is the one-key pair with Go's cheaper RPCs. Ceiling of the alternative, for
reference: the txn with the delete sent but not awaited (a one-round-trip cycle, which would make
\`unlock()\` resolve before the lock is free) reaches ${fmt(pipelined)} cycles/s (${x(median('pipelined', 'etcd3'), 1)} etcd3).
With the default logger at its default level (pino, \`warn\`; no option given) the uncontended loop
runs at ${x(median('oursLogged', 'ours'))} of the silent logger's (median of the rounds' ratios; target ≥ 0.9×).
etcd requests counted on the wire (default options): per uncontended acquire + unlock ${trips.uncontended};
per hand-over between two contenders (the waiter queued first; both sides, unlock included) ${trips.handover}.
\`remainingMs()\` right after an uncontended acquire with a ${TTL_MS / 1000} s TTL: ${fmt(ours.ttlAfterAcquire)} ms (etcd reports
whole seconds, truncated).
Targets (issues 3, 14): uncontended ≥ 2.5× etcd3, ≥ 0.9× the raw create-if-absent txn + delete pair
over our client (the pair of a one-key lock, \`holdTryAcquireKey: false\`; the default sends the two-key
pair above), ≥ 0.6× Go, default logger ≥ 0.9× silent; ≥ 5× Go with 2 contenders, ≥ 2× with 8; handoff
p50 ≤ 5 ms.
`;
console.log(body);
writeSection('lock', 'Distributed lock', body);
process.exit(0);
