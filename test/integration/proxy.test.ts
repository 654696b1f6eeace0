// The fault proxy itself: a coordinator through it works in `pass`, fails typed in `refuse`,
// times out (does not hang) in `blackhole`, and recovers when the proxy passes again.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { TcpProxy } from '../helpers/proxy.js';
import { etcdEndpoints } from '../helpers/etcd.js';
import { EtcdClient } from '../../src/client/etcd-client.js';
import { resolveOptions } from '../../src/options.js';
import { ErrorCode, silentLogger } from '../../src/index.js';

test('a client behind the proxy sees pass / refuse / blackhole / rst and recovers', async () => {
  const proxy = await TcpProxy.forUrl((await etcdEndpoints())[0]!).start();
  const client = new EtcdClient(resolveOptions({ endpoints: [proxy.url], timeout: 800, logger: silentLogger, retry: { maxAttempts: 1 } }));
  const ping = () => client.call('ping', '', (o) => client.rpc.kv.range({ key: Buffer.from(client.key('x')) }, o), { idempotent: true });
  try {
    await ping();
    await proxy.setMode('refuse');
    await assert.rejects(ping(), (e: { code: string }) => [ErrorCode.Connection, ErrorCode.Timeout].includes(e.code as never));
    await proxy.setMode('pass');
    // the channel reconnects with backoff (≤ 2 s); a few tries are allowed
    let ok = false;
    for (let i = 0; i < 20 && !ok; i++) ok = await ping().then(() => true, () => new Promise((r) => setTimeout(() => r(false), 200)));
    assert.ok(ok, 'recovered after refuse');
    await proxy.setMode('blackhole');
    const started = performance.now();
    await assert.rejects(ping(), { code: ErrorCode.Timeout });
    assert.ok(performance.now() - started < 800 + 300);
    await proxy.setMode('rst');
    await proxy.setMode('pass');
    ok = false;
    for (let i = 0; i < 20 && !ok; i++) ok = await ping().then(() => true, () => new Promise((r) => setTimeout(() => r(false), 200)));
    assert.ok(ok, 'recovered after blackhole + rst');
  } finally {
    await client.close();
    await proxy.stop();
  }
});
