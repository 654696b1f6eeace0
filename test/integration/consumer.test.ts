// The package as someone else's app gets it: `npm pack` once (which builds dist/ through `prepack`;
// the package has no install script), then the tarball installed, with a plain `npm install` (no
// --legacy-peer-deps), into an app without @grpc/grpc-js (an optional peer: the root entry works
// without it on Node, Bun and Deno, and the install prints no install-scripts warning of ours) and
// into one temporary app per supported @grpc/grpc-js minor (the app's own copy, pinned exactly; our peer range is
// >=1.10.0 <2, and the resolver adapts to the listener shape of 1.10–1.13 and of 1.14+). In each app:
// a call through etcd:///name that sees an instance added and one removed, keeps the last non-empty
// list, and fails fast where it should (test/fixtures/consumer/resolver.mjs); the app exits by itself
// and prints nothing on stderr. In the newest app only: an ESM script (lock, config, registry, a
// call), require() of the root and of /grpc from CommonJS, `npx coordctl --help`; TS consumers type-checked (module nodenext
// and moduleResolution bundler) there and, against the oldest grpc-js's types, in the oldest app.
// Most of the time goes to `npm pack` (it builds), the installs (in parallel) and the tsc runs.
// Then the packaging linters on the same tarball: publint, and arethetypeswrong.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { cp, mkdir, mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { publint } from 'publint';
import { formatMessage } from 'publint/utils';
import { ensureRuntime } from '../../scripts/lib/runtimes.mjs';
import { etcdEndpoints, uniqueNamespace } from '../helpers/etcd.js';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const FIXTURE = fileURLToPath(new URL('../fixtures/consumer/', import.meta.url));
/**
 * The latest patch of each grpc-js minor we support, at the time of writing (the registry's
 * `npm view @grpc/grpc-js versions`). 1.10 is the oldest (first with Endpoint lists); 1.10–1.13
 * hand the resolver a listener object, 1.14 a function. 1.11 is covered by its neighbours.
 */
const GRPC_VERSIONS = ['1.10.12', '1.12.7', '1.13.7', '1.14.7'] as const;
const NEWEST = GRPC_VERSIONS[GRPC_VERSIONS.length - 1]!;
const OLDEST = GRPC_VERSIONS[0];
const TSC = join(ROOT, 'node_modules', 'typescript', 'bin', 'tsc');
const ATTW = join(ROOT, 'node_modules', '@arethetypeswrong', 'cli', 'dist', 'index.js');

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

let work = '';
let tarball = '';
/** grpc-js version -> its app's directory. */
const apps = new Map<string, string>();
const app = (version: string): string => apps.get(version)!;
let env: NodeJS.ProcessEnv = {};
/** The app without @grpc/grpc-js, and what its `npm install` printed. */
let bare = '';
let bareInstall: Run = { code: null, stdout: '', stderr: '' };

