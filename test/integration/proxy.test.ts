// The fault proxy itself: a coordinator through it works in `pass`, fails typed in `refuse`,
// times out (does not hang) in `blackhole`, and recovers when the proxy passes again.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { connect, createServer, type AddressInfo, type Socket } from 'node:net';
import { TcpProxy } from '../helpers/proxy.js';
import { etcdEndpoints, eventually } from '../helpers/etcd.js';
import { EtcdClient } from '../../src/client/etcd-client.js';
import { resolveOptions } from '../../src/options.js';
import { ErrorCode, silentLogger } from '../../src/index.js';

test('a client behind the proxy sees pass / refuse / blackhole / rst and recovers', async () => {
  const proxy = await TcpProxy.forUrl((await etcdEndpoints())[0]!).start();
  const client = new EtcdClient(resolveOptions({ endpoints: [proxy.url], timeoutMs: 800, logger: silentLogger, retry: { maxAttempts: 1 } }));
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

test('a connection that lost bytes in a blackhole is reset when the link heals; one that sent nothing through it goes on', async () => {
  const server = createServer((s) => s.on('error', () => undefined).pipe(s)); // echo; the reset reaches it too
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const proxy = await new TcpProxy('127.0.0.1', (server.address() as AddressInfo).port).start();
  const echo = async (s: Socket, text: string): Promise<string> => {
    s.write(text);
    const [chunk] = (await once(s, 'data')) as [Buffer];
    return chunk.toString();
  };
  const [lossy, quiet] = [connect(proxy.port, '127.0.0.1'), connect(proxy.port, '127.0.0.1')];
  try {
    assert.equal(await echo(lossy, 'a'), 'a');
    assert.equal(await echo(quiet, 'b'), 'b');
    await proxy.setMode('blackhole');
    lossy.write('lost');
    await eventually(() => proxy.droppedConnections === 1, { timeoutMs: 2000, what: 'the write to be dropped' });
    lossy.on('error', () => undefined); // ECONNRESET: what the test waits for
    const reset = new Promise((r) => lossy.once('close', r));
    await proxy.setMode('pass');
    await reset; // TCP would never deliver what came after the hole without it
    assert.equal(await echo(quiet, 'c'), 'c', 'a connection without a hole goes on');
  } finally {
    lossy.destroy();
    quiet.destroy();
    await proxy.stop();
    server.close();
  }
});
