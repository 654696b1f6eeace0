// Scenario 7 — bad input table: every case rejects with VALIDATION_ERROR, and etcd's revision and
// lease count are unchanged afterwards (nothing was written, not even a lease).
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { z } from 'zod';
import { createCoordinator, ErrorCode, silentLogger, type Coordinator, type CoordinatorOptions } from '../../src/index.js';
import { assertNoLeakedHandles, handleCounts, startFaultCluster, type FaultCluster } from './harness.js';
import { table, writeSection } from './report.js';

let fc: FaultCluster;
let c: Coordinator;
let baseline: Map<string, number>;

before(async () => {
  fc = await startFaultCluster({ size: 1 });
  baseline = handleCounts();
  c = await createCoordinator({ endpoints: fc.endpoints, namespace: '/faults-bad', logger: silentLogger, retry: { maxAttempts: 1 } });
  // Warm the components (spare leases, discovery cache) so that a case cannot be blamed for them.
  await (await c.lock.acquire('warm', 2000)).unlock();
  await c.config.set('warm', 1);
});
after(async () => {
  try {
    await c?.close();
    await assertNoLeakedHandles(baseline, fc.proxies);
  } finally {
    await fc?.stop();
  }
});

const circular: Record<string, unknown> = { a: 1 };
circular['self'] = circular;
const MiB = 1024 * 1024;
const huge = 'x'.repeat(MiB + 10);
const svc = { id: 'i1', name: 'svc', address: '127.0.0.1', port: 8080, metadata: {}, ttlMs: 3000 };
const opts = (o: Partial<CoordinatorOptions> | Record<string, unknown>) =>
  createCoordinator({ endpoints: fc.endpoints, logger: silentLogger, ...o } as CoordinatorOptions).then((x) => x.close());
const bad = <T>(v: unknown) => v as T; // a value the types forbid, as plain JavaScript callers may pass

