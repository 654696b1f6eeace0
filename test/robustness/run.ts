// The robustness run (issue 29): a 3-member etcd, WORKERS processes using every component at once
// (test/robustness/worker.ts), each through its own proxies; a seeded scheduler injects faults at
// random for the run's length; then the recorded history is checked. Replayable from the seed.
//   npm run robustness -- --minutes N [--seed S]
// Exits 1 on any violation. Nothing but loopback traffic; every loop bounded by the deadline.
import { spawn, execFile, type ChildProcess } from 'node:child_process';
import { promisify } from 'node:util';
import { mkdirSync, writeFileSync } from 'node:fs';
import { createInterface } from 'node:readline';
import { startCluster, waitClusterHealthy, type EtcdMember } from '../../scripts/lib/etcd.mjs';
import { TcpProxy } from '../helpers/proxy.js';

const args = process.argv.slice(2);
const arg = (name: string): string | undefined => {
  const i = args.indexOf(`--${name}`);
  return i >= 0 ? args[i + 1] : args.find((a) => a.startsWith(`--${name}=`))?.slice(name.length + 3);
};
const minutes = Number(arg('minutes') ?? 1);
const seed = Number(arg('seed') ?? Math.floor(Math.random() * 2 ** 31));
const WORKERS = 4;
const HISTORY_FILE = '.test-output/robustness-history.jsonl';
const TTL_MS = 2000;
/** The workers' semaphore (`slots`) allows this many holders at once. */
const SEM_PERMITS = 2;
/** Simple tokens that expire after a second unused on a member: every failover and pause meets an expired token. */
const TOKEN_TTL_S = 1;
const ROOT = 'root:robust-R00t-pw';
const WORKER_PASSWORD = 'robust-W0rker-pw';
console.log(`[robustness] seed ${seed}, ${minutes} min, ${WORKERS} workers, TTL ${TTL_MS} ms, auth token TTL ${TOKEN_TTL_S} s (replay: npm run robustness -- --minutes ${minutes} --seed ${seed})`);

/** mulberry32: a small seeded PRNG, so a run's faults replay from its seed. */
let state = seed >>> 0;
function random(): number {
  state = (state + 0x6d2b79f5) >>> 0;
  let t = state;
  t = Math.imul(t ^ (t >>> 15), t | 1);
  t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
  return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
}
const between = (a: number, b: number): number => a + Math.floor(random() * (b - a));
const pick = <T>(xs: readonly T[]): T => xs[Math.floor(random() * xs.length)]!;
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));
const execFileAsync = promisify(execFile);

interface Entry {
  kind: string;
  w: number;
  t: number;
  [k: string]: unknown;
}

const cluster = await startCluster({ size: 3, extraArgs: ['--auth-token', 'simple', '--auth-token-ttl', String(TOKEN_TTL_S)] });
const members = cluster.members as EtcdMember[];
const namespace = `/robust-${seed}`;
// Workers log in as a user whose role covers their namespace only (docs/PERMISSIONS.md); the run is root.
// Never execFileSync: the proxies run in this process, and a blocked loop would be a fault of its own.
const etcdctl = async (...a: string[]): Promise<string> =>
  (
    await execFileAsync('etcdctl', [`--endpoints=${members.filter((m) => m.running).map((m) => m.clientUrl).join(',')}`, ...(authOn ? [`--user=${ROOT}`] : []), ...a], {
      encoding: 'utf8',
      timeout: 15_000,
    })
  ).stdout;
let authOn = false;
await etcdctl('user', 'add', ROOT);
await etcdctl('role', 'add', 'root');
await etcdctl('user', 'grant-role', 'root', 'root');
await etcdctl('role', 'add', 'robust-worker');
await etcdctl('role', 'grant-permission', 'robust-worker', 'readwrite', `${namespace}/`, '--prefix=true');
await etcdctl('user', 'add', `worker:${WORKER_PASSWORD}`);
await etcdctl('user', 'grant-role', 'worker', 'robust-worker');
await etcdctl('auth', 'enable');
authOn = true;
const history: Entry[] = [];
const proxies: TcpProxy[][] = [];
const workers: ChildProcess[] = [];
const exited: Array<Promise<number | null>> = [];
const faults = new Map<string, number>();
const count = (kind: string): void => void faults.set(kind, (faults.get(kind) ?? 0) + 1);

