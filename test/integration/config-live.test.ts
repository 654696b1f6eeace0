// Live config views (hot reload) and starting from the snapshot file while etcd is stopped.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { z } from 'zod';
import { startCluster } from '../../scripts/lib/etcd.mjs';
import { createCoordinator, ErrorCode, silentLogger, type ConfigSchema, type Coordinator } from '../../src/index.js';
import { eventually, testCoordinator, uniqueNamespace } from '../helpers/etcd.js';
import { captureLogger } from '../helpers/logs.js';

const Limits = z.object({ rps: z.number().int().positive() });

test('live() holds the current value and follows changes with (value, previous)', async () => {
  const { config } = await testCoordinator();
  const first = await config.set('limits', { rps: 10 });
  await using view = await config.live('limits', { schema: Limits });
  assert.deepEqual(view.value, { rps: 10 });
  assert.equal(view.revision, first.revision);
  assert.equal(view.stale, false);
  const changes: Array<[unknown, unknown]> = [];
  view.on('change', (value, previous) => changes.push([value, previous]));
  const second = await config.set('limits', { rps: 20 });
  await eventually(() => view.revision === second.revision, { what: 'the new value' });
  assert.deepEqual(view.value, { rps: 20 });
  assert.deepEqual(changes, [[{ rps: 20 }, { rps: 10 }]]);
});

test('live(): aborting its signal once the view is open closes the view, as a watch\'s signal ends the watch', async () => {
  const { config } = await testCoordinator();
  await config.set('k', 1);
  const stop = new AbortController();
  const view = await config.live<number>('k', { signal: stop.signal });
  await using follower = await config.live<number>('k');
  stop.abort();
  await config.set('k', 2);
  // Both views hang on one watch stream, in order: once the follower has 2, an open view would have it too.
  await eventually(() => follower.value === 2, { what: 'the follower to see 2' });
  assert.equal(view.value, 1, 'the aborted view no longer follows');
  await view.close(); // idempotent after the abort
});

test('a pushed value failing the schema keeps the last good one and emits invalid', async () => {
  const { config } = await testCoordinator();
  await config.set('limits', { rps: 10 });
  const view = await config.live('limits', { schema: Limits });
  const invalid: Error[] = [];
  let changes = 0;
  view.on('invalid', (err) => invalid.push(err)).on('change', () => changes++);
  await config.set('limits', { rps: -1 });
  await eventually(() => invalid.length === 1, { what: 'invalid event' });
  assert.deepEqual(view.value, { rps: 10 });
  assert.equal((invalid[0] as { code?: string }).code, ErrorCode.Validation);
  assert.equal(changes, 0);
  const good = await config.set('limits', { rps: 30 });
  await eventually(() => view.revision === good.revision, { what: 'the next good value' });
  assert.deepEqual(view.value, { rps: 30 });
  await view.close();
});

test('an initial value failing the schema rejects live() with VALIDATION_ERROR', async () => {
  const { config } = await testCoordinator();
  await config.set('limits', 'not an object');
  await assert.rejects(config.live('limits', { schema: Limits }), { code: ErrorCode.Validation });
});

test('an absent key: NOT_FOUND without default; with default it serves it, follows a set and returns to it on delete', async () => {
  const { config } = await testCoordinator();
  await assert.rejects(config.live('feature'), { code: ErrorCode.NotFound });
  const view = await config.live('feature', { default: false });
  assert.equal(view.value, false);
  assert.equal(view.revision, 0n);
  await config.set('feature', true);
  await eventually(() => view.value === true, { what: 'the set value' });
  await config.delete('feature');
  await eventually(() => view.value === false, { what: 'back to the default' });
  await view.close();
});

test('deleting the key without a default keeps the value and emits invalid (NOT_FOUND)', async () => {
  const { config } = await testCoordinator();
  await config.set('name', 'svc');
  const view = await config.live<string>('name');
  const invalid: Error[] = [];
  view.on('invalid', (err) => invalid.push(err));
  await config.delete('name');
  await eventually(() => invalid.length === 1, { what: 'invalid event' });
  assert.equal(view.value, 'svc');
  assert.equal((invalid[0] as { code?: string }).code, ErrorCode.NotFound);
  await view.close();
});

test('a throwing listener is logged and does not stop the view', async () => {
  const logs = captureLogger();
  const { config } = await testCoordinator({ logger: logs.logger });
  await config.set('n', 1);
  const view = await config.live<number>('n');
  view.on('change', () => {
    throw new Error('listener bug');
  });
  await config.set('n', 2);
  await eventually(() => view.value === 2, { what: 'value 2' });
  await config.set('n', 3);
  await eventually(() => view.value === 3, { what: 'value 3' });
  assert.ok(logs.lines.some((l) => l.level === 'error' && /listener threw/.test(l.message)));
  await view.close();
});

