// The bin as npm installs it: `npm run build`'s output, started through package.json's `bin` path
// (shebang, ESM imports with .js extensions, package.json found next to dist/). Built into a temp
// directory so that neither a stale nor a missing dist/ in the repo matters.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { copyFile, mkdtemp, readFile, rm, stat, symlink } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { cliEnv } from '../helpers/cli.js';
import { childEnv } from '../helpers/child.js';

const run = promisify(execFile);
const ROOT = fileURLToPath(new URL('../../', import.meta.url));

test('the built bin from package.json runs --version and a command against etcd', async () => {
  const pkg = JSON.parse(await readFile(join(ROOT, 'package.json'), 'utf8')) as { version: string; bin: Record<string, string> };
  assert.ok(pkg.bin['coordctl'], 'package.json has a coordctl bin');
  const dir = await mkdtemp(join(tmpdir(), 'coordctl-build-'));
  after(() => rm(dir, { recursive: true, force: true }));
  // Same compiler and config as `npm run build` (src/ only): a type error there fails this test, as it fails `npm test`.
  await run(process.execPath, [join(ROOT, 'node_modules/typescript/bin/tsc'), '-p', join(ROOT, 'tsconfig.build.json'), '--outDir', join(dir, 'dist')]);
  await copyFile(join(ROOT, 'package.json'), join(dir, 'package.json'));
  await symlink(join(ROOT, 'node_modules'), join(dir, 'node_modules'));
  const bin = join(dir, pkg.bin['coordctl']!);
  assert.ok((await stat(bin)).isFile(), `${bin} was built`);
  assert.match(await readFile(bin, 'utf8'), /^#!\/usr\/bin\/env node\n/);
  const env = childEnv(await cliEnv());
  const version = await run(process.execPath, [bin, '--version'], { env });
  assert.equal(version.stdout.trim(), pkg.version);
  await run(process.execPath, [bin, 'config', 'set', 'built', '{"ok":true}'], { env });
  const got = await run(process.execPath, [bin, '--json', 'config', 'get', 'built'], { env });
  assert.deepEqual(JSON.parse(got.stdout), { key: 'built', value: { ok: true } });
});