for (let w = 0; w < WORKERS; w++) {
  proxies.push(await Promise.all(members.map((m) => TcpProxy.forUrl(m.clientUrl).start())));
  const child = spawn(process.execPath, ['--expose-gc', '--import', 'tsx', 'test/robustness/worker.ts'], {
    stdio: ['pipe', 'pipe', 'inherit'],
    env: { ...process.env, WORKER: String(w), TTL_MS: String(TTL_MS), PERMITS: String(SEM_PERMITS), NAMESPACE: namespace, ENDPOINTS: proxies[w]!.map((p) => p.url).join(','), USERNAME: 'worker', PASSWORD: WORKER_PASSWORD },
  });
  createInterface({ input: child.stdout! }).on('line', (line) => {
    try {
      history.push(JSON.parse(line) as Entry);
    } catch {
      history.push({ kind: 'violation', w, t: Date.now(), what: 'unparsable output', line });
    }
  });
  exited.push(new Promise((r) => child.once('exit', (code) => r(code))));
  workers.push(child);
}

// Faults start once every worker discovers every worker (bounded: a worker that never gets there is a violation).
for (let i = 0; i < 300 && !Array.from({ length: WORKERS }, (_, w) => w).every((w) => (history.filter((e) => e.kind === 'disc' && e.w === w).at(-1)?.['ids'] as string[] | undefined)?.length === WORKERS); i++) {
  await sleep(100);
}

// ── faults ──
/** The member that leads now, as the running members report it (undefined while there is none). */
async function leader(): Promise<EtcdMember | undefined> {
  // Member IDs are uint64: quoted before parsing, so none is rounded.
  const status = JSON.parse((await etcdctl('endpoint', 'status', '-w', 'json')).replace(/:(\d{10,})/g, ':"$1"')) as Array<{ Endpoint: string; Status: { leader: string | number; header: { member_id: string | number } } }>;
  const led = status.find((s) => String(s.Status.leader) === String(s.Status.header.member_id));
  return led && members.find((m) => m.clientUrl === led.Endpoint);
}
let memberDown = false;
const pausedWorkers = new Set<number>();
let authChanges = 0;
const KINDS = ['member-kill', 'member-pause', 'leader-loss', 'link-cut', 'link-reset', 'link-slow', 'compact', 'defrag', 'auth-change', 'worker-pause'] as const;
type FaultKind = (typeof KINDS)[number];
/** Faults that can keep a registration from being seen or a dead one from going: checks wait for a window without them. */
const DISTURBING: ReadonlySet<string> = new Set<FaultKind>(['member-kill', 'member-pause', 'leader-loss', 'link-cut', 'link-slow', 'worker-pause']);

/**
 * One fault, chosen and sized from the seed before anything is awaited (so a replay injects the same
 * faults in the same order whatever the timing), recorded with its start and end.
 */
async function fault(): Promise<void> {
  const kind = pick(KINDS);
  const w = between(0, WORKERS);
  const [r1, r2] = [random(), random()];
  const span = (a: number, b: number): number => a + Math.floor(r1 * (b - a));
  if ((kind === 'member-kill' || kind === 'member-pause' || kind === 'leader-loss') && memberDown) return; // one member down at a time: quorum stays
  if (kind === 'worker-pause' && pausedWorkers.has(w)) return; // one pause per worker at a time: a second's SIGCONT would end the first early
  count(kind);
  const entry: Entry = { kind: 'fault', w, t: Date.now(), fault: kind, end: 0 };
  history.push(entry);
  try {
    await inject(kind, w, span, r2);
  } finally {
    entry['end'] = Date.now();
  }
}

