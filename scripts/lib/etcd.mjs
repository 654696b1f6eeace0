// Throwaway etcd for development, tests, the demo and benchmarks.
// Members listen on free loopback ports only, keep their data on tmpfs when there is one,
// and are stopped by the PID we started. Nothing here assumes port 2379 is free.
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, openSync, closeSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const HEALTH_TIMEOUT_MS = 20_000;

function onPath(cmd) {
  return spawnSync('sh', ['-c', `command -v ${cmd}`], { encoding: 'utf8' }).status === 0;
}

/**
 * Makes sure `etcd` (and `etcdctl`, which the auth tests use) are on PATH: installs Debian's
 * etcd-server and etcd-client when we are root with apt, else explains.
 */
export function ensureEtcd({ quiet = false } = {}) {
  if (onPath('etcd') && onPath('etcdctl')) return;
  const isRoot = typeof process.getuid === 'function' && process.getuid() === 0;
  if (isRoot && onPath('apt-get')) {
    if (!quiet) console.error('[etcd] etcd or etcdctl not found; installing Debian packages etcd-server and etcd-client...');
    const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
    const update = spawnSync('apt-get', ['update', '-qq'], { stdio: ['ignore', 'ignore', 'inherit'], env });
    if (update.status !== 0) throw new Error('apt-get update failed; install etcd by hand: apt-get install -y etcd-server');
    const install = spawnSync('apt-get', ['install', '-y', '-qq', 'etcd-server', 'etcd-client'], {
      stdio: ['ignore', 'ignore', 'inherit'],
      env,
    });
    if (install.status !== 0 || !onPath('etcd') || !onPath('etcdctl')) {
      throw new Error('apt-get install etcd-server etcd-client failed; install etcd 3.4+ (with etcdctl) by hand and put it on PATH');
    }
    // Debian may start a system etcd on 2379; we never use it, but we do not leave one we caused running.
    spawnSync('sh', ['-c', 'command -v systemctl >/dev/null && systemctl disable --now etcd >/dev/null 2>&1 || true']);
    return;
  }
  throw new Error(
    'etcd or etcdctl not found on PATH. Install etcd 3.4+ (Debian/Ubuntu: sudo apt-get install -y etcd-server etcd-client; ' +
      'others: https://etcd.io/docs/latest/install/) and run again.',
  );
}

/**
 * Makes sure Go and etcd's Go client sources are there for the Go interop tests and benchmarks
 * (they build gochat's Go side in GOPATH mode): installs Debian's golang-go and
 * golang-etcd-server-dev when we are root with apt. Returns why Go is unavailable, or undefined.
 */
export function ensureGo({ quiet = false } = {}) {
  const sources = '/usr/share/gocode/src/go.etcd.io/etcd/clientv3/concurrency';
  if (onPath('go') && existsSync(sources)) return undefined;
  const isRoot = typeof process.getuid === 'function' && process.getuid() === 0;
  if (!isRoot || !onPath('apt-get')) {
    return 'Go interop tests need go and etcd\'s Go sources: sudo apt-get install -y golang-go golang-etcd-server-dev';
  }
  if (!quiet) console.error('[go] installing Debian packages golang-go and golang-etcd-server-dev (Go interop tests)...');
  const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
  spawnSync('apt-get', ['update', '-qq'], { stdio: ['ignore', 'ignore', 'inherit'], env });
  const install = spawnSync('apt-get', ['install', '-y', '-qq', '--no-install-recommends', 'golang-go', 'golang-etcd-server-dev'], {
    stdio: ['ignore', 'ignore', 'inherit'],
    env,
  });
  if (install.status !== 0 || !onPath('go') || !existsSync(sources)) return 'apt-get install golang-go golang-etcd-server-dev failed';
  return undefined;
}

/** Reserves `n` distinct free loopback ports (bind to :0, read the port, release). */
export async function freePorts(n) {
  const servers = [];
  try {
    for (let i = 0; i < n; i++) {
      const srv = createServer();
      await new Promise((resolve, reject) => {
        srv.once('error', reject);
        srv.listen(0, '127.0.0.1', resolve);
      });
      servers.push(srv);
    }
    return servers.map((s) => s.address().port);
  } finally {
    await Promise.all(servers.map((s) => new Promise((r) => s.close(r))));
  }
}

function dataRoot() {
  return existsSync('/dev/shm') ? '/dev/shm' : tmpdir();
}

