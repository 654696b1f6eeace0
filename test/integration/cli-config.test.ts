// `coordctl config …` against the real etcd: each command's output and exit code, CAS conflicts,
// watches, and import/export of gochat's layered config directory.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { cp, mkdtemp, readFile, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { cliEnv, coordctl, startCoordctl } from '../helpers/cli.js';
import { applyImport, diffConfig } from '../../src/cli/config-files.js';
import { isConflict } from '../../src/index.js';
import { rawClient, testCoordinator, uniqueNamespace } from '../helpers/etcd.js';

const FIXTURE = fileURLToPath(new URL('../fixtures/cli-config/', import.meta.url));

/** env + a library coordinator on the same namespace (to write/check what the CLI sees). */
async function setup() {
  const namespace = uniqueNamespace('cli');
  return { env: await cliEnv(namespace), coord: await testCoordinator({ namespace }) };
}

async function setupNs() {
  const namespace = uniqueNamespace('cli');
  return { namespace, env: await cliEnv(namespace) };
}

/** etcd's current revision: unchanged means nothing was written. */
async function headRevision(): Promise<bigint> {
  const etcd = await rawClient();
  const res = await etcd.kv.range({ key: Buffer.from('\0'), count_only: true });
  return BigInt(res.header.revision);
}

async function tempDir(): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'coordctl-'));
  return dir;
}

/** Every file under `dir` → its content, keyed by relative path. */
async function files(dir: string): Promise<Map<string, string>> {
  const out = new Map<string, string>();
  for (const entry of await readdir(dir, { recursive: true, withFileTypes: true })) {
    if (entry.isFile()) out.set(relative(dir, join(entry.parentPath, entry.name)), await readFile(join(entry.parentPath, entry.name), 'utf8'));
  }
  return out;
}

test('config set then get: an object comes back as pretty JSON', async () => {
  const { env, coord } = await setup();
  const set = await coordctl(['config', 'set', 'database.mysql', '{"host":"db","port":3306}'], env);
  assert.equal(set.code, 0, set.stderr);
  assert.match(set.stdout, /^set database\.mysql at revision \d+$/m);
  assert.deepEqual(await coord.config.get('database.mysql'), { host: 'db', port: 3306 });
  const get = await coordctl(['config', 'get', 'database.mysql'], env);
  assert.equal(get.code, 0);
  assert.equal(get.stdout, '{\n  "host": "db",\n  "port": 3306\n}\n');
});

test('config get --raw prints a string without quotes, other values as JSON', async () => {
  const { env, coord } = await setup();
  await coord.config.set('name', 'gochat');
  await coord.config.set('port', 8080);
  assert.equal((await coordctl(['config', 'get', 'name', '--raw'], env)).stdout, 'gochat\n');
  assert.equal((await coordctl(['config', 'get', 'name'], env)).stdout, '"gochat"\n');
  assert.equal((await coordctl(['config', 'get', 'port', '--raw'], env)).stdout, '8080\n');
});

test('config set: JSON if it parses, plain text as a string, --string forces a string', async () => {
  const { env, coord } = await setup();
  assert.equal((await coordctl(['config', 'set', 'port', '8080'], env)).code, 0);
  assert.equal((await coordctl(['config', 'set', 'name', 'gochat chat'], env)).code, 0);
  assert.equal((await coordctl(['config', 'set', '--string', 'port.text', '8080'], env)).code, 0);
  assert.equal(await coord.config.get('port'), 8080);
  assert.equal(await coord.config.get('name'), 'gochat chat');
  assert.equal(await coord.config.get('port.text'), '8080');
});

test('config set --json prints the key and new revision as JSON', async () => {
  const { env } = await setup();
  const r = await coordctl(['--json', 'config', 'set', 'k', 'true'], env);
  assert.equal(r.code, 0);
  const doc = JSON.parse(r.stdout) as { key: string; revision: number };
  assert.equal(doc.key, 'k');
  assert.ok(Number.isInteger(doc.revision) && doc.revision > 0);
});