async function inject(kind: FaultKind, w: number, span: (a: number, b: number) => number, r2: number): Promise<void> {
  switch (kind) {
    case 'member-kill':
    case 'member-pause':
    case 'leader-loss': {
      memberDown = true;
      try {
        const m = kind === 'leader-loss' ? await leader() : members[Math.floor(r2 * members.length)]!;
        if (!m) return;
        // The leader is killed or paused: the others elect a new one, and a paused one steps down when it runs again.
        if (kind === 'member-kill' || (kind === 'leader-loss' && r2 < 0.5)) {
          await m.kill();
          await sleep(span(500, 3000));
          await m.start({ timeoutMs: 20_000 }).catch((err: Error) => history.push({ kind: 'violation', w: -1, t: Date.now(), what: `restart of ${m.name}`, error: err.message }));
        } else {
          m.pause();
          await sleep(span(500, 4000));
          m.resume();
        }
      } finally {
        memberDown = false;
      }
      return;
    }
    case 'link-cut':
    case 'link-slow': {
      await Promise.all(proxies[w]!.map((p) => p.setMode(kind === 'link-cut' ? 'blackhole' : 'delay', 150)));
      await sleep(span(500, kind === 'link-cut' ? TTL_MS + 1500 : 4000));
      await Promise.all(proxies[w]!.map((p) => p.setMode('pass')));
      if (kind === 'link-cut') proxies[w]!.forEach((p) => p.resetAll());
      return;
    }
    case 'link-reset':
      proxies[w]!.forEach((p) => p.resetAll());
      return;
    case 'compact': {
      const rev = /"revision":(\d+)/.exec(await etcdctl('get', 'x', '-w', 'json'))?.[1];
      if (rev) await etcdctl('compact', rev);
      return;
    }
    case 'defrag': {
      const up = members.filter((m) => m.running);
      await execFileAsync('etcdctl', [`--endpoints=${up[Math.floor(r2 * up.length)]!.clientUrl}`, `--user=${ROOT}`, 'defrag'], { timeout: 15_000 });
      return;
    }
    case 'auth-change':
      // Any change of users or roles: requests in flight under the old auth revision are refused, once.
      if (authChanges % 2 === 0) await etcdctl('role', 'add', `robust-churn-${authChanges}`);
      else await etcdctl('role', 'delete', `robust-churn-${authChanges - 1}`);
      authChanges++;
      return;
    case 'worker-pause': {
      // Longer than a TTL: whatever the worker holds must be lost, and seen as lost (by others too,
      // within TTL + 1 s when the pause lasts that long).
      const from = Date.now();
      pausedWorkers.add(w);
      workers[w]!.kill('SIGSTOP');
      await sleep(TTL_MS + span(200, 2500));
      workers[w]!.kill('SIGCONT');
      pausedWorkers.delete(w);
      history.push({ kind: 'paused', w, t: from, until: Date.now() });
      return;
    }
  }
}

const started = Date.now();
const deadline = started + minutes * 60_000;
const running = new Set<Promise<void>>();
// Leases in etcd, every 10 s: each worker holds a few; more would be leases nobody revokes or keeps.
const countLeases = async (): Promise<number> => (await etcdctl('lease', 'list')).split('\n').filter((l) => /^[0-9a-f]+$/.test(l.trim())).length;
const leaseSamples: number[] = [];
const sampler = setInterval(() => {
  // No quorum right now: the next sample.
  countLeases().then((n) => (leaseSamples.push(n), history.push({ kind: 'leases', w: -1, t: Date.now(), n })), () => undefined);
}, 10_000);
while (Date.now() < deadline) {
  await sleep(between(500, 2500));
  const p = fault().catch((err: Error) => history.push({ kind: 'fault-failed', w: -1, t: Date.now(), error: err.message }));
  const tracked: Promise<void> = p.then(() => void running.delete(tracked));
  running.add(tracked);
}
await Promise.all(running);
clearInterval(sampler);
for (const m of members) if (!m.running) await m.start().catch(() => undefined);
await waitClusterHealthy(cluster);
const faultsEnded = Date.now();

// ── stop, look, close ──
for (const c of workers) c.stdin!.write('stop\n');
const discoveredBy = async (): Promise<void> => {
  for (let i = 0; i < 200 && history.filter((e) => e.kind === 'discovered' || e.kind === 'closed').length < WORKERS; i++) await sleep(100);
};
await discoveredBy();
for (const c of workers) c.stdin!.write('close\n');
const codes = await Promise.all(exited.map((e) => Promise.race([e, sleep(15_000).then(() => 'hung' as const)])));
codes.forEach((code, w) => {
  if (code === 'hung') {
    history.push({ kind: 'violation', w, t: Date.now(), what: 'did not exit within 15 s of close()' });
    workers[w]!.kill('SIGKILL');
  } else if (code !== 0) history.push({ kind: 'violation', w, t: Date.now(), what: `exited with ${code}` });
});
const leasesLeft = await countLeases();

// The history, for a look at what a violation was about.
mkdirSync('.test-output', { recursive: true });
writeFileSync(HISTORY_FILE, history.map((e) => JSON.stringify(e)).join('\n') + '\n');

