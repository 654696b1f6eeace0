import { test } from 'node:test';
import assert from 'node:assert/strict';
import { EtcdClient } from '../../src/client/etcd-client.js';
import { KeptLease, ttlSeconds } from '../../src/shared/kept-lease.js';
import { resolveOptions } from '../../src/options.js';
import { ErrorCode, silentLogger } from '../../src/index.js';
import { etcdEndpoints, eventually, rawClient, uniqueNamespace } from '../helpers/etcd.js';
import { captureLogger } from '../helpers/logs.js';
import { TcpProxy } from '../helpers/proxy.js';

async function client(endpoints?: string[], timeout = 1000): Promise<EtcdClient> {
  return new EtcdClient(
    resolveOptions({ endpoints: endpoints ?? (await etcdEndpoints()), namespace: uniqueNamespace('lease'), logger: silentLogger, timeoutMs: timeout, retry: { maxAttempts: 1 } }),
  );
}

/** A client behind its own proxy (to slow or cut it), logging at DEBUG into `lines`. */
async function proxiedClient(timeoutMs: number): Promise<{ proxy: TcpProxy; c: EtcdClient; lines: ReturnType<typeof captureLogger>['lines'] }> {
  const proxy = await TcpProxy.forUrl((await etcdEndpoints())[0]!).start();
  const { logger, lines } = captureLogger();
  const c = new EtcdClient(resolveOptions({ endpoints: [proxy.url], namespace: uniqueNamespace('lease'), logger, logLevel: 'debug', timeoutMs, retry: { maxAttempts: 1 } }));
  return { proxy, c, lines };
}

async function leaseTtl(id: string): Promise<number> {
  const raw = await rawClient();
  const res = await raw.leaseClient.leaseTimeToLive({ ID: id, keys: false });
  return Number(res.TTL);
}

test('ttlSeconds rounds up to whole seconds', () => {
  assert.equal(ttlSeconds(1), 1);
  assert.equal(ttlSeconds(1000), 1);
  assert.equal(ttlSeconds(1001), 2);
  assert.equal(ttlSeconds(30_000), 30);
});

test('a granted lease reports its TTL and revoke() deletes it (idempotently)', async () => {
  const c = await client();
  try {
    const lease = await KeptLease.grant(c, 5000);
    assert.equal(lease.ttlSeconds, 5);
    assert.match(lease.hexId, /^[0-9a-f]+$/);
    const ms = await lease.timeToLive();
    assert.ok(ms > 3000 && ms <= 5000, `ttl ${ms}`);
    assert.ok(lease.remainingMs() > 4000);
    await lease.revoke();
    await lease.revoke();
    assert.ok((await leaseTtl(lease.id)) <= 0);
    assert.equal(lease.isLost, false, 'a revoke we asked for is not a loss');
  } finally {
    await c.close();
  }
});

test('keep-alive holds a lease past its TTL', async () => {
  const c = await client();
  try {
    const lease = await KeptLease.grant(c, 2000, { keepAlive: true });
    const started = Date.now();
    await eventually(() => Date.now() - started > 3500, { timeoutMs: 5000, intervalMs: 100, what: '3.5 s to pass' });
    assert.ok((await leaseTtl(lease.id)) > 0, 'still alive after 1.75× TTL');
    assert.equal(lease.isLost, false);
    await lease.revoke();
  } finally {
    await c.close();
  }
});

test('a lease revoked behind our back is reported lost (NOT_FOUND) on the next keep-alive', async () => {
  const c = await client();
  try {
    const lease = await KeptLease.grant(c, 3000, { keepAlive: true });
    const raw = await rawClient();
    await raw.leaseClient.leaseRevoke({ ID: lease.id });
    await eventually(() => lease.signal.aborted, { timeoutMs: 3000, what: 'lost signal' });
    assert.equal((lease.signal.reason as { code: string }).code, ErrorCode.NotFound);
    await assert.rejects(lease.keepAliveOnce(), { code: ErrorCode.NotFound });
    await lease.revoke(); // no-op on a lost lease
  } finally {
    await c.close();
  }
});

test('a blackholed connection is declared lost within the TTL, not 2×TTL', async () => {
  const proxy = await TcpProxy.forUrl((await etcdEndpoints())[0]!).start();
  const c = await client([proxy.url], 500);
  try {
    const lease = await KeptLease.grant(c, 2000, { keepAlive: true });
    await lease.keepAliveOnce();
    await proxy.setMode('blackhole');
    const cut = performance.now();
    await eventually(() => lease.signal.aborted, { timeoutMs: 4000, intervalMs: 20, what: 'lost signal' });
    const after = performance.now() - cut;
    assert.ok(after <= 2000 + 250, `lost after ${Math.round(after)} ms`);
  } finally {
    await proxy.stop();
    await c.close();
  }
});

