// Least privilege on an auth-enabled etcd: a service user holding exactly the grants `coordctl
// roles` prints — applied with `--apply` (etcd's Auth API) or by running the printed etcdctl
// commands in a shell — connects, uses every capability it was granted, is refused with AUTH_ERROR
// (naming the call and the key range it needed) outside them, and keeps working after a refusal.
// Each test has its own namespace, role and user.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { PassThrough } from 'node:stream';
import {
  createCoordinator,
  ErrorCode,
  silentLogger,
  type Coordinator,
  type CoordinationError,
  type ConfigEvent,
  type LeaderInfo,
  type ServiceEvent,
} from '../../src/index.js';
import { createGrpcServiceManager, registerGrpcResolver } from '../../src/grpc.js';
import { run } from '../../src/cli/program.js';
import { etcdctl, startAuthEtcd, ROOT_PASSWORD } from '../helpers/auth-etcd.js';
import { coordctl } from '../helpers/cli.js';
import { eventually, uniqueNamespace } from '../helpers/etcd.js';
import { captureLogger } from '../helpers/logs.js';
import { TcpProxy } from '../helpers/proxy.js';
import { echoClient, echoServer } from '../fixtures/registry-echo.js';
import type { EtcdCluster } from '../../scripts/lib/etcd.mjs';

let etcd: EtcdCluster;
before(async () => {
  etcd = await startAuthEtcd();
});
after(async () => {
  await etcd?.stop();
});

const PASSWORD_ENV = 'LP_SERVICE_PASSWORD';

interface ServiceUser {
  ns: string;
  user: string;
  password: string;
  /** A coordinator of this user on its namespace (closed when the test ends). */
  connect(logs?: ReturnType<typeof captureLogger>): Promise<Coordinator>;
}

/** The output of an in-process `coordctl ...args` (no etcd needed: roles without --apply only prints). */
async function printed(args: string[]): Promise<string> {
  const stdout = new PassThrough();
  const stderr = new PassThrough();
  let out = '';
  let err = '';
  stdout.on('data', (d: Buffer) => (out += d.toString()));
  stderr.on('data', (d: Buffer) => (err += d.toString()));
  const code = await run(args, { stdout, stderr, env: {} });
  assert.equal(code, 0, err);
  return out;
}

/**
 * A role and user with what `coordctl roles svc <flags>` grants, on a namespace of their own:
 * `apply` runs coordctl --apply as root; `etcdctl` runs the printed commands in `sh -e` as root.
 */
async function grant(label: string, flags: string[], via: 'apply' | 'etcdctl'): Promise<ServiceUser> {
  const ns = uniqueNamespace(label);
  const user = `${label}-${randomBytes(3).toString('hex')}`;
  const password = `Svc-${randomBytes(8).toString('hex')}`;
  const args = ['roles', 'svc', '--role', user, '--service-user', user, '--password-env', PASSWORD_ENV, ...flags];
  if (via === 'apply') {
    const env = { COORD_ENDPOINTS: etcd.endpoints.join(','), COORD_NAMESPACE: ns, COORD_USER: 'root', COORD_PASSWORD: ROOT_PASSWORD, [PASSWORD_ENV]: password };
    const r = await coordctl([...args, '--apply'], env);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, new RegExp(`role ${user}: created`));
    assert.ok(!(r.stdout + r.stderr).includes(password) && !(r.stdout + r.stderr).includes(ROOT_PASSWORD), 'no password printed');
  } else {
    const script = await printed(['--namespace', ns, ...args]);
    assert.ok(!script.includes(password));
    execFileSync('sh', ['-e'], {
      input: script,
      env: { ...process.env, ETCDCTL_API: '3', ETCDCTL_ENDPOINTS: etcd.endpoints.join(','), ETCDCTL_USER: `root:${ROOT_PASSWORD}`, [PASSWORD_ENV]: password },
      stdio: ['pipe', 'pipe', 'pipe'],
      timeout: 30_000,
    });
  }
  return {
    ns,
    user,
    password,
    connect: async (logs) => {
      const c = await createCoordinator({ endpoints: etcd.endpoints, namespace: ns, username: user, password, logger: logs?.logger ?? silentLogger, retry: { maxAttempts: 1 } });
      after(() => c.close());
      return c;
    },
  };
}