// ── checks ──
const violations: string[] = history.filter((e) => e.kind === 'violation').map((e) => `worker ${e.w}: ${String(e['what'])} ${String(e['error'] ?? '')}`);
const of = (kind: string): Entry[] => history.filter((e) => e.kind === kind);

// Locks: no counter value is set twice by acknowledged writes (two holders at once would both read
// the same value), and in counter order the fencing tokens rise. (A write whose answer was lost may
// have landed too: a gap, not a violation.)
const writes = of('lock-write').sort((a, b) => Number(a['n']) - Number(b['n']));
writes.forEach((e, i) => {
  if (i === 0) return;
  const prev = writes[i - 1]!;
  if (Number(e['n']) === Number(prev['n'])) violations.push(`lock: the counter was set to ${String(e['n'])} twice (tokens ${String(prev['token'])}, ${String(e['token'])})`);
  else if (BigInt(e['token'] as string) <= BigInt(prev['token'] as string)) violations.push(`lock: fencing token ${String(e['token'])} accepted after ${String(prev['token'])}`);
});
const gaps = writes.length ? Number(writes.at(-1)!['n']) - writes.length : 0;

// Elections: every accepted write of a term comes from one worker.
const terms = new Map<string, Set<number>>();
for (const e of of('term-write')) terms.set(String(e['term']), (terms.get(String(e['term'])) ?? new Set()).add(e.w));
for (const [term, ws] of terms) if (ws.size > 1) violations.push(`election: term ${term} has writes of workers ${[...ws].join(', ')}`);

// Instance IDs: no two workers hold one ID at once (held from acquired until releasing or lost).
const intervals = new Map<number, Array<{ w: number; from: number; to: number }>>();
const open = new Map<string, { w: number; from: number }>();
for (const e of [...history].sort((a, b) => a.t - b.t)) {
  const id = Number(e['id']);
  if (e.kind === 'id-acquired') open.set(`${e.w}/${id}`, { w: e.w, from: e.t });
  if (e.kind === 'id-releasing' || e.kind === 'id-lost') {
    const o = open.get(`${e.w}/${id}`);
    // Lost after a pause: the worker last acted as the holder before it (its first look once it
    // runs again sees the loss — the handle's signal checks the lease's deadline), so it held until
    // the pause ended at most, not until the few ms later its look or its expiry timer came round.
    const pause = e.kind === 'id-lost' && o ? of('paused').filter((p) => p.w === e.w && o.from <= p.t && p.t <= e.t).at(-1) : undefined;
    if (o) intervals.set(id, [...(intervals.get(id) ?? []), { ...o, to: pause ? Math.min(e.t, Number(pause['until'])) : e.t }]);
    open.delete(`${e.w}/${id}`);
  }
}
for (const [key, o] of open) intervals.set(Number(key.split('/')[1]), [...(intervals.get(Number(key.split('/')[1])) ?? []), { ...o, to: Infinity }]);
// A paused process is no live holder: it learns of its loss only once it runs again.
const pausedAt = (w: number, t: number): boolean => of('paused').some((p) => p.w === w && p.t <= t && t <= Number(p['until']));
for (const [id, list] of intervals) {
  list.sort((a, b) => a.from - b.from);
  for (let i = 1; i < list.length; i++) {
    for (let j = 0; j < i; j++) {
      const [a, b] = [list[j]!, list[i]!];
      if (b.from < a.to && a.w !== b.w && !pausedAt(a.w, b.from)) violations.push(`ids: ${id} held by workers ${a.w} and ${b.w} at once (from ${b.from - started} ms)`);
    }
  }
}

// Config: each watcher sees changes in revision order, each once, and every write acknowledged after
// it was watching — but for those a compaction took while it was cut off: then it gets the state as
// it is (an event marked `reconciled`) instead of the history it can no longer be given.
const acks = of('cfg-ack').map((e) => ({ k: Number(e['k']), rev: BigInt(e['revision'] as string), sentAt: Number(e['sentAt']) }));
for (let w = 0; w < WORKERS; w++) {
  const since = of('cfg-watching').find((e) => e.w === w)?.t ?? Infinity;
  const seen = of('cfg-seen').filter((e) => e.w === w).map((e) => ({ rev: BigInt(e['revision'] as string), reconciled: e['reconciled'] === true }));
  for (let i = 1; i < seen.length; i++) {
    if (seen[i]!.rev <= seen[i - 1]!.rev) violations.push(`config: worker ${w} saw revision ${seen[i]!.rev} after ${seen[i - 1]!.rev}`);
  }
  const revs = new Set(seen.map((s) => s.rev));
  // A reconciled event stands for every change since the event before it.
  const coveredByResync = (rev: bigint): boolean => seen.some((s, i) => s.reconciled && s.rev >= rev && (i === 0 || seen[i - 1]!.rev < rev));
  const missing = acks.filter((a) => a.sentAt > since && !revs.has(a.rev) && !coveredByResync(a.rev)).map((a) => a.k);
  if (missing.length) violations.push(`config: worker ${w} never saw acknowledged ${missing.slice(0, 5).join(', ')}${missing.length > 5 ? ` (+${missing.length - 5})` : ''}`);
}

