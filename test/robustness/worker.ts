// One process of the robustness run (test/robustness/run.ts): a coordinator that uses every component
// at once, through its own proxies to the three members, until told to stop on stdin; it records what it did as
// JSON lines on stdout (the history the run checks), then closes and must exit by itself.
import { createCoordinator, silentLogger, type Coordinator } from '../../src/index.js';
import { clientOf } from '../../src/coordinator.js';
import { prefixEnd } from '../../src/client/prefix-end.js';
import type { KeyValue } from '../../src/client/grpc/messages.js';
import type { HubWatch } from '../../src/client/watch-hub.js';
import type { OwnershipCondition } from '../../src/shared/vocabulary.js';

const W = Number(process.env['WORKER']);
const TTL_MS = Number(process.env['TTL_MS'] ?? 2000);
const endpoints = process.env['ENDPOINTS']!.split(',');
const namespace = process.env['NAMESPACE']!;
/** The semaphore's permits (run.ts checks the slot records against the same number). */
const PERMITS = Number(process.env['PERMITS'] ?? 2);
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

/** A permit or a read-write lock we hold (its unlock() as release()): what its records need of it. */
interface Hold {
  readonly fencingToken: bigint;
  readonly signal: AbortSignal;
  ownershipCondition(): OwnershipCondition;
  release(): Promise<void>;
}

/** The records under `dir` as the history names them: `<name>@w<worker>`. */
const recordNames = (dir: Buffer, kvs: KeyValue[]): string[] => kvs.map((kv) => `${kv.key.subarray(dir.length).toString()}@w${kv.value.toString()}`);
/** The create revisions (fencing tokens) of the contenders' keys under `queue`. */
const tokensOf = (kvs: Array<{ create_revision: bigint }>): string[] => kvs.map((kv) => String(kv.create_revision));

/**
 * A holder's record, `dir/<name>` = our worker number, written under the hold's ownership guard in
 * one txn that then reads every record under `dir` and the tokens of every contender's key under
 * `queue` (the semaphore's or the rwlock's keys): the state at the txn's revision, which the history
 * gives with it (`<kind>-put`). A record whose token is among the keys' is *live*: its holder's
 * guarded write landed and its key is still there (it left the queue neither by release nor by
 * expiry); run.ts counts live records. (A record cannot ride on the hold's lease instead: a
 * released hold's lease goes back to the spares and serves the next acquire.) An answer
 * that never came: etcd's history tells whether and at which revision our record landed (landedAt),
 * and reads at that revision the state then (`recovered`); else the outcome is unknown (history
 * compacted, or no put yet: it may still land from a member that was paused, and then shows among
 * the records of later writes).
 */
async function recordHold(kind: 'sem' | 'rw', hold: Hold, dir: Buffer, queue: Buffer, name: string): Promise<void> {
  const key = Buffer.concat([dir, Buffer.from(name)]);
  const token = hold.fencingToken;
  try {
    const res = await rpc.kv.txn(
      {
        compare: [hold.ownershipCondition()],
        success: [
          { request_put: { key, value: Buffer.from(String(W)) } },
          { request_range: { key: dir, range_end: prefixEnd(dir) } },
          { request_range: { key: queue, range_end: prefixEnd(queue), keys_only: true } },
        ],
      },
      call,
    );
    if (!res.succeeded) return out(`${kind}-put-refused`, { token });
    const [, records, keys] = res.responses;
    out(`${kind}-put`, { token, name, rev: res.header.revision, records: recordNames(dir, records.response_range.kvs), keys: tokensOf(keys.response_range.kvs) });
  } catch (err) {
    const rev = await landedAt(key, token + 1n);
    for (let attempt = 0; rev !== undefined && attempt < 5; attempt++) {
      try {
        const records = await rpc.kv.range({ key: dir, range_end: prefixEnd(dir), revision: rev }, call);
        const keys = await rpc.kv.range({ key: queue, range_end: prefixEnd(queue), keys_only: true, revision: rev }, call);
        return out(`${kind}-put`, { token, name, rev, records: recordNames(dir, records.kvs), keys: tokensOf(keys.kvs), recovered: true });
      } catch {
        await sleep(300); // compacted meanwhile: the five attempts fail alike
      }
    }
    out(`${kind}-put-unknown`, { token, error: errorText(err) });
  }
}

/**
 * The revision a put of `key` landed at, from etcd's history (a watch from `from` on), whatever
 * happened to the key since. Undefined when the history shows no put within 1.5 s of the watch
 * starting (6 s at most), or was compacted.
 */
function landedAt(key: Buffer, from: bigint): Promise<bigint | undefined> {
  return new Promise((resolve) => {
    let watch: HubWatch | undefined;
    let settled = false;
    const done = (rev: bigint | undefined): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      watch?.cancel();
      resolve(rev);
    };
    let timer = setTimeout(() => done(undefined), 6000);
    watch = clientOf(coord).watches.watch(
      { key, startRevision: from, only: 'put' },
      {
        // etcd sends the history after the watch is created: give it 1.5 s (again after a resume).
        onCreated: () => {
          clearTimeout(timer);
          timer = setTimeout(() => done(undefined), 1500);
        },
        onEvents: (events) => {
          if (events[0]) done(events[0].kv.mod_revision);
        },
        onCancelled: () => done(undefined),
      },
    );
    if (settled) watch.cancel();
  });
}

