import { test } from 'node:test';
import assert from 'node:assert/strict';
import { resolveOptions, DEFAULT_OPTIONS } from '../../src/options.js';
import { ErrorCode } from '../../src/errors.js';

test('defaults are filled and the namespace is normalised', () => {
  const o = resolveOptions({ endpoints: ['127.0.0.1:2379'], namespace: '/gochat/' });
  assert.equal(o.timeout, DEFAULT_OPTIONS.timeoutMs);
  assert.equal(o.namespace, '/gochat');
  assert.equal(o.prefix, '/gochat/');
  assert.deepEqual(o.endpoints, ['http://127.0.0.1:2379']);
  assert.equal(o.retry.maxAttempts, 3);
  assert.equal(resolveOptions({ endpoints: ['http://a:1'] }).prefix, '/');
  assert.deepEqual(resolveOptions({ endpoints: ['a:1'], tls: { ca: 'PEM' } }).endpoints, ['https://a:1']);
  assert.equal(resolveOptions({ endpoints: ['a:1'], retry: { maxAttempts: 1 } }).retry.initialDelayMs, 100);
});

test('with no namespace the layout is gochat Go defaults; namespace and prefixes join like path.Join', () => {
  const layout = (o: object) => {
    const r = resolveOptions({ endpoints: ['a:1'], ...o });
    return Object.fromEntries(Object.entries(r.dirs).map(([c, d]) => [c, r.prefix + d]));
  };
  assert.deepEqual(layout({}), { lock: '/locks/', registry: '/services/', config: '/config/', ids: '/ids/', election: '/elections/', semaphore: '/semaphores/', rwlock: '/rwlocks/' });
  assert.equal(layout({ namespace: 'gochat' }).lock, '/gochat/locks/');
  assert.equal(layout({ namespace: 'a//b/' }).config, '/a/b/config/');
  assert.equal(layout({ namespace: '/' }).registry, '/services/');
  assert.equal(layout({ prefixes: { lock: '/myapp/locks' } }).lock, '/myapp/locks/');
  assert.equal(layout({ namespace: 'gochat', prefixes: { config: 'cfg/' } }).config, '/gochat/cfg/');
  assert.equal(resolveOptions({ endpoints: ['a:1'] }).namespace, '');
});

test("the lock holds gochat TryAcquire's key unless told not to", () => {
  assert.equal(resolveOptions({ endpoints: ['a:1'] }).lock.holdTryAcquireKey, true);
  assert.equal(resolveOptions({ endpoints: ['a:1'], lock: {} }).lock.holdTryAcquireKey, true);
  assert.equal(resolveOptions({ endpoints: ['a:1'], lock: { holdTryAcquireKey: false } }).lock.holdTryAcquireKey, false);
});

const bad: Array<[string, unknown]> = [
  ['namespace with ..', { endpoints: ['a:1'], namespace: 'a/../b' }],
  ['prefix that escapes', { endpoints: ['a:1'], prefixes: { lock: '../locks' } }],
  ['empty prefix', { endpoints: ['a:1'], prefixes: { config: '/' } }],
  ['unknown component prefix', { endpoints: ['a:1'], prefixes: { queue: '/q' } }],
  ['no endpoints', { endpoints: [] }],
  ['endpoint not a URL', { endpoints: ['not a url'] }],
  ['endpoint with a trailing "/"', { endpoints: ['127.0.0.1:2379/'] }],
  ['URL endpoint with a trailing "/"', { endpoints: ['http://127.0.0.1:2379/'] }],
  ['endpoint with a path', { endpoints: ['http://127.0.0.1:2379/v3'] }],
  ['endpoints not an array', { endpoints: 'a:1' }],
  ['timeoutMs negative', { endpoints: ['a:1'], timeoutMs: -1 }],
  ['timeoutMs NaN', { endpoints: ['a:1'], timeoutMs: NaN }],
  ['timeoutMs string', { endpoints: ['a:1'], timeoutMs: '5s' }],
  ['namespace with NUL', { endpoints: ['a:1'], namespace: 'a\0b' }],
  ['password without user', { endpoints: ['a:1'], password: 'secret-pw' }],
  ['retry attempts 0', { endpoints: ['a:1'], retry: { maxAttempts: 0 } }],
  ['retry maxDelayMs < initialDelayMs', { endpoints: ['a:1'], retry: { initialDelayMs: 500, maxDelayMs: 10 } }],
  ['logger without methods', { endpoints: ['a:1'], logger: {} }],
  ['lock.holdTryAcquireKey not a boolean', { endpoints: ['a:1'], lock: { holdTryAcquireKey: 'no' } }],
  ['unknown lock setting', { endpoints: ['a:1'], lock: { holdBareKey: false } }],
  ['tls cert without key', { endpoints: ['a:1'], tls: { ca: 'x', cert: 'y' } }],
  ['unknown log level', { endpoints: ['a:1'], logLevel: 'loud' }],
];
for (const [name, options] of bad) {
  test(`bad option → VALIDATION_ERROR: ${name}`, () => {
    assert.throws(() => resolveOptions(options as never), (err: { code?: string; message: string }) => {
      assert.equal(err.code, ErrorCode.Validation);
      assert.ok(!err.message.includes('secret-pw'), 'message must not echo values');
      return true;
    });
  });
}

test('the 0.x names of durations (timeout, retry.initialDelay, retry.maxDelay) are VALIDATION_ERROR naming the new one, not ignored', () => {
  const renamed: Array<[object, RegExp]> = [
    [{ timeout: 1000 }, /timeout: renamed timeoutMs/],
    [{ retry: { initialDelay: 10 } }, /retry\.initialDelay: renamed retry\.initialDelayMs/],
    [{ retry: { maxDelay: 10 } }, /retry\.maxDelay: renamed retry\.maxDelayMs/],
  ];
  for (const [old, message] of renamed) {
    assert.throws(() => resolveOptions({ endpoints: ['a:1'], ...old } as never), (err: { code?: string; message: string }) => err.code === ErrorCode.Validation && message.test(err.message));
  }
});

test('an endpoint with a trailing "/" or a path says so (no wait for "cannot reach")', () => {
  for (const e of ['127.0.0.1:2379/', 'http://127.0.0.1:2379/', 'https://h:2379/v3']) {
    assert.throws(() => resolveOptions({ endpoints: [e] }), (err: { code?: string; message: string }) => err.code === ErrorCode.Validation && /no path/.test(err.message), e);
  }
});
