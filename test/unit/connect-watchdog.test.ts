// The connect watchdog's decision logic with fake etcd3 hosts and channels (the real case — a watch
// re-dialling into a blackhole — is test/faults/compaction-gap.test.ts (b)).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { Etcd3 } from 'etcd3';
import { startConnectWatchdog } from '../../src/client/connect-watchdog.js';
import { silentLogger } from '../../src/index.js';

const CONNECTING = 1;
const READY = 2;
const TRANSIENT_FAILURE = 3;

/** A channel as grpc-js shows it: a state, and watchers told of the next change (or of the deadline). */
class FakeChannel {
  private watchers: Array<(error?: Error) => void> = [];
  constructor(public state: number) {}
  getConnectivityState(): number {
    return this.state;
  }
  watchConnectivityState(_current: number, deadline: number, callback: (error?: Error) => void): void {
    this.watchers.push(callback);
    setTimeout(() => {
      if (!this.watchers.includes(callback)) return;
      this.watchers = this.watchers.filter((w) => w !== callback);
      callback(new Error('Deadline passed without connectivity state change'));
    }, deadline - Date.now());
  }
  set(state: number): void {
    this.state = state;
    const watchers = this.watchers.splice(0);
    for (const w of watchers) w();
  }
}

function fakeEtcd(channel: FakeChannel): { etcd: Etcd3; resets: () => number } {
  let resets = 0;
  const host = {
    host: '127.0.0.1:1',
    cachedServices: { KV: { getChannel: () => channel }, Watch: { getChannel: () => new FakeChannel(READY) } },
    resetAllServices: () => void resets++,
  };
  return { etcd: { pool: { hosts: [host] } } as unknown as Etcd3, resets: () => resets };
}

test('a channel CONNECTING without any change for a whole interval gets its host reset, once', (t) => {
  t.mock.timers.enable({ apis: ['setInterval', 'setTimeout', 'Date'] });
  const stop = new AbortController();
  const channel = new FakeChannel(CONNECTING);
  const fake = fakeEtcd(channel);
  startConnectWatchdog(fake.etcd, 1000, silentLogger, stop.signal);
  t.mock.timers.tick(1000); // first sighting: the watch starts
  assert.equal(fake.resets(), 0);
  t.mock.timers.tick(1000); // a whole interval with no change
  assert.equal(fake.resets(), 1);
  channel.set(READY);
  t.mock.timers.tick(5000);
  assert.equal(fake.resets(), 1, 'a healthy channel is left alone');
  stop.abort();
});

test('a channel that keeps changing state (refused, retrying) is not reset', (t) => {
  t.mock.timers.enable({ apis: ['setInterval', 'setTimeout', 'Date'] });
  const stop = new AbortController();
  const channel = new FakeChannel(CONNECTING);
  const fake = fakeEtcd(channel);
  startConnectWatchdog(fake.etcd, 1000, silentLogger, stop.signal);
  for (let i = 0; i < 10; i++) {
    t.mock.timers.tick(500);
    channel.set(TRANSIENT_FAILURE);
    channel.set(CONNECTING);
  }
  assert.equal(fake.resets(), 0);
  stop.abort();
});

test('the watchdog stops when the signal aborts and ignores an unknown etcd3 shape', (t) => {
  t.mock.timers.enable({ apis: ['setInterval', 'setTimeout', 'Date'] });
  const stop = new AbortController();
  const fake = fakeEtcd(new FakeChannel(CONNECTING));
  startConnectWatchdog(fake.etcd, 1000, silentLogger, stop.signal);
  stop.abort();
  t.mock.timers.tick(5000);
  assert.equal(fake.resets(), 0);
  assert.doesNotThrow(() => startConnectWatchdog({} as Etcd3, 1000, silentLogger, new AbortController().signal));
});
