// Config on an auth-enabled etcd: a user whose role cannot read the config keys gets AUTH_ERROR
// from reads and from a watch's iteration (never an endless retry), and losing the permission
// while watching (etcd cancels the watcher) ends the watch with AUTH_ERROR instead of a resync.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { createCoordinator, ErrorCode, silentLogger } from '../../src/index.js';
import { etcdctl, startAuthEtcd, ROOT_PASSWORD } from '../helpers/auth-etcd.js';
import type { EtcdCluster } from '../../scripts/lib/etcd.mjs';
import { TcpProxy } from '../helpers/proxy.js';
import { uniqueNamespace } from '../helpers/etcd.js';
import { captureLogger } from '../helpers/logs.js';

let etcd: EtcdCluster;
before(async () => {
  etcd = await startAuthEtcd();
});
after(async () => {
  await etcd?.stop();
});

const PASSWORD = 'cfg-user-pa55';
const ROOT = `root:${ROOT_PASSWORD}`;

/** A user whose role may read/write [from, to). */
function user(name: string, from: string, to: string): void {
  etcdctl(etcd.endpoints, ['user', 'add', `${name}:${PASSWORD}`], ROOT);
  etcdctl(etcd.endpoints, ['role', 'add', name], ROOT);
  etcdctl(etcd.endpoints, ['role', 'grant-permission', name, 'readwrite', from, to], ROOT);
  etcdctl(etcd.endpoints, ['user', 'grant-role', name, name], ROOT);
}

test('without permission on <ns>/config/, get and a watch fail with AUTH_ERROR', async () => {
  const ns = uniqueNamespace('auth');
  user('cfgnone', `${ns}/`, `${ns}/config/`); // the namespace minus its config keys
  const coord = await createCoordinator({ endpoints: etcd.endpoints, namespace: ns, username: 'cfgnone', password: PASSWORD, logger: silentLogger, retry: { maxAttempts: 1 } });
  try {
    await assert.rejects(coord.config.get('k'), { code: ErrorCode.Auth });
    const watch = coord.config.watch('k');
    await assert.rejects(watch.ready, { code: ErrorCode.Auth });
    await assert.rejects(
      (async () => {
        for await (const _ of watch) assert.fail('no event expected');
      })(),
      { code: ErrorCode.Auth },
    );
  } finally {
    await coord.close();
  }
});

test('a permission revoked while watching ends the watch with AUTH_ERROR, not a compaction resync', async () => {
  const ns = uniqueNamespace('auth');
  user('cfglose', `${ns}/`, `${ns}0`);
  const LOGS = captureLogger();
  const proxy = await TcpProxy.forUrl(etcd.endpoints[0]!).start();
  const coord = await createCoordinator({ endpoints: [proxy.url], namespace: ns, username: 'cfglose', password: PASSWORD, logger: LOGS.logger, retry: { maxAttempts: 1 } });
  try {
    const watch = coord.config.watch('k');
    await watch.ready;
    const run = (async () => {
      for await (const _ of watch) {
        /* events until the watch fails */
      }
    })();
    etcdctl(etcd.endpoints, ['role', 'revoke-permission', 'cfglose', `${ns}/`, `${ns}0`], ROOT);
    etcdctl(etcd.endpoints, ['role', 'grant-permission', 'cfglose', 'read', `${ns}/`], ROOT);
    proxy.resetAll();
    await assert.rejects(run, { code: ErrorCode.Auth });
    assert.ok(!LOGS.lines.some((l) => /compacted/.test(l.message)), 'not mistaken for a compaction');
    assert.ok(LOGS.lines.some((l) => l.level === 'error' && l.fields.operation === 'config.watch' && l.fields.code === ErrorCode.Auth));
  } finally {
    await coord.close();
    await proxy.stop();
  }
});