async function waitHealthy(clientUrl, deadline, member) {
  let last = 'no answer';
  while (Date.now() < deadline) {
    if (member && member.exitCode !== null) throw new Error(`etcd ${member.name} exited early (code ${member.exitCode}); see ${member.logFile}`);
    try {
      const res = await fetch(`${clientUrl}/health`, { signal: AbortSignal.timeout(1000) });
      const body = await res.json();
      if (body.health === 'true' || body.health === true) return;
      last = JSON.stringify(body);
    } catch (err) {
      last = err.message;
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`etcd at ${clientUrl} not healthy in time (${last})`);
}

/** One etcd process we started. Knows how to stop, pause, resume and restart itself by PID. */
export class EtcdMember {
  constructor({ name, clientPort, peerPort, initialCluster, token, dataDir, extraArgs = [], bin = 'etcd' }) {
    Object.assign(this, { name, clientPort, peerPort, initialCluster, token, dataDir, extraArgs, bin });
    this.clientUrl = `http://127.0.0.1:${clientPort}`;
    this.peerUrl = `http://127.0.0.1:${peerPort}`;
    this.logFile = join(dataDir, '..', `${name}.log`);
    this.proc = null;
    this.exitCode = null;
  }

  get pid() {
    return this.proc?.pid;
  }

  get running() {
    return this.proc !== null && this.exitCode === null;
  }

  args() {
    return [
      '--name', this.name,
      '--data-dir', this.dataDir,
      '--listen-client-urls', this.clientUrl,
      '--advertise-client-urls', this.clientUrl,
      '--listen-peer-urls', this.peerUrl,
      '--initial-advertise-peer-urls', this.peerUrl,
      '--initial-cluster', this.initialCluster,
      '--initial-cluster-state', 'new',
      '--initial-cluster-token', this.token,
      '--logger', 'zap',
      '--log-level', 'error',
      ...this.extraArgs,
    ];
  }

  /** Starts (or restarts, keeping its data) the member; does not wait for health. */
  spawn() {
    if (this.running) return;
    const log = openSync(this.logFile, 'a');
    this.exitCode = null;
    const proc = spawn(this.bin, this.args(), { stdio: ['ignore', log, log], detached: false });
    closeSync(log);
    this.proc = proc;
    proc.once('exit', (code, signal) => {
      if (this.proc === proc) this.exitCode = code ?? signal ?? 'exited';
    });
  }

  async start({ timeoutMs = HEALTH_TIMEOUT_MS } = {}) {
    this.spawn();
    await waitHealthy(this.clientUrl, Date.now() + timeoutMs, this);
  }

  /** Sends `signal` to our own child and waits (bounded) for it to exit. */
  async stop(signal = 'SIGTERM', { timeoutMs = 10_000 } = {}) {
    const proc = this.proc;
    if (!proc || this.exitCode !== null) return;
    const exited = new Promise((r) => proc.once('exit', r));
    if (signal !== 'SIGKILL') proc.kill('SIGCONT');
    proc.kill(signal);
    const timer = setTimeout(() => proc.kill('SIGKILL'), timeoutMs);
    await exited;
    clearTimeout(timer);
  }

  kill() {
    return this.stop('SIGKILL');
  }

  pause() {
    this.proc?.kill('SIGSTOP');
  }

  resume() {
    this.proc?.kill('SIGCONT');
  }
}

/**
 * Starts a throwaway cluster of `size` members (1 for tests and the demo, 3 for fault tests)
 * on free loopback ports, waits until every member is healthy, and returns a handle.
 * `bin`: the etcd binary (default: `etcd` on PATH, which `npm test` points at the line under test).
 */
export async function startCluster({ size = 1, extraArgs = [], timeoutMs = HEALTH_TIMEOUT_MS, quiet = true, bin } = {}) {
  if (!bin) ensureEtcd({ quiet });
  const ports = await freePorts(size * 2);
  const root = mkdtempSync(join(dataRoot(), 'coord-etcd-'));
  const token = `coord-${process.pid}-${Date.now()}`;
  const names = Array.from({ length: size }, (_, i) => `m${i}`);
  const initialCluster = names.map((n, i) => `${n}=http://127.0.0.1:${ports[size + i]}`).join(',');
  const members = names.map(
    (name, i) =>
      new EtcdMember({
        name,
        clientPort: ports[i],
        peerPort: ports[size + i],
        initialCluster,
        token,
        dataDir: join(root, name),
        extraArgs,
        ...(bin && { bin }),
      }),
  );
  members.forEach((m) => m.spawn());
  try {
    const deadline = Date.now() + timeoutMs;
    await Promise.all(members.map((m) => waitHealthy(m.clientUrl, deadline, m)));
  } catch (err) {
    await Promise.all(members.map((m) => m.kill()));
    rmSync(root, { recursive: true, force: true });
    throw err;
  }
  let stopped = false;
  return {
    members,
    root,
    endpoints: members.map((m) => m.clientUrl),
    async stop() {
      if (stopped) return;
      stopped = true;
      await Promise.all(members.map((m) => m.stop('SIGTERM')));
      rmSync(root, { recursive: true, force: true });
    },
  };
}

/** Waits until every running member answers /health (after restarts in fault tests). */
export async function waitClusterHealthy(cluster, timeoutMs = HEALTH_TIMEOUT_MS) {
  const deadline = Date.now() + timeoutMs;
  await Promise.all(cluster.members.filter((m) => m.running).map((m) => waitHealthy(m.clientUrl, deadline, m)));
}
