// Scenario 9 — fenced leader election, in the style of the fenced-lock test, bounded (~45 s).
// Four candidate processes loop campaign → fenced writes while leading → resign. The test SIGSTOPs
// the leader past its TTL every ~5 s, SIGKILLs the leader (and starts a replacement) every ~10 s,
// and SIGKILLs (then restarts) an etcd member once. Checks: ordered by commit revision, accepted
// writes never go back to an older leader's token (never two leaders whose writes both land); no
// stale write accepted; every paused leader's `signal` fired; an observer (through the proxies)
// saw every leader, in order, and ends at the true leader. The control run (fencing off) must
// find violations, which proves the checker can fail.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { createInterface } from 'node:readline';
import { createCoordinator, silentLogger, type LeaderInfo } from '../../src/index.js';
import { assertNoLeakedHandles, bounded, handleCounts, pause, prng, seed, startFaultCluster, type FaultCluster } from './harness.js';
import { table, writeSection } from './report.js';

const CANDIDATES = 4;
const TTL_MS = 2000;
const PAUSE_MS = TTL_MS + 1500;
const FENCED_MS = 26_000;
const CONTROL_MS = 14_000;
/** The control run pauses longer, so a new leader surely fences the resource before the paused one wakes (on a loaded CI box too). */
const CONTROL_PAUSE_MS = TTL_MS + 3500;
const SEED = seed(9101);
const fixture = new URL('./fixtures/election-candidate.ts', import.meta.url).pathname;

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
    s.leads,
    s.pauses,
    `${s.signalFired} of ${s.pausedLeaders}`,
    s.leaderKills,
    s.takeoverMs.length ? `${Math.max(...s.takeoverMs)} ms` : '-',
    s.memberKills,
    s.ok,
    s.rejected,
    s.staleAccepted,
    s.backwards,
    `${s.observed} (missed ${s.missed})`,
  ]);
  writeSection(
    'election-fencing',
    '9. Fenced leader election',
    `${CANDIDATES} candidate processes, election TTL ${TTL_MS} ms, the leader SIGSTOPped for ${PAUSE_MS} ms about every 5 s and
SIGKILLed (replaced by a new candidate) about every 10 s, one etcd member SIGKILLed and restarted (fenced run only), seed ${SEED}.
The resource is fenced as in scenario 1; an observer follows the election through the proxies.

${table(
  ['run', 'length', 'leaderships', 'pauses > TTL', 'paused leaders whose signal fired', 'leader kills', 'worst kill → new leader', 'member kills', 'writes ok', 'stale writes rejected', 'stale writes accepted', 'accepted writes of an older leader', 'leaders observed'],
  rows,
)}

The control run must show violations (stale writes accepted > 0): it proves the checker can fail.`,
  );
  try {
    await assertNoLeakedHandles(baseline, fc.proxies);
  } finally {
    await fc?.stop();
  }
});

interface RunStats {
  durationS: number;
  leads: number;
  pauses: number;
  pausedLeaders: number;
  signalFired: number;
  leaderKills: number;
  takeoverMs: number[];
  memberKills: number;
  ok: number;
  rejected: number;
  staleAccepted: number;
  /** Accepted writes (by commit revision) whose token is older than an earlier accepted write's. */
  backwards: number;
  duplicateLeads: number;
  observed: number;
  missed: number;
  observedOutOfOrder: number;
}

