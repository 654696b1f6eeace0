// The package as someone else's app gets it: `npm pack` (which builds dist/ through `prepare`), the
// tarball installed into a temporary app whose own @grpc/grpc-js is another 1.14 release than ours,
// and there: an ESM script (lock, config, registry, a call through etcd:///name with the app's
// grpc-js; exits by itself, prints no Node warning), require() from CommonJS, a TS consumer
// type-checked under module nodenext and under moduleResolution bundler, and `npx coordctl --help`.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { cp, mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { etcdEndpoints, uniqueNamespace } from '../helpers/etcd.js';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const FIXTURE = fileURLToPath(new URL('../fixtures/consumer/', import.meta.url));
/** Ours is 1.14.7 (devDependencies); the app pins another release inside the peer range. */
const APP_GRPC = '1.14.3';
const TSC = join(ROOT, 'node_modules', 'typescript', 'bin', 'tsc');

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Runs a command to its end (bounded); never throws on a non-zero exit. */
function run(cmd: string, args: string[], opts: { cwd: string; env?: NodeJS.ProcessEnv; timeoutMs?: number }): Promise<Run> {
  return new Promise((resolve) => {
    execFile(
      cmd,
      args,
      { cwd: opts.cwd, env: opts.env ?? process.env, timeout: opts.timeoutMs ?? 60_000, killSignal: 'SIGKILL', maxBuffer: 16 << 20 },
      (err, stdout, stderr) => {
        const code = err ? (typeof err.code === 'number' ? err.code : null) : 0;
        resolve({ code, stdout: String(stdout), stderr: String(stderr) });
      },
    );
  });
}

function ok(r: Run, what: string): Run {
  assert.equal(r.code, 0, `${what} failed (exit ${r.code}):\n${r.stdout}\n${r.stderr}`);
  return r;
}

let app = '';
let env: NodeJS.ProcessEnv = {};

before(async () => {
  app = await mkdtemp(join(tmpdir(), 'coord-consumer-'));
  // npm pack runs `prepare` (the build) first; the tarball lands in the app directory.
  const pack = ok(await run('npm', ['pack', '--json', '--pack-destination', app], { cwd: ROOT, timeoutMs: 120_000 }), 'npm pack');
  const [{ filename }] = JSON.parse(pack.stdout.slice(pack.stdout.indexOf('['))) as Array<{ filename: string }>;
  await cp(FIXTURE, app, { recursive: true });
  const typesNode = (JSON.parse(await readFile(join(ROOT, 'node_modules/@types/node/package.json'), 'utf8')) as { version: string }).version;
  await writeFile(
    join(app, 'package.json'),
    JSON.stringify({
      name: 'consumer-app',
      private: true,
      dependencies: { '@gochat/coordination': `file:./${filename}`, '@grpc/grpc-js': APP_GRPC, '@types/node': typesNode },
    }),
  );
  ok(
    await run('npm', ['install', '--prefer-offline', '--no-audit', '--no-fund', '--ignore-scripts', '--loglevel=error'], { cwd: app, timeoutMs: 120_000 }),
    'npm install of the tarball',
  );
  env = { ...process.env, ETCD_ENDPOINTS: (await etcdEndpoints()).join(','), CONSUMER_NS: uniqueNamespace('consumer') };
  delete env['COORD_LOG_LEVEL']; // the library's own default level, as an app gets it
  delete env['NODE_OPTIONS'];
});
after(() => rm(app, { recursive: true, force: true }));

test('the app keeps its own @grpc/grpc-js and the package uses it (peer dependency, no second copy)', async () => {
  const grpc = JSON.parse(await readFile(join(app, 'node_modules/@grpc/grpc-js/package.json'), 'utf8')) as { version: string };
  assert.equal(grpc.version, APP_GRPC);
  await assert.rejects(stat(join(app, 'node_modules/@gochat/coordination/node_modules/@grpc/grpc-js')), /ENOENT/);
  const ours = JSON.parse(await readFile(join(app, 'node_modules/@gochat/coordination/package.json'), 'utf8')) as {
    dependencies: Record<string, string>;
    peerDependencies: Record<string, string>;
  };
  assert.ok(ours.peerDependencies['@grpc/grpc-js'], 'grpc-js is a peer dependency');
  assert.ok(!('@grpc/grpc-js' in ours.dependencies) && !('@grpc/proto-loader' in ours.dependencies), 'no grpc-js or proto-loader of our own');
});

test('ESM app: lock, config, registry and an etcd:/// call with the app grpc-js; exits by itself, prints only its result', async () => {
  const r = ok(await run(process.execPath, ['app.mjs'], { cwd: app, env, timeoutMs: 30_000 }), 'node app.mjs (exits by itself)');
  assert.equal(r.stderr, '', 'no Node warning or log line on stderr');
  const lines = r.stdout.trim().split('\n');
  assert.equal(lines.length, 1, `only the app's own line on stdout (library quiet by default):\n${r.stdout}`);
  assert.deepEqual(JSON.parse(lines[0]!), { lock: true, config: { text: 'hi' }, discovered: 1, reply: 'echo:x', grpcVersion: APP_GRPC });
});

test('CommonJS app: require() of the package works on this Node (>= 20.19) with no warning', async () => {
  const r = ok(await run(process.execPath, ['app.cjs'], { cwd: app, env, timeoutMs: 30_000 }), 'node app.cjs');
  assert.equal(r.stderr, '');
  assert.deepEqual(JSON.parse(r.stdout.trim()), { value: 42, isConflict: 'function' });
});

test('TS consumers type-check against the shipped .d.ts: module nodenext (ESM and CJS) and moduleResolution bundler', async () => {
  for (const project of ['tsconfig.nodenext.json', 'tsconfig.bundler.json']) {
    const r = await run(process.execPath, [TSC, '-p', project], { cwd: app, timeoutMs: 60_000 });
    assert.equal(r.code, 0, `tsc -p ${project}:\n${r.stdout}${r.stderr}`);
  }
});

test('npx coordctl --help runs the installed bin', async () => {
  const r = ok(await run('npx', ['--no-install', 'coordctl', '--help'], { cwd: app, env, timeoutMs: 30_000 }), 'npx coordctl --help');
  assert.match(r.stdout, /Usage: coordctl/);
});