// Registry: once the faults ended, every worker discovers all of them.
for (const e of of('discovered')) {
  const ids = e['ids'] as string[];
  if (ids.length !== WORKERS) violations.push(`registry: worker ${e.w} discovered ${ids.join(',')} after the faults ended`);
}

// Registry, during the run: each worker's discovery cache, polled every 100 ms ('disc' lines). After a
// fault ends, once TTL + 1 s passed with no disturbing fault (a member or a link down, a worker
// paused), every view holds every worker (a paused one re-registered). And a worker paused for longer
// than TTL + 1 s with nothing else going on is gone from every other view by then: its lease expired.
const faultList = of('fault');
const disturbedBetween = (from: number, to: number, except?: Entry): boolean =>
  faultList.some((f) => f !== except && DISTURBING.has(String(f['fault'])) && f.t < to && Number(f['end']) > from);
const viewAt = (w: number, t: number): string[] | undefined => of('disc').filter((e) => e.w === w && e.t <= t).at(-1)?.['ids'] as string[] | undefined;
const GRACE = TTL_MS + 1000;
const allIds = Array.from({ length: WORKERS }, (_, w) => `w${w}`).join(',');
let liveWindows = 0;
let deadWindows = 0;
for (const f of faultList) {
  const at = Number(f['end']) + GRACE;
  if (at > faultsEnded || disturbedBetween(Number(f['end']), at, f)) continue;
  liveWindows++;
  for (let w = 0; w < WORKERS; w++) {
    const view = viewAt(w, at);
    if (view && view.join(',') !== allIds) violations.push(`registry: ${GRACE} ms after a ${String(f['fault'])} ended (at ${at - started} ms), worker ${w} discovered ${view.join(',')}`);
  }
}
// etcd extends every lease by its election timeout (1 s) when a new leader takes over: a member or
// leader fault within a TTL before the pause may have done that, and the bound no longer holds.
const MEMBER_FAULTS: ReadonlySet<string> = new Set(['member-kill', 'member-pause', 'leader-loss']);
const leaderMayHaveChanged = (from: number, to: number): boolean => faultList.some((f) => MEMBER_FAULTS.has(String(f['fault'])) && f.t < to && Number(f['end']) > from);
for (const p of of('paused')) {
  const at = p.t + GRACE;
  const itself = faultList.find((f) => f['fault'] === 'worker-pause' && f.w === p.w && Math.abs(f.t - p.t) < 50);
  if (Number(p['until']) < at + 100 || disturbedBetween(p.t, at, itself) || leaderMayHaveChanged(p.t - TTL_MS - 1000, p.t)) continue;
  deadWindows++;
  for (let w = 0; w < WORKERS; w++) {
    const view = w === p.w ? undefined : viewAt(w, at);
    if (view?.includes(`w${p.w}`)) violations.push(`registry: worker ${p.w} paused at ${p.t - started} ms still discovered by worker ${w} ${GRACE} ms later`);
  }
}

