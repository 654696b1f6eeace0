// Config center against the real etcd: round-trips, raw values, CAS, list, history, rollback,
// bad input (nothing written), namespace isolation.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { z } from 'zod';
import { ErrorCode } from '../../src/index.js';
import { rawClient, testCoordinator, uniqueNamespace } from '../helpers/etcd.js';
import { captureLogger } from '../helpers/logs.js';

test('values of every JSON type round-trip, and strings stay strings', async () => {
  const { config } = await testCoordinator();
  const values: Record<string, unknown> = {
    str: 'hello',
    numeric: '8080',
    num: 42.5,
    yes: true,
    nil: null,
    obj: { a: 1, b: { c: ['x', 2] } },
    arr: [1, 'two', false, null],
    empty: '',
  };
  for (const [key, value] of Object.entries(values)) await config.set(key, value);
  for (const [key, value] of Object.entries(values)) assert.deepEqual(await config.get(key), value, key);
  assert.equal(typeof (await config.get('numeric')), 'string');
});

test('stored at <namespace>/config/<key> as JSON', async () => {
  const coord = await testCoordinator();
  const etcd = await rawClient();
  await coord.config.set('app/port', '8080');
  assert.equal(await etcd.get(`${coord.namespace}/config/app/port`).string(), '"8080"');
});

test('a raw non-JSON value written by another client reads back as a string', async () => {
  const coord = await testCoordinator();
  const etcd = await rawClient();
  await etcd.put(`${coord.namespace}/config/raw`).value('plain text, not json {');
  assert.equal(await coord.config.get('raw'), 'plain text, not json {');
});

test('get of an absent key is NOT_FOUND', async () => {
  const { config } = await testCoordinator();
  await assert.rejects(config.get('nope'), { code: ErrorCode.NotFound });
});

test('getObject validates with zod: a match returns the parsed value, a mismatch is VALIDATION_ERROR', async () => {
  const { config } = await testCoordinator();
  const schema = z.object({ host: z.string(), port: z.number().int() });
  await config.set('db', { host: 'h', port: 5432 });
  assert.deepEqual(await config.getObject('db', schema), { host: 'h', port: 5432 });
  await config.set('db', { host: 'h', port: 'x' });
  await assert.rejects(config.getObject('db', schema), (err: { code: string; message: string }) => {
    assert.equal(err.code, ErrorCode.Validation);
    assert.match(err.message, /port/);
    return true;
  });
});

test('CAS: set with a stale ifRevision is CONFLICT, with the current one it succeeds', async () => {
  const { config } = await testCoordinator();
  const first = await config.set('limit', 1);
  const second = await config.set('limit', 2, { ifRevision: first.revision });
  assert.ok(second.revision > first.revision);
  await assert.rejects(config.set('limit', 3, { ifRevision: first.revision }), { code: ErrorCode.Conflict });
  assert.equal(await config.get('limit'), 2);
});

test('CAS: ifRevision 0 creates only when absent', async () => {
  const { config } = await testCoordinator();
  await config.set('once', 'a', { ifRevision: 0n });
  await assert.rejects(config.set('once', 'b', { ifRevision: 0n }), { code: ErrorCode.Conflict });
  assert.equal(await config.get('once'), 'a');
});

test('delete: true when it existed, false when absent, CONFLICT when ifRevision moved', async () => {
  const { config } = await testCoordinator();
  const { revision } = await config.set('gone', 1);
  await config.set('gone', 2);
  await assert.rejects(config.delete('gone', { ifRevision: revision }), { code: ErrorCode.Conflict });
  assert.equal(await config.delete('gone'), true);
  assert.equal(await config.delete('gone'), false);
  const again = await config.set('gone', 3);
  assert.equal(await config.delete('gone', { ifRevision: again.revision }), true);
});

test('list returns keys under a plain string prefix, sorted, without namespace or config/', async () => {
  const coord = await testCoordinator();
  const etcd = await rawClient();
  for (const key of ['svc/b', 'svc/a', 'svc2/x', 'other']) await coord.config.set(key, 1);
  await etcd.put(`${coord.namespace}/not-config/svc/z`).value('1');
  assert.deepEqual(await coord.config.list('svc/'), ['svc/a', 'svc/b']);
  assert.deepEqual(await coord.config.list('svc'), ['svc/a', 'svc/b', 'svc2/x']);
  assert.deepEqual(await coord.config.list(''), ['other', 'svc/a', 'svc/b', 'svc2/x']);
});