before(async () => {
  work = await mkdtemp(join(tmpdir(), 'coord-consumer-'));
  // npm pack runs `prepare` (the build) first. One tarball for every app and linter.
  const pack = ok(await run('npm', ['pack', '--json', '--pack-destination', work], { cwd: ROOT, timeoutMs: 120_000 }), 'npm pack');
  const [{ filename }] = JSON.parse(pack.stdout.slice(pack.stdout.indexOf('['))) as Array<{ filename: string }>;
  tarball = join(work, filename);
  const typesNode = (JSON.parse(await readFile(join(ROOT, 'node_modules/@types/node/package.json'), 'utf8')) as { version: string }).version;
  // The installs are mostly waiting on the cache and the registry: all at once.
  const installBare = async (): Promise<void> => {
    bare = join(work, 'app-without-grpc');
    await mkdir(bare);
    await cp(FIXTURE, bare, { recursive: true });
    await writeFile(
      join(bare, 'package.json'),
      JSON.stringify({ name: 'consumer-app-without-grpc', private: true, dependencies: { '@gochat/coordination': `file:../${filename}`, '@types/node': typesNode } }),
    );
    // As an app installs: scripts allowed, warnings shown (npm 11 warns of every install script not allowed yet).
    bareInstall = ok(await run('npm', ['install', '--prefer-offline', '--no-audit', '--no-fund'], { cwd: bare, timeoutMs: 180_000 }), 'npm install of the tarball alone');
  };
  await Promise.all([
    installBare(),
    ...GRPC_VERSIONS.map(async (version) => {
      const dir = join(work, `app-${version}`);
      await mkdir(dir);
      await cp(FIXTURE, dir, { recursive: true });
      const typeChecked = version === NEWEST || version === OLDEST;
      await writeFile(
        join(dir, 'package.json'),
        JSON.stringify({
          name: `consumer-app-${version.replaceAll('.', '-')}`,
          private: true,
          dependencies: {
            '@gochat/coordination': `file:../${filename}`,
            '@grpc/grpc-js': version,
            ...(typeChecked && { '@types/node': typesNode }),
          },
        }),
      );
      ok(
        await run('npm', ['install', '--prefer-offline', '--no-audit', '--no-fund', '--ignore-scripts', '--loglevel=error'], { cwd: dir, timeoutMs: 180_000 }),
        `npm install of the tarball next to @grpc/grpc-js ${version}`,
      );
      apps.set(version, dir);
    }),
  ]);
  env = { ...process.env, ETCD_ENDPOINTS: (await etcdEndpoints()).join(',') };
  delete env['COORD_LOG_LEVEL']; // the library's own default level, as an app gets it
  delete env['NODE_OPTIONS'];
});
after(() => (work ? rm(work, { recursive: true, force: true }) : undefined));

test('each app keeps its own @grpc/grpc-js and the package uses it (peer dependency, no second copy)', async () => {
  for (const version of GRPC_VERSIONS) {
    const grpc = JSON.parse(await readFile(join(app(version), 'node_modules/@grpc/grpc-js/package.json'), 'utf8')) as { version: string };
    assert.equal(grpc.version, version);
    await assert.rejects(stat(join(app(version), 'node_modules/@gochat/coordination/node_modules/@grpc/grpc-js')), /ENOENT/);
  }
  const ours = JSON.parse(await readFile(join(app(NEWEST), 'node_modules/@gochat/coordination/package.json'), 'utf8')) as {
    dependencies: Record<string, string>;
    peerDependencies: Record<string, string>;
    peerDependenciesMeta: Record<string, { optional?: boolean }>;
  };
  assert.equal(ours.peerDependencies['@grpc/grpc-js'], '>=1.10.0 <2');
  assert.equal(ours.peerDependenciesMeta['@grpc/grpc-js']?.optional, true, 'optional: only /grpc needs it');
  assert.ok(!('@grpc/grpc-js' in ours.dependencies) && !('@grpc/proto-loader' in ours.dependencies), 'no grpc-js or proto-loader of our own');
});

test('the tarball has no install script, and installing it prints no install-scripts warning about us', async () => {
  const ours = JSON.parse(await readFile(join(bare, 'node_modules/@gochat/coordination/package.json'), 'utf8')) as { scripts?: Record<string, string> };
  for (const script of ['preinstall', 'install', 'postinstall', 'prepare']) assert.ok(!(script in (ours.scripts ?? {})), `no ${script} script`);
  const printed = `${bareInstall.stdout}\n${bareInstall.stderr}`;
  const aboutUs = printed.split('\n').filter((line) => /@gochat\/coordination/.test(line) && /script/i.test(line));
  assert.deepEqual(aboutUs, [], `npm install printed:\n${printed}`);
});

