// Scenario 1 — fenced lock, Jepsen lock-set style. Five child processes loop lock → read → sleep →
// conditional write; the test SIGSTOPs a random holder for longer than its TTL every ~5 s and
// SIGKILLs (then restarts) an etcd member every ~15 s. With fencing: 0 stale writes accepted, the
// counter equals the acknowledged increments, every paused holder's `lock.signal` fired. The control
// run (fencing off) must find violations, which proves the checker can fail.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { createInterface } from 'node:readline';
import { assertNoLeakedHandles, bounded, handleCounts, pause, prng, seed, startFaultCluster, type FaultCluster } from './harness.js';
import { table, writeSection } from './report.js';

const CLIENTS = 5;
const TTL_MS = 2000;
const PAUSE_MS = TTL_MS + 1500;
const FENCED_MS = 45_000;
const CONTROL_MS = 15_000;
const SEED = seed(6101);
const fixture = new URL('./fixtures/lock-jepsen.ts', import.meta.url).pathname;

let fc: FaultCluster;
let baseline: Map<string, number>;
const results: Record<string, RunStats> = {};

before(async () => {
  fc = await startFaultCluster();
  baseline = handleCounts();
});
after(async () => {
  const rows = Object.entries(results).map(([name, s]) => [
    name,
    `${s.durationS} s`,
    s.acquisitions,
    s.pauses,
    `${s.signalFired} of ${s.pausedHolders}`,
    s.memberKills,
    s.ok,
    s.rejected,
    s.staleAccepted,
    s.indeterminate,
    `${s.counter} (acked ${s.ok})`,
    s.lostUpdates,
  ]);
  writeSection(
    'lock-fencing',
    '1. Fenced lock (Jepsen lock-set style)',
    `${CLIENTS} client processes, lock TTL ${TTL_MS} ms, holders SIGSTOPped for ${PAUSE_MS} ms about every 5 s, an etcd member
SIGKILLed and restarted about every 15 s (fenced run only), seed ${SEED}. The resource is fenced: a read registers the
holder's token, a write applies only while no later token has been registered.

${table(
  ['run', 'length', 'acquisitions', 'pauses > TTL', 'paused holders whose signal fired', 'member kills', 'writes ok', 'stale writes rejected', 'stale writes accepted', 'indeterminate writes', 'final counter', 'lost updates'],
  rows,
)}

The control run must show violations (stale writes accepted / lost updates > 0): it proves the checker can fail.`,
  );
  try {
    await assertNoLeakedHandles(baseline, fc.proxies);
  } finally {
    await fc?.stop();
  }
});

interface RunStats {
  durationS: number;
  acquisitions: number;
  readFenced: number;
  pauses: number;
  /** Holders that found themselves paused past the TTL while holding (they report it). */
  pausedHolders: number;
  signalFired: number;
  memberKills: number;
  ok: number;
  rejected: number;
  staleAccepted: number;
  indeterminate: number;
  counter: number;
  lostUpdates: number;
  duplicateTokens: number;
  errors: number;
}