test('history lists versions newest first; rollback writes an old one back as a new revision', async () => {
  const { config } = await testCoordinator();
  const r1 = await config.set('feature', { on: false });
  const r2 = await config.set('feature', { on: true });
  const r3 = await config.set('feature', { on: true, pct: 10 });
  const history = await config.history('feature');
  assert.deepEqual(
    history.map((v) => [v.revision, v.version, v.value]),
    [
      [r3.revision, 3, { on: true, pct: 10 }],
      [r2.revision, 2, { on: true }],
      [r1.revision, 1, { on: false }],
    ],
  );
  assert.equal((await config.history('feature', { limit: 2 })).length, 2);
  const back = await config.rollback('feature', r1.revision);
  assert.ok(back.revision > r3.revision);
  assert.deepEqual(await config.get('feature'), { on: false });
  assert.equal((await config.history('feature'))[0]!.version, 4);
});

test('history stops at a delete (the key starts over) and is empty for an absent key', async () => {
  const { config } = await testCoordinator();
  await config.set('k', 1);
  await config.delete('k');
  const { revision } = await config.set('k', 2);
  assert.deepEqual((await config.history('k')).map((v) => v.revision), [revision]);
  assert.deepEqual(await config.history('absent'), []);
});

test('every bad input is VALIDATION_ERROR and nothing is written (etcd revision unchanged)', async () => {
  const { config } = await testCoordinator();
  const etcd = await rawClient();
  const revisionNow = async () => BigInt((await etcd.kv.range({ key: Buffer.from('x'), count_only: true })).header.revision);
  const circular: Record<string, unknown> = {};
  circular['self'] = circular;
  const before = await revisionNow();
  const bad: Array<[string, () => Promise<unknown>]> = [
    ['empty key', () => config.set('', 1)],
    ['NUL in key', () => config.set('a\0b', 1)],
    ['non-string key', () => config.set(42 as unknown as string, 1)],
    ['undefined', () => config.set('k', undefined)],
    ['function', () => config.set('k', () => 1)],
    ['symbol', () => config.set('k', Symbol('s'))],
    ['BigInt', () => config.set('k', 10n)],
    ['nested BigInt', () => config.set('k', { a: [1n] })],
    ['nested function', () => config.set('k', { f() {} })],
    ['NaN', () => config.set('k', NaN)],
    ['circular', () => config.set('k', circular)],
    ['over 1 MiB', () => config.set('k', 'x'.repeat(1024 * 1024))],
    ['bad ifRevision', () => config.set('k', 1, { ifRevision: -1n })],
    ['number ifRevision', () => config.set('k', 1, { ifRevision: 3 as unknown as bigint })],
    ['delete empty key', () => config.delete('')],
    ['non-zod schema', () => config.getObject('k', { parse: () => 1 } as never)],
    ['live non-zod schema', () => config.live('k', { schema: {} as never, default: 1 })],
    ['history limit', () => config.history('k', { limit: 0 })],
    ['rollback revision', () => config.rollback('k', 0n)],
    ['watch empty key', async () => config.watch('')],
    ['watch fromRevision', async () => config.watch('k', { fromRevision: 0n })],
  ];
  for (const [what, call] of bad) await assert.rejects(call(), { code: ErrorCode.Validation }, what);
  assert.equal(await revisionNow(), before);
});

test('namespaces isolate config: same key in two namespaces never crosses', async () => {
  const a = await testCoordinator({ namespace: uniqueNamespace('cfg-a') });
  const b = await testCoordinator({ namespace: uniqueNamespace('cfg-b') });
  const watch = b.config.watch('shared');
  await watch.ready;
  await a.config.set('shared', 'from-a');
  await b.config.set('shared', 'from-b');
  assert.equal(await a.config.get('shared'), 'from-a');
  assert.equal(await b.config.get('shared'), 'from-b');
  assert.deepEqual(await a.config.list(''), ['shared']);
  for await (const ev of watch) {
    assert.equal(ev.value, 'from-b', 'b sees only its own write');
    break;
  }
});

test('logs name keys and operations, never values', async () => {
  const logs = captureLogger();
  const { config } = await testCoordinator({ logger: logs.logger });
  await config.set('secret/db', { password: 'S3CRET-VALUE-123' });
  await config.get('secret/db');
  await config.history('secret/db');
  await assert.rejects(config.getObject('secret/db', z.object({ password: z.number() })));
  assert.ok(logs.lines.some((l) => l.fields.operation === 'config.set' && l.fields.key === 'secret/db'));
  logs.assertNotContains('S3CRET-VALUE-123');
});
