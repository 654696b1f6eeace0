// etcd with JWT tokens: each token carries the auth store's revision, so once any user or role changes
// etcd refuses every token issued before ("revision of auth store is old"). The client must take a new
// token and resend, as Go's client does, on every path: unary calls, txns, leases and watches.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { generateKeyPairSync } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startCluster, type EtcdCluster } from '../../scripts/lib/etcd.mjs';
import { createCoordinator, silentLogger, type Coordinator } from '../../src/index.js';
import { etcdctl, ROOT_PASSWORD } from '../helpers/auth-etcd.js';
import { eventually, uniqueNamespace } from '../helpers/etcd.js';

let cluster: EtcdCluster;
let keyDir: string;
let changes = 0;

before(async () => {
  keyDir = mkdtempSync(join(tmpdir(), 'coord-jwt-'));
  const { publicKey, privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
  writeFileSync(join(keyDir, 'pub.pem'), publicKey.export({ type: 'spki', format: 'pem' }));
  writeFileSync(join(keyDir, 'priv.pem'), privateKey.export({ type: 'pkcs8', format: 'pem' }));
  const token = `jwt,pub-key=${join(keyDir, 'pub.pem')},priv-key=${join(keyDir, 'priv.pem')},sign-method=RS256,ttl=10m`;
  cluster = await startCluster({ size: 1, extraArgs: ['--auth-token', token] });
  etcdctl(cluster.endpoints, ['user', 'add', `root:${ROOT_PASSWORD}`]);
  etcdctl(cluster.endpoints, ['role', 'add', 'root']);
  etcdctl(cluster.endpoints, ['user', 'grant-role', 'root', 'root']);
  etcdctl(cluster.endpoints, ['auth', 'enable']);
});
after(async () => {
  await cluster?.stop();
  rmSync(keyDir, { recursive: true, force: true });
});

/** An admin changes etcd's users: every JWT token issued before is refused from now on. */
function changeAuth(): void {
  etcdctl(cluster.endpoints, ['role', 'add', `jwt-test-${++changes}`], `root:${ROOT_PASSWORD}`);
}

async function connect(): Promise<Coordinator> {
  return createCoordinator({ endpoints: cluster.endpoints, namespace: uniqueNamespace('jwt'), username: 'root', password: ROOT_PASSWORD, logger: silentLogger, timeoutMs: 3000 });
}

test('after a user or role changes, the next write takes a new token and succeeds (it is not refused as bad input)', async () => {
  const c = await connect();
  try {
    await c.config.set('k', 1);
    changeAuth();
    await c.config.set('k', 2); // not retried by the retry policy: a write
    assert.equal(await c.config.get('k'), 2);
  } finally {
    await c.close();
  }
});

test('after an auth change, a lock is acquired and released (lease grant and txns on a new token)', async () => {
  const c = await connect();
  try {
    await (await c.lock.acquire('l', 5000)).unlock();
    changeAuth();
    const lock = await c.lock.acquire('l', 5000);
    await lock.unlock();
  } finally {
    await c.close();
  }
});

test('a watch opened after an auth change is created on a new token and sees the next write', async () => {
  const c = await connect();
  const stop = new AbortController();
  try {
    await c.config.set('w', 0);
    changeAuth();
    const watch = c.config.watch('w', { signal: stop.signal });
    await watch.ready;
    const seen: unknown[] = [];
    const reading = (async () => {
      for await (const ev of watch) seen.push(ev.value);
    })();
    await c.config.set('w', 1);
    await eventually(() => seen.includes(1), { timeoutMs: 5000, what: 'the write after the change' });
    stop.abort();
    await reading.catch(() => undefined);
  } finally {
    await c.close();
  }
});

test('a watch added to a stream opened before an auth change is created, and the watches already open go on', async () => {
  const c = await connect();
  const stop = new AbortController();
  const seen: unknown[] = [];
  const read = async (key: string): Promise<void> => {
    const watch = c.config.watch(key, { signal: stop.signal });
    await watch.ready;
    void (async () => {
      for await (const ev of watch) seen.push(`${key}=${String(ev.value)}`);
    })().catch(() => undefined);
  };
  try {
    await read('a'); // the shared Watch stream opens on the token of now
    changeAuth();
    await read('b'); // its create on that stream meets the old token
    await c.config.set('b', 1);
    await c.config.set('a', 1);
    await eventually(() => seen.includes('b=1') && seen.includes('a=1'), { timeoutMs: 5000, what: 'both writes' });
  } finally {
    stop.abort();
    await c.close();
  }
});
