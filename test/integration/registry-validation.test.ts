import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ErrorCode, type ServiceInfo } from '../../src/index.js';
import { headRevision, testCoordinator } from '../helpers/etcd.js';

const good: ServiceInfo = { id: 'i-1', name: 'chat', address: '127.0.0.1', port: 8080, metadata: { v: '1' }, ttlMs: 5000 };

const BAD: Array<[string, unknown]> = [
  ['empty id', { ...good, id: '' }],
  ['id with /', { ...good, id: 'a/b' }],
  ['id not a string', { ...good, id: 7 }],
  ['empty name', { ...good, name: '' }],
  ['name with /', { ...good, name: 'chat/x' }],
  ['empty address', { ...good, address: '' }],
  ['blank address', { ...good, address: '   ' }],
  ['port 0', { ...good, port: 0 }],
  ['port 65536', { ...good, port: 65536 }],
  ['port 80.5', { ...good, port: 80.5 }],
  ['port NaN', { ...good, port: Number.NaN }],
  ['port as string', { ...good, port: '8080' }],
  ['metadata value a number', { ...good, metadata: { v: 1 } }],
  ['metadata value null', { ...good, metadata: { v: null } }],
  ['metadata an array', { ...good, metadata: ['x'] }],
  ['ttl 0', { ...good, ttlMs: 0 }],
  ['ttl negative', { ...good, ttlMs: -1000 }],
  ['ttl NaN', { ...good, ttlMs: Number.NaN }],
  ['ttl Infinity', { ...good, ttlMs: Number.POSITIVE_INFINITY }],
  ['not an object', null],
];


test('every bad service → VALIDATION_ERROR and nothing written (etcd revision unchanged)', async () => {
  const c = await testCoordinator();
  const before = await headRevision();
  for (const [what, service] of BAD) {
    await assert.rejects(c.registry.register(service as ServiceInfo), { code: ErrorCode.Validation }, what);
  }
  assert.equal(await headRevision(), before);
});

test('bad names for discover / watch / unregister → VALIDATION_ERROR, nothing written', async () => {
  const c = await testCoordinator();
  const before = await headRevision();
  for (const name of ['', 'a/b', 42 as unknown as string]) {
    await assert.rejects(c.registry.discover(name), { code: ErrorCode.Validation });
    assert.throws(() => c.registry.watch(name), { code: ErrorCode.Validation });
    await assert.rejects(c.registry.unregister(name), { code: ErrorCode.Validation });
  }
  assert.equal(await headRevision(), before);
});

test('metadata may be omitted (stored as {}); unregister of an unknown id → NOT_FOUND', async () => {
  const c = await testCoordinator();
  const { metadata: _omit, ...rest } = good;
  const reg = await c.registry.register(rest as ServiceInfo);
  assert.deepEqual(reg.service.metadata, {});
  assert.equal(reg.state, 'registered');
  await assert.rejects(c.registry.unregister('nobody'), { code: ErrorCode.NotFound });
  await reg.unregister();
  await reg.unregister();
  assert.equal(reg.state, 'unregistered');
});

test('after close(), register / discover → CANCELLED', async () => {
  const c = await testCoordinator();
  await c.close();
  await assert.rejects(c.registry.register(good), { code: ErrorCode.Cancelled });
  await assert.rejects(c.registry.discover('chat'), { code: ErrorCode.Cancelled });
});