type Case = [component: string, input: string, run: () => Promise<unknown>];
const cases: Case[] = [
  // lock
  ['lock', 'empty key', () => c.lock.acquire('', 2000)],
  ['lock', 'key starting with /', () => c.lock.acquire('/a', 2000)],
  ['lock', 'key ending with /', () => c.lock.tryAcquire('a/', 2000)],
  ['lock', 'key with NUL', () => c.lock.acquire('a\0b', 2000)],
  ['lock', 'key of 2 KiB', () => c.lock.acquire('k'.repeat(2048), 2000)],
  ['lock', 'non-string key (number)', () => c.lock.acquire(bad(42), 2000)],
  ['lock', 'ttl 0', () => c.lock.acquire('a', 0)],
  ['lock', 'ttl negative', () => c.lock.acquire('a', -1000)],
  ['lock', 'ttl NaN', () => c.lock.acquire('a', NaN)],
  ['lock', 'ttl Infinity', () => c.lock.tryAcquire('a', Infinity)],
  ['lock', 'ttl > 1 year', () => c.lock.acquire('a', 366 * 24 * 3600 * 1000)],
  ['lock', 'ttl as string', () => c.lock.acquire('a', bad('2000'))],
  ['lock', 'withLock fn not a function', () => c.lock.withLock('a', 2000, bad('nope'))],
  // registry
  ['registry', 'empty id', () => c.registry.register({ ...svc, id: '' })],
  ['registry', 'empty name', () => c.registry.register({ ...svc, name: '' })],
  ['registry', 'name with /', () => c.registry.register({ ...svc, name: 'a/b' })],
  ['registry', 'id with /', () => c.registry.register({ ...svc, id: 'x/y' })],
  ['registry', 'empty address', () => c.registry.register({ ...svc, address: '' })],
  ['registry', 'port 0', () => c.registry.register({ ...svc, port: 0 })],
  ['registry', 'port 70000', () => c.registry.register({ ...svc, port: 70000 })],
  ['registry', 'port 1.5', () => c.registry.register({ ...svc, port: 1.5 })],
  ['registry', 'port as string', () => c.registry.register({ ...svc, port: bad('8080') })],
  ['registry', 'non-string metadata value', () => c.registry.register({ ...svc, metadata: bad({ v: 1 }) })],
  ['registry', 'ttl 0', () => c.registry.register({ ...svc, ttlMs: 0 })],
  ['registry', 'ttl NaN', () => c.registry.register({ ...svc, ttlMs: NaN })],
  ['registry', 'ttl negative', () => c.registry.register({ ...svc, ttlMs: -3000 })],
  ['registry', 'service undefined', () => c.registry.register(bad(undefined))],
  ['registry', 'discover empty name', () => c.registry.discover('')],
  // config
  ['config', 'set empty key', () => c.config.set('', 1)],
  ['config', 'set key with NUL', () => c.config.set('a\0b', 1)],
  ['config', 'set key of 8 KiB', () => c.config.set('k'.repeat(8192), 1)],
  ['config', 'value undefined', () => c.config.set('k', undefined)],
  ['config', 'value function', () => c.config.set('k', () => 1)],
  ['config', 'value symbol', () => c.config.set('k', Symbol('s'))],
  ['config', 'value BigInt', () => c.config.set('k', 10n)],
  ['config', 'value nested BigInt', () => c.config.set('k', { a: [1, 2n] })],
  ['config', 'value circular', () => c.config.set('k', circular)],
  ['config', 'value NaN', () => c.config.set('k', NaN)],
  ['config', 'value > 1 MiB encoded', () => c.config.set('k', huge)],
  ['config', 'ifRevision as number', () => c.config.set('k', 1, { ifRevision: bad(5) })],
  ['config', 'ifRevision negative', () => c.config.delete('k', { ifRevision: -1n })],
  ['config', 'getObject with a non-zod schema', () => c.config.getObject('warm', bad({ parse: () => 1 }))],
  ['config', 'history limit 0', () => c.config.history('warm', { limit: 0 })],
  ['config', 'rollback to revision as number', () => c.config.rollback('warm', bad(1))],
  ['config', 'live with a non-zod schema', () => c.config.live('warm', { schema: bad(z.string().parse) })],
  // ids
  ['ids', 'empty pool', () => c.ids.allocate('')],
  ['ids', 'min > max', () => c.ids.allocate('p', { min: 5, max: 1 })],
  ['ids', 'ttl NaN', () => c.ids.allocate('p', { ttlMs: NaN })],
  // election
  ['election', 'empty name', () => c.election.campaign('', 'v')],
  ['election', 'name ending with /', () => c.election.campaign('a/', 'v')],
  ['election', 'name with NUL', () => c.election.campaign('a\0b', 'v')],
  ['election', 'non-string value', () => c.election.campaign('a', bad(1))],
  ['election', 'ttl 500 (sub-second: TTLs are ms)', () => c.election.campaign('a', 'v', { ttlMs: 500 })],
  ['election', 'ttl 1500.5', () => c.election.campaign('a', 'v', { ttlMs: 1500.5 })],
  ['election', 'ttl as string', () => c.election.campaign('a', 'v', { ttlMs: bad('2000') })],
  ['election', 'leader of empty name', () => c.election.leader('')],
  ['election', 'observe name starting with /', async () => c.election.observe('/a')],
  ['election', 'list prefix with NUL', () => c.election.list('a\0')],
  // coordinator options (nothing connects)
  ['options', 'endpoints empty', () => opts({ endpoints: [] })],
  ['options', 'endpoints a string', () => opts({ endpoints: bad('http://127.0.0.1:2379') })],
  ['options', 'timeoutMs 0', () => opts({ timeoutMs: 0 })],
  ['options', 'timeoutMs as string', () => opts({ timeoutMs: bad('1000') })],
  ['options', 'timeout (the 0.x name of timeoutMs)', () => opts(bad({ timeout: 1000 }))],
  ['options', 'timeoutMs NaN', () => opts({ timeoutMs: NaN })],
  ['options', 'namespace with NUL', () => opts({ namespace: 'a\0b' })],
  ['options', 'retry.maxAttempts 0', () => opts({ retry: { maxAttempts: 0 } })],
  ['options', 'retry.jitter 2', () => opts({ retry: { jitter: 2 } })],
  ['options', 'password without username', () => opts({ password: 'x' })],
  ['options', 'tls cert without key', () => opts({ tls: { ca: 'x', cert: 'y' } })],
  ['options', 'logger without methods', () => opts({ logger: bad({}) })],
];

async function leaseCount(): Promise<number> {
  const res = await fc.raw().leaseClient.leaseLeases({});
  return res.leases.length;
}

test(`${cases.length} bad inputs → VALIDATION_ERROR, etcd revision and leases unchanged`, async () => {
  assert.ok(cases.length >= 30);
  const failures: string[] = [];
  const rows: Array<[string, string, string]> = [];
  for (const [component, input, run] of cases) {
    const [revBefore, leasesBefore] = [await fc.revision(), await leaseCount()];
    let outcome: string;
    try {
      await run();
      outcome = 'accepted!';
    } catch (err) {
      const e = err as { name?: string; code?: string; message?: string };
      outcome = e.name === 'CoordinationError' ? e.code! : `${e.name}: ${e.message}`;
    }
    const [revAfter, leasesAfter] = [await fc.revision(), await leaseCount()];
    const wrote = revAfter !== revBefore ? ` revision ${revBefore}→${revAfter}` : '';
    const leased = leasesAfter !== leasesBefore ? ` leases ${leasesBefore}→${leasesAfter}` : '';
    if (outcome !== ErrorCode.Validation || wrote || leased) failures.push(`${component} / ${input}: ${outcome}${wrote}${leased}`);
    rows.push([component, input, `${outcome}${wrote}${leased}` || 'ok']);
  }
  const passed = cases.length - failures.length;
  writeSection(
    'bad-input',
    '7. Bad input',
    `${passed} of ${cases.length} cases rejected with VALIDATION_ERROR with etcd's revision and lease count unchanged.\n\n${table(['component', 'input', 'outcome'], rows)}`,
  );
  assert.deepEqual(failures, []);
});