test('a keep-alive stream that breaks under a keep-alive in flight: it is sent again on a new stream, on the next member, and answered', async () => {
  // etcd 3.5+ may end the shared stream with an error that is no lease's loss ("not a primary
  // lessor", Unavailable); a cut connection ends it the same way for every lease on it.
  const [direct] = await etcdEndpoints();
  const proxy = await TcpProxy.forUrl(direct!).start();
  const c = await client([proxy.url, direct!], 3000);
  try {
    const lease = await KeptLease.grant(c, 6000);
    await lease.keepAliveOnce(); // the stream is open, through the proxy
    await proxy.setMode('delay', 2000);
    const inFlight = lease.keepAliveOnce();
    await new Promise((r) => setImmediate(r)); // written to the open stream (a resolved open() is a microtask away)
    proxy.resetAll();
    assert.equal(await inFlight, 6, 'answered, not failed with the stream');
    assert.equal(lease.isLost, false);
    await lease.revoke();
  } finally {
    await proxy.stop();
    await c.close();
  }
});

/** Counts the LeaseKeepAlive messages `c` writes from now on. */
function countKeepAlives(c: EtcdClient): () => number {
  let n = 0;
  const channel = c.rpc.channel;
  const open = channel.stream.bind(channel);
  channel.stream = (path, ...rest) => {
    const s = open(path, ...rest);
    if (path.endsWith('/LeaseKeepAlive')) {
      const write = s.write.bind(s);
      s.write = (data) => (n++, write(data));
    }
    return s;
  };
  return () => n;
}

test('stopKeepAlive() with a keep-alive in flight: its answer does not start the loop again', async () => {
  const proxy = await TcpProxy.forUrl((await etcdEndpoints())[0]!).start();
  const c = await client([proxy.url], 3000);
  try {
    const lease = await KeptLease.grant(c, 3000); // a keep-alive every second
    const sent = countKeepAlives(c);
    await proxy.setMode('delay', 250);
    lease.startKeepAlive();
    await eventually(() => sent() === 1, { timeoutMs: 3000, intervalMs: 10, what: 'the first keep-alive' });
    const before = lease.remainingMs();
    lease.stopKeepAlive(); // while its answer is on the way back
    await eventually(() => lease.remainingMs() > before, { timeoutMs: 3000, intervalMs: 10, what: 'the answer' });
    // The loop would have sent its next keep-alive a second after that answer.
    await new Promise((r) => setTimeout(r, 1500));
    assert.equal(sent(), 1, 'no keep-alive after stopKeepAlive()');
    await lease.revoke();
  } finally {
    await proxy.stop();
    await c.close();
  }
});

test('a revoke that fails can be tried again, and the second one revokes the lease in etcd', async () => {
  const proxy = await TcpProxy.forUrl((await etcdEndpoints())[0]!).start();
  const c = await client([proxy.url], 500);
  try {
    const lease = await KeptLease.grant(c, 10_000);
    await proxy.setMode('refuse');
    await assert.rejects(lease.revoke(), (err: { code?: string }) => err.code !== ErrorCode.NotFound);
    assert.ok((await leaseTtl(lease.id)) > 0, 'still in etcd');
    await proxy.setMode('pass');
    await lease.revoke();
    assert.ok((await leaseTtl(lease.id)) <= 0, 'revoked in etcd');
    await lease.revoke(); // and idempotent
  } finally {
    await proxy.stop();
    await c.close();
  }
});

test('a revoke slower than the TTL does not report the lease lost while it is in flight', async () => {
  const { proxy, c, lines } = await proxiedClient(5000);
  try {
    const lease = await KeptLease.grant(c, 1000); // etcd's minimum applies: 2 s with its default timings
    // Each way: the revoke's answer arrives after the TTL ran out.
    await proxy.setMode('delay', (lease.ttlSeconds * 1000) / 2 + 300);
    await lease.revoke();
    assert.ok(lease.remainingMs() <= 0, 'the TTL ran out while the revoke was in flight');
    assert.equal(lease.signal.aborted, false, 'given up, not lost');
    assert.equal(lines.filter((l) => /lease lost/.test(l.message)).length, 0);
  } finally {
    await proxy.stop();
    await c.close();
  }
});

test('close() revokes every lease the client owns', async () => {
  const c = await client();
  const a = await KeptLease.grant(c, 10_000, { keepAlive: true });
  const b = await KeptLease.grant(c, 10_000);
  await c.close();
  assert.ok((await leaseTtl(a.id)) <= 0);
  assert.ok((await leaseTtl(b.id)) <= 0);
});

test('a grant aborted while in flight rejects at once and revokes the lease etcd still grants', async () => {
  const { proxy, c, lines } = await proxiedClient(3000);
  try {
    await c.ping(); // connected: only the grant itself is slowed
    await proxy.setMode('delay', 400);
    const controller = new AbortController();
    const granting = KeptLease.grant(c, 30_000, { signal: controller.signal });
    setTimeout(() => controller.abort(), 50);
    const started = performance.now();
    await assert.rejects(granting, (err: { code?: string }) => err.code === ErrorCode.Cancelled);
    assert.ok(performance.now() - started < 300, 'rejected promptly, not when etcd answered');
    const revoked = await eventually(() => lines.find((l) => l.fields.operation === 'lease.revoke' && l.message === 'operation success'), {
      timeoutMs: 5000,
      what: 'the late lease revoked',
    });
    const id = BigInt(`0x${String(revoked.fields.key)}`).toString();
    assert.ok((await leaseTtl(id)) <= 0, 'the lease granted after the abort is gone');
  } finally {
    await proxy.stop();
    await c.close();
  }
});