/** root on the same namespace: writes what the service only reads, and checks what it wrote. */
async function rootOn(ns: string): Promise<Coordinator> {
  const c = await createCoordinator({ endpoints: etcd.endpoints, namespace: ns, username: 'root', password: ROOT_PASSWORD, logger: silentLogger });
  after(() => c.close());
  return c;
}

/** Asserts `p` rejects with AUTH_ERROR whose message names `operation` and every `needs` text. */
async function denied(p: Promise<unknown>, operation: string, ...needs: string[]): Promise<void> {
  await assert.rejects(p, (err: { name?: string; code?: string; message: string; cause?: unknown }) => {
    assert.equal(err.name, 'CoordinationError');
    assert.equal(err.code, ErrorCode.Auth, err.message);
    assert.ok(err.message.startsWith(operation), `"${err.message}" names ${operation}`);
    assert.match(err.message, /permission denied \(needs /);
    for (const n of needs) assert.ok(err.message.includes(n), `"${err.message}" names ${n}`);
    assert.ok(err.cause !== undefined, 'cause attached');
    return true;
  });
}

const WAIT = { timeoutMs: 10_000 };

/** Iterates a watch to its end: resolves if it ends, rejects with its failure. */
async function drain(watch: AsyncIterable<unknown> & { ready: Promise<unknown> }): Promise<void> {
  await watch.ready;
  for await (const _ of watch) assert.fail('no event expected');
}

// ── every capability, with exactly its grants ──────────────────────────────────────────────────

test('locks (--apply): two coordinators of the service user hand a contended lock over', async () => {
  const svc = await grant('lp-lock', ['--locks', 'jobs'], 'apply');
  const [a, b] = [await svc.connect(), await svc.connect()];
  const held = await a.lock.acquire('jobs', 5000);
  const waiting = b.lock.acquire('jobs', 5000);
  let got = false;
  void waiting.then(() => (got = true), () => undefined);
  await assert.rejects(b.lock.tryAcquire('jobs', 5000), { code: ErrorCode.Conflict });
  assert.equal(got, false, 'b waits while a holds');
  await held.unlock();
  const next = await waiting;
  assert.ok(next.fencingToken > held.fencingToken);
  await next.unlock();
});

test('locks (etcdctl): renew, ttl and withLock on the lock grant; putIfHeld also needs write on the keys it puts', async () => {
  const svc = await grant('lp-lock2', ['--locks', 'jobs', '--config-write', 'fenced'], 'etcdctl');
  const root = await rootOn(svc.ns);
  const c = await svc.connect();
  const held = await c.lock.acquire('jobs', 3000);
  await held.renew(6000);
  assert.ok((await held.remainingMs()) > 3000);
  await held.putIfHeld({ 'config/fenced': '"v1"' });
  assert.equal(await root.config.get('fenced'), 'v1');
  await held.unlock();
  assert.equal(await c.lock.withLock('jobs', 3000, async () => 'done'), 'done');
});

test('registry (etcdctl): register, discover and watch its own service; discover another one it may read', async () => {
  const svc = await grant('lp-reg', ['--register', 'chat', '--discover', 'user'], 'etcdctl');
  const root = await rootOn(svc.ns);
  const [a, b] = [await svc.connect(), await svc.connect()];
  await root.registry.register({ id: 'u1', name: 'user', address: '127.0.0.1', port: 7001, ttlMs: 10_000 });
  assert.deepEqual((await a.registry.discover('user')).map((s) => s.id), ['u1']);
  const users = a.registry.watch('user');
  await users.ready;
  const userEvents: ServiceEvent[] = [];
  void (async () => {
    for await (const e of users) userEvents.push(e);
  })();
  await root.registry.register({ id: 'u2', name: 'user', address: '127.0.0.1', port: 7004, ttlMs: 10_000 });
  await eventually(() => userEvents.some((e) => e.type === 'PUT' && e.service.id === 'u2'), { ...WAIT, what: 'the read-only watch to see u2' });
  await users.close();
  const reg = await a.registry.register({ id: 'c1', name: 'chat', address: '127.0.0.1', port: 7002, ttlMs: 10_000 });
  assert.deepEqual((await b.registry.discover('chat')).map((s) => s.id), ['c1']);
  const watch = b.registry.watch('chat');
  await watch.ready;
  const events: ServiceEvent[] = [];
  void (async () => {
    for await (const e of watch) events.push(e);
  })();
  const second = await a.registry.register({ id: 'c2', name: 'chat', address: '127.0.0.1', port: 7003, ttlMs: 10_000 });
  await second.unregister();
  await eventually(() => events.map((e) => `${e.type} ${e.service.id}`).join(',') === 'PUT c2,DELETE c2', { ...WAIT, what: 'PUT and DELETE of c2' });
  await watch.close();
  await reg.unregister();
});

test('gRPC resolver (--apply): etcd:///chat resolves through the service user\'s registry', async () => {
  const svc = await grant('lp-grpc', ['--register', 'chat'], 'apply');
  const c = await svc.connect();
  const scheme = `lp${randomBytes(3).toString('hex')}`;
  after(registerGrpcResolver(c.registry, { scheme }));
  const manager = createGrpcServiceManager(c.registry, echoServer('c1'), { name: 'chat', id: 'c1', ttlMs: 10_000, drainDelayMs: 0, signals: [] });
  await manager.start();
  after(() => manager.stop());
  const client = echoClient(`${scheme}:///chat`);
  after(() => client.close());
  const answer = await eventually(() => client.say('hi').catch(() => undefined), { ...WAIT, what: 'a call answered over etcd:///chat' });
  assert.deepEqual(answer, { text: 'hi', instance: 'c1' });
});

test('config (etcdctl): get, list, watch and live on read grants (one key, one prefix)', async () => {
  const svc = await grant('lp-cfg', ['--config-read', 'app.name,chat/'], 'etcdctl');
  const root = await rootOn(svc.ns);
  await root.config.set('app.name', 'gochat');
  await root.config.set('chat/limits', { max: 1 });
  const c = await svc.connect();
  assert.equal(await c.config.get('app.name'), 'gochat');
  assert.deepEqual(await c.config.list('chat/'), ['chat/limits']);
  const live = await c.config.live<string>('app.name');
  after(() => live.close());
  const watch = c.config.watch('chat/', { prefix: true });
  await watch.ready;
  const events: ConfigEvent[] = [];
  void (async () => {
    for await (const e of watch) events.push(e);
  })();
  await root.config.set('app.name', 'gochat-2');
  await root.config.set('chat/limits', { max: 2 });
  await eventually(() => live.value === 'gochat-2', { ...WAIT, what: 'the live view to follow' });
  await eventually(() => events.some((e) => e.key === 'chat/limits' && JSON.stringify(e.value) === '{"max":2}'), { ...WAIT, what: 'the prefix watch to deliver' });
  await watch.close();
});

test('election (--apply): campaign, proclaim, leader, observe, and the hand-over on resign', async () => {
  const svc = await grant('lp-elect', ['--elections', 'leader'], 'apply');
  const [a, b] = [await svc.connect(), await svc.connect()];
  const lead = await a.election.campaign('leader', 'a0');
  await lead.proclaim('a');
  assert.equal((await b.election.leader('leader'))?.value, 'a');
  const observation = b.election.observe('leader');
  after(() => observation.close());
  const seen: Array<LeaderInfo | undefined> = [];
  void (async () => {
    for await (const ev of observation) seen.push(ev.leader);
  })();
  await observation.ready;
  const next = b.election.campaign('leader', 'b');
  await lead.resign();
  const leadB = await next;
  await eventually(() => seen.at(-1)?.value === 'b', { ...WAIT, what: 'the observer to see b lead' });
  await leadB.resign();
});

test('ids (etcdctl): allocate distinct IDs from a pool, list and release them', async () => {
  const svc = await grant('lp-ids', ['--ids', 'workers'], 'etcdctl');
  const [a, b] = [await svc.connect(), await svc.connect()];
  const [x, y] = [await a.ids.allocate('workers', { min: 0, max: 3 }), await b.ids.allocate('workers', { min: 0, max: 3 })];
  assert.notEqual(x.id, y.id);
  assert.deepEqual((await a.ids.list('workers')).map((e) => e.id), [x.id, y.id].sort((p, q) => p - q));
  await x.release();
  await y.release();
});

test('semaphores (--apply): permits handed over between two coordinators, putIfHeld, withPermit, list', async () => {
  const svc = await grant('lp-sem', ['--semaphores', 'slots', '--config-write', 'fenced'], 'apply');
  const [a, b] = [await svc.connect(), await svc.connect()];
  const held = await a.semaphore.acquire('slots', { permits: 1 });
  await assert.rejects(b.semaphore.tryAcquire('slots', { permits: 1 }), { code: ErrorCode.Conflict });
  const waiting = b.semaphore.acquire('slots', { permits: 1 });
  waiting.catch(() => undefined); // awaited below; a failure above must not leave it unhandled
  // One name granted: its listing is list('<name>/'), inside the grant.
  await eventually(async () => (await a.semaphore.list('slots/'))[0]?.waiters === 1, { ...WAIT, what: 'b queued' });
  await held.putIfHeld({ 'config/fenced': '"p"' });
  await held.renew();
  assert.ok((await held.remainingMs()) > 0);
  await held.release();
  const next = await waiting;
  assert.ok(next.fencingToken > held.fencingToken);
  await next.release();
  assert.equal(await a.semaphore.withPermit('slots', { permits: 1 }, async () => 'done'), 'done');
  await denied(a.semaphore.acquire('other', { permits: 1 }), 'semaphore.acquire other', `on prefix ${svc.ns}/semaphores/other/`);
});

test('rwlocks (etcdctl): readers share, a writer waits for them, list; another name is refused', async () => {
  const svc = await grant('lp-rw', ['--rwlocks', 'catalog'], 'etcdctl');
  const [a, b] = [await svc.connect(), await svc.connect()];
  const r1 = await a.rwlock.acquireRead('catalog');
  const r2 = await b.rwlock.acquireRead('catalog');
  const w = b.rwlock.acquireWrite('catalog');
  w.catch(() => undefined); // awaited below
  await eventually(async () => (await a.rwlock.list('catalog/'))[0]?.waiters === 1, { ...WAIT, what: 'the writer queued' });
  await Promise.all([r1.unlock(), r2.unlock()]);
  const writer = await w;
  assert.equal((await a.rwlock.list('catalog/'))[0]?.mode, 'write');
  await writer.unlock();
  await denied(a.rwlock.acquireWrite('other'), 'rwlock.acquireWrite other', `on prefix ${svc.ns}/rwlocks/other/`);
});

test('config (--apply): set, CAS, history, rollback and delete on a write grant of one key', async () => {
  const svc = await grant('lp-cfgw', ['--config-write', 'app.name'], 'apply');
  const c = await svc.connect();
  const first = await c.config.set('app.name', 'a');
  const second = await c.config.set('app.name', 'b', { ifRevision: first.revision });
  await assert.rejects(c.config.set('app.name', 'c', { ifRevision: first.revision }), { code: ErrorCode.Conflict });
  assert.deepEqual((await c.config.history('app.name')).map((v) => v.value), ['b', 'a']);
  await c.config.rollback('app.name', first.revision, { ifRevision: second.revision });
  assert.equal(await c.config.get('app.name'), 'a');
  assert.equal(await c.config.delete('app.name'), true);
});

test('election (etcdctl): a user that may only observe follows the leader and cannot campaign', async () => {
  const observer = await grant('lp-obs', ['--observe', 'leader'], 'etcdctl');
  const root = await rootOn(observer.ns);
  const c = await observer.connect();
  const lead = await root.election.campaign('leader', 'r1');
  assert.equal((await c.election.leader('leader'))?.value, 'r1');
  const observation = c.election.observe('leader');
  after(() => observation.close());
  const seen: Array<LeaderInfo | undefined> = [];
  void (async () => {
    for await (const ev of observation) seen.push(ev.leader);
  })();
  await observation.ready;
  await lead.proclaim('r2');
  await eventually(() => seen.at(-1)?.value === 'r2', { ...WAIT, what: 'the observer to see the proclaimed value' });
  await denied(c.election.campaign('leader', 'x'), 'election.campaign leader', `readwrite on prefix ${observer.ns}/elections/leader/`);
  await lead.resign();
});

test("listings (etcdctl): each component's list() on grants of its whole directory", async () => {
  const svc = await grant('lp-list', ['--discover', '*', '--config-read', '--locks', '--observe', '*', '--ids'], 'etcdctl');
  const root = await rootOn(svc.ns);
  const c = await svc.connect();
  await root.registry.register({ id: 'u1', name: 'user', address: '127.0.0.1', port: 7030, ttlMs: 10_000 });
  await root.config.set('app/a', 1);
  const lead = await root.election.campaign('leader', 'r1');
  const lock = await c.lock.acquire('jobs', 5000);
  const id = await c.ids.allocate('workers');
  assert.deepEqual((await c.registry.list()).map((s) => s.id), ['u1']);
  assert.deepEqual((await c.config.entries('app/')).entries.map((e) => e.key), ['app/a']);
  assert.deepEqual((await c.lock.list()).map((l) => l.name), ['jobs']);
  assert.deepEqual((await c.election.list()).map((e) => e.name), ['leader']);
  assert.deepEqual((await c.ids.list('workers')).map((e) => e.id), [id.id]);
  await Promise.all([lock.unlock(), id.release(), lead.resign()]);
});

test('the narrowest grants of docs/PERMISSIONS.md: set and delete on write alone (CAS needs read too); lists on read alone', async () => {
  // Grants coordctl roles does not print (it grants readwrite for writers), given with etcdctl.
  const ns = uniqueNamespace('lp-narrow');
  const user = `lp-narrow-${randomBytes(3).toString('hex')}`;
  const password = `Svc-${randomBytes(8).toString('hex')}`;
  const root = `root:${ROOT_PASSWORD}`;
  for (const args of [
    ['user', 'add', `${user}:${password}`],
    ['role', 'add', user],
    ['user', 'grant-role', user, user],
    ['role', 'grant-permission', user, 'write', `${ns}/config/k`],
    ...['ids/p/', 'locks/', 'elections/', 'services/'].map((dir) => ['role', 'grant-permission', user, 'read', '--prefix=true', `${ns}/${dir}`]),
  ]) {
    etcdctl(etcd.endpoints, args, root);
  }
  const admin = await rootOn(ns);
  const c = await createCoordinator({ endpoints: etcd.endpoints, namespace: ns, username: user, password, logger: silentLogger, retry: { maxAttempts: 1 } });
  after(() => c.close());
  await c.config.set('k', 1);
  assert.equal(await admin.config.get('k'), 1);
  assert.equal(await c.config.delete('k'), true);
  await denied(c.config.set('k', 1, { ifRevision: 0n }), 'config.set k', `readwrite on ${ns}/config/k`);
  await denied(c.config.get('k'), 'config.get k', `read on ${ns}/config/k`);
  const [id, lock, lead, reg] = [
    await admin.ids.allocate('p'),
    await admin.lock.acquire('jobs', 5000),
    await admin.election.campaign('e', 'v'),
    await admin.registry.register({ id: 'u1', name: 'user', address: '127.0.0.1', port: 7040, ttlMs: 10_000 }),
  ];
  assert.deepEqual((await c.ids.list('p')).map((e) => e.id), [id.id]);
  assert.deepEqual((await c.lock.list()).map((l) => l.name), ['jobs']);
  assert.deepEqual((await c.election.list()).map((e) => e.name), ['e']);
  assert.deepEqual((await c.registry.list()).map((s) => s.id), ['u1']);
  await denied(c.lock.tryAcquire('jobs', 5000), 'lock.tryAcquire jobs', `readwrite on prefix ${ns}/locks/jobs/`);
  await Promise.all([id.release(), lock.unlock(), lead.resign(), reg.unregister()]);
});

test('a config-read-only user (read on <ns>/config/ alone) connects, says why at DEBUG, and reads', async () => {
  const svc = await grant('lp-ro', ['--config-read'], 'apply');
  const root = await rootOn(svc.ns);
  await root.config.set('app.name', 'gochat');
  const logs = captureLogger();
  const c = await svc.connect(logs);
  assert.equal(await c.config.get('app.name'), 'gochat');
  const line = logs.lines.find((l) => l.fields.operation === 'connect' && l.level === 'debug' && /credentials accepted/.test(l.message));
  assert.ok(line, 'a DEBUG line says the denied connect check proved the credentials');
  logs.assertNotContains(svc.password);
  await denied(c.config.set('app.name', 'x'), 'config.set app.name', `write on ${svc.ns}/config/app.name`);
});

// ── refused outside the grants, with the call and the key range it needed ──────────────────────

test('outside its grants every call fails with AUTH_ERROR naming the call and the key range it needed', async (t) => {
  const svc = await grant('lp-deny', ['--register', 'chat', '--discover', 'user', '--config-read', 'app/', '--locks', 'jobs', '--elections', 'leader', '--ids', 'workers'], 'apply');
  const c = await svc.connect();
  const ns = svc.ns;
  await t.test('config.set without a write grant', () => denied(c.config.set('app/name', 'x'), 'config.set app/name', `write on ${ns}/config/app/name`));
  await t.test('config.get of a key outside the read grant', () => denied(c.config.get('secret'), 'config.get secret', `read on ${ns}/config/secret`));
  await t.test('register of another service', () => denied(c.registry.register({ id: 'p1', name: 'push', address: '127.0.0.1', port: 7010, ttlMs: 5000 }), 'registry.list', `read on prefix ${ns}/services/push/`));
  await t.test('register of a service it may only discover', () => denied(c.registry.register({ id: 'u9', name: 'user', address: '127.0.0.1', port: 7011, ttlMs: 5000 }), 'registry.put', `write on ${ns}/services/user/u9`));
  await t.test('discover of a service it may not read', () => denied(c.registry.discover('push'), 'registry.list', `read on prefix ${ns}/services/push/`));
  await t.test('a lock outside', () => denied(c.lock.acquire('other', 5000), 'lock.acquire other', `readwrite on prefix ${ns}/locks/other/`, `readwrite on ${ns}/locks/other)`));
  await t.test('an election outside', () => denied(c.election.campaign('other', 'x'), 'election.campaign other', `readwrite on prefix ${ns}/elections/other/`));
  await t.test('an ID pool outside', () => denied(c.ids.allocate('other'), 'ids.scan', `read on prefix ${ns}/ids/other/`));
});

test('a watch etcd refuses to create fails with AUTH_ERROR (no retry), and the other watches on the shared stream go on', async () => {
  const svc = await grant('lp-watch', ['--config-read', 'app/'], 'etcdctl');
  const root = await rootOn(svc.ns);
  const logs = captureLogger();
  const c = await svc.connect(logs);
  const allowed = c.config.watch('app/', { prefix: true });
  await allowed.ready;
  const events: ConfigEvent[] = [];
  void (async () => {
    for await (const e of allowed) events.push(e);
  })();
  // From revision 1: no initial read, so the create itself is what etcd refuses (a cancel with
  // "permission denied" for that watcher alone).
  await denied(drain(c.config.watch('secret', { fromRevision: 1n })), 'config.watch config/secret', `read on ${svc.ns}/config/secret`);
  await root.config.set('app/x', 1);
  await eventually(() => events.some((e) => e.key === 'app/x'), { ...WAIT, what: 'the allowed watch to deliver after the refusal' });
  assert.equal(logs.lines.filter((l) => l.fields.operation === 'config.watch' && l.level === 'error').length, 1, 'refused once, not retried');
  assert.ok(!logs.lines.some((l) => /broken|reopening|resumed/.test(l.message)), 'the shared stream was not torn down');
  await allowed.close();
});

test('after refused calls, a watch still delivers, a registration stays alive past its TTL and a lock still acquires', async () => {
  const svc = await grant('lp-after', ['--register', 'chat', '--config-read', 'app/', '--locks', 'jobs'], 'apply');
  const root = await rootOn(svc.ns);
  const c = await svc.connect();
  const TTL = 2000;
  const reg = await c.registry.register({ id: 'c1', name: 'chat', address: '127.0.0.1', port: 7020, ttlMs: TTL });
  const watch = c.config.watch('app/', { prefix: true });
  await watch.ready;
  const events: ConfigEvent[] = [];
  void (async () => {
    for await (const e of watch) events.push(e);
  })();
  // Refused: a write, a lock, a registration and a watch create outside the grants.
  await assert.rejects(c.config.set('app/x', 1), { code: ErrorCode.Auth });
  await assert.rejects(c.lock.acquire('other', 5000), { code: ErrorCode.Auth });
  await assert.rejects(c.registry.register({ id: 'p1', name: 'push', address: '127.0.0.1', port: 7021, ttlMs: TTL }), { code: ErrorCode.Auth });
  await assert.rejects(drain(c.config.watch('secret', { fromRevision: 1n })), { code: ErrorCode.Auth });
  const refusedAt = performance.now();

  await root.config.set('app/x', 2);
  await eventually(() => events.some((e) => e.key === 'app/x'), { ...WAIT, what: 'the watch to deliver after the refusals' });
  const lock = await c.lock.acquire('jobs', 5000);
  await lock.unlock();
  // Kept alive on the shared keep-alive stream: registered (as root sees it) at every look until
  // twice its TTL has passed since the refusals.
  while (performance.now() - refusedAt < 2 * TTL) {
    assert.equal(reg.state, 'registered');
    assert.deepEqual((await root.registry.list('chat')).map((s) => s.id), ['c1'], 'registration kept alive');
    await new Promise((r) => setTimeout(r, 250));
  }
  await watch.close();
  await reg.unregister();
});

test('read revoked while discovering: the watch ends with AUTH_ERROR (no endless re-list), discover() is refused, live config is lost', async () => {
  const svc = await grant('lp-revoke', ['--discover', 'user', '--config-read', 'app.name'], 'apply');
  const root = await rootOn(svc.ns);
  await root.registry.register({ id: 'u1', name: 'user', address: '127.0.0.1', port: 7050, ttlMs: 10_000 });
  await root.config.set('app.name', 'gochat');
  // Through a proxy: etcd 3.4 keeps serving a watch whose permission is revoked (it checks at
  // create only), so cutting the connection is the trigger: every watch is re-created, and refused.
  const proxy = await TcpProxy.forUrl(etcd.endpoints[0]!).start();
  after(() => proxy.stop());
  const logs = captureLogger();
  const c = await createCoordinator({ endpoints: [proxy.url], namespace: svc.ns, username: svc.user, password: svc.password, logger: logs.logger, retry: { maxAttempts: 1 } });
  after(() => c.close());
  assert.deepEqual((await c.registry.discover('user')).map((s) => s.id), ['u1']);
  const watch = c.registry.watch('user');
  let outcome: { error?: unknown } | undefined;
  void drain(watch).then(() => (outcome = {}), (error: unknown) => (outcome = { error }));
  await watch.ready;
  const live = await c.config.live<string>('app.name');
  after(() => live.close());

  const asRoot = `root:${ROOT_PASSWORD}`;
  etcdctl(etcd.endpoints, ['role', 'revoke-permission', svc.user, `${svc.ns}/services/user/`, '--prefix=true'], asRoot);
  etcdctl(etcd.endpoints, ['role', 'revoke-permission', svc.user, `${svc.ns}/config/app.name`], asRoot);
  proxy.resetAll(); // harmless if etcd had cancelled the watches itself

  const { error } = await eventually(() => outcome, { ...WAIT, what: 'the discovery watch to end' });
  await denied(Promise.reject(error as CoordinationError), 'registry.', `read on prefix ${svc.ns}/services/user/`);
  assert.ok(!logs.lines.some((l) => /re-listing/.test(l.message) && l.fields.code === ErrorCode.Auth), 'a denial is not re-listed');
  // The ended cache is dropped: a fresh one lists, and is refused.
  await denied(c.registry.discover('user'), 'registry.list', `read on prefix ${svc.ns}/services/user/`);
  await eventually(() => live.signal.aborted, { ...WAIT, what: 'the live view to be lost' });
  assert.equal((live.signal.reason as CoordinationError).code, ErrorCode.Auth);
});