async function run(name: string, fenced: boolean, durationMs: number, killMembers: boolean): Promise<RunStats> {
  const rng = prng(SEED + (fenced ? 0 : 1));
  const namespace = `/faults-jepsen-${name}`;
  const raw = fc.raw();
  await raw.put(`${namespace}/resource/counter`).value('0');
  await raw.put(`${namespace}/resource/fence`).value('0'.padStart(20, '0'));
  const stats: RunStats = { durationS: durationMs / 1000, acquisitions: 0, readFenced: 0, pauses: 0, pausedHolders: 0, signalFired: 0, memberKills: 0, ok: 0, rejected: 0, staleAccepted: 0, indeterminate: 0, counter: 0, lostUpdates: 0, duplicateTokens: 0, errors: 0 };
  const tokens = new Set<string>();
  const holding = new Map<ChildProcess, string>(); // child → token it holds (between ACQ and WRITE)
  const stderr: string[] = [];
  const children: ChildProcess[] = [];
  const exits: Promise<void>[] = [];
  for (let i = 0; i < CLIENTS; i++) {
    const child = spawn(
      process.execPath,
      // FAULT_DEBUG_STUCK=prof: V8 tick logs in /tmp/jprof/<pid>.log (`node --prof-process`), to see where a stuck client spins.
      [...(process.env['FAULT_DEBUG_STUCK'] === 'prof' ? ['--prof', '--logfile=/tmp/jprof/%p.log', '--no-logfile-per-isolate'] : []), '--import', 'tsx', fixture, fc.endpoints.join(','), namespace, String(durationMs), fenced ? 'fenced' : 'control', String(SEED * 10 + i), String(TTL_MS)],
      { stdio: ['ignore', 'pipe', 'pipe'] },
    );
    children.push(child);
    exits.push(new Promise((r) => child.once('exit', () => r())));
    child.stderr!.on('data', (d) => stderr.push(String(d)));
    createInterface({ input: child.stdout! }).on('line', (line) => {
      const [event, token, outcome] = line.split(' ');
      if (event === 'ACQ') {
        stats.acquisitions++;
        if (tokens.has(token!)) stats.duplicateTokens++;
        tokens.add(token!);
        holding.set(child, token!);
      } else if (event === 'READFENCED') {
        stats.acquisitions++;
        stats.readFenced++;
      } else if (event === 'WRITE') {
        holding.delete(child);
        if (outcome === 'ok') stats.ok++;
        else if (outcome === 'rejected') stats.rejected++;
        else if (outcome === 'stale-accepted') stats.staleAccepted++;
        else stats.indeterminate++;
      } else if (event === 'PAUSED') {
        stats.pausedHolders++;
        if (outcome === 'signal') stats.signalFired++;
      } else if (event === 'ERR') {
        stats.errors++;
      }
    });
  }
  const stopped = new Set<ChildProcess>();
  try {
    const started = Date.now();
    let nextPause = started + rng.int(4000, 6000);
    let nextKill = started + rng.int(12_000, 16_000);
    // The fault schedule: bounded by count and by the run's length.
    await bounded({ maxIterations: 10_000, maxMs: durationMs - 1000 }, async () => {
      const now = Date.now();
      if (now >= nextPause) {
        const holders = [...holding.keys()].filter((ch) => !stopped.has(ch));
        if (holders.length > 0) {
          const victim = rng.pick(holders);
          victim.kill('SIGSTOP');
          stopped.add(victim);
          stats.pauses++;
          nextPause = now + PAUSE_MS + rng.int(1000, 2500);
          setTimeout(() => {
            victim.kill('SIGCONT');
            stopped.delete(victim);
          }, PAUSE_MS).unref();
        }
      }
      if (killMembers && now >= nextKill && now - started < durationMs - 8000) {
        nextKill = now + rng.int(13_000, 17_000);
        const leader = await fc.leader().catch(() => 0);
        const victim = rng.next() < 0.5 ? leader : rng.int(0, fc.members.length - 1);
        await fc.members[victim]!.kill();
        stats.memberKills++;
        await pause(2000);
        await fc.members[victim]!.start();
      }
      await pause(20);
    });
    // Children stop at their deadline; give them a bounded grace period.
    let timer: NodeJS.Timeout | undefined;
    const grace = new Promise<'timeout'>((r) => (timer = setTimeout(() => r('timeout'), PAUSE_MS + 15_000)));
    const done = await Promise.race([Promise.all(exits).then(() => 'done' as const), grace]);
    clearTimeout(timer);
    if (done !== 'done') {
      // Ask the clients still running where they are (each prints one line on stderr).
      for (const ch of children) if (ch.exitCode === null && ch.signalCode === null) ch.kill('SIGUSR2');
      await pause(500);
      const alive = children.filter((ch) => ch.exitCode === null && ch.signalCode === null).map((ch) => ch.pid);
      if (alive.length) stderr.push(spawnSync('ps', ['-o', 'pid,stat,pcpu,etime,args', '-p', alive.join(',')], { encoding: 'utf8' }).stdout);
    }
    assert.equal(done, 'done', `clients did not finish; stderr: ${stderr.join('').slice(-2000)}`);
  } finally {
    for (const ch of children) {
      ch.kill('SIGCONT');
      if (ch.exitCode === null && ch.signalCode === null) ch.kill('SIGKILL');
    }
    await Promise.all(exits);
    await fc.heal();
  }
  for (const ch of children) assert.equal(ch.exitCode, 0, `client exited ${ch.exitCode}/${ch.signalCode}: ${stderr.join('').slice(-2000)}`);
  stats.counter = Number(await raw.get(`${namespace}/resource/counter`).string());
  // Every applied write (current or stale) added one to what its writer read; fewer is lost updates.
  stats.lostUpdates = Math.max(0, stats.ok + stats.staleAccepted - stats.counter);
  await raw.delete().prefix(`${namespace}/`);
  results[name] = stats;
  return stats;
}

test('fenced: 0 stale writes accepted, counter = acknowledged increments, paused holders see lock.signal', async () => {
  const s = await run('fenced', true, FENCED_MS, true);
  assert.ok(s.acquisitions >= 50, `only ${s.acquisitions} acquisitions`);
  assert.ok(s.pauses >= 3, `only ${s.pauses} pauses`);
  assert.equal(s.duplicateTokens, 0, 'a fencing token was handed out twice');
  assert.equal(s.staleAccepted, 0);
  assert.ok(s.counter >= s.ok && s.counter <= s.ok + s.indeterminate, `counter ${s.counter}, acked ${s.ok}, indeterminate ${s.indeterminate}`);
  assert.ok(s.pausedHolders >= 1, 'no holder was paused while holding');
  assert.equal(s.signalFired, s.pausedHolders, `${s.pausedHolders} holders paused past their TTL, ${s.signalFired} saw lock.signal fire`);
});

test('control (fencing off): the checker detects violations', async () => {
  const s = await run('control', false, CONTROL_MS, false);
  assert.ok(s.pauses >= 2, `only ${s.pauses} pauses`);
  assert.ok(s.staleAccepted + s.lostUpdates > 0, 'no violation detected: the checker cannot fail');
});
