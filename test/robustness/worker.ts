// One process of the robustness run (test/robustness/run.ts): a coordinator that uses every component
// at once, through its own proxies to the three members, until told to stop on stdin; it records what it did as
// JSON lines on stdout (the history the run checks), then closes and must exit by itself.
import { createCoordinator, silentLogger, type Coordinator } from '../../src/index.js';
import { clientOf } from '../../src/coordinator.js';

const W = Number(process.env['WORKER']);
const TTL_MS = Number(process.env['TTL_MS'] ?? 2000);
const endpoints = process.env['ENDPOINTS']!.split(',');
const namespace = process.env['NAMESPACE']!;
let running = true;

function out(kind: string, data: Record<string, unknown> = {}): void {
  process.stdout.write(`${JSON.stringify({ kind, w: W, t: Date.now(), ...data }, (_, v) => (typeof v === 'bigint' ? v.toString() : v))}\n`);
}
const errorText = (err: unknown): string => (err instanceof Error ? `${(err as { code?: string }).code ?? err.name}: ${err.message}` : String(err));
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));
const rand = (a: number, b: number): number => a + Math.floor(Math.random() * (b - a));

process.on('unhandledRejection', (err) => out('violation', { what: 'unhandled rejection', error: errorText(err) }));
process.on('warning', (w) => out('violation', { what: 'process warning', error: `${w.name}: ${w.message}` }));
// The run says `stop` (end the loops, then report what discovery shows) and later `close` on stdin.
let closeNow: () => void = () => undefined;
const closing = new Promise<void>((r) => (closeNow = r));
let input = '';
process.stdin.setEncoding('utf8').on('data', (chunk: string) => {
  input += chunk;
  if (/^stop$/m.test(input)) running = false;
  if (/^close$/m.test(input)) {
    process.stdin.destroy();
    closeNow();
  }
});

const coord: Coordinator = await createCoordinator({
  endpoints,
  namespace,
  logger: silentLogger,
  timeoutMs: 1000,
  ...(process.env['USERNAME'] && { username: process.env['USERNAME'], password: process.env['PASSWORD'] }),
});
const rpc = clientOf(coord).rpc;
const call = { timeoutMs: 2000 };
const full = (key: string): Buffer => Buffer.from(`${namespace}/${key}`);

/** Runs `once` until the run stops; a failed round is recorded and the next one starts 100 ms later. */
async function repeat(op: string, once: () => Promise<void>): Promise<void> {
  while (running) {
    try {
      await once();
    } catch (err) {
      out('op-failed', { op, error: errorText(err) });
      await sleep(100);
    }
  }
}

/** Locks guarding a counter: each write is fenced (our lock key's create revision) and checks the counter's revision. */
async function lockLoop(): Promise<void> {
  const counter = full('robust/counter');
  await repeat('lock', async () => {
    const lock = await coord.lock.acquire('counter', TTL_MS, { signal: AbortSignal.timeout(10_000) });
    try {
      const now = await rpc.kv.range({ key: counter }, call);
      const kv = now.kvs[0];
      const n = kv ? Number(kv.value.toString()) : 0;
      const res = await rpc.kv.txn(
        {
          compare: [lock.ownershipCondition(), { key: counter, target: 'MOD', result: 'EQUAL', mod_revision: kv?.mod_revision ?? 0n }],
          success: [{ request_put: { key: counter, value: Buffer.from(String(n + 1)) } }],
        },
        call,
      );
      out(res.succeeded ? 'lock-write' : 'lock-write-refused', { token: lock.fencingToken, n: n + 1 });
    } finally {
      await lock.unlock().catch(() => undefined);
    }
  });
}

/** Elections whose leaders write under their leadership guard (create revision of their key). */
async function electionLoop(): Promise<void> {
  await repeat('election', async () => {
    const leadership = await coord.election.campaign('leader', `w${W}`, { ttlMs: TTL_MS, signal: AbortSignal.timeout(10_000) });
    for (let k = 0; k < 3 && running && !leadership.signal.aborted; k++) {
      const res = await rpc.kv.txn(
        {
          compare: [{ key: Buffer.from(leadership.key), target: 'CREATE', result: 'EQUAL', create_revision: leadership.fencingToken }],
          success: [{ request_put: { key: full(`robust/terms/${leadership.fencingToken}/${W}-${k}`), value: Buffer.from('x') } }],
        },
        call,
      );
      if (res.succeeded) out('term-write', { term: leadership.fencingToken });
      await sleep(rand(50, 200));
    }
    await leadership.resign().catch(() => undefined);
  });
}