test('config set with broken JSON exits 1 with a hint and writes nothing', async () => {
  const { env } = await setup();
  const before = await headRevision();
  const r = await coordctl(['config', 'set', 'k', '{"a": 1'], env);
  assert.equal(r.code, 1);
  assert.match(r.stderr, /value is not valid JSON/);
  assert.match(r.stderr, /^hint: .*--string/m);
  assert.equal(await headRevision(), before);
});

test('config get of an absent key exits 2', async () => {
  const { env } = await setup();
  const r = await coordctl(['config', 'get', 'absent'], env);
  assert.equal(r.code, 2);
  assert.equal(r.stdout, '');
  assert.match(r.stderr, /NOT_FOUND/);
});

test('config set --if-revision with a stale revision exits 3 and leaves the value', async () => {
  const { env, coord } = await setup();
  const first = await coord.config.set('limits', { max: 1 });
  await coord.config.set('limits', { max: 2 }); // another admin got there first
  const r = await coordctl(['config', 'set', 'limits', '{"max":3}', '--if-revision', String(first.revision)], env);
  assert.equal(r.code, 3);
  assert.match(r.stderr, /CONFLICT/);
  assert.deepEqual(await coord.config.get('limits'), { max: 2 });
});

test('config set --if-revision with the current revision writes', async () => {
  const { env, coord } = await setup();
  const { revision } = await coord.config.set('limits', { max: 1 });
  const r = await coordctl(['config', 'set', 'limits', '{"max":3}', '--if-revision', String(revision)], env);
  assert.equal(r.code, 0, r.stderr);
  assert.deepEqual(await coord.config.get('limits'), { max: 3 });
});

test('config set --if-revision 0 creates only when absent', async () => {
  const { env, coord } = await setup();
  await coord.config.set('exists', 1);
  assert.equal((await coordctl(['config', 'set', 'exists', '2', '--if-revision', '0'], env)).code, 3);
  assert.equal((await coordctl(['config', 'set', 'fresh', '2', '--if-revision', '0'], env)).code, 0);
});

test('a non-numeric --if-revision exits 1 before anything is written', async () => {
  const { env } = await setup();
  const before = await headRevision();
  const r = await coordctl(['config', 'set', 'k', '1', '--if-revision', 'latest'], env);
  assert.equal(r.code, 1);
  assert.match(r.stderr, /--if-revision must be a non-negative integer/);
  assert.equal(await headRevision(), before);
});

test('config rm deletes (exit 0) and exits 2 for an absent key', async () => {
  const { env, coord } = await setup();
  await coord.config.set('gone', 'soon');
  const r = await coordctl(['config', 'rm', 'gone'], env);
  assert.equal(r.code, 0);
  assert.match(r.stdout, /deleted gone/);
  assert.deepEqual(await coord.config.list(''), []);
  const again = await coordctl(['config', 'rm', 'gone'], env);
  assert.equal(again.code, 2);
  assert.match(again.stderr, /not found/);
});

test('config rm --if-revision with a stale revision exits 3 and keeps the key', async () => {
  const { env, coord } = await setup();
  const first = await coord.config.set('k', 1);
  await coord.config.set('k', 2);
  const r = await coordctl(['config', 'rm', 'k', '--if-revision', String(first.revision)], env);
  assert.equal(r.code, 3);
  assert.equal(await coord.config.get('k'), 2);
});

test('config ls prints an aligned table of keys under the prefix', async () => {
  const { env, coord } = await setup();
  await coord.config.set('app.name', 'gochat');
  await coord.config.set('app.port', 8080);
  await coord.config.set('other', true);
  const r = await coordctl(['config', 'ls', 'app.'], env);
  assert.equal(r.code, 0);
  const lines = r.stdout.trimEnd().split('\n');
  assert.equal(lines.length, 3);
  assert.match(lines[0]!, /^KEY +REVISION +VALUE$/);
  assert.match(lines[1]!, /^app\.name +\d+ +"gochat"$/);
  assert.match(lines[2]!, /^app\.port +\d+ +8080$/);
  // aligned: the VALUE column starts at the same offset in every line
  const at = lines.map((l) => l.search(/("gochat"|8080|VALUE)$/));
  assert.equal(new Set(at).size, 1);
});

