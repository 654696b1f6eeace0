// Scenario 8 — security: etcd with auth (root + a user whose role covers one namespace only), token
// expiry, TLS and mTLS with certificates made by openssl here, and logs that never carry a
// password, a TLS key or a config/service value.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { rmSync } from 'node:fs';
import { z } from 'zod';
import { createCoordinator, ErrorCode, silentLogger, type Coordinator, type CoordinatorOptions } from '../../src/index.js';
import { etcdctl, ROOT_PASSWORD } from '../helpers/auth-etcd.js';
import { makePki, startTlsEtcd, type Pki } from '../helpers/tls-etcd.js';
import type { EtcdClient } from '../../src/client/etcd-client.js';
import { captureLogger } from '../helpers/logs.js';
import { assertNoLeakedHandles, handleCounts, pause, startFaultCluster, type FaultCluster } from './harness.js';
import { table, writeSection } from './report.js';

const ALICE_PASSWORD = 'Al1ce-secret-never-logged';
const NS_A = '/faults-sec-a';
const NS_B = '/faults-sec-b';
const TOKEN_TTL_S = 2;
const CONFIG_SECRET = 'config-value-s3cr3t-7f3a';
const METADATA_SECRET = 'metadata-value-s3cr3t-91bc';

const rows: Array<[string, string]> = [];
after(() => writeSection('security', '8. Security', table(['check', 'result'], rows)));

async function expectCode(p: Promise<unknown>, code: string): Promise<number> {
  const started = performance.now();
  await assert.rejects(p, (err: { code?: string; name?: string }) => {
    assert.equal(err.name, 'CoordinationError');
    assert.equal(err.code, code);
    return true;
  });
  return Math.round(performance.now() - started);
}

describe('auth-enabled etcd', () => {
  let fc: FaultCluster;
  let baseline: Map<string, number>;
  const root = (ns: string, extra: Partial<CoordinatorOptions> = {}): Promise<Coordinator> =>
    createCoordinator({ endpoints: fc.endpoints, namespace: ns, username: 'root', password: ROOT_PASSWORD, logger: silentLogger, timeoutMs: 2000, ...extra });
  const alice = (ns: string, extra: Partial<CoordinatorOptions> = {}): Promise<Coordinator> =>
    createCoordinator({ endpoints: fc.endpoints, namespace: ns, username: 'alice', password: ALICE_PASSWORD, logger: silentLogger, timeoutMs: 2000, retry: { maxAttempts: 1 }, ...extra });

  before(async () => {
    fc = await startFaultCluster({ size: 1, extraArgs: ['--auth-token', 'simple', '--auth-token-ttl', String(TOKEN_TTL_S)] });
    const ep = fc.direct;
    etcdctl(ep, ['user', 'add', `root:${ROOT_PASSWORD}`]);
    etcdctl(ep, ['role', 'add', 'root']);
    etcdctl(ep, ['user', 'grant-role', 'root', 'root']);
    etcdctl(ep, ['role', 'add', 'ns-a']);
    etcdctl(ep, ['role', 'grant-permission', 'ns-a', 'readwrite', `${NS_A}/`, '--prefix=true']);
    etcdctl(ep, ['user', 'add', `alice:${ALICE_PASSWORD}`]);
    etcdctl(ep, ['user', 'grant-role', 'alice', 'ns-a']);
    etcdctl(ep, ['auth', 'enable']);
    // Authentication included: close() must leave no connection (src/client/pooled-auth.ts).
    baseline = handleCounts();
  });
  after(async () => {
    try {
      await assertNoLeakedHandles(baseline, fc.proxies);
    } finally {
      await fc?.stop(); // also when the guard fails: a live cluster would keep the process from exiting
    }
  });

  test('root with the right password uses every component', async () => {
    const c = await root(NS_B);
    try {
      await c.config.set('k', 'v');
      assert.equal(await c.config.get('k'), 'v');
      const lock = await c.lock.acquire('l', 2000);
      await lock.unlock();
    } finally {
      await c.close();
    }
    rows.push(['root, right password', 'config, lock: ok']);
  });

  test('a wrong password → AUTH_ERROR at once, one attempt, no retry storm', async () => {
    const logs = captureLogger();
    const wrong = 'Wr0ng-pa55-never-logged';
    const ms = await expectCode(
      createCoordinator({ endpoints: fc.endpoints, username: 'alice', password: wrong, namespace: NS_A, logger: logs.logger, timeoutMs: 5000 }),
      ErrorCode.Auth,
    );
    assert.ok(ms < 2000, `took ${ms} ms: the timeout was waited out`);
    assert.equal(logs.lines.filter((l) => l.level === 'warn').length, 0, 'no retries logged');
    logs.assertNotContains(wrong);
    rows.push(['wrong password', `AUTH_ERROR in ${ms} ms, 0 retries`]);
  });

  test('the limited user works in its namespace (config, lock, registry)', async () => {
    const logs = captureLogger();
    const c = await alice(NS_A, { logger: logs.logger });
    try {
      await c.config.set('app/secret', CONFIG_SECRET);
      assert.equal(await c.config.get('app/secret'), CONFIG_SECRET);
      const lock = await c.lock.acquire('job', 2000);
      await lock.unlock();
      const reg = await c.registry.register({ id: 'a1', name: 'svc', address: '127.0.0.1', port: 4000, metadata: { token: METADATA_SECRET }, ttlMs: 3000 });
      assert.equal((await c.registry.discover('svc')).length, 1);
      await reg.unregister();
    } finally {
      await c.close();
    }
    for (const s of [ALICE_PASSWORD, CONFIG_SECRET, METADATA_SECRET]) logs.assertNotContains(s);
    rows.push(['limited user in its namespace', 'config, lock, registry: ok']);
  });

  test("the limited user cannot read another namespace's keys → AUTH_ERROR, nothing retried", async () => {
    // Valid credentials connect whatever the role may read (least privilege); the first call
    // outside the role fails at once.
    const other = await alice(NS_B);
    let ms: number;
    try {
      ms = await expectCode(other.config.get('k'), ErrorCode.Auth);
    } finally {
      await other.close();
    }
    assert.ok(ms < 2000, `took ${ms} ms`);
    // And an unprefixed coordinator (namespace '') sees AUTH_ERROR on the other namespace's key.
    const c = await alice(NS_A);
    try {
      const client = (c as unknown as { client: EtcdClient }).client;
      await assert.rejects(client.rpc.kv.range({ key: Buffer.from(`${NS_B}/config/k`) }, client.callOptions()), /permission denied/);
    } finally {
      await c.close();
    }
    rows.push(['limited user, other namespace', `connects; AUTH_ERROR on its first call in ${ms} ms; raw read denied`]);
  });

  test('an expired auth token is renewed transparently', async () => {
    const c = await alice(NS_A);
    try {
      await c.config.set('t', 1);
      // etcd's simple token expires after TOKEN_TTL_S of disuse; wait it out (bounded) and use it again.
      await pause(TOKEN_TTL_S * 1000 + 1500);
      await c.config.set('t', 2);
      assert.equal(await c.config.get('t'), 2);
    } finally {
      await c.close();
    }
    rows.push([`token expiry (--auth-token-ttl ${TOKEN_TTL_S})`, 'next call re-authenticated, succeeded']);
  });
});