/** Deletes our record under the hold's guard; true if it did. */
async function dropRecord(kind: 'sem' | 'rw', hold: Hold, dir: Buffer, name: string): Promise<boolean> {
  const key = Buffer.concat([dir, Buffer.from(name)]);
  try {
    const res = await rpc.kv.txn({ compare: [hold.ownershipCondition()], success: [{ request_delete_range: { key } }] }, call);
    out(res.succeeded ? `${kind}-del` : `${kind}-del-refused`, { token: hold.fencingToken, rev: res.header.revision });
    return res.succeeded;
  } catch (err) {
    out('op-failed', { op: `${kind}.del`, error: errorText(err) });
    return false;
  }
}

/**
 * Our records the guarded delete did not take (the hold was lost, or the answer): stale once their
 * hold is released, and deleted then without a guard, again after each hold until etcd answers
 * (run.ts leaves stale records out anyway; this keeps the records read small).
 */
const stale = new Map<string, Buffer>();
async function sweepStale(): Promise<void> {
  for (const [name, key] of stale) {
    try {
      await rpc.kv.deleteRange({ key }, call);
      stale.delete(name);
    } catch {
      return;
    }
  }
}

/** One hold: record ourselves, hold a while, drop the record, release. */
async function hold(kind: 'sem' | 'rw', held: Hold, dir: Buffer, queue: Buffer, name: string, holdMs: number): Promise<void> {
  let dropped = false;
  try {
    await recordHold(kind, held, dir, queue, name);
    await sleep(holdMs);
    dropped = await dropRecord(kind, held, dir, name);
  } finally {
    out(`${kind}-release`, { token: held.fencingToken, lost: held.signal.aborted });
    await held.release().catch((err: unknown) => out('op-failed', { op: `${kind}.release`, error: errorText(err) }));
    if (!dropped) stale.set(`${kind}/${name}`, Buffer.concat([dir, Buffer.from(name)]));
    await sweepStale();
  }
}

/**
 * A semaphore of PERMITS permits: each holder records itself under `robust/slots/` for a short while
 * (see recordHold); run.ts checks that no revision had more than PERMITS live records, and how soon
 * the permit of a paused holder was taken (`sem-acquired` has when we began to wait and when we got it).
 */
async function semaphoreLoop(): Promise<void> {
  const dir = full('robust/slots/');
  await repeat('semaphore', async () => {
    const from = Date.now();
    const permit = await coord.semaphore.acquire('slots', { permits: PERMITS, ttlMs: TTL_MS, signal: AbortSignal.timeout(10_000) });
    out('sem-acquired', { token: permit.fencingToken, from });
    // The contenders' keys: `<ns>/semaphores/slots/<id>` (semaphore/interface.ts).
    const queue = Buffer.from(permit.ownerKey.slice(0, permit.ownerKey.lastIndexOf('/') + 1));
    await hold('sem', permit, dir, queue, String(permit.fencingToken), rand(50, 400));
  });
}

/**
 * A read-write lock: every third round of a worker a writer, else a reader; each records itself
 * under `robust/rw/<mode>/` (see recordHold); run.ts checks that no revision had a writer's live
 * record beside any other live record.
 */
async function rwlockLoop(): Promise<void> {
  const dir = full('robust/rw/');
  let round = W;
  await repeat('rwlock', async () => {
    const mode = round++ % 3 === 0 ? 'write' : 'read';
    const from = Date.now();
    const options = { ttlMs: TTL_MS, signal: AbortSignal.timeout(10_000) };
    const held = mode === 'write' ? await coord.rwlock.acquireWrite('rw', options) : await coord.rwlock.acquireRead('rw', options);
    out('rw-acquired', { mode, token: held.fencingToken, from });
    // The contenders' keys: `<ns>/rwlocks/rw/read/<id>` and `…/write/<id>` (rwlock/interface.ts).
    const queue = Buffer.from(held.ownerKey.slice(0, held.ownerKey.lastIndexOf(`/${mode}/`) + 1));
    const asHold: Hold = {
      fencingToken: held.fencingToken,
      get signal() {
        return held.signal;
      },
      ownershipCondition: () => held.ownershipCondition(),
      release: () => held.unlock(),
    };
    await hold('rw', asHold, dir, queue, `${mode}/${held.fencingToken}`, rand(50, 300));
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
    // A look at the signal, not only its listener: after a pause our sleep's timer may fire before the
    // lease's expiry timer, and the signal's getter checks the lease's deadline (then `lost` is set too).
    if (!held.signal.aborted && !lost) {
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
const loops = [lockLoop(), electionLoop(), idsLoop(), discoveryLoop(), semaphoreLoop(), rwlockLoop(), configWatcher(stopWatch.signal), ...(W === 0 ? [configWriter()] : [])];
await sleep(5000);
resources('start');
for (let next = Date.now() + 10_000; running; await sleep(100)) {
  if (Date.now() >= next) {
    resources('sample');
    next = Date.now() + 10_000;
  }
}
// Stopped: let the last writes be seen, then read what discovery shows, then close.
const settled = Promise.allSettled(loops.slice(0, 6));
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