// Semaphore and read-write lock (issue 31): each holder, once it holds, writes a record of itself
// under its ownership guard, in one txn that also reads every record and the fencing tokens of every
// contender's key (test/robustness/worker.ts, recordHold): the state at that txn's revision — or,
// when its answer was lost, read at the revision etcd's history shows it landed at (`recovered`).
// A record is live while its token is among the keys': its holder's guarded write landed, and its
// key is still there. The semaphore admits a contender only while fewer than `permits` keys are
// ahead of it, and keys ahead only ever go, so a correct one never has more live records than
// permits at any revision; the rwlock never has a live writer's record beside another live one.
// Live records are only added by these writes, so the most there ever were at once shows at one of
// them; a write whose outcome stayed unknown can hide a moment (counted in the summary), never make
// one up. Checked at every such revision, whichever worker's write it was.
const recordsOf = (e: Entry): string[] => e['records'] as string[];
/** `<name>@w<worker>` → the token: the name's last segment. */
const tokenOfRecord = (r: string): string => r.slice(0, r.lastIndexOf('@')).split('/').at(-1)!;
const live = (e: Entry): string[] => {
  const keys = new Set(e['keys'] as string[]);
  return recordsOf(e).filter((r) => keys.has(tokenOfRecord(r)));
};
const ownRecord = (e: Entry): boolean => live(e).includes(`${String(e['name'])}@w${e.w}`);
const semPuts = of('sem-put');
let semMost = 0;
for (const e of semPuts) {
  const holders = live(e);
  semMost = Math.max(semMost, holders.length);
  if (!ownRecord(e)) violations.push(`semaphore: worker ${e.w}'s record ${String(e['name'])} is not live in the state its own write read at revision ${String(e['rev'])}`);
  if (holders.length > SEM_PERMITS) violations.push(`semaphore: ${holders.length} holders at revision ${String(e['rev'])} (${SEM_PERMITS} permits): ${holders.join(', ')}`);
}
const rwPuts = of('rw-put');
let rwMostReaders = 0;
for (const e of rwPuts) {
  const holders = live(e);
  const writers = holders.filter((r) => r.startsWith('write/'));
  if (!ownRecord(e)) violations.push(`rwlock: worker ${e.w}'s record ${String(e['name'])} is not live in the state its own write read at revision ${String(e['rev'])}`);
  if (writers.length === 0) rwMostReaders = Math.max(rwMostReaders, holders.length);
  else if (holders.length > 1) violations.push(`rwlock: a writer beside ${holders.length - 1} other holders at revision ${String(e['rev'])}: ${holders.join(', ')}`);
}

// Semaphore, a holder paused for longer than a TTL (a crash, as far as etcd can tell): its lease
// expires within a TTL of its last keep-alive (at the acquire at the latest; the loop does not
// renew), so by the pause start + TTL + 1 s its permit should have gone to a waiter. Measured as the
// first landed write of another worker, during the pause, with `permits` live records none of them
// the paused one's (demand from the 3 other workers fills both permits when they can be had). The
// bound holds in a quiet window, as the registry check takes them; pauses amid other faults are
// measured too. A figure in the summary, not a check: a window without demand (a worker in its
// retry sleep, a defrag stalling a member, the next holder itself paused) would make it fail
// without anything being wrong.
const semAcquired = of('sem-acquired');
const semReleased = of('sem-release');
/** Per pause of a holder: ms from the pause to the take-over (undefined: none seen during the pause), and whether the window was quiet. */
const takeovers: Array<{ ms: number | undefined; quiet: boolean }> = [];
for (const p of of('paused')) {
  const held = semAcquired.filter((a) => a.w === p.w && a.t <= p.t).at(-1);
  if (!held || semReleased.some((r) => r.w === p.w && r['token'] === held['token'] && r.t <= p.t)) continue;
  const until = Number(p['until']);
  const itself = faultList.find((f) => f['fault'] === 'worker-pause' && f.w === p.w && Math.abs(f.t - p.t) < 50);
  const quiet = !disturbedBetween(p.t, Math.min(until, p.t + GRACE), itself) && !leaderMayHaveChanged(p.t - TTL_MS - 1000, p.t);
  const by = semPuts
    .filter((e) => e.w !== p.w && e.t > p.t && e.t <= until && live(e).length === SEM_PERMITS && !live(e).some((r) => tokenOfRecord(r) === String(held['token'])))
    .map((e) => e.t);
  takeovers.push({ ms: by.length ? Math.min(...by) - p.t : undefined, quiet });
}
const takeoverFigure = (list: typeof takeovers): string => {
  const ms = list.flatMap((x) => (x.ms === undefined ? [] : [x.ms]));
  return `${list.length} (${ms.length ? `taken over in ${Math.min(...ms)}–${Math.max(...ms)} ms, ${ms.filter((d) => d > GRACE).length} beyond ${GRACE} ms` : 'none taken over'}, ${list.length - ms.length} not during the pause)`;
};

