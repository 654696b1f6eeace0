// Interop with etcd's Go concurrency.Mutex (bench/go/main.go): a Go service locking
// `<namespace>/locks/K` and our acquire('K') exclude each other, in both directions.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcessByStdio } from 'node:child_process';
import type { Readable, Writable } from 'node:stream';
import { ErrorCode } from '../../src/index.js';
import { buildGoLock, goUnavailable } from '../../bench/go/build.js';
import { etcdEndpoints, eventually, rawClient, testCoordinator } from '../helpers/etcd.js';

const skip = goUnavailable();

interface GoMutex {
  proc: ChildProcessByStdio<Writable, Readable, Readable>;
  stdout: () => string;
  exited: Promise<number | null>;
}

async function goMutex(mode: 'hold' | 'acquire', prefix: string): Promise<GoMutex> {
  const binary = await buildGoLock();
  const endpoints = (await etcdEndpoints()).map((e) => e.replace(/^https?:\/\//, '')).join(',');
  const proc = spawn(binary, ['-mode', mode, '-prefix', prefix, '-endpoints', endpoints], { stdio: ['pipe', 'pipe', 'pipe'] });
  let out = '';
  proc.stdout.on('data', (d) => (out += d));
  proc.stderr.on('data', (d) => (out += d));
  const exited = new Promise<number | null>((resolve) => proc.once('exit', (code) => resolve(code)));
  const timer = setTimeout(() => proc.kill('SIGKILL'), 60_000);
  void exited.then(() => clearTimeout(timer));
  return { proc, stdout: () => out, exited };
}

test('a Go Mutex holding <ns>/locks/K blocks our acquire(K) until it unlocks', { skip, timeout: 120_000 }, async () => {
  const c = await testCoordinator();
  const go = await goMutex('hold', `${c.namespace}/locks/shared`);
  try {
    await eventually(() => go.stdout().includes('"locked"'), { timeoutMs: 20_000, what: 'Go to lock' });
    await assert.rejects(c.lock.tryAcquire('shared', 5000), { code: ErrorCode.Conflict });
    const waiting = c.lock.acquire('shared', 5000);
    const raw = await rawClient();
    await eventually(async () => (await raw.getAll().prefix(`${c.namespace}/locks/shared/`).keys()).length === 2, { what: 'we queue' });
    let settled = false;
    void waiting.then(() => (settled = true), () => (settled = true));
    assert.equal(settled, false);
    go.proc.stdin.end(); // Go unlocks
    const lock = await waiting;
    assert.equal(await go.exited, 0, go.stdout());
    await lock.unlock();
  } finally {
    go.proc.kill('SIGKILL');
  }
});

test('our lock on K blocks a Go Mutex on <ns>/locks/K until we unlock', { skip, timeout: 120_000 }, async () => {
  const c = await testCoordinator();
  const lock = await c.lock.acquire('shared', 10_000);
  const go = await goMutex('acquire', `${c.namespace}/locks/shared`);
  try {
    const raw = await rawClient();
    await eventually(async () => (await raw.getAll().prefix(`${c.namespace}/locks/shared/`).keys()).length === 2, {
      timeoutMs: 20_000,
      what: 'Go to queue behind us',
    });
    assert.ok(!go.stdout().includes('"locked"'), go.stdout());
    await lock.unlock();
    assert.equal(await go.exited, 0, go.stdout());
    assert.match(go.stdout(), /"locked"/);
  } finally {
    go.proc.kill('SIGKILL');
  }
});
