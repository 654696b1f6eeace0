// A response for a watch etcd3 already forgot is dropped instead of throwing out of the stream's
// 'data' handler (which surfaced as an unhandled rejection in the fault suite).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { Namespace } from 'etcd3';
import { ignoreStrayWatchResponses } from '../../src/client/stray-watch-responses.js';
import { silentLogger } from '../../src/index.js';

function fakeNamespace(): { ns: Namespace; handled: string[] } {
  const handled: string[] = [];
  const manager = {
    watchers: [{ id: '1' }],
    handleResponse(res: { watch_id: string }) {
      if (!this.watchers.some((w) => w.id === res.watch_id)) throw new Error('Failed to find watcher for IWatchResponse');
      handled.push(res.watch_id);
    },
  };
  return { ns: { watchManager: manager } as unknown as Namespace, handled };
}

test('responses for known watches pass through; stray ones are dropped without throwing', () => {
  const { ns, handled } = fakeNamespace();
  ignoreStrayWatchResponses(ns, silentLogger);
  const manager = (ns as unknown as { watchManager: { handleResponse(r: { watch_id: string }): void } }).watchManager;
  manager.handleResponse({ watch_id: '1' });
  assert.doesNotThrow(() => manager.handleResponse({ watch_id: '7' }));
  assert.deepEqual(handled, ['1']);
});

test('an unknown etcd3 shape is left alone', () => {
  assert.doesNotThrow(() => ignoreStrayWatchResponses({} as Namespace, silentLogger));
});