test('without @grpc/grpc-js installed (an optional peer), the root entry runs an app on Node, Bun and Deno', async () => {
  await assert.rejects(stat(join(bare, 'node_modules/@grpc/grpc-js')), /ENOENT/, 'npm installed no grpc-js for us');
  const runtimes: Array<[string, string[]]> = [
    [`node ${process.versions.node}`, [process.execPath, 'root.mjs']],
    ['bun', [ensureRuntime('bun', { quiet: true }).bin, 'root.mjs']],
    ['deno', [ensureRuntime('deno', { quiet: true }).bin, 'run', '--allow-all', 'root.mjs']],
  ];
  for (const [name, [cmd, ...args]] of runtimes) {
    const r = ok(await run(cmd!, args, { cwd: bare, env: { ...env, CONSUMER_NS: uniqueNamespace('consumer-bare') }, timeoutMs: 60_000 }), `${name} root.mjs`);
    assert.equal(r.stderr, '', `${name}: nothing on stderr`);
    assert.deepEqual(JSON.parse(r.stdout.trim()), { grpc: 'absent', lock: true, config: { text: 'hi' }, discovered: 1, elected: true }, name);
  }
});

test('without @grpc/grpc-js: require() of the root entry from CommonJS, and the root .d.ts type-checks without grpc-js types', async () => {
  const r = ok(await run(process.execPath, ['app.cjs'], { cwd: bare, env: { ...env, CONSUMER_NS: uniqueNamespace('consumer-bare') }, timeoutMs: 30_000 }), 'node app.cjs');
  assert.equal(r.stderr, '');
  assert.deepEqual(JSON.parse(r.stdout.trim()), { value: 42, isConflict: 'function' });
  const tsc = await run(process.execPath, [TSC, '-p', 'tsconfig.root.json'], { cwd: bare, timeoutMs: 90_000 });
  assert.equal(tsc.code, 0, `tsc -p tsconfig.root.json:\n${tsc.stdout}${tsc.stderr}`);
});

for (const version of GRPC_VERSIONS) {
  test(`grpc-js ${version}: etcd:/// follows an added and a removed instance, keeps the last non-empty list; exits by itself, silent on stderr`, async () => {
    const r = ok(
      await run(process.execPath, ['resolver.mjs'], { cwd: app(version), env: { ...env, CONSUMER_NS: uniqueNamespace('consumer') }, timeoutMs: 60_000 }),
      `node resolver.mjs with grpc-js ${version} (exits by itself)`,
    );
    assert.equal(r.stderr, '', 'no Node warning or log line on stderr');
    const lines = r.stdout.trim().split('\n');
    assert.equal(lines.length, 1, `only the app's own line on stdout:\n${r.stdout}`);
    const result = JSON.parse(lines[0]!) as { dropped: string; detached: string };
    assert.match(result.dropped, /^14: etcd resolver: no instances of "echo" registered$/);
    assert.match(result.detached, /^14: etcd resolver: .*no registry registered for scheme "etcd"/);
    assert.deepEqual(result, {
      grpcVersion: version,
      first: ['a'],
      afterAdd: ['a', 'b'],
      afterRemove: ['b'],
      afterEmpty: ['b'],
      dropped: result.dropped,
      detached: result.detached,
      resolverErrors: [],
    });
  });
}

test('ESM app: lock, config, registry and an etcd:/// call with the app grpc-js; exits by itself, prints only its result', async () => {
  const r = ok(
    await run(process.execPath, ['app.mjs'], { cwd: app(NEWEST), env: { ...env, CONSUMER_NS: uniqueNamespace('consumer') }, timeoutMs: 30_000 }),
    'node app.mjs (exits by itself)',
  );
  assert.equal(r.stderr, '', 'no Node warning or log line on stderr');
  const lines = r.stdout.trim().split('\n');
  assert.equal(lines.length, 1, `only the app's own line on stdout (library quiet by default):\n${r.stdout}`);
  assert.deepEqual(JSON.parse(lines[0]!), { lock: true, config: { text: 'hi' }, discovered: 1, reply: 'echo:x', grpcVersion: NEWEST });
});

