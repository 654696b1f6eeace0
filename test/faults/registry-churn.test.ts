// Scenario 3 — registry under churn: 20 instances (child processes, TTL 3 s) and one watcher.
// SIGKILLed instances disappear within TTL + 1 s; a blackholed instance's registration reports
// `lost` within its TTL (not 2×TTL); no healthy instance is dropped while the leader is killed or
// stopped; after a restart of the whole cluster every live instance is registered again.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { createInterface } from 'node:readline';
import { createCoordinator, silentLogger, type Coordinator } from '../../src/index.js';
import { TcpProxy } from '../helpers/proxy.js';
import { assertNoLeakedHandles, handleCounts, pause, prng, seed, startFaultCluster, type FaultCluster } from './harness.js';
import { table, writeSection } from './report.js';

const INSTANCES = 20;
const TTL_MS = 3000;
const SEED = seed(6103);
const NS = '/faults-churn';
const fixture = new URL('./fixtures/registry-instance.ts', import.meta.url).pathname;

interface Instance {
  id: string;
  child: ChildProcess;
  exit: Promise<void>;
  states: Array<{ state: string; at: number }>;
  alive: boolean;
}

let fc: FaultCluster;
let baseline: Map<string, number>;
let watcher: Coordinator;
let ownProxy: TcpProxy;
const instances: Instance[] = [];
const events: Array<{ type: 'PUT' | 'DELETE'; id: string; at: number }> = [];
const watchStop = new AbortController();
let watching: Promise<void> = Promise.resolve();
const rows: Array<[string, string, string]> = [];

before(async () => {
  fc = await startFaultCluster();
  baseline = handleCounts();
  // The instance that gets blackholed talks to one member through a proxy of its own.
  ownProxy = await TcpProxy.forUrl(fc.members[0]!.clientUrl).start();
  watcher = await createCoordinator({ endpoints: fc.endpoints, namespace: NS, timeoutMs: 1000, logger: silentLogger });
  const stream = watcher.registry.watch('churn', { signal: watchStop.signal });
  watching = (async () => {
    for await (const e of stream) events.push({ type: e.type, id: e.service.id, at: Date.now() });
  })();
  await watcher.registry.discover('churn');
});

after(async () => {
  writeSection(
    'registry-churn',
    '3. Registry under churn',
    `${INSTANCES} instances (one child process each, TTL ${TTL_MS} ms), one watcher coordinator, seed ${SEED}.\n\n${table(['fault', 'expectation', 'measured'], rows)}`,
  );
  for (const inst of instances) {
    inst.child.kill('SIGCONT');
    if (inst.alive) inst.child.kill('SIGTERM');
  }
  const timer = setTimeout(() => instances.forEach((i) => i.child.kill('SIGKILL')), 10_000);
  await Promise.all(instances.map((i) => i.exit));
  clearTimeout(timer);
  watchStop.abort();
  await watching.catch(() => undefined);
  await watcher?.close();
  await ownProxy?.stop();
  try {
    await assertNoLeakedHandles(baseline, fc.proxies);
  } finally {
    await fc?.stop();
  }
});

function startInstance(i: number): Instance {
  const id = `i${String(i).padStart(2, '0')}`;
  const endpoints = i === INSTANCES - 1 ? [ownProxy.url] : fc.endpoints;
  const child = spawn(process.execPath, ['--import', 'tsx', fixture, endpoints.join(','), NS, id, String(TTL_MS)], { stdio: ['ignore', 'pipe', 'inherit'] });
  const inst: Instance = { id, child, exit: new Promise((r) => child.once('exit', () => r())), states: [], alive: true };
  child.once('exit', () => (inst.alive = false));
  createInterface({ input: child.stdout! }).on('line', (line) => {
    const [kind, state, at] = line.split(' ');
    if (kind === 'STATE') inst.states.push({ state: state!, at: Number(at) });
  });
  return inst;
}

