// Election benchmark (issue 16), one run, one etcd: hand-over after resign() — the leader's
// resign() call until the next candidate's campaign() resolves — for ours, etcd3's Election and
// etcd's Go concurrency.Election; and the time to a new leader after the leader's process is
// SIGKILLed (bounded by the TTL: etcd must expire the dead leader's lease).
import { spawn } from 'node:child_process';
import { execFile, spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { Etcd3 } from 'etcd3';
import { createCoordinator, silentLogger, type Coordinator, type Leadership } from '../src/index.js';
import { buildGoLock, goUnavailable } from './go/build.js';
import { endpoints, percentile, table, writeSection } from './report.js';

const HANDOVERS = Number(process.env['ELECTION_BENCH_HANDOVERS'] ?? 100);
const KILLS = Number(process.env['ELECTION_BENCH_KILLS'] ?? 3);
const KILL_TTL_MS = 2000;
const NS = '/bench-election';
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

async function coordinator(): Promise<Coordinator> {
  return createCoordinator({ endpoints: endpoints(), namespace: NS, logger: silentLogger });
}

/** Waits until `n` candidates are queued under `prefix`, then lets the waiter settle 10 ms (as the Go side does). */
async function queued(raw: Etcd3, prefix: string, n: number): Promise<void> {
  while ((await raw.getAll().prefix(prefix).count()) < n) await sleep(1);
  await sleep(10);
}

/** Two coordinators take turns: the leader resigns, we time until the other's campaign() resolves. */
async function handoverOurs(raw: Etcd3): Promise<number[]> {
  const cs = [await coordinator(), await coordinator()];
  const ms: number[] = [];
  try {
    let leader: Leadership = await cs[0]!.election.campaign('handover', 'a');
    for (let i = 0; i < HANDOVERS; i++) {
      const next = cs[(i + 1) % 2]!.election.campaign('handover', 'b');
      await queued(raw, `${NS}/elections/handover/`, 2);
      const started = performance.now();
      const resigned = leader.resign();
      leader = await next;
      ms.push(performance.now() - started);
      await resigned;
    }
    await leader.resign();
  } finally {
    await Promise.all(cs.map((c) => c.close()));
  }
  return ms;
}

/** The same with etcd3's Election (two clients): resign() until the other's campaign emits elected. */
async function handoverEtcd3(raw: Etcd3): Promise<number[]> {
  const clients = [new Etcd3({ hosts: endpoints() }), new Etcd3({ hosts: endpoints() })];
  const ms: number[] = [];
  try {
    let leader = clients[0]!.election('bench-election-etcd3', 10).campaign('a');
    await leader.wait();
    for (let i = 0; i < HANDOVERS; i++) {
      const next = clients[(i + 1) % 2]!.election('bench-election-etcd3', 10).campaign('b');
      next.on('error', () => undefined);
      await queued(raw, 'election/bench-election-etcd3/', 2); // etcd3 puts its keys under election/<name>/
      const started = performance.now();
      const resigned = leader.resign();
      await next.wait();
      ms.push(performance.now() - started);
      await resigned;
      leader = next;
    }
    await leader.resign();
  } finally {
    clients.forEach((c) => c.close());
  }
  return ms;
}

/** A leader in its own process is SIGKILLed; time until our waiting campaign() resolves. */
async function afterKill(raw: Etcd3): Promise<number[]> {
  const c = await coordinator();
  const ms: number[] = [];
  try {
    for (let i = 0; i < KILLS; i++) {
      const child = spawn(process.execPath, ['--import', 'tsx', fileURLToPath(new URL('./election-leader.ts', import.meta.url)), endpoints().join(','), NS, 'kill', String(KILL_TTL_MS)], {
        stdio: ['ignore', 'pipe', 'inherit'],
      });
      await new Promise<void>((resolve, reject) => {
        child.stdout.on('data', (d: Buffer) => d.toString().includes('leading') && resolve());
        child.once('exit', (code) => reject(new Error(`leader child exited ${code}`)));
      });
      const next = c.election.campaign('kill', 'survivor', { ttlMs: KILL_TTL_MS });
      await queued(raw, `${NS}/elections/kill/`, 2);
      const started = performance.now();
      child.kill('SIGKILL');
      const lead = await next;
      ms.push(performance.now() - started);
      await lead.resign();
    }
  } finally {
    await c.close();
  }
  return ms;
}

function ensureGo(): string | undefined {
  let why = goUnavailable();
  if (why && process.getuid?.() === 0 && spawnSync('sh', ['-c', 'command -v apt-get']).status === 0) {
    console.log('[bench] installing golang-go golang-etcd-server-dev for the Go Election comparison');
    spawnSync('apt-get', ['install', '-y', '-q', 'golang-go', 'golang-etcd-server-dev'], { stdio: 'inherit' });
    why = goUnavailable();
  }
  return why;
}

async function goHandover(binary: string): Promise<{ p50Ms: number; p90Ms: number }> {
  const eps = endpoints()
    .map((e) => e.replace(/^https?:\/\//, ''))
    .join(',');
  return new Promise((resolve, reject) => {
    execFile(binary, ['-endpoints', eps, '-mode', 'handover', '-n', String(HANDOVERS), '-prefix', 'bench-election-go/handover'], { timeout: 300_000 }, (err, stdout, stderr) =>
      err ? reject(new Error(`go handover: ${stderr || err.message}`)) : resolve(JSON.parse(stdout.trim().split('\n').pop()!)),
    );
  });
}

const fmt = (v: number | undefined, digits = 2): string => (v === undefined || Number.isNaN(v) ? 'n/a' : v.toFixed(digits));

const goWhy = ensureGo();
let go: string | undefined;
if (!goWhy) {
  try {
    go = await buildGoLock();
  } catch (err) {
    console.error('[bench] Go build failed:', (err as Error).message);
  }
}

console.log(`[bench] election: ${HANDOVERS} hand-overs each, ${KILLS} leader kills`);
const raw = new Etcd3({ hosts: endpoints() });
const ours = await handoverOurs(raw);
const etcd3 = await handoverEtcd3(raw);
const goFigures = go ? await goHandover(go) : undefined;
const kills = await afterKill(raw);
raw.close();

const p50 = percentile(ours, 50);
const body = `
Hand-over after \`resign()\`: two candidates (each its own etcd connection) take turns; once the next
candidate is queued (and 10 ms have passed), the leader calls \`resign()\`; the hand-over lasts until the
next candidate's \`campaign()\` resolves. ${HANDOVERS} hand-overs each. Go: etcd's own \`concurrency.Election\`
(\`bench/go/main.go\`, Debian's etcd client sources, \`-mode handover\`), same etcd, same run${go ? '' : ` — **not measured here: ${goWhy ?? 'Go build failed'}**`}.

${table(
  ['hand-over after resign()', 'p50 (ms)', 'p90 (ms)', 'ours faster by (p50)'],
  [
    ['ours', fmt(p50), fmt(percentile(ours, 90)), ''],
    ['etcd3 `Election`', fmt(percentile(etcd3, 50)), fmt(percentile(etcd3, 90)), `${fmt(percentile(etcd3, 50) / p50, 1)}×`],
    ['Go `concurrency.Election`', fmt(goFigures?.p50Ms), fmt(goFigures?.p90Ms), goFigures ? `${fmt(goFigures.p50Ms / p50, 1)}×` : 'n/a'],
  ],
)}

New leader after the leader's process is SIGKILLed (TTL ${KILL_TTL_MS} ms; etcd expires the dead lease, the waiting
candidate's watch sees its key go): ${kills.map((m) => `${Math.round(m)} ms`).join(', ')} — worst ${Math.round(Math.max(...kills))} ms.
Go's Campaign waits with a watch that starts at an old revision, which etcd serves from its 100 ms
"unsynced" loop; ours waits like the lock, with a synced watch on the candidate just ahead.
Targets (issue 16): hand-over p50 ≤ 5 ms and ≥ 5× faster than Go's Election; new leader after a kill ≤ TTL + 1 s.
`;
console.log(body);
writeSection('election', 'Leader election', body);
process.exit(0);
