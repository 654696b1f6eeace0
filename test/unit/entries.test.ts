// The package's two entries: the root never loads @grpc/grpc-js (an optional peer), whatever it
// imports through; the /grpc entry is where it is loaded. Read from the sources' import statements
// (static and dynamic), so a new import path that drags grpc-js into the root fails here first.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { readFile } from 'node:fs/promises';

const SRC = fileURLToPath(new URL('../../src/', import.meta.url));
const IMPORT = /(?:^|\n)\s*(?:import|export)\s[^'"]*?from\s*['"]([^'"]+)['"]|import\(\s*['"]([^'"]+)['"]\s*\)|(?:^|\n)\s*import\s*['"]([^'"]+)['"]/g;

/** Every source file the entry reaches, and the packages they import. Type-only imports count too: a .d.ts would name them. */
function graph(entry: string): { files: Set<string>; packages: Set<string> } {
  const files = new Set<string>();
  const packages = new Set<string>();
  const visit = (file: string): void => {
    if (files.has(file)) return;
    files.add(file);
    for (const m of readFileSync(file, 'utf8').matchAll(IMPORT)) {
      const spec = m[1] ?? m[2] ?? m[3]!;
      if (spec.startsWith('.')) visit(resolve(dirname(file), spec.replace(/\.js$/, '.ts')));
      else packages.add(spec.startsWith('@') ? spec.split('/').slice(0, 2).join('/') : spec.split('/')[0]!);
    }
  };
  visit(join(SRC, entry));
  return { files, packages };
}

test('the root entry reaches no @grpc/grpc-js, and none of the gRPC helpers', () => {
  const root = graph('index.ts');
  assert.ok(root.files.size > 20, `walked ${root.files.size} files`);
  assert.ok(!root.packages.has('@grpc/grpc-js'), 'the root entry loads grpc-js');
  const helpers = [...root.files].filter((f) => /grpc-(resolver|service-manager)\.ts$/.test(f));
  assert.deepEqual(helpers, []);
});

test('the /grpc entry exports the helpers and is where grpc-js comes in', async () => {
  assert.ok(graph('grpc.ts').packages.has('@grpc/grpc-js'));
  const grpc = (await import('../../src/grpc.js')) as Record<string, unknown>;
  assert.deepEqual(Object.keys(grpc).sort(), ['DEFAULT_GRPC_RESOLVER_OPTIONS', 'createGrpcServiceManager', 'registerGrpcResolver']);
  const root = (await import('../../src/index.js')) as Record<string, unknown>;
  for (const name of Object.keys(grpc)) assert.ok(!(name in root), `${name} is not on the root entry`);
});

test('package.json maps ./grpc to the built entry, types first, and marks grpc-js an optional peer', async () => {
  const pkg = JSON.parse(await readFile(join(SRC, '..', 'package.json'), 'utf8')) as {
    exports: Record<string, Record<string, string> | string>;
    peerDependenciesMeta: Record<string, { optional?: boolean }>;
    scripts: Record<string, string>;
  };
  const grpc = pkg.exports['./grpc'] as Record<string, string>;
  assert.equal(Object.keys(grpc)[0], 'types');
  assert.equal(grpc['types'], './dist/grpc.d.ts');
  assert.equal(grpc['import'], './dist/grpc.js');
  assert.equal(pkg.peerDependenciesMeta['@grpc/grpc-js']?.optional, true);
  for (const script of ['preinstall', 'install', 'postinstall', 'prepare']) assert.ok(!(script in pkg.scripts), `no ${script} script (install scripts warn in every consumer's npm 11)`);
});
