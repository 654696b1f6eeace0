// ConfigCenter.entries(): keys with values and mod revisions under a prefix, read at one revision
// (coordctl's config ls / import diff / export stand on it).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ErrorCode } from '../../src/index.js';
import { rawClient, testCoordinator } from '../helpers/etcd.js';

test('entries() returns decoded values with their mod revisions, in key order, and the read revision', async () => {
  const c = await testCoordinator();
  const b = await c.config.set('app/b', { port: 8080 });
  const a = await c.config.set('app/a', 'gochat');
  await c.config.set('app/a', 'gochat-v2');
  await c.config.set('other', 1);
  const { entries, revision } = await c.config.entries('app/');
  assert.deepEqual(entries, [
    { key: 'app/a', value: 'gochat-v2', revision: a.revision + 1n, version: 2 },
    { key: 'app/b', value: { port: 8080 }, revision: b.revision, version: 1 },
  ]);
  assert.ok(revision >= a.revision + 1n);
});

test('entries() of a value written raw (not JSON) gives the text; an empty prefix lists everything', async () => {
  const c = await testCoordinator();
  const etcd = await rawClient();
  await etcd.put(`${c.namespace}/config/raw`).value('plain text');
  await c.config.set('json', [1]);
  const { entries } = await c.config.entries('');
  assert.deepEqual(entries.map((e) => [e.key, e.value]), [['json', [1]], ['raw', 'plain text']]);
});

test('entries() of a prefix with NUL is VALIDATION_ERROR', async () => {
  const c = await testCoordinator();
  await assert.rejects(c.config.entries('a\0b'), { code: ErrorCode.Validation });
});