/** Instance IDs from a small pool: held a while, released; a loss is recorded when its signal fires. */
async function idsLoop(): Promise<void> {
  await repeat('ids', async () => {
    const held = await coord.ids.allocate('pool', { min: 1, max: 6, ttlMs: TTL_MS, signal: AbortSignal.timeout(10_000) });
    out('id-acquired', { id: held.id });
    let lost = false;
    const onLost = (): void => ((lost = true), out('id-lost', { id: held.id }));
    // A signal that aborted before we listen never fires its listeners: check it first.
    if (held.signal.aborted) onLost();
    else held.signal.addEventListener('abort', onLost, { once: true });
    await sleep(rand(300, 1500));
    if (!lost) {
      out('id-releasing', { id: held.id });
      await held.release().catch((err: unknown) => out('op-failed', { op: 'ids.release', error: errorText(err) }));
    }
  });
}

/** Worker 0 writes config `seq` = 1, 2, …; every worker watches it. */
async function configWriter(): Promise<void> {
  for (let k = 1; running; k++) {
    try {
      const sentAt = Date.now();
      const { revision } = await coord.config.set('seq', k);
      out('cfg-ack', { k, revision, sentAt });
    } catch (err) {
      // Not acknowledged: it may land, even later than the writes after it (a paused member may
      // propose it when it runs again), so the next write takes a new value.
      out('op-failed', { op: 'config.set', error: errorText(err) });
      await sleep(100);
    }
    await sleep(rand(20, 100));
  }
}

async function configWatcher(stop: AbortSignal): Promise<void> {
  try {
    const watch = coord.config.watch('seq', { signal: stop });
    void watch.ready.then(() => out('cfg-watching'));
    for await (const ev of watch) {
      out('cfg-seen', { type: ev.type, k: ev.value, revision: ev.revision, reconciled: ev.reconciled });
    }
  } catch (err) {
    if (!stop.aborted) out('violation', { what: 'config watch ended', error: errorText(err) });
  }
}

/** A config live view of `seq`: every change it takes, with the revision it holds then. */
async function liveView(): Promise<() => Promise<void>> {
  const live = await coord.config.live<number>('seq', { default: 0 });
  live.on('change', (value) => out('live-seen', { k: value, revision: live.revision }));
  return async () => {
    out('live-final', { k: live.value, revision: live.revision });
    await live.close();
  };
}

/** The discovery cache's view of the service, every 100 ms: a line each time the set of instances changes. */
async function discoveryLoop(): Promise<void> {
  let last: string | undefined;
  while (running) {
    try {
      const ids = (await coord.registry.discover('svc')).map((s) => s.id).sort();
      if (ids.join(',') !== last) out('disc', { ids });
      last = ids.join(',');
    } catch (err) {
      out('op-failed', { op: 'discover', error: errorText(err) });
    }
    await sleep(100);
  }
}

/** What this process holds: heap after GC, handles, timers, and our client's HTTP/2 streams and sessions. */
function resources(at: string): void {
  (globalThis as { gc?: () => void }).gc?.();
  const active = process.getActiveResourcesInfo();
  out('resources', {
    at,
    heap: process.memoryUsage().heapUsed,
    handles: active.length,
    timers: active.filter((r) => r === 'Timeout').length,
    streams: rpc.channel.openStreams,
    sessions: rpc.channel.sessions,
  });
}

const stopWatch = new AbortController();
const registration = await coord.registry.register({ id: `w${W}`, name: 'svc', address: '127.0.0.1', port: 1000 + W, ttlMs: TTL_MS });
const closeLive = await liveView();
const loops = [lockLoop(), electionLoop(), idsLoop(), discoveryLoop(), configWatcher(stopWatch.signal), ...(W === 0 ? [configWriter()] : [])];
await sleep(5000);
resources('start');
for (let next = Date.now() + 10_000; running; await sleep(100)) {
  if (Date.now() >= next) {
    resources('sample');
    next = Date.now() + 10_000;
  }
}
// Stopped: let the last writes be seen, then read what discovery shows, then close.
const settled = Promise.allSettled(loops.slice(0, 4));
await sleep(3000);
stopWatch.abort();
await settled;
await Promise.allSettled(loops);
await closeLive();
try {
  const seen = await coord.registry.discover('svc');
  out('discovered', { ids: seen.map((s) => s.id).sort() });
} catch (err) {
  out('violation', { what: 'discover at the end failed', error: errorText(err) });
}
resources('end');
await closing; // every worker has looked before any goes
await registration.unregister().catch(() => undefined);
await coord.close();
out('closed');
