import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { createCoordinator, ErrorCode } from '../../src/index.js';
import { startAuthEtcd, ROOT_PASSWORD } from '../helpers/auth-etcd.js';
import type { EtcdCluster } from '../../scripts/lib/etcd.mjs';
import { captureLogger } from '../helpers/logs.js';
import { eventually } from '../helpers/etcd.js';
import { TcpProxy } from '../helpers/proxy.js';

let etcd: EtcdCluster;
before(async () => {
  etcd = await startAuthEtcd();
});
after(async () => {
  await etcd?.stop();
});

test('right user and password connect to an auth-enabled etcd', async () => {
  const logs = captureLogger();
  const coordinator = await createCoordinator({ endpoints: etcd.endpoints, username: 'root', password: ROOT_PASSWORD, logger: logs.logger });
  await coordinator.close();
  logs.assertNotContains(ROOT_PASSWORD);
});

test('a wrong password fails fast with AUTH_ERROR (no retry storm) and is never logged', async () => {
  const logs = captureLogger();
  const wrong = 'wrong-Pa55word-xyz';
  const started = performance.now();
  await assert.rejects(
    createCoordinator({ endpoints: etcd.endpoints, username: 'root', password: wrong, logger: logs.logger, timeoutMs: 5000 }),
    (err: { code: string; message: string }) => {
      assert.equal(err.code, ErrorCode.Auth);
      assert.match(err.message, /authentication failed/);
      assert.ok(!err.message.includes(wrong));
      return true;
    },
  );
  assert.ok(performance.now() - started < 2000, 'did not wait for the whole timeout');
  assert.equal(logs.lines.filter((l) => l.level === 'warn').length, 0, 'no retries');
  logs.assertNotContains(wrong);
});

test('no credentials on an auth-enabled etcd → AUTH_ERROR', async () => {
  await assert.rejects(createCoordinator({ endpoints: etcd.endpoints, logLevel: 'silent' }), { code: ErrorCode.Auth });
});

test('close() leaves no connection open on an auth-enabled etcd (authentication included)', async () => {
  const proxy = await TcpProxy.forUrl(etcd.endpoints[0]!).start();
  try {
    const coordinator = await createCoordinator({ endpoints: [proxy.url], username: 'root', password: ROOT_PASSWORD, logLevel: 'silent' });
    await coordinator.config.set('k', 1);
    await coordinator.close();
    await eventually(() => proxy.connections === 0, { timeoutMs: 5000, what: 'every connection closed' });
  } finally {
    await proxy.stop();
  }
});
