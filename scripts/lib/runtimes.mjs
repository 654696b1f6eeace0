// The JavaScript runtimes we support besides the machine's own Node: other Node majors, Bun and
// Deno. Each comes from the npm registry as a package that ships its binary (nothing else is
// downloaded; install scripts are not run) and is cached under the repo's ignored `.runtimes/`.
//   ensureRuntime('node24') -> { name, version, bin }
// Versions are pinned here, in one place, so every machine tests the same binaries.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
export const RUNTIMES_DIR = join(ROOT, '.runtimes');

const arch = { x64: 'x64', arm64: 'aarch64' }[process.arch] ?? process.arch;

/** name -> the package that ships the binary, its version, and the binary's path inside it. */
export const RUNTIMES = Object.freeze({
  node20: { kind: 'node', major: 20 }, // the machine's own, when it is a 20.19+
  node22: { kind: 'node', version: '22.23.5', pkg: `node-${process.platform}-${process.arch}`, path: 'bin/node' },
  node24: { kind: 'node', version: '24.22.3', pkg: `node-${process.platform}-${process.arch}`, path: 'bin/node' },
  node26: { kind: 'node', version: '26.12.1', pkg: `node-${process.platform}-${process.arch}`, path: 'bin/node' },
  bun: { kind: 'bun', version: '1.4.5', pkg: `@oven/bun-${process.platform}-${arch}`, path: 'bin/bun' },
  deno: { kind: 'deno', version: '2.9.6', pkg: `@deno/${process.platform}-${process.arch}${process.platform === 'linux' ? '-glibc' : ''}`, path: 'deno' },
});

function versionOf(bin) {
  const r = spawnSync(bin, ['--version'], { encoding: 'utf8', timeout: 30_000 });
  if (r.status !== 0) return undefined;
  const m = /(\d+\.\d+\.\d+)/.exec(r.stdout);
  return m?.[1];
}

/**
 * Returns the runtime's binary, installing it into `.runtimes/<name>` first when missing.
 * `node20` is the Node running this script when it is a 20.x (else a 20 from the registry).
 */
export function ensureRuntime(name, { quiet = false } = {}) {
  const spec = RUNTIMES[name];
  if (!spec) throw new Error(`unknown runtime "${name}" (known: ${Object.keys(RUNTIMES).join(', ')})`);
  if (name === 'node20' && process.versions.node.startsWith('20.')) {
    return { name, kind: 'node', version: process.versions.node, bin: process.execPath };
  }
  const { version, pkg, path } = name === 'node20' ? { ...RUNTIMES.node22, version: '20.20.2' } : spec;
  const dir = join(RUNTIMES_DIR, `${name}-${version}`);
  const bin = join(dir, 'node_modules', pkg, path);
  if (!existsSync(bin) || versionOf(bin) !== version) {
    if (!quiet) console.error(`[runtimes] installing ${name} ${version} (npm package ${pkg}) into .runtimes/`);
    mkdirSync(dir, { recursive: true });
    const r = spawnSync(
      'npm',
      ['install', '--prefix', dir, '--no-save', '--no-package-lock', '--no-audit', '--no-fund', '--ignore-scripts', '--loglevel=error', `${pkg}@${version}`],
      { stdio: ['ignore', 'ignore', 'inherit'], timeout: 600_000 },
    );
    if (r.status !== 0 || !existsSync(bin)) throw new Error(`could not install ${pkg}@${version} from the npm registry`);
  }
  const got = versionOf(bin);
  if (got !== version) throw new Error(`${bin} reports ${got ?? 'nothing'}, expected ${version}`);
  return { name, kind: spec.kind, version, bin };
}