// Live views: the revision each view holds only rises, and at the end every view holds the last write.
const lastAck = acks.reduce((m, a) => Math.max(m, a.k), 0);
for (let w = 0; w < WORKERS; w++) {
  const seen = of('live-seen').filter((e) => e.w === w).map((e) => BigInt(e['revision'] as string));
  for (let i = 1; i < seen.length; i++) if (seen[i]! <= seen[i - 1]!) violations.push(`config: worker ${w}'s live view went from revision ${seen[i - 1]} to ${seen[i]}`);
  const final = of('live-final').find((e) => e.w === w);
  if (!final) violations.push(`config: worker ${w}'s live view reported no final value`);
  else if (Number(final['k']) < lastAck) violations.push(`config: worker ${w}'s live view ended at ${String(final['k'])}, the last acknowledged write was ${lastAck}`);
}
const liveMissed = (w: number): number => {
  const revs = new Set(of('live-seen').filter((e) => e.w === w).map((e) => String(e['revision'])));
  return acks.filter((a) => !revs.has(String(a.rev))).length;
};

// Resources: heap after GC and handles, start vs end; no lease left in etcd after close().
const resources = (at: string) => of('resources').filter((e) => e['at'] === at);
for (const end of resources('end')) {
  const start = resources('start').find((s) => s.w === end.w);
  if (!start) continue;
  if (Number(end['heap']) > 2 * Number(start['heap']) + 20e6) violations.push(`resources: worker ${end.w} heap ${start['heap']} → ${end['heap']}`);
  for (const what of ['handles', 'timers', 'streams', 'sessions'] as const) {
    if (Number(end[what]) > Number(start[what]) + 3) violations.push(`resources: worker ${end.w} ${what} ${String(start[what])} → ${String(end[what])} (loops stopped)`);
  }
}
// Every 10 s of the run, per worker. What is in flight comes and goes with the faults (a retry's
// timer, a stream being re-opened), so one fault's worth is allowed; a leak grows with the number of
// faults, which runs of minutes multiply into far more. Runs too short for thirds of 3 samples skip it.
const ALLOWED = { handles: 20, timers: 10, streams: 10, sessions: 3 } as const;
const maxOf = (list: Entry[], what: string): number => Math.max(...list.map((e) => Number(e[what])));
for (let w = 0; w < WORKERS; w++) {
  const samples = of('resources').filter((e) => e.w === w && e['at'] === 'sample');
  const third = Math.floor(samples.length / 3);
  if (third < 3) continue;
  const [first, last] = [samples.slice(0, third), samples.slice(-third)];
  for (const what of Object.keys(ALLOWED) as Array<keyof typeof ALLOWED>) {
    if (maxOf(last, what) > maxOf(first, what) + ALLOWED[what]) violations.push(`resources: worker ${w} ${what} grew, at most ${maxOf(first, what)} in the first third, ${maxOf(last, what)} in the last`);
  }
  if (maxOf(last, 'heap') > 2 * maxOf(first, 'heap') + 20e6) violations.push(`resources: worker ${w} heap grew, ${maxOf(first, 'heap')} → ${maxOf(last, 'heap')}`);
}
// Leases: each worker holds 4 (registration, lock, election, ID), and since issue 31 two more: a
// semaphore permit's and a read-write lock's (held or waited for). The lock, the semaphore and the
// rwlock each keep a spare beside the lease in use (src/shared/spare-leases.ts, 2 per TTL): up to 9
// at once. A paused or cut-off worker's linger for their TTL, so do those of acquires that failed
// under a member or link fault when the revoke got no answer (each retry, 100 ms later, takes
// another), and a new leader extends every lease by its TTL. Nobody's leases may pile up beyond 3
// times what a worker holds, as before (12 for the 4 then, 27 for the 9 now: the smoke, seed 29, saw
// up to 73 of 108 after two leader losses in a row); growth across the run may be a third of that.
const LEASE_BOUND = WORKERS * 27;
if (Math.max(0, ...leaseSamples) > LEASE_BOUND) violations.push(`resources: up to ${Math.max(...leaseSamples)} leases in etcd during the run (bound ${LEASE_BOUND})`);
const leaseThird = Math.floor(leaseSamples.length / 3);
if (leaseThird >= 3 && Math.max(...leaseSamples.slice(-leaseThird)) > Math.max(...leaseSamples.slice(0, leaseThird)) + WORKERS * 9) {
  violations.push(`resources: leases in etcd grew, at most ${Math.max(...leaseSamples.slice(0, leaseThird))} in the first third, ${Math.max(...leaseSamples.slice(-leaseThird))} in the last`);
}
if (leasesLeft > 0) violations.push(`resources: ${leasesLeft} leases left in etcd after every worker closed`);

