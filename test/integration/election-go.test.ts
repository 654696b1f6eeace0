// Interop with etcd's Go concurrency.Election (bench/go/main.go): a Go service calling
// NewElection(session, "<ns>/elections/<name>") and our coordinator.election share one election —
// each sees the other's leader and value, and hand-over works both ways.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcessByStdio } from 'node:child_process';
import type { Readable, Writable } from 'node:stream';
import { buildGoLock, goUnavailable } from '../../bench/go/build.js';
import { etcdEndpoints, eventually, rawClient, testCoordinator } from '../helpers/etcd.js';

const skip = goUnavailable();

interface GoProc {
  proc: ChildProcessByStdio<Writable, Readable, Readable>;
  output: () => string;
  lines: () => Array<Record<string, unknown>>;
  exited: Promise<number | null>;
}

async function goElection(args: string[]): Promise<GoProc> {
  const binary = await buildGoLock();
  const endpoints = (await etcdEndpoints()).map((e) => e.replace(/^https?:\/\//, '')).join(',');
  const proc = spawn(binary, [...args, '-endpoints', endpoints, '-ttl', '5'], { stdio: ['pipe', 'pipe', 'pipe'] });
  let out = '';
  let err = '';
  proc.stdout.on('data', (d) => (out += d));
  proc.stderr.on('data', (d) => (err += d));
  const exited = new Promise<number | null>((resolve) => proc.once('exit', (code) => resolve(code)));
  const timer = setTimeout(() => proc.kill('SIGKILL'), 60_000);
  void exited.then(() => clearTimeout(timer));
  const lines = (): Array<Record<string, unknown>> =>
    out
      .split('\n')
      .filter((l) => l.startsWith('{'))
      .map((l) => JSON.parse(l) as Record<string, unknown>);
  return { proc, output: () => out + err, lines, exited };
}

test('Go leads: our leader() and observe() see its value, our campaign waits and takes over when Go resigns', { skip, timeout: 90_000 }, async () => {
  const c = await testCoordinator();
  const go = await goElection(['-mode', 'lead', '-prefix', `${c.namespace}/elections/shared`, '-value', 'go-host:1']);
  try {
    await eventually(() => go.lines().some((l) => 'leader' in l), { timeoutMs: 30_000, what: 'Go to lead' });
    const goKey = go.lines().find((l) => 'leader' in l)!['leader'] as string;
    const info = await c.election.leader('shared');
    assert.deepEqual([info?.value, info?.key], ['go-host:1', goKey]);
    const obs = c.election.observe('shared');
    const it = obs[Symbol.asyncIterator]();
    assert.equal((await it.next()).value?.leader?.value, 'go-host:1');
    const ours = c.election.campaign('shared', 'ts-host:2');
    const raw = await rawClient();
    await eventually(async () => (await raw.getAll().prefix(`${c.namespace}/elections/shared/`).keys()).length === 2, { what: 'us to queue' });
    let led = false;
    void ours.then(() => (led = true), () => undefined);
    await new Promise((r) => setTimeout(r, 100));
    assert.equal(led, false, 'we must not lead while Go does');
    go.proc.stdin.end(); // Go resigns
    const lead = await ours;
    assert.equal(await go.exited, 0, go.output());
    assert.equal((await it.next()).value?.leader?.value, 'ts-host:2', 'observe sees the hand-over');
    await obs.close();
    await lead.resign();
  } finally {
    go.proc.kill('SIGKILL');
  }
});

test('we lead: Go Leader() and Observe() see our value and proclaim; Go campaigns and takes over when we resign', { skip, timeout: 90_000 }, async () => {
  const c = await testCoordinator();
  const prefix = `${c.namespace}/elections/shared`;
  const lead = await c.election.campaign('shared', 'ts-host:1');
  const leader = await goElection(['-mode', 'leader', '-prefix', prefix]);
  assert.equal(await leader.exited, 0, leader.output());
  assert.deepEqual(leader.lines()[0], { value: 'ts-host:1', key: lead.key, revision: Number(lead.fencingToken) });

  const observer = await goElection(['-mode', 'observe', '-prefix', prefix, '-count', '3']);
  const goLead = await goElection(['-mode', 'lead', '-prefix', prefix, '-value', 'go-host:2']);
  try {
    await eventually(() => observer.lines().filter((l) => 'value' in l).length === 1, { timeoutMs: 30_000, what: 'Go to observe us' });
    await lead.proclaim('ts-host:1b');
    await eventually(() => observer.lines().filter((l) => 'value' in l).length === 2, { what: 'Go to see proclaim' });
    const raw = await rawClient();
    await eventually(async () => (await raw.getAll().prefix(`${prefix}/`).keys()).length === 2, { timeoutMs: 30_000, what: 'Go to queue' });
    assert.ok(!goLead.lines().some((l) => 'leader' in l), 'Go must not lead while we do');
    await lead.resign();
    await eventually(() => goLead.lines().some((l) => 'leader' in l), { what: 'Go to lead after we resign' });
    assert.deepEqual((await c.election.leader('shared'))?.value, 'go-host:2');
    assert.equal(await observer.exited, 0, observer.output());
    assert.deepEqual(
      observer.lines().filter((l) => 'value' in l).map((l) => l['value']),
      ['ts-host:1', 'ts-host:1b', 'go-host:2'],
    );
    goLead.proc.stdin.end();
    assert.equal(await goLead.exited, 0, goLead.output());
    assert.equal(await c.election.leader('shared'), undefined);
  } finally {
    observer.proc.kill('SIGKILL');
    goLead.proc.kill('SIGKILL');
  }
});