test('config ls --json is parseable and carries values and revisions', async () => {
  const { env, coord } = await setup();
  const { revision } = await coord.config.set('db', { host: 'x' });
  const r = await coordctl(['--json', 'config', 'ls'], env);
  assert.equal(r.code, 0);
  assert.deepEqual(JSON.parse(r.stdout), [{ key: 'db', value: { host: 'x' }, revision: Number(revision), version: 1 }]);
});

test('config history lists versions newest first and rollback restores one', async () => {
  const { env, coord } = await setup();
  const v1 = await coord.config.set('feature', { on: false });
  await coord.config.set('feature', { on: true });
  const h = await coordctl(['--json', 'config', 'history', 'feature'], env);
  assert.equal(h.code, 0);
  const versions = JSON.parse(h.stdout) as Array<{ value: unknown; revision: number; version: number }>;
  assert.deepEqual(versions.map((v) => v.value), [{ on: true }, { on: false }]);
  const table = await coordctl(['config', 'history', 'feature'], env);
  assert.match(table.stdout, /^REVISION +VERSION +VALUE\n/);
  const rb = await coordctl(['config', 'rollback', 'feature', String(v1.revision)], env);
  assert.equal(rb.code, 0, rb.stderr);
  assert.match(rb.stdout, new RegExp(`to its value at revision ${v1.revision}, now revision \\d+`));
  assert.deepEqual(await coord.config.get('feature'), { on: false });
});

test('config history of a key that never existed exits 2', async () => {
  const { env } = await setup();
  assert.equal((await coordctl(['config', 'history', 'never'], env)).code, 2);
});

test('config watch --json prints one parseable line per change', async () => {
  const { env, coord } = await setup();
  const watch = startCoordctl(['--json', 'config', 'watch', 'app.', '--prefix', '--count', '2'], env);
  await watch.waitForStderr('watching prefix app.');
  await coord.config.set('app.name', 'gochat');
  await coord.config.delete('app.name');
  assert.equal(await watch.exited, 0);
  const events = watch.stdout().trim().split('\n').map((l) => JSON.parse(l) as { type: string; key: string; value?: unknown; revision: number });
  assert.deepEqual(events.map((e) => [e.type, e.key, e.value]), [['PUT', 'app.name', 'gochat'], ['DELETE', 'app.name', undefined]]);
  assert.ok(events[1]!.revision > events[0]!.revision);
});

test('config watch prints PUT lines until Ctrl-C, then exits 0', async () => {
  const { env, coord } = await setup();
  const watch = startCoordctl(['config', 'watch', 'k'], env);
  await watch.waitForStderr('watching k');
  await coord.config.set('k', { v: 1 });
  const [line] = await watch.waitForLines(1);
  assert.match(line!, /^PUT +k rev=\d+ \{"v":1\}$/);
  watch.child.kill('SIGINT');
  assert.equal(await watch.exited, 0);
});

// ── import / export ──────────────────────────────────────────────────────────────────────────────

test('config import without --yes prints the diff and writes nothing', async () => {
  const { env } = await setup();
  const before = await headRevision();
  const r = await coordctl(['config', 'import', FIXTURE, '--env', 'prod'], env);
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, /^\+ prod\/global\/app$/m);
  assert.match(r.stdout, /^\+ prod\/chat-service\/db$/m);
  assert.match(r.stdout, /^6 added, 0 changed, 0 removed, 0 unchanged$/m);
  assert.match(r.stderr, /dry run: nothing written; add --yes/);
  assert.match(r.stderr, /skipped README\.txt/);
  assert.equal(await headRevision(), before);
});

