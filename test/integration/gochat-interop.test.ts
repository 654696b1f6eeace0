// Interop with gochat's Go services on their DEFAULT key layout (issue 13): a Go stand-in
// (test/fixtures/gochat-go/main.go) builds every key as gochat's Go module does — path.Join on
// "/locks", "/services", "/config" — and meets a coordinator created with no namespace; then again
// with a namespace, the Go side given the matching prefixes (what a Go service must pass to meet us).
import { after, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import { ErrorCode, type Coordinator } from '../../src/index.js';
import { buildGoProgram, goUnavailable } from '../../bench/go/build.js';
import { runChild } from '../helpers/child.js';
import { etcdEndpoints, eventually, rawClient, testCoordinator, uniqueNamespace } from '../helpers/etcd.js';

const skip = goUnavailable();
const SOURCE = fileURLToPath(new URL('../fixtures/gochat-go/main.go', import.meta.url));
const fixture = (name: string): string => fileURLToPath(new URL(`../fixtures/${name}`, import.meta.url));
const unique = (label: string): string => `${label}-${randomBytes(4).toString('hex')}`;

interface GoProcess {
  /** Parsed JSON lines printed so far. */
  lines(): Array<Record<string, unknown>>;
  /** Waits for a line with `field`. */
  line(field: string): Promise<Record<string, unknown>>;
  /** Closes stdin (hold modes release), resolves with the exit code. */
  finish(): Promise<number | null>;
  exited: Promise<number | null>;
  stderr(): string;
}

async function gochat(args: string[], ns: string): Promise<GoProcess> {
  const binary = await buildGoProgram(SOURCE, 'gochat-go');
  const endpoints = (await etcdEndpoints()).map((e) => e.replace(/^https?:\/\//, '')).join(',');
  const component = args[args.indexOf('-mode') + 1]!;
  // With a namespace, the Go side passes the matching prefix, as gochat's Go constructors take one.
  const dir = { counter: 'locks', tryhold: 'locks', register: 'services', discover: 'services', set: 'config', get: 'config' }[component];
  const prefix = ns && dir ? ['-prefix', `${ns}/${dir}`] : [];
  const proc = spawn(binary, ['-endpoints', endpoints, ...prefix, ...args], { stdio: ['pipe', 'pipe', 'pipe'] });
  let out = '';
  let err = '';
  proc.stdout.on('data', (d) => (out += d));
  proc.stderr.on('data', (d) => (err += d));
  const exited = new Promise<number | null>((resolve) => proc.once('exit', (code) => resolve(code)));
  const timer = setTimeout(() => proc.kill('SIGKILL'), 90_000);
  void exited.then(() => clearTimeout(timer));
  after(() => proc.kill('SIGKILL'));
  const lines = (): Array<Record<string, unknown>> =>
    out
      .split('\n')
      .filter((l) => l.startsWith('{'))
      .map((l) => JSON.parse(l) as Record<string, unknown>);
  return {
    lines,
    line: (field) => eventually(() => lines().find((l) => field in l), { timeoutMs: 30_000, what: `Go to print ${field}: ${err}` }),
    finish: () => {
      proc.stdin.end();
      return exited;
    },
    exited,
    stderr: () => err,
  };
}

/** Runs a one-shot Go mode and returns its last JSON line. */
async function gochatOnce(args: string[], ns: string): Promise<Record<string, unknown>> {
  const go = await gochat(args, ns);
  assert.equal(await go.exited, 0, go.stderr());
  return go.lines().at(-1)!;
}

for (const variant of ['no namespace', 'namespace'] as const) {
  describe(`gochat Go defaults, ${variant}`, { skip }, () => {
    const ns = variant === 'namespace' ? uniqueNamespace('gochat') : '';
    const coordinator = (): Promise<Coordinator> => testCoordinator({ namespace: ns });

    test('Go Acquire and our acquire on the same lock name exclude each other: the counter is exact', { timeout: 180_000 }, async () => {
      const [lock, counter, workers, rounds] = [unique('orders'), `/${unique('counter')}`, 3, 15];
      const env = { ETCD_ENDPOINTS: (await etcdEndpoints()).join(',') };
      const go = await Promise.all(Array.from({ length: workers }, () => gochat(['-mode', 'counter', '-key', lock, '-counter', counter, '-rounds', String(rounds)], ns)));
      const node = Array.from({ length: workers }, () =>
        runChild(fixture('lock-counter.ts'), [ns, String(rounds), lock, counter], { timeoutMs: 150_000, env }),
      );
      for (const g of go) assert.equal(await g.exited, 0, g.stderr());
      for (const r of await Promise.all(node)) assert.equal(r.code, 0, r.stderr);
      const raw = await rawClient();
      assert.equal(await raw.get(counter).string(), String(2 * workers * rounds));
      assert.deepEqual(await raw.getAll().prefix(`${ns}/locks/${lock}`).keys(), [], 'no lock keys left');
    });

    test("a Go TryAcquire holder (bare /locks/<key>) makes our tryAcquire CONFLICT and our acquire wait", { timeout: 60_000 }, async () => {
      const c = await coordinator();
      const lock = unique('job');
      const go = await gochat(['-mode', 'tryhold', '-key', lock], ns);
      assert.deepEqual(await go.line('acquired'), { acquired: true, key: `${ns}/locks/${lock}` });
      await assert.rejects(c.lock.tryAcquire(lock, 5000), { code: ErrorCode.Conflict });
      let held = false;
      const waiting = c.lock.acquire(lock, 5000).then((l) => ((held = true), l));
      const raw = await rawClient();
      await eventually(async () => (await raw.getAll().prefix(`${ns}/locks/${lock}/`).keys()).length === 1, { what: 'us to queue' });
      const [info] = await c.lock.list(lock);
      assert.equal(info?.holderKey, `${ns}/locks/${lock}`, 'list() names the Go holder');
      assert.equal(info?.waiters, 1);
      assert.equal(held, false);
      assert.equal(await go.finish(), 0, go.stderr());
      const ours = await waiting;
      await ours.unlock();
    });

    test('while we hold a lock, a Go TryAcquire of it fails; after unlock it succeeds', { timeout: 60_000 }, async () => {
      const c = await coordinator();
      const lock = unique('job');
      const ours = await c.lock.acquire(lock, 5000);
      const refused = await gochat(['-mode', 'tryhold', '-key', lock], ns);
      assert.equal((await refused.line('acquired'))['acquired'], false);
      assert.equal(await refused.exited, 0, refused.stderr());
      await ours.unlock();
      const go = await gochat(['-mode', 'tryhold', '-key', lock], ns);
      assert.equal((await go.line('acquired'))['acquired'], true);
      assert.equal(await go.finish(), 0, go.stderr());
    });

    test('Go registers: we discover it with its ttl and see it go', { timeout: 60_000 }, async () => {
      const c = await coordinator();
      const name = unique('chat');
      const go = await gochat(['-mode', 'register', '-name', name, '-id', 'go-1', '-address', '10.0.0.7', '-port', '9090', '-ttl', '10s'], ns);
      assert.equal((await go.line('registered'))['key'], `${ns}/services/${name}/go-1`);
      const found = await eventually(async () => {
        const list = await c.registry.discover(name);
        return list.length === 1 && list;
      });
      assert.deepEqual(found, [{ id: 'go-1', name, address: '10.0.0.7', port: 9090, metadata: { lang: 'go' }, ttlMs: 10_000 }]);
      assert.equal(await go.finish(), 0, go.stderr());
      await eventually(async () => (await c.registry.discover(name)).length === 0, { what: 'the Go instance to go' });
    });

    test("we register: gochat's Discover decodes our instance into its ServiceInfo", { timeout: 60_000 }, async () => {
      const c = await coordinator();
      const name = unique('chat');
      const reg = await c.registry.register({ id: 'node-1', name, address: '10.0.0.8', port: 7000, metadata: { lang: 'ts' }, ttlMs: 15_000 });
      const out = await gochatOnce(['-mode', 'discover', '-name', name], ns);
      assert.deepEqual(out['services'], [{ id: 'node-1', name, address: '10.0.0.8', port: 7000, metadata: { lang: 'ts' }, ttl: 15_000_000_000 }]);
      await reg.unregister();
    });

    test('config from Go: a raw Go string, a JSON object and a number read back as the same values', { timeout: 60_000 }, async () => {
      const c = await coordinator();
      const base = unique('app');
      const cases: Array<[string, string, unknown]> = [
        ['string', 'hello, gochat', 'hello, gochat'],
        ['json', '{"host":"db","port":3306,"tags":["a"]}', { host: 'db', port: 3306, tags: ['a'] }],
        ['number', '42.5', 42.5],
      ];
      for (const [kind, value, expected] of cases) {
        await gochatOnce(['-mode', 'set', '-key', `${base}/${kind}`, '-kind', kind, '-value', value], ns);
        assert.deepEqual(await c.config.get(`${base}/${kind}`), expected, kind);
      }
      assert.deepEqual((await c.config.list(`${base}/`)).sort(), ['json', 'number', 'string'].map((k) => `${base}/${k}`));
    });

    test("config from us: gochat's Get and GetObject return the same values", { timeout: 60_000 }, async () => {
      const c = await coordinator();
      const base = unique('app');
      const values: Record<string, unknown> = { string: 'plain text', object: { host: 'db', port: 3306, on: true }, number: 7 };
      for (const [k, v] of Object.entries(values)) {
        await c.config.set(`${base}/${k}`, v);
        const out = await gochatOnce(['-mode', 'get', '-key', `${base}/${k}`], ns);
        assert.deepEqual(out, { found: true, get: v, getObject: v, getObjectErr: '' }, k);
      }
    });
  });
}
