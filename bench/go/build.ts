// Builds bench/go/main.go (etcd's Go concurrency.Mutex and Election) in GOPATH mode against Debian's
// golang-etcd-server-dev, once per source version; used by the lock benchmark and interop test.
import { execFile, spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const SOURCE = fileURLToPath(new URL('./main.go', import.meta.url));
const GOCODE = '/usr/share/gocode';

/** Why the Go side cannot be built here, or undefined if it can. */
export function goUnavailable(): string | undefined {
  if (spawnSync('go', ['version']).status !== 0) return 'go is not installed (apt-get install golang-go)';
  if (!existsSync(join(GOCODE, 'src/go.etcd.io/etcd/clientv3/concurrency'))) {
    return `${GOCODE} lacks go.etcd.io/etcd/clientv3 (apt-get install golang-etcd-server-dev)`;
  }
  return undefined;
}

/** Path of the built binary (cached by source hash under the temp dir). */
export async function buildGoLock(timeoutMs = 300_000): Promise<string> {
  const hash = createHash('sha256').update(readFileSync(SOURCE)).digest('hex').slice(0, 12);
  const dir = join(tmpdir(), `gochat-lockgo-${hash}`);
  const binary = join(dir, 'lockgo');
  if (existsSync(binary)) return binary;
  mkdirSync(join(dir, 'gopath'), { recursive: true });
  const out = join(dir, `lockgo.${process.pid}`);
  await new Promise<void>((resolve, reject) => {
    execFile(
      'go',
      ['build', '-o', out, SOURCE],
      { timeout: timeoutMs, env: { ...process.env, GO111MODULE: 'off', GOPATH: `${join(dir, 'gopath')}:${GOCODE}`, GOFLAGS: '' } },
      (err, _stdout, stderr) => (err ? reject(new Error(`go build failed: ${stderr || err.message}`)) : resolve()),
    );
  });
  // Rename is atomic: concurrent builders (test files in parallel) never see a half-written binary.
  const { renameSync } = await import('node:fs');
  renameSync(out, binary);
  return binary;
}