test('config import --yes writes <env>/<dir>/<file> keys with the files\' JSON', async () => {
  const { env, coord } = await setup();
  const r = await coordctl(['config', 'import', FIXTURE, '--env', 'prod', '--yes'], env);
  assert.equal(r.code, 0, r.stderr);
  assert.deepEqual(await coord.config.list(''), [
    'prod/chat-service/db',
    'prod/chat-service/limits',
    'prod/gateway/http',
    'prod/gateway/motd',
    'prod/global/app',
    'prod/global/log',
  ]);
  assert.deepEqual(await coord.config.get('prod/global/log'), { level: 'info', format: 'json' });
  assert.equal(await coord.config.get('prod/gateway/motd'), 'hello operators');
});

test('config import is idempotent: a second run finds nothing to do and writes nothing', async () => {
  const { env } = await setup();
  assert.equal((await coordctl(['config', 'import', FIXTURE, '--env', 'prod', '--yes'], env)).code, 0);
  const before = await headRevision();
  const again = await coordctl(['--json', 'config', 'import', FIXTURE, '--env', 'prod', '--yes'], env);
  assert.equal(again.code, 0);
  const diff = JSON.parse(again.stdout) as { added: string[]; changed: string[]; removed: string[]; unchanged: number; applied: boolean };
  assert.deepEqual([diff.added, diff.changed, diff.removed, diff.unchanged, diff.applied], [[], [], [], 6, false]);
  assert.equal(await headRevision(), before);
});

test('config import shows changed and removed keys and applies them with --yes', async () => {
  const { env, coord } = await setup();
  const dir = await tempDir();
  await cp(FIXTURE, dir, { recursive: true });
  assert.equal((await coordctl(['config', 'import', dir, '--env', 'staging', '--yes'], env)).code, 0);
  await writeFile(join(dir, 'global/log.json'), '{"level":"debug","format":"json"}\n');
  await rm(join(dir, 'gateway/motd.json'));
  await writeFile(join(dir, 'gateway/new.json'), '[1,2]\n');
  const dry = await coordctl(['config', 'import', dir, '--env', 'staging'], env);
  assert.equal(dry.code, 0);
  assert.match(dry.stdout, /^\+ staging\/gateway\/new\n~ staging\/global\/log\n- staging\/gateway\/motd\n1 added, 1 changed, 1 removed, 4 unchanged$/m);
  const kept = await coordctl(['--json', 'config', 'import', dir, '--env', 'staging', '--no-prune'], env);
  assert.deepEqual((JSON.parse(kept.stdout) as { removed: string[] }).removed, []);
  assert.equal((await coordctl(['config', 'import', dir, '--env', 'staging', '--yes'], env)).code, 0);
  assert.deepEqual(await coord.config.get('staging/global/log'), { level: 'debug', format: 'json' });
  assert.deepEqual(await coord.config.get('staging/gateway/new'), [1, 2]);
  assert.ok(!(await coord.config.list('staging/')).includes('staging/gateway/motd'));
  await rm(dir, { recursive: true });
});

test('config import with a broken JSON file exits 1 naming the file and writes nothing', async () => {
  const { env } = await setup();
  const dir = await tempDir();
  await cp(FIXTURE, dir, { recursive: true });
  await writeFile(join(dir, 'gateway/http.json'), '{"port": 8080,');
  const before = await headRevision();
  const r = await coordctl(['config', 'import', dir, '--env', 'prod', '--yes'], env);
  assert.equal(r.code, 1);
  assert.match(r.stderr, /gateway\/http\.json is not valid JSON/);
  assert.match(r.stderr, /^hint: /m);
  assert.equal(await headRevision(), before);
  await rm(dir, { recursive: true });
});

test('config import of a directory without .json files exits 1 instead of planning to delete everything', async () => {
  const { env, coord } = await setup();
  await coord.config.set('prod/global/app', 1);
  const empty = await tempDir();
  const r = await coordctl(['config', 'import', empty, '--env', 'prod', '--yes'], env);
  assert.equal(r.code, 1);
  assert.match(r.stderr, /no \.json files in/);
  assert.equal(await coord.config.get('prod/global/app'), 1);
  await rm(empty, { recursive: true });
});

