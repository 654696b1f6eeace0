import { test } from 'node:test';
import assert from 'node:assert/strict';
import { resolveOptions, DEFAULT_OPTIONS } from '../../src/options.js';
import { ErrorCode } from '../../src/errors.js';

test('defaults are filled and the namespace is normalised', () => {
  const o = resolveOptions({ endpoints: ['127.0.0.1:2379'], namespace: '/gochat/' });
  assert.equal(o.timeout, DEFAULT_OPTIONS.timeout);
  assert.equal(o.namespace, 'gochat');
  assert.equal(o.prefix, 'gochat/');
  assert.deepEqual(o.endpoints, ['http://127.0.0.1:2379']);
  assert.equal(o.retry.maxAttempts, 3);
  assert.equal(resolveOptions({ endpoints: ['http://a:1'] }).prefix, '');
  assert.deepEqual(resolveOptions({ endpoints: ['a:1'], tls: { ca: 'PEM' } }).endpoints, ['https://a:1']);
  assert.equal(resolveOptions({ endpoints: ['a:1'], retry: { maxAttempts: 1 } }).retry.initialDelay, 100);
});

const bad: Array<[string, unknown]> = [
  ['no endpoints', { endpoints: [] }],
  ['endpoint not a URL', { endpoints: ['not a url'] }],
  ['endpoint with a trailing "/"', { endpoints: ['127.0.0.1:2379/'] }],
  ['URL endpoint with a trailing "/"', { endpoints: ['http://127.0.0.1:2379/'] }],
  ['endpoint with a path', { endpoints: ['http://127.0.0.1:2379/v3'] }],
  ['endpoints not an array', { endpoints: 'a:1' }],
  ['timeout negative', { endpoints: ['a:1'], timeout: -1 }],
  ['timeout NaN', { endpoints: ['a:1'], timeout: NaN }],
  ['timeout string', { endpoints: ['a:1'], timeout: '5s' }],
  ['namespace with NUL', { endpoints: ['a:1'], namespace: 'a\0b' }],
  ['password without user', { endpoints: ['a:1'], password: 'secret-pw' }],
  ['retry attempts 0', { endpoints: ['a:1'], retry: { maxAttempts: 0 } }],
  ['retry maxDelay < initialDelay', { endpoints: ['a:1'], retry: { initialDelay: 500, maxDelay: 10 } }],
  ['logger without methods', { endpoints: ['a:1'], logger: {} }],
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

test('an endpoint with a trailing "/" or a path says so (no wait for "cannot reach")', () => {
  for (const e of ['127.0.0.1:2379/', 'http://127.0.0.1:2379/', 'https://h:2379/v3']) {
    assert.throws(() => resolveOptions({ endpoints: [e] }), (err: { code?: string; message: string }) => err.code === ErrorCode.Validation && /no path/.test(err.message), e);
  }
});
