// ConfigCenter.entries(): keys with values and mod revisions under a prefix, read at one revision
// (coordctl's config ls / import diff / export stand on it).
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { PAGE_SIZE } from '../../src/client/paged-range.js';
import { clientOf } from '../../src/coordinator.js';
import { ErrorCode, type Coordinator } from '../../src/index.js';
import { etcdEndpoints, eventually, rawClient, testCoordinator } from '../helpers/etcd.js';
import { TcpProxy } from '../helpers/proxy.js';

/** More keys under `prefix` than one page holds (two pages), values 0..n-1, in a few txns. */
async function fillTwoPages(c: Coordinator, prefix: string): Promise<number> {
  const n = PAGE_SIZE + 100;
  const rpc = clientOf(c).rpc;
  for (let from = 0; from < n; from += 100) {
    const puts = Array.from({ length: Math.min(100, n - from) }, (_, i) => {
      const key = Buffer.from(clientOf(c).key(`${clientOf(c).dirs.config}${prefix}${String(from + i).padStart(4, '0')}`));
      return { request_put: { key, value: Buffer.from(String(from + i)) } };
    });
    await rpc.kv.txn({ success: puts }, { timeoutMs: 10_000 });
  }
  return n;
}

/** Counts the pages (range RPCs) the coordinator sends from now on; `between` runs after each page's answer. */
function countPages(c: Coordinator, between: (page: number) => Promise<void> = async () => undefined): { readonly pages: number } {
  const kv = clientOf(c).rpc.kv;
  const range = kv.range;
  const counter = { pages: 0 };
  kv.range = async (req, o) => {
    const page = ++counter.pages;
    const res = await range(req, o);
    await between(page);
    return res;
  };
  after(() => void (kv.range = range));
  return counter;
}

test('entries() returns decoded values with their mod revisions, in key order, and the read revision', async () => {
  const c = await testCoordinator();
  const b = await c.config.set('app/b', { port: 8080 });
  const a = await c.config.set('app/a', 'gochat');
  await c.config.set('app/a', 'gochat-v2');
  await c.config.set('other', 1);
  const { entries, revision } = await c.config.entries('app/');
  assert.deepEqual(entries, [
    { key: 'app/a', value: 'gochat-v2', revision: a.revision + 1n, version: 2 },
    { key: 'app/b', value: { port: 8080 }, revision: b.revision, version: 1 },
  ]);
  assert.ok(revision >= a.revision + 1n);
});

test('entries() of a value written raw (not JSON) gives the text; an empty prefix lists everything', async () => {
  const c = await testCoordinator();
  const etcd = await rawClient();
  await etcd.put(`${c.namespace}/config/raw`).value('plain text');
  await c.config.set('json', [1]);
  const { entries } = await c.config.entries('');
  assert.deepEqual(entries.map((e) => [e.key, e.value]), [['json', [1]], ['raw', 'plain text']]);
});

test('entries() of a prefix with NUL is VALIDATION_ERROR', async () => {
  const c = await testCoordinator();
  await assert.rejects(c.config.entries('a\0b'), { code: ErrorCode.Validation });
});

test('entries() over several pages reads them all at one revision: a write between two pages does not show up', async () => {
  const c = await testCoordinator();
  const n = await fillTwoPages(c, 'big/');
  let written = 0n;
  const counter = countPages(c, async (page) => {
    if (page !== 1) return;
    // Between the pages: a key of the second page changes, and a new one appears after the last.
    await c.config.set(`big/${String(n - 1).padStart(4, '0')}`, 'changed');
    written = (await c.config.set('big/9999', 'new')).revision;
  });
  const { entries, revision } = await c.config.entries('big/');
  assert.equal(counter.pages, 2);
  assert.equal(entries.length, n);
  assert.deepEqual(entries.at(-1), { key: `big/${String(n - 1).padStart(4, '0')}`, value: n - 1, revision: entries.at(-1)!.revision, version: 1 });
  assert.ok(revision < written, `read at ${revision}, before the writes (${written})`);
});

test('aborting entries() cancels the page in flight on the wire and reads no further page', async () => {
  const [endpoint] = await etcdEndpoints();
  const proxy = await TcpProxy.forUrl(endpoint!).start();
  after(() => proxy.stop());
  const c = await testCoordinator({ endpoints: [proxy.url] });
  await fillTwoPages(c, 'big/');
  const channel = clientOf(c).rpc.channel;
  const counter = countPages(c);
  // Every byte arrives a while late both ways: each page stays in flight long enough to abort it.
  await proxy.setMode('delay', 300);
  const ac = new AbortController();
  const read = c.config.entries('big/', { signal: ac.signal });
  await eventually(() => counter.pages === 2 && channel.openStreams === 1, { timeoutMs: 5000, intervalMs: 5, what: 'the second page in flight' });
  ac.abort();
  await assert.rejects(read, { code: ErrorCode.Cancelled });
  // Its answer would take 600 ms to come back through the proxy: a stream gone well before was reset.
  await eventually(() => channel.openStreams === 0, { timeoutMs: 200, intervalMs: 5, what: "the page's HTTP/2 stream to be reset" });
  assert.equal(counter.pages, 2, 'no page after the abort');
});