async function run(name: string, fenced: boolean, durationMs: number, faults: boolean, pauseMs = PAUSE_MS): Promise<RunStats> {
  const rng = prng(SEED + (fenced ? 0 : 1));
  const namespace = `/faults-election-${name}`;
  const raw = fc.raw();
  await raw.put(`${namespace}/resource/counter`).value('0');
  await raw.put(`${namespace}/resource/fence`).value('0'.padStart(20, '0'));
  const stats: RunStats = {
    durationS: durationMs / 1000,
    leads: 0,
    pauses: 0,
    pausedLeaders: 0,
    signalFired: 0,
    leaderKills: 0,
    takeoverMs: [],
    memberKills: 0,
    ok: 0,
    rejected: 0,
    staleAccepted: 0,
    backwards: 0,
    duplicateLeads: 0,
    observed: 0,
    missed: 0,
    observedOutOfOrder: 0,
  };
  // An observer through the proxies, like any follower: every leader it reports, in order.
  const observer = await createCoordinator({ endpoints: fc.endpoints, namespace, timeoutMs: 1000, logger: silentLogger });
  const observation = observer.election.observe('jepsen');
  await observation.ready;
  const seen: Array<LeaderInfo | undefined> = [];
  const following = (async () => {
    for await (const ev of observation) seen.push(ev.leader);
  })();

  const leadTokens = new Set<string>();
  const accepted: Array<{ token: bigint; revision: bigint }> = [];
  const leading = new Map<ChildProcess, string>();
  const stderr: string[] = [];
  const children: ChildProcess[] = [];
  const exits: Promise<void>[] = [];
  let killedAt: number | undefined;
  const deadline = Date.now() + durationMs;
  const spawnCandidate = (id: number): void => {
    const child = spawn(process.execPath, ['--import', 'tsx', fixture, fc.endpoints.join(','), namespace, String(Math.max(2000, deadline - Date.now())), fenced ? 'fenced' : 'control', String(id), String(TTL_MS)], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    children.push(child);
    exits.push(new Promise((r) => child.once('exit', () => r())));
    child.stderr!.on('data', (d) => stderr.push(String(d)));
    createInterface({ input: child.stdout! }).on('line', (line) => {
      const [event, token, outcome, revision] = line.split(' ');
      if (event === 'LEAD') {
        stats.leads++;
        if (leadTokens.has(token!)) stats.duplicateLeads++;
        leadTokens.add(token!);
        leading.set(child, token!);
        if (killedAt !== undefined) {
          stats.takeoverMs.push(Date.now() - killedAt);
          killedAt = undefined;
        }
      } else if (event === 'WRITE') {
        if (outcome === 'ok') {
          stats.ok++;
          accepted.push({ token: BigInt(token!), revision: BigInt(revision!) });
        } else if (outcome === 'rejected') stats.rejected++;
        else if (outcome === 'stale-accepted') {
          stats.staleAccepted++;
          accepted.push({ token: BigInt(token!), revision: BigInt(revision!) });
        }
      } else if (event === 'RESIGN') {
        leading.delete(child);
      } else if (event === 'PAUSED') {
        stats.pausedLeaders++;
        if (outcome === 'signal') stats.signalFired++;
      }
    });
  };
  for (let i = 0; i < CANDIDATES; i++) spawnCandidate(i);
  let nextId = CANDIDATES;
  const stopped = new Set<ChildProcess>();
  try {
    const started = Date.now();
    let nextPause = started + rng.int(3000, 5000);
    let nextLeaderKill = started + rng.int(7000, 9000);
    let nextMemberKill = faults ? started + rng.int(12_000, 15_000) : Infinity;
    await bounded({ maxIterations: 10_000, maxMs: durationMs - 1000 }, async () => {
      const now = Date.now();
      const leaders = [...leading.keys()].filter((ch) => !stopped.has(ch) && ch.exitCode === null && ch.signalCode === null);
      if (now >= nextPause && leaders.length > 0) {
        const victim = rng.pick(leaders);
        victim.kill('SIGSTOP');
        stopped.add(victim);
        stats.pauses++;
        nextPause = now + pauseMs + rng.int(1000, 2500);
        setTimeout(() => {
          victim.kill('SIGCONT');
          stopped.delete(victim);
        }, pauseMs).unref();
      } else if (faults && now >= nextLeaderKill && leaders.length > 0 && now < deadline - 6000) {
        const victim = rng.pick(leaders);
        victim.kill('SIGKILL');
        leading.delete(victim);
        killedAt = Date.now();
        stats.leaderKills++;
        nextLeaderKill = now + rng.int(9000, 11_000);
        spawnCandidate(nextId++);
      }
      if (now >= nextMemberKill && now < deadline - 8000) {
        nextMemberKill = Infinity;
        const victim = rng.int(0, fc.members.length - 1);
        await fc.members[victim]!.kill();
        stats.memberKills++;
        await pause(2000);
        await fc.members[victim]!.start();
      }
      await pause(20);
    });
    let timer: NodeJS.Timeout | undefined;
    const grace = new Promise<'timeout'>((r) => (timer = setTimeout(() => r('timeout'), pauseMs + 15_000)));
    const done = await Promise.race([Promise.all(exits).then(() => 'done' as const), grace]);
    clearTimeout(timer);
    assert.equal(done, 'done', `candidates did not finish; stderr: ${stderr.join('').slice(-2000)}`);
  } finally {
    for (const ch of children) {
      ch.kill('SIGCONT');
      if (ch.exitCode === null && ch.signalCode === null) ch.kill('SIGKILL');
    }
    await Promise.all(exits);
    await fc.heal();
  }
  for (const ch of children) {
    if (ch.signalCode !== 'SIGKILL') assert.equal(ch.exitCode, 0, `candidate exited ${ch.exitCode}/${ch.signalCode}: ${stderr.join('').slice(-2000)}`);
  }
  // Killed candidates' keys expire with their leases: then nobody leads, and the observer says so.
  const deadlineEnd = Date.now() + TTL_MS + 10_000;
  while ((await raw.getAll().prefix(`${namespace}/elections/jepsen/`).keys()).length > 0 || seen.at(-1) !== undefined) {
    assert.ok(Date.now() < deadlineEnd, `the election did not empty: observer last saw ${String(seen.at(-1)?.value)}`);
    await pause(50);
  }
  await observation.close();
  await following;
  await observer.close();

  // Accepted writes in commit order must never go back to an older leader's token.
  accepted.sort((a, b) => (a.revision < b.revision ? -1 : 1));
  let newest = 0n;
  for (const w of accepted) {
    if (w.token < newest) stats.backwards++;
    else newest = w.token;
  }
  const observedTokens = seen.filter((l): l is LeaderInfo => l !== undefined).map((l) => l.fencingToken);
  stats.observed = new Set(observedTokens.map(String)).size;
  stats.missed = [...leadTokens].filter((t) => !observedTokens.includes(BigInt(t))).length;
  for (let i = 1; i < observedTokens.length; i++) if (observedTokens[i]! < observedTokens[i - 1]!) stats.observedOutOfOrder++;
  await raw.delete().prefix(`${namespace}/`);
  results[name] = stats;
  return stats;
}

test('fenced: never two leaders whose writes land, no stale write accepted, paused leaders see signal, observer sees every leader in order', async () => {
  const s = await run('fenced', true, FENCED_MS, true);
  assert.ok(s.leads >= 10, `only ${s.leads} leaderships`);
  assert.ok(s.pauses >= 2, `only ${s.pauses} pauses`);
  assert.equal(s.duplicateLeads, 0, 'a fencing token led twice');
  assert.equal(s.staleAccepted, 0);
  assert.equal(s.backwards, 0, 'an older leader wrote after a newer one');
  assert.equal(s.signalFired, s.pausedLeaders, `${s.pausedLeaders} leaders paused past their TTL, ${s.signalFired} saw signal fire`);
  assert.equal(s.missed, 0, 'the observer missed a leader');
  assert.equal(s.observedOutOfOrder, 0, 'the observer saw leaders out of order');
});

test('control (fencing off): the checker detects violations', async () => {
  // A paused leader's stale write lands only if it is sent before the client, waking, drops its
  // session for the PING that went unanswered during the pause: a race, lost in some runs (seen once
  // in CI on Node 20). The control proves the checker can fail, so it gets up to three runs to show it.
  let s: RunStats | undefined;
  for (let attempt = 1; attempt <= 3 && !(s && s.staleAccepted + s.backwards > 0); attempt++) {
    s = await run(attempt === 1 ? 'control' : `control (run ${attempt})`, false, CONTROL_MS, false, CONTROL_PAUSE_MS);
    assert.ok(s.pauses >= 1, `only ${s.pauses} pauses`);
  }
  assert.ok(s!.staleAccepted + s!.backwards > 0, 'no violation detected in three runs: the checker cannot fail');
});
