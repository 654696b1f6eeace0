// Builds Go programs in GOPATH mode against Debian's golang-etcd-server-dev, once per source version:
// bench/go/main.go (etcd's Go concurrency.Mutex and Election, for the benchmarks and interop tests),
// bench/go/rwmutex/main.go (etcd's recipe.RWMutex)
// and the gochat stand-in of the interop tests (test/fixtures/gochat-go/main.go).
import { execFile, spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, renameSync } from 'node:fs';
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

/** Path of the built recipe.RWMutex program (bench/go/rwmutex/main.go). */
export function buildGoRwMutex(timeoutMs = 300_000): Promise<string> {
  return buildGoProgram(fileURLToPath(new URL('./rwmutex/main.go', import.meta.url)), 'rwmutexgo', timeoutMs);
}

/** Path of the built Mutex benchmark binary (cached by source hash under the temp dir). */
export function buildGoLock(timeoutMs = 300_000): Promise<string> {
  return buildGoProgram(SOURCE, 'lockgo', timeoutMs);
}

/** Builds one Go file in GOPATH mode; the binary is cached by source hash under the temp dir. */
export async function buildGoProgram(source: string, name: string, timeoutMs = 300_000): Promise<string> {
  const hash = createHash('sha256').update(readFileSync(source)).digest('hex').slice(0, 12);
  const dir = join(tmpdir(), `gochat-${name}-${hash}`);
  const binary = join(dir, name);
  if (existsSync(binary)) return binary;
  mkdirSync(join(dir, 'gopath'), { recursive: true });
  const out = join(dir, `${name}.${process.pid}`);
  await new Promise<void>((resolve, reject) => {
    execFile(
      'go',
      ['build', '-o', out, source],
      { timeout: timeoutMs, env: { ...process.env, GO111MODULE: 'off', GOPATH: `${join(dir, 'gopath')}:${GOCODE}`, GOFLAGS: '' } },
      (err, _stdout, stderr) => (err ? reject(new Error(`go build failed: ${stderr || err.message}`)) : resolve()),
    );
  });
  // Rename is atomic: concurrent builders (test files in parallel) never see a half-written binary.
  renameSync(out, binary);
  return binary;
}
