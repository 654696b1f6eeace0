// Certificates made by openssl (a CA, a server certificate for IP 127.0.0.1, a client
// certificate, an unrelated CA) and a one-member etcd serving https with them, optionally
// requiring client certificates (mTLS). Used by the TLS tests.
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePorts } from '../../scripts/lib/etcd.mjs';
import { createCoordinator, silentLogger } from '../../src/index.js';

const pause = (ms: number) => new Promise((r) => setTimeout(r, ms));

export interface Pki {
  dir: string;
  ca: string;
  serverCert: string;
  serverKey: string;
  clientCert: string;
  clientKey: string;
  otherCa: string;
}

function openssl(dir: string, args: string[]): void {
  execFileSync('openssl', args, { cwd: dir, stdio: ['ignore', 'ignore', 'pipe'], timeout: 15_000 });
}

/** A CA, a server certificate for IP 127.0.0.1, a client certificate, and an unrelated CA. EC keys (fast). */
export function makePki(): Pki {
  const dir = mkdtempSync(join(tmpdir(), 'coord-pki-'));
  const key = (name: string) => openssl(dir, ['ecparam', '-name', 'prime256v1', '-genkey', '-noout', '-out', `${name}.key`]);
  for (const n of ['ca', 'other-ca', 'server', 'client']) key(n);
  openssl(dir, ['req', '-x509', '-new', '-key', 'ca.key', '-out', 'ca.crt', '-days', '2', '-subj', '/CN=coord-test-ca']);
  openssl(dir, ['req', '-x509', '-new', '-key', 'other-ca.key', '-out', 'other-ca.crt', '-days', '2', '-subj', '/CN=other-ca']);
  writeFileSync(join(dir, 'server.ext'), 'subjectAltName=IP:127.0.0.1\nextendedKeyUsage=serverAuth,clientAuth\n');
  writeFileSync(join(dir, 'client.ext'), 'extendedKeyUsage=clientAuth\n');
  for (const [n, cn] of [
    ['server', '127.0.0.1'],
    ['client', 'coord-client'],
  ] as const) {
    openssl(dir, ['req', '-new', '-key', `${n}.key`, '-out', `${n}.csr`, '-subj', `/CN=${cn}`]);
    openssl(dir, ['x509', '-req', '-in', `${n}.csr`, '-CA', 'ca.crt', '-CAkey', 'ca.key', '-CAcreateserial', '-out', `${n}.crt`, '-days', '2', '-extfile', `${n}.ext`]);
  }
  const read = (f: string) => readFileSync(join(dir, f), 'utf8');
  return {
    dir,
    ca: read('ca.crt'),
    serverCert: join(dir, 'server.crt'),
    serverKey: join(dir, 'server.key'),
    clientCert: read('client.crt'),
    clientKey: read('client.key'),
    otherCa: read('other-ca.crt'),
  };
}

/** One etcd member serving https on a free port (our own child; killed by PID in stop()). */
export async function startTlsEtcd(pki: Pki, mtls: boolean): Promise<{ url: string; stop(): Promise<void> }> {
  const [client, peer] = await freePorts(2);
  const data = mkdtempSync(join(tmpdir(), 'coord-tls-etcd-'));
  const url = `https://127.0.0.1:${client}`;
  const proc: ChildProcess = spawn(
    'etcd',
    [
      '--name', 'tls', '--data-dir', data,
      '--listen-client-urls', url, '--advertise-client-urls', url,
      '--listen-peer-urls', `http://127.0.0.1:${peer}`, '--initial-advertise-peer-urls', `http://127.0.0.1:${peer}`,
      '--initial-cluster', `tls=http://127.0.0.1:${peer}`,
      '--cert-file', pki.serverCert, '--key-file', pki.serverKey,
      ...(mtls ? ['--client-cert-auth', '--trusted-ca-file', join(pki.dir, 'ca.crt')] : []),
      '--logger', 'zap', '--log-level', 'error',
    ],
    { stdio: 'ignore' },
  );
  const exited = new Promise((r) => proc.once('exit', r));
  const stop = async () => {
    proc.kill('SIGTERM');
    await exited;
    rmSync(data, { recursive: true, force: true });
  };
  // Healthy = a TLS client with the right material connects (bounded).
  const tls = { ca: pki.ca, ...(mtls && { cert: pki.clientCert, key: pki.clientKey }) };
  for (let i = 0; i < 100; i++) {
    try {
      const c = await createCoordinator({ endpoints: [url], tls, logger: silentLogger, timeoutMs: 500 });
      await c.close();
      return { url, stop };
    } catch {
      await pause(100);
    }
  }
  await stop();
  throw new Error('TLS etcd did not come up');
}

