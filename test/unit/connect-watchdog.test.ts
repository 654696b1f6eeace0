// The connect watchdog's decision logic with fake etcd3 hosts (the real case — a watch re-dialling
// into a blackhole — is test/faults/compaction-gap.test.ts (b)).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { Etcd3 } from 'etcd3';
import { startConnectWatchdog } from '../../src/client/connect-watchdog.js';
import { silentLogger } from '../../src/index.js';

const CONNECTING = 1;
const READY = 2;

function fakeEtcd(states: number[]): { etcd: Etcd3; resets: () => number; setState(i: number, s: number): void } {
  let resets = 0;
  const host = {
    host: '127.0.0.1:1',
    cachedServices: Object.fromEntries(states.map((_, i) => [`S${i}`, { getChannel: () => ({ getConnectivityState: () => states[i]! }) }])),
    resetAllServices: () => void resets++,
  };
  return { etcd: { pool: { hosts: [host] } } as unknown as Etcd3, resets: () => resets, setState: (i, s) => (states[i] = s) };
}

test('a channel CONNECTING at two checks in a row gets its host reset, once', (t) => {
  t.mock.timers.enable({ apis: ['setInterval'] });
  const stop = new AbortController();
  const fake = fakeEtcd([READY, CONNECTING]);
  startConnectWatchdog(fake.etcd, 1000, silentLogger, stop.signal);
  t.mock.timers.tick(1000);
  assert.equal(fake.resets(), 0, 'one sighting is not enough');
  t.mock.timers.tick(1000);
  assert.equal(fake.resets(), 1);
  fake.setState(1, READY);
  t.mock.timers.tick(3000);
  assert.equal(fake.resets(), 1, 'healthy channels are left alone');
  stop.abort();
});

test('a channel that connects between checks is not reset', (t) => {
  t.mock.timers.enable({ apis: ['setInterval'] });
  const stop = new AbortController();
  const fake = fakeEtcd([CONNECTING]);
  startConnectWatchdog(fake.etcd, 1000, silentLogger, stop.signal);
  t.mock.timers.tick(1000);
  fake.setState(0, READY);
  t.mock.timers.tick(1000);
  fake.setState(0, CONNECTING);
  t.mock.timers.tick(1000);
  assert.equal(fake.resets(), 0);
  stop.abort();
});

test('the watchdog stops when the signal aborts and ignores an unknown etcd3 shape', (t) => {
  t.mock.timers.enable({ apis: ['setInterval'] });
  const stop = new AbortController();
  const fake = fakeEtcd([CONNECTING]);
  startConnectWatchdog(fake.etcd, 1000, silentLogger, stop.signal);
  stop.abort();
  t.mock.timers.tick(5000);
  assert.equal(fake.resets(), 0);
  assert.doesNotThrow(() => startConnectWatchdog({} as Etcd3, 1000, silentLogger, new AbortController().signal));
});
