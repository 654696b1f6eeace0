// The etcd release lines the tests run against. 3.4 is the machine's own Debian etcd (etcd.mjs
// installs it); 3.5 comes from Debian's newer suites: fetched with `apt-get download` through a
// sources file kept in the repo's ignored cache (the machine's own apt sources and state stay as
// they are), unpacked with `dpkg -x` into that cache, never installed. 3.6 and 3.7 are not packaged
// by Debian: the library is written for their documented behaviour (docs/COMPATIBILITY.md).
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { ensureEtcd } from './etcd.mjs';

/** Debian suites searched for a line's packages, newest first; the highest version of the line wins. */
const SUITES = ['unstable', 'testing', 'trixie'];
const PACKAGES = ['etcd-server', 'etcd-client'];

export const LINES = ['3.4', '3.5'];

/** The version `etcd --version` of the binary in `dir` (or on PATH) prints, e.g. 3.5.30. */
export function etcdVersion(dir) {
  const r = spawnSync(dir ? join(dir, 'etcd') : 'etcd', ['--version'], { encoding: 'utf8' });
  return /etcd Version: (\S+)/.exec(r.stdout ?? '')?.[1] ?? 'unknown';
}

/**
 * Makes release line `line` runnable: `{ line, binDir, version }`, where `binDir` holds `etcd` and
 * `etcdctl` of that line (undefined: the ones on PATH). Throws with the reason when it cannot.
 */
export function ensureEtcdLine(line, { root, quiet = false }) {
  if (line === '3.4') {
    ensureEtcd({ quiet });
    const version = etcdVersion(undefined);
    if (!version.startsWith('3.4.')) throw new Error(`the etcd on PATH is ${version}, not 3.4.x (Debian bookworm's etcd-server is)`);
    return { line, binDir: undefined, version };
  }
  if (!LINES.includes(line)) throw new Error(`unknown etcd line ${line}; known: ${LINES.join(', ')}`);
  const cache = join(root, '.cache', `etcd-${line}`);
  const binDir = join(cache, 'root', 'usr', 'bin');
  if (existsSync(join(binDir, 'etcd')) && existsSync(join(binDir, 'etcdctl'))) return { line, binDir, version: etcdVersion(binDir) };
  fetchFromDebian(line, cache, quiet);
  const version = etcdVersion(binDir);
  if (!version.startsWith(`${line}.`)) throw new Error(`unpacked etcd is ${version}, not ${line}.x`);
  return { line, binDir, version };
}

/** The machine's Debian archive address (from its own apt sources), to name in our sources file. */
function debianArchive() {
  const files = ['/etc/apt/sources.list', ...listDir('/etc/apt/sources.list.d').map((f) => join('/etc/apt/sources.list.d', f))];
  for (const file of files) {
    if (!/\.(list|sources)$/.test(file) && file !== '/etc/apt/sources.list') continue;
    let text;
    try {
      text = readFileSync(file, 'utf8');
    } catch {
      continue;
    }
    // deb822 (URIs: …) and one-line (deb [opts] URI suite …) entries; the main archive ends in /debian.
    const uris = [...text.matchAll(/^\s*URIs:\s*(.+)$/gm)].flatMap((m) => m[1].trim().split(/\s+/));
    uris.push(...[...text.matchAll(/^\s*deb\s+(?:\[[^\]]*\]\s+)?(\S+)/gm)].map((m) => m[1]));
    const archive = uris.find((u) => /^https?:\/\/.+\/debian\/?$/.test(u));
    if (archive) return archive.replace(/\/$/, '');
  }
  throw new Error('no Debian archive in the machine\'s apt sources (/etc/apt/sources.list*); etcd 3.5 comes from Debian\'s packages');
}

function listDir(dir) {
  try {
    return readdirSync(dir);
  } catch {
    return [];
  }
}

/** apt-get / apt-cache with our own sources file, lists and archives (nothing of the machine's apt state is written). */
function apt(cache, tool, args, quiet) {
  const options = [
    `Dir::Etc::sourcelist=${join(cache, 'sources.list')}`,
    'Dir::Etc::sourceparts=-',
    `Dir::State::Lists=${join(cache, 'lists')}`,
    `Dir::Cache::archives=${join(cache, 'archives')}`,
    'Dir::Cache::pkgcache=',
    'Dir::Cache::srcpkgcache=',
    'Debug::NoLocking=1',
    'APT::Sandbox::User=root',
  ].flatMap((o) => ['-o', o]);
  const r = spawnSync(tool, [...options, ...args], {
    cwd: join(cache, 'debs'),
    encoding: 'utf8',
    env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' },
  });
  if (r.status !== 0) throw new Error(`${tool} ${args.join(' ')} failed: ${(r.stderr || r.error?.message || '').trim().split('\n').slice(-3).join(' / ')}`);
  if (!quiet && r.stderr?.trim() && tool === 'apt-get') process.stderr.write(r.stderr.replace(/^W: Download is performed unsandboxed.*\n?/gm, ''));
  return r.stdout;
}

function fetchFromDebian(line, cache, quiet) {
  for (const tool of ['apt-get', 'apt-cache', 'dpkg']) {
    if (spawnSync('sh', ['-c', `command -v ${tool}`]).status !== 0) throw new Error(`etcd ${line} comes from Debian's packages and needs ${tool}`);
  }
  if (!quiet) console.error(`[etcd] fetching etcd ${line} from Debian's ${SUITES.join('/')} suites into ${cache} (not installed)...`);
  rmSync(cache, { recursive: true, force: true });
  for (const d of ['lists/partial', 'archives/partial', 'debs', 'root']) mkdirSync(join(cache, d), { recursive: true });
  const archive = debianArchive();
  writeFileSync(join(cache, 'sources.list'), SUITES.map((s) => `deb ${archive} ${s} main\n`).join(''));
  apt(cache, 'apt-get', ['update', '-qq'], quiet);
  // The highest version of the line any of the suites has (apt-cache madison: "pkg | version | source").
  const versions = apt(cache, 'apt-cache', ['madison', PACKAGES[0]], quiet)
    .split('\n')
    .map((l) => l.split('|')[1]?.trim())
    .filter((v) => v && v.startsWith(`${line}.`));
  const best = versions.sort((a, b) => (spawnSync('dpkg', ['--compare-versions', a, 'gt', b]).status === 0 ? -1 : 1))[0];
  if (!best) throw new Error(`none of Debian's ${SUITES.join('/')} suites has etcd-server ${line}.x`);
  apt(cache, 'apt-get', ['download', '-qq', ...PACKAGES.map((p) => `${p}=${best}`)], quiet);
  for (const deb of listDir(join(cache, 'debs')).filter((f) => f.endsWith('.deb'))) {
    const x = spawnSync('dpkg', ['-x', join(cache, 'debs', deb), join(cache, 'root')], { stdio: ['ignore', 'ignore', 'inherit'] });
    if (x.status !== 0) throw new Error(`dpkg -x ${deb} failed`);
  }
  // Only the binaries are kept (and the sources file, for the record).
  for (const d of ['lists', 'archives', 'debs']) rmSync(join(cache, d), { recursive: true, force: true });
}