// ── TLS / mTLS ───────────────────────────────────────────────────────────────────────────────────

describe('TLS and mTLS', () => {
  let pki: Pki;
  let tlsEtcd: { url: string; stop(): Promise<void> };
  let mtlsEtcd: { url: string; stop(): Promise<void> };
  let baseline: Map<string, number>;
  before(async () => {
    pki = makePki();
    [tlsEtcd, mtlsEtcd] = await Promise.all([startTlsEtcd(pki, false), startTlsEtcd(pki, true)]);
    baseline = handleCounts();
  });
  after(async () => {
    try {
      await assertNoLeakedHandles(baseline);
    } finally {
      await Promise.all([tlsEtcd?.stop(), mtlsEtcd?.stop()]);
      if (pki) rmSync(pki.dir, { recursive: true, force: true });
    }
  });

  test('TLS with the right CA works; a wrong CA or plain http is a typed CONNECTION_ERROR', async () => {
    const c = await createCoordinator({ endpoints: [tlsEtcd.url], namespace: '/faults-tls', tls: { ca: pki.ca }, logger: silentLogger });
    try {
      await c.config.set('k', 1);
      assert.equal(await c.config.get('k'), 1);
    } finally {
      await c.close();
    }
    const wrongCa = await expectCode(createCoordinator({ endpoints: [tlsEtcd.url], tls: { ca: pki.otherCa }, logger: silentLogger, timeoutMs: 1000 }), ErrorCode.Connection);
    const plain = await expectCode(
      createCoordinator({ endpoints: [tlsEtcd.url.replace('https', 'http')], logger: silentLogger, timeoutMs: 1000 }),
      ErrorCode.Connection,
    );
    rows.push(['TLS (server cert, IP SAN 127.0.0.1)', `ok; wrong CA → CONNECTION_ERROR in ${wrongCa} ms; plain http → CONNECTION_ERROR in ${plain} ms`]);
  });

  test('mTLS with a client certificate works; without one → typed error; the key never reaches the logs', async () => {
    const logs = captureLogger();
    const c = await createCoordinator({
      endpoints: [mtlsEtcd.url],
      namespace: '/faults-mtls',
      tls: { ca: pki.ca, cert: pki.clientCert, key: Buffer.from(pki.clientKey) },
      logger: logs.logger,
    });
    try {
      await c.config.set('db/password', CONFIG_SECRET);
      const live = await c.config.live('db/password', { schema: z.string().startsWith('config-') });
      await c.config.set('db/password', `bad-${CONFIG_SECRET}`); // fails the schema: 'invalid', logged without the value
      await pause(200);
      assert.equal(live.value, CONFIG_SECRET);
      await live.close();
    } finally {
      await c.close();
    }
    const keyBody = pki.clientKey.split('\n').filter((l) => l && !l.startsWith('-----'))[0]!;
    logs.assertNotContains(keyBody);
    logs.assertNotContains(CONFIG_SECRET);
    const noCert = await expectCode(
      createCoordinator({ endpoints: [mtlsEtcd.url], tls: { ca: pki.ca }, logger: silentLogger, timeoutMs: 1000 }),
      ErrorCode.Connection,
    );
    rows.push(['mTLS (client cert)', `ok; no client cert → CONNECTION_ERROR in ${noCert} ms; logs hold no key, no value`]);
  });
});