// ── summary ──
const ops = (kind: string): number => of(kind).length;
console.log(`[robustness] ran ${Math.round((faultsEnded - started) / 1000)} s; faults: ${[...faults].map(([k, n]) => `${k} ${n}`).join(', ')}`);
console.log(
  `[robustness] operations: lock writes ${ops('lock-write')} (refused ${ops('lock-write-refused')}, unacknowledged but landed ${gaps}), term writes ${ops('term-write')} in ${terms.size} terms, ` +
    `ids ${ops('id-acquired')} (lost ${ops('id-lost')}), ` +
    `semaphore acquires ${ops('sem-acquired')} (records landed ${semPuts.length}, of which recovered ${semPuts.filter((e) => e['recovered'] === true).length}, refused ${ops('sem-put-refused')}, unknown ${ops('sem-put-unknown')}; most live holders at once ${semMost} of ${SEM_PERMITS}), ` +
    `rwlock reads ${of('rw-acquired').filter((e) => e['mode'] === 'read').length} writes ${of('rw-acquired').filter((e) => e['mode'] === 'write').length} (records landed ${rwPuts.length}, of which recovered ${rwPuts.filter((e) => e['recovered'] === true).length}, refused ${ops('rw-put-refused')}, unknown ${ops('rw-put-unknown')}; most live readers at once ${rwMostReaders}), config writes ${acks.length} (seen ${ops('cfg-seen')}, reconciled ${of('cfg-seen').filter((e) => e['reconciled'] === true).length}), failed ops ${ops('op-failed')}`,
);
for (const w of resources('end')) {
  const s = resources('start').find((x) => x.w === w.w);
  const sampled = of('resources').filter((e) => e.w === w.w && e['at'] === 'sample');
  const range = (what: string): string => (sampled.length ? `${Math.min(...sampled.map((e) => Number(e[what])))}–${Math.max(...sampled.map((e) => Number(e[what])))}` : '-');
  console.log(
    `[robustness] worker ${w.w}: heap ${Math.round(Number(s?.['heap']) / 1e6)} → ${Math.round(Number(w['heap']) / 1e6)} MB, handles ${String(s?.['handles'])} → ${String(w['handles'])}, ` +
      `timers ${String(s?.['timers'])} → ${String(w['timers'])}, HTTP/2 streams ${String(s?.['streams'])} → ${String(w['streams'])}, sessions ${String(s?.['sessions'])} → ${String(w['sessions'])}; ` +
      `${sampled.length} samples: handles ${range('handles')}, timers ${range('timers')}, streams ${range('streams')}`,
  );
}
console.log(
  `[robustness] registry: ${liveWindows} quiet windows after a fault (every view held every worker ${GRACE} ms after it ended), ${deadWindows} long pauses (the paused one gone from every other view by then); ` +
    `config live views: ${of('live-seen').length} changes taken, acknowledged writes passed over (coalesced across a compaction) ${Array.from({ length: WORKERS }, (_, w) => liveMissed(w)).join('/')}`,
);
console.log(
  `[robustness] semaphore take-over after a paused holder (a figure, not checked; TTL + 1 s = ${GRACE} ms): pauses of a holder in a quiet window ${takeoverFigure(takeovers.filter((x) => x.quiet))}, ` +
    `amid other faults ${takeoverFigure(takeovers.filter((x) => !x.quiet))}; longest acquire wait ${Math.max(0, ...semAcquired.map((e) => e.t - Number(e['from'])))} ms`,
);
console.log(`[robustness] leases in etcd: ${leaseSamples.length ? `${Math.min(...leaseSamples)}–${Math.max(...leaseSamples)} during the run` : 'not sampled'}, ${leasesLeft} left after close()`);
for (const p of proxies.flat()) await p.stop();
await cluster.stop();
console.log(`[robustness] history: ${HISTORY_FILE}`);
console.log(violations.length === 0 ? '[robustness] no violations' : `[robustness] ${violations.length} violations:\n  ${violations.slice(0, 50).join('\n  ')}`);
console.log(`${violations.length === 0 ? 1 : 0} passed, ${violations.length === 0 ? 0 : 1} failed`);
process.exitCode = violations.length === 0 ? 0 : 1;