test('config import without --env exits 1', async () => {
  const { env } = await setup();
  const r = await coordctl(['config', 'import', FIXTURE], env);
  assert.equal(r.code, 1);
  assert.match(r.stderr, /--env <env>/);
});

test('an import whose key changed after the diff was read stops with CONFLICT at that key', async () => {
  // In-process: the CLI cannot be paused between its read and its writes.
  const { coord } = await setup();
  const old = await coord.config.set('prod/a', 1);
  const wanted = new Map<string, unknown>([['prod/a', 2], ['prod/b', 3]]);
  const diff = diffConfig(new Map([['prod/a', 1]]), wanted, true);
  await coord.config.set('prod/a', 'changed by another admin');
  await assert.rejects(applyImport(coord.config, diff, wanted, new Map([['prod/a', old.revision]])), isConflict);
  assert.equal(await coord.config.get('prod/a'), 'changed by another admin');
  await coord.config.set('prod/b', 'created meanwhile');
  await assert.rejects(applyImport(coord.config, { added: ['prod/b'], changed: [], removed: [], unchanged: 0 }, wanted, new Map()), isConflict);
  assert.equal(await coord.config.get('prod/b'), 'created meanwhile');
});

test('config import → export round-trips the directory byte for byte', async () => {
  const { env } = await setup();
  assert.equal((await coordctl(['config', 'import', FIXTURE, '--env', 'prod', '--yes'], env)).code, 0);
  const out = await tempDir();
  const r = await coordctl(['config', 'export', 'prod', out], env);
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, /exported 6 keys under 'prod\/' at revision \d+/);
  const original = await files(FIXTURE);
  original.delete('README.txt'); // not config: import skips it
  assert.deepEqual(await files(out), original);
  await rm(out, { recursive: true });
});

test('config import → export of more than gRPC\'s 4 MiB under one prefix (read in pages)', async () => {
  const { env, namespace } = await setupNs();
  const dir = await tempDir();
  const big = 'x'.repeat(900 * 1024); // 6 × 0.9 MiB: each value fits, the prefix does not fit one response
  for (let i = 0; i < 6; i++) await writeFile(join(dir, `part${i}.json`), `${JSON.stringify({ i, big }, null, 2)}\n`);
  const imported = await coordctl(['config', 'import', dir, '--env', 'bulk', '--yes'], env);
  assert.equal(imported.code, 0, imported.stderr);
  const etcd = await rawClient();
  await assert.rejects(etcd.getAll().prefix(`${namespace}/config/bulk/`).strings(), 'one unpaged range is over the limit');
  const out = await tempDir();
  const exported = await coordctl(['config', 'export', 'bulk', out], env);
  assert.equal(exported.code, 0, exported.stderr);
  assert.deepEqual(await files(out), await files(dir));
  await rm(dir, { recursive: true });
  await rm(out, { recursive: true });
});

test('config export of a prefix with no keys exits 2 and creates nothing', async () => {
  const { env } = await setup();
  const out = join(await tempDir(), 'never');
  const r = await coordctl(['config', 'export', 'nothing-here', out], env);
  assert.equal(r.code, 2);
  await assert.rejects(readdir(out), { code: 'ENOENT' });
});

test('config export refuses keys that are not safe file paths, before writing any file', async () => {
  const { env, coord } = await setup();
  await coord.config.set('prod/ok', 1);
  // set() refuses such a key (path.Join would rewrite it); another client can still write one.
  await (await rawClient()).put(`${coord.namespace}/config/prod/../escape`).value('1');
  const out = await tempDir();
  const r = await coordctl(['config', 'export', 'prod/', out], env);
  assert.equal(r.code, 1);
  assert.match(r.stderr, /cannot be exported as a file/);
  assert.deepEqual(await readdir(out), []);
  await rm(out, { recursive: true });
});
