// coordctl's TLS flags end to end: an etcd that requires client certificates (mTLS), reached with
// --cacert/--cert/--key file paths; without a client certificate it exits 4; the private key's
// contents never reach the terminal.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePorts } from '../../scripts/lib/etcd.mjs';
import { createCoordinator, silentLogger } from '../../src/index.js';
import { coordctl } from '../helpers/cli.js';
import { eventually, uniqueNamespace } from '../helpers/etcd.js';

let pki: string;
let url: string;
let stopEtcd: () => Promise<void>;

/** CA, server certificate for 127.0.0.1, client certificate; EC keys (fast). */
function makePki(dir: string): void {
  const ssl = (...args: string[]) => execFileSync('openssl', args, { cwd: dir, stdio: ['ignore', 'ignore', 'pipe'], timeout: 15_000 });
  for (const n of ['ca', 'server', 'client']) ssl('ecparam', '-name', 'prime256v1', '-genkey', '-noout', '-out', `${n}.key`);
  ssl('req', '-x509', '-new', '-key', 'ca.key', '-out', 'ca.crt', '-days', '2', '-subj', '/CN=coordctl-test-ca');
  writeFileSync(join(dir, 'server.ext'), 'subjectAltName=IP:127.0.0.1\nextendedKeyUsage=serverAuth,clientAuth\n');
  writeFileSync(join(dir, 'client.ext'), 'extendedKeyUsage=clientAuth\n');
  for (const [n, cn] of [['server', '127.0.0.1'], ['client', 'coordctl']] as const) {
    ssl('req', '-new', '-key', `${n}.key`, '-out', `${n}.csr`, '-subj', `/CN=${cn}`);
    ssl('x509', '-req', '-in', `${n}.csr`, '-CA', 'ca.crt', '-CAkey', 'ca.key', '-CAcreateserial', '-out', `${n}.crt`, '-days', '2', '-extfile', `${n}.ext`);
  }
}

before(async () => {
  pki = mkdtempSync(join(tmpdir(), 'coordctl-pki-'));
  makePki(pki);
  const [client, peer] = await freePorts(2);
  const data = mkdtempSync(join(tmpdir(), 'coordctl-tls-etcd-'));
  url = `https://127.0.0.1:${client}`;
  const peerUrl = `http://127.0.0.1:${peer}`;
  const proc = spawn('etcd', [
    '--name', 'cli-tls', '--data-dir', data, '--listen-client-urls', url, '--advertise-client-urls', url,
    '--listen-peer-urls', peerUrl, '--initial-advertise-peer-urls', peerUrl, '--initial-cluster', `cli-tls=${peerUrl}`,
    '--cert-file', join(pki, 'server.crt'), '--key-file', join(pki, 'server.key'),
    '--client-cert-auth', '--trusted-ca-file', join(pki, 'ca.crt'), '--logger', 'zap', '--log-level', 'error',
  ], { stdio: 'ignore' });
  const exited = new Promise((r) => proc.once('exit', r));
  stopEtcd = async () => {
    proc.kill('SIGTERM');
    await exited;
    rmSync(data, { recursive: true, force: true });
  };
  const tls = { ca: readFileSync(join(pki, 'ca.crt')), cert: readFileSync(join(pki, 'client.crt')), key: readFileSync(join(pki, 'client.key')) };
  await eventually(
    async () => {
      const c = await createCoordinator({ endpoints: [url], tls, logger: silentLogger, timeoutMs: 500 });
      await c.close();
      return true;
    },
    { timeoutMs: 20_000, intervalMs: 100, what: 'the mTLS etcd to answer' },
  );
});
after(async () => {
  await stopEtcd?.();
  if (pki) rmSync(pki, { recursive: true, force: true });
});

const env = () => ({ COORD_ENDPOINTS: url, COORD_NAMESPACE: uniqueNamespace('cli-tls') });

test('--cacert, --cert and --key (file paths) reach an mTLS etcd', async () => {
  const e = env();
  const tlsFlags = ['--cacert', join(pki, 'ca.crt'), '--cert', join(pki, 'client.crt'), '--key', join(pki, 'client.key')];
  const set = await coordctl([...tlsFlags, '--verbose', 'config', 'set', 'k', '{"tls":true}'], e);
  assert.equal(set.code, 0, set.stderr);
  const get = await coordctl([...tlsFlags, '--json', 'config', 'get', 'k'], e);
  assert.deepEqual(JSON.parse(get.stdout), { key: 'k', value: { tls: true } });
  const keyPem = readFileSync(join(pki, 'client.key'), 'utf8');
  const secretLine = keyPem.split('\n')[1]!; // a line of the key's base64 body
  for (const r of [set, get]) assert.ok(!(r.stdout + r.stderr).includes(secretLine), 'private key printed');
});

test('without a client certificate the mTLS etcd is unreachable: exit 4, one line', async () => {
  const r = await coordctl(['--cacert', join(pki, 'ca.crt'), '--timeout', '800', 'config', 'ls'], env());
  assert.equal(r.code, 4);
  assert.equal(r.stderr.trim().split('\n').length, 1, r.stderr);
  assert.match(r.stderr, /CONNECTION_ERROR/);
});