test('CommonJS app: require() of the package and of /grpc works on this Node (>= 20.19) with no warning', async () => {
  const e = { ...env, CONSUMER_NS: uniqueNamespace('consumer') };
  const root = ok(await run(process.execPath, ['app.cjs'], { cwd: app(NEWEST), env: e, timeoutMs: 30_000 }), 'node app.cjs');
  assert.equal(root.stderr, '');
  assert.deepEqual(JSON.parse(root.stdout.trim()), { value: 42, isConflict: 'function' });
  const grpc = ok(await run(process.execPath, ['grpc.cjs'], { cwd: app(NEWEST), env: e, timeoutMs: 30_000 }), 'node grpc.cjs');
  assert.equal(grpc.stderr, '');
  assert.deepEqual(JSON.parse(grpc.stdout.trim()), { discovered: 1, resolver: 'function' });
});

test('TS consumers type-check against the shipped .d.ts: module nodenext (ESM and CJS) and moduleResolution bundler; nodenext again with the oldest grpc-js', async () => {
  // skipLibCheck is off in these projects: our .d.ts (grpc-service-manager.d.ts names grpc-js's
  // Server and ServerCredentials) is checked against the app's grpc-js types. One project suffices
  // for the oldest app (each tsc run takes ~10 s here).
  const runs: Array<[string, string]> = [
    [NEWEST, 'tsconfig.nodenext.json'],
    [NEWEST, 'tsconfig.bundler.json'],
    [OLDEST, 'tsconfig.nodenext.json'],
  ];
  for (const [version, project] of runs) {
    const r = await run(process.execPath, [TSC, '-p', project], { cwd: app(version), timeoutMs: 90_000 });
    assert.equal(r.code, 0, `tsc -p ${project} (grpc-js ${version}):\n${r.stdout}${r.stderr}`);
  }
});

test('npx coordctl --help runs the installed bin', async () => {
  const r = ok(await run('npx', ['--no-install', 'coordctl', '--help'], { cwd: app(NEWEST), env, timeoutMs: 30_000 }), 'npx coordctl --help');
  assert.match(r.stdout, /Usage: coordctl/);
});

test('publint finds nothing in the tarball (strict: warnings count; no suggestion either)', async () => {
  const bytes = await readFile(tarball);
  const data = bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength) as ArrayBuffer;
  const { messages, pkg } = await publint({ pack: { tarball: data }, strict: true, level: 'suggestion' });
  assert.deepEqual(
    messages.map((m) => `${m.type}: ${formatMessage(m, pkg, { color: false }) ?? m.code}`),
    [],
  );
});

test('arethetypeswrong: no problem but the documented require-of-ESM note', async () => {
  // `require` resolves to our ESM build on purpose (the package is ESM only; Node ^20.19 / >=22.12,
  // our engines, can require() it, see the CommonJS test above). attw flags that as
  // CJSResolvesToESM, rule `cjs-resolves-to-esm`, and only that one is ignored; the JSON report
  // still lists every problem found, and must list that one alone, for each entry (`.`, `./grpc`).
  const r = await run(process.execPath, [ATTW, tarball, '--format', 'json', '--ignore-rules', 'cjs-resolves-to-esm'], { cwd: work, timeoutMs: 60_000 });
  assert.equal(r.code, 0, `attw:\n${r.stdout}\n${r.stderr}`);
  const report = JSON.parse(r.stdout) as { problems?: Record<string, Array<{ kind: string; entrypoint: string; resolutionKind: string }>> };
  assert.deepEqual(report.problems, {
    CJSResolvesToESM: [
      { kind: 'CJSResolvesToESM', entrypoint: '.', resolutionKind: 'node16-cjs' },
      { kind: 'CJSResolvesToESM', entrypoint: './grpc', resolutionKind: 'node16-cjs' },
    ],
  });
});