/** Waits (bounded) for `predicate`, polling every 25 ms; returns the time it took, or fails. */
async function until(what: string, predicate: () => boolean, timeoutMs: number): Promise<number> {
  const started = Date.now();
  while (!predicate()) {
    if (Date.now() - started > timeoutMs) assert.fail(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await pause(25);
  }
  return Date.now() - started;
}

const discovered = async (): Promise<Set<string>> => new Set((await watcher.registry.discover('churn')).map((s) => s.id));
const deletesOf = (ids: Set<string>, from: number, to = Infinity) => events.filter((e) => e.type === 'DELETE' && ids.has(e.id) && e.at >= from && e.at <= to);

test('20 instances register and the watcher sees them all', async () => {
  for (let i = 0; i < INSTANCES; i++) instances.push(startInstance(i));
  const ms = await until('all instances registered', () => instances.every((i) => i.states.some((s) => s.state === 'registered')), 90_000);
  await until('watcher sees all', () => new Set(events.filter((e) => e.type === 'PUT').map((e) => e.id)).size === INSTANCES, 10_000);
  rows.push(['start', `${INSTANCES} registered, watcher sees all`, `${ms} ms for all processes to register`]);
});

test('SIGKILLed instances disappear within TTL + 1 s', async () => {
  const rng = prng(SEED);
  const victims = new Set<Instance>();
  while (victims.size < 3) victims.add(instances[rng.int(0, INSTANCES - 2)]!);
  const killedAt = Date.now();
  for (const v of victims) v.child.kill('SIGKILL');
  const ids = new Set([...victims].map((v) => v.id));
  await until('DELETE of every killed instance', () => deletesOf(ids, killedAt).length >= ids.size, TTL_MS + 5000);
  const worst = Math.max(...deletesOf(ids, killedAt).map((e) => e.at - killedAt));
  assert.ok(worst <= TTL_MS + 1000, `slowest DELETE after ${worst} ms`);
  const now = await discovered();
  for (const id of ids) assert.ok(!now.has(id), `${id} still discovered`);
  rows.push(['SIGKILL 3 instances', `gone ≤ TTL + 1 s (${TTL_MS + 1000} ms)`, `slowest DELETE ${worst} ms after the kill`]);
});

test('a blackholed instance reports its registration lost within its TTL, then re-registers', async () => {
  const inst = instances[INSTANCES - 1]!;
  const cutAt = Date.now();
  await ownProxy.setMode('blackhole');
  try {
    await until('state lost', () => inst.states.some((s) => s.state === 'lost' && s.at >= cutAt), TTL_MS * 2 + 1000);
  } finally {
    await ownProxy.setMode('pass');
  }
  const lostAfter = inst.states.find((s) => s.state === 'lost' && s.at >= cutAt)!.at - cutAt;
  assert.ok(lostAfter <= TTL_MS + 250, `lost reported ${lostAfter} ms after the cut (TTL ${TTL_MS})`);
  const healedAt = Date.now();
  const back = await until('re-registered', () => inst.states.some((s) => s.state === 'registered' && s.at >= healedAt), 15_000);
  await until('watcher sees it again', () => events.some((e) => e.type === 'PUT' && e.id === inst.id && e.at >= healedAt), 5000);
  rows.push(['blackhole one instance', `lost reported ≤ TTL (${TTL_MS} ms)`, `lost after ${lostAfter} ms; re-registered ${back} ms after the heal`]);
});

async function leaderFault(kind: 'SIGKILL' | 'SIGSTOP'): Promise<void> {
  // The blackhole-test instance knows a single member (its own proxy): it is not expected to ride out that member's loss.
  const healthy = new Set(instances.filter((i) => i.alive && i !== instances[INSTANCES - 1]).map((i) => i.id));
  const leader = await fc.leader();
  const startedAt = Date.now();
  if (kind === 'SIGKILL') {
    await fc.members[leader]!.kill();
    await pause(2000);
    await fc.members[leader]!.start();
  } else {
    fc.members[leader]!.pause();
    await pause(3000);
    fc.members[leader]!.resume();
  }
  const resumedAt = Date.now();
  const newLeader = await fc.leader();
  // Give a lost lease time to show (a dropped instance would be deleted within its TTL).
  await pause(TTL_MS + 1000);
  const drops = deletesOf(healthy, startedAt);
  const now = await discovered();
  const missing = [...healthy].filter((id) => !now.has(id));
  const when = drops.map((d) => `${d.id} at +${d.at - startedAt} ms (member back at +${resumedAt - startedAt} ms)`).join(', ');
  rows.push([
    `${kind} the leader (m${leader}; new leader m${newLeader})`,
    kind === 'SIGKILL' ? '0 healthy instances dropped' : 'all healthy instances back right after (etcd#12528 may revoke leases on resume)',
    `${drops.length} DELETE events of healthy instances${when ? ` (${when})` : ''}; ${missing.length} missing from discover`,
  ]);
  // A SIGSTOPped leader that resumes still revokes the leases whose TTL ran out in its own view
  // (etcd-io/etcd#12528, fixed by #16822, after 3.4.23): those DELETEs are etcd's. What the library
  // owes then is to re-register at once, so nobody is missing once the failover is over.
  if (kind === 'SIGKILL') assert.deepEqual(drops, [], 'healthy instances were dropped');
  assert.deepEqual(missing, [], 'healthy instances missing from discover after the failover');
}

test('killing the leader drops no healthy instance', () => leaderFault('SIGKILL'));

// Stopping the leader: etcd 3.4.23's resumed old leader revokes leases (etcd-io/etcd#12528), so DELETEs
// can show; the table reports them and the test requires every instance to be back right after.
test('stopping the leader (SIGSTOP 3 s): every healthy instance is registered again right after', () => leaderFault('SIGSTOP'));

test('after a restart of the whole cluster every live instance is registered again', async () => {
  const live = new Set(instances.filter((i) => i.alive).map((i) => i.id));
  const stoppedAt = Date.now();
  await Promise.all(fc.members.map((m) => m.stop()));
  await pause(TTL_MS + 500); // longer than the TTL: every registration must notice and heal
  await Promise.all(fc.members.map((m) => m.start()));
  await fc.leader();
  const lostCount = instances.filter((i) => live.has(i.id) && i.states.some((s) => s.state === 'lost' && s.at >= stoppedAt)).length;
  const ms = await until(
    'every live instance registered and discovered',
    () => instances.every((i) => !live.has(i.id) || i.states.at(-1)?.state === 'registered'),
    30_000,
  );
  let now = await discovered();
  for (let n = 0; n < 200 && [...live].some((id) => !now.has(id)); n++) {
    await pause(50);
    now = await discovered();
  }
  const missing = [...live].filter((id) => !now.has(id));
  assert.deepEqual(missing, [], 'live instances missing from discover after the restart');
  rows.push([
    'restart the whole cluster (down TTL + 0.5 s)',
    'all live instances re-registered',
    `${live.size} live, ${lostCount} went lost, all registered ${ms} ms after the restart; discover complete`,
  ]);
});