test('close() stops following (idempotent); coordinator.close() closes open views', async () => {
  const coord = await testCoordinator();
  await coord.config.set('n', 1);
  const view = await coord.config.live<number>('n');
  await view.close();
  await view.close();
  await coord.config.set('n', 2);
  const probe = await coord.config.live<number>('n');
  await eventually(() => probe.value === 2, { what: 'probe sees 2' });
  assert.equal(view.value, 1);
  await coord.close();
  const other = await testCoordinator({ namespace: coord.namespace });
  await other.config.set('n', 3);
  const witness = await other.config.live<number>('n');
  assert.equal(witness.value, 3);
  assert.equal(probe.value, 2, 'a view of a closed coordinator no longer follows');
});

test('snapshot: live views persist last good values (mode 0600); with etcd stopped live() serves them stale, then catches up', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'cfg-snap-'));
  const snapshotFile = join(dir, 'config.snapshot.json');
  const cluster = await startCluster({ size: 1 });
  const namespace = uniqueNamespace('snap');
  const open = (): Promise<Coordinator> =>
    createCoordinator({ endpoints: cluster.endpoints, namespace, snapshotFile, timeoutMs: 800, logger: silentLogger, retry: { maxAttempts: 1 } });
  try {
    const first = await open();
    await first.config.set('limits', { rps: 10 });
    const view = await first.config.live('limits', { schema: Limits });
    await first.config.set('limits', { rps: 0 }); // invalid: must not reach the snapshot
    await first.config.set('limits', { rps: 15 });
    await eventually(() => view.value.rps === 15, { what: 'rps 15' });
    await first.close();
    assert.equal((await stat(snapshotFile)).mode & 0o777, 0o600);
    assert.match(await readFile(snapshotFile, 'utf8'), /"version":1/);

    await cluster.members[0]!.stop();
    const logs = captureLogger();
    const second = await createCoordinator({ endpoints: cluster.endpoints, namespace, snapshotFile, timeoutMs: 800, logger: logs.logger, retry: { maxAttempts: 1 } });
    try {
      assert.ok(logs.lines.some((l) => l.level === 'warn' && l.fields.operation === 'connect'), 'degraded start logged');
      const stale = await second.config.live('limits', { schema: Limits });
      assert.deepEqual(stale.value, { rps: 15 });
      assert.equal(stale.stale, true);
      await assert.rejects(second.config.live('never-seen'), { code: ErrorCode.Connection });
      const fallback = await second.config.live('never-seen', { default: 'd' });
      assert.equal(fallback.value, 'd');
      assert.equal(fallback.stale, true);

      await cluster.members[0]!.start();
      const changes: unknown[] = [];
      stale.on('change', (v) => changes.push(v));
      fallback.on('change', (v) => changes.push(v));
      await eventually(() => stale.stale === false, { what: 'caught up with etcd', timeoutMs: 20_000 });
      assert.deepEqual(stale.value, { rps: 15 });
      assert.deepEqual(changes, [], 'same revision as the snapshot: no change event');
      await second.config.set('limits', { rps: 25 });
      await eventually(() => stale.value.rps === 25, { what: 'follows etcd again' });
      await eventually(() => fallback.stale === false, { what: 'the default view caught up' });
      assert.equal(fallback.value, 'd');
      assert.deepEqual(changes, [{ rps: 25 }], 'the default view saw no change: the key is still absent');
    } finally {
      await second.close();
    }
  } finally {
    await cluster.stop();
    await rm(dir, { recursive: true, force: true });
  }
});

test('without snapshotFile an unreachable etcd still rejects createCoordinator with CONNECTION_ERROR', async () => {
  const cluster = await startCluster({ size: 1 });
  await cluster.members[0]!.stop();
  try {
    await assert.rejects(createCoordinator({ endpoints: cluster.endpoints, timeoutMs: 500, logger: silentLogger }), { code: ErrorCode.Connection });
  } finally {
    await cluster.stop();
  }
});

test('live() with a hand-written Standard Schema (no zod); its signal is not aborted by an invalid push or close()', async () => {
  const { config } = await testCoordinator();
  const positive: ConfigSchema<number> = {
    '~standard': {
      version: 1,
      vendor: 'hand-written',
      validate: (v: unknown) => (typeof v === 'number' && v > 0 ? { value: v } : { issues: [{ message: 'must be > 0' }] }),
    },
  };
  await config.set('n', 5);
  const view = await config.live('n', { schema: positive });
  const n: number = view.value;
  assert.equal(n, 5);
  const invalid: Error[] = [];
  view.on('invalid', (err) => invalid.push(err));
  await config.set('n', -1);
  await eventually(() => invalid.length === 1, { what: 'invalid event' });
  assert.match(invalid[0]!.message, /must be > 0/);
  assert.equal(view.value, 5);
  assert.equal(await config.getObject('n', positive).catch((e: { code: string }) => e.code), ErrorCode.Validation);
  await view.close();
  assert.equal(view.signal.aborted, false, 'an invalid value or close() is not a loss');
});
