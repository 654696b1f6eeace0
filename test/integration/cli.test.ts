// coordctl as a process: help and exit codes, connection failures, usage errors, output modes,
// and that a password never reaches the terminal.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { writeFileSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePorts } from '../../scripts/lib/etcd.mjs';
import { cliEnv, coordctl } from '../helpers/cli.js';
import { rawClient } from '../helpers/etcd.js';

const STACK_LINE = /^\s+at /m;

test('--help lists the command groups, the COORD_* variables and every exit code', async () => {
  const r = await coordctl(['--help'], await cliEnv());
  assert.equal(r.code, 0);
  for (const text of ['config', 'services', 'locks', 'COORD_ENDPOINTS', 'COORD_PASSWORD', '--cacert', '--timeout', '--json']) {
    assert.ok(r.stdout.includes(text), `help mentions ${text}`);
  }
  for (const code of ['0  ok', '1  usage', '2  not found', '3  conflict', '4  connection']) assert.ok(r.stdout.includes(code), `help documents exit ${code}`);
});

test('subcommand help also documents the exit codes', async () => {
  const r = await coordctl(['config', 'set', '--help'], await cliEnv());
  assert.equal(r.code, 0);
  assert.match(r.stdout, /--if-revision/);
  assert.match(r.stdout, /3 {2}conflict/);
});

test('--version prints the package version', async () => {
  const r = await coordctl(['--version'], await cliEnv());
  assert.equal(r.code, 0);
  assert.match(r.stdout.trim(), /^\d+\.\d+\.\d+/);
});

test('an unknown command exits 1 with a hint', async () => {
  const r = await coordctl(['config', 'gett', 'x'], await cliEnv());
  assert.equal(r.code, 1);
  assert.match(r.stderr, /unknown command 'gett'/);
  assert.match(r.stderr, /Did you mean get\?|--help/);
});

test('a missing argument exits 1 with a hint', async () => {
  const r = await coordctl(['config', 'set', 'only-key'], await cliEnv());
  assert.equal(r.code, 1);
  assert.match(r.stderr, /missing required argument 'value'/);
  assert.match(r.stderr, /--help/);
});

test('a bad --timeout exits 1 naming the flag, before connecting', async () => {
  const r = await coordctl(['--timeout', 'soon', 'config', 'ls'], await cliEnv());
  assert.equal(r.code, 1);
  assert.match(r.stderr, /--timeout must be a positive integer/);
  assert.doesNotMatch(r.stderr, STACK_LINE);
});

test('a malformed endpoint exits 1 with the option named', async () => {
  const r = await coordctl(['--endpoints', 'not a url', 'config', 'ls'], await cliEnv());
  assert.equal(r.code, 1);
  assert.match(r.stderr, /endpoints/);
  assert.match(r.stderr, /VALIDATION_ERROR/);
});

test('an unreadable --cacert file exits 1', async () => {
  const r = await coordctl(['--cacert', '/nonexistent/ca.pem', 'config', 'ls'], await cliEnv());
  assert.equal(r.code, 1);
  assert.match(r.stderr, /cannot read --cacert file \/nonexistent\/ca\.pem: ENOENT/);
});

test('unreachable etcd exits 4 with exactly one line and no stack trace', async () => {
  const [port] = await freePorts(1);
  const r = await coordctl(['--endpoints', `127.0.0.1:${port}`, '--timeout', '400', 'config', 'get', 'app'], await cliEnv());
  assert.equal(r.code, 4);
  assert.equal(r.stdout, '');
  const lines = r.stderr.split('\n').filter((l) => l !== '');
  assert.equal(lines.length, 1, `one line, got: ${r.stderr}`);
  assert.match(lines[0]!, /^coordctl: cannot reach etcd at http:\/\/127\.0\.0\.1:\d+ within 400 ms \[CONNECTION_ERROR\]$/);
});

test('the password is never printed, not even with --verbose logs', async () => {
  const [port] = await freePorts(1);
  const secret = 'S3cret-pa55-word';
  const env = await cliEnv(undefined, { COORD_USER: 'root', COORD_PASSWORD: secret });
  const r = await coordctl(['--endpoints', `127.0.0.1:${port}`, '--timeout', '300', '--verbose', 'config', 'ls'], env);
  assert.equal(r.code, 4);
  assert.ok(r.stderr.length > 0);
  assert.ok(!r.stderr.includes(secret) && !r.stdout.includes(secret), 'password printed');
  const help = await coordctl(['--help'], env);
  assert.ok(!help.stdout.includes(secret), 'password in --help');
});

test('COORD_NAMESPACE scopes every key, and --namespace overrides it', async () => {
  const env = await cliEnv();
  assert.equal((await coordctl(['config', 'set', 'k', '1'], env)).code, 0);
  const etcd = await rawClient();
  assert.equal(await etcd.get(`${env['COORD_NAMESPACE']}/config/k`).string(), '1');
  const other = await coordctl(['--namespace', `${env['COORD_NAMESPACE']}-other`, 'config', 'get', 'k'], env);
  assert.equal(other.code, 2);
});

test('output piped is plain; FORCE_COLOR colours it; NO_COLOR wins over FORCE_COLOR', async () => {
  const env = await cliEnv();
  await coordctl(['config', 'set', 'k', '1'], env);
  const plain = await coordctl(['config', 'ls'], env);
  assert.equal(plain.code, 0);
  assert.doesNotMatch(plain.stdout, /\x1b\[/);
  const forced = await coordctl(['config', 'ls'], { ...env, FORCE_COLOR: '1' });
  assert.match(forced.stdout, /\x1b\[1mKEY/);
  const off = await coordctl(['config', 'ls'], { ...env, FORCE_COLOR: '1', NO_COLOR: '1' });
  assert.doesNotMatch(off.stdout, /\x1b\[/);
  const flag = await coordctl(['--no-color', 'config', 'ls'], { ...env, FORCE_COLOR: '1' });
  assert.doesNotMatch(flag.stdout, /\x1b\[/);
});

test('TLS flags are read from files: a key without a cert is a usage error', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'coordctl-tls-'));
  writeFileSync(join(dir, 'ca.pem'), 'not really a pem');
  const r = await coordctl(['--cacert', join(dir, 'ca.pem'), '--key', join(dir, 'ca.pem'), 'config', 'ls'], await cliEnv());
  assert.equal(r.code, 1);
  assert.match(r.stderr, /--cert and --key go together/);
});

test('with --json, an error is one JSON line on stderr carrying code and exit code', async () => {
  const [port] = await freePorts(1);
  const r = await coordctl(['--json', '--endpoints', `127.0.0.1:${port}`, '--timeout', '300', 'config', 'ls'], await cliEnv());
  assert.equal(r.code, 4);
  assert.deepEqual(JSON.parse(r.stderr), {
    error: { code: 'CONNECTION_ERROR', message: `cannot reach etcd at http://127.0.0.1:${port} within 300 ms`, exitCode: 4 },
  });
  const usage = await coordctl(['--json', '--timeout', 'x', 'config', 'ls'], await cliEnv());
  assert.equal(usage.code, 1);
  assert.equal((JSON.parse(usage.stderr) as { error: { code: string } }).error.code, 'USAGE_ERROR');
});
