#!/usr/bin/env node
// `npm test`: installs what is missing (npm packages, etcd), starts a throwaway etcd on free
// loopback ports, runs every test file with node's test runner under c8 coverage, stops etcd,
// and ends with the runner's summary plus a plain `N passed, N failed, N skipped` line.
//   npm test                      all tests
//   npm test -- test/unit         only files under the given paths
// Every run first type-checks the whole tree (tsc --noEmit): a type error fails the run. The
// coverage gate (src/ lines >= 80%) applies only to a whole-suite run; a subset reports coverage.
import { spawn, spawnSync } from 'node:child_process';
import { mkdirSync, readFileSync, readdirSync, rmSync, statSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ensureDeps } from './lib/deps.mjs';
import { ensureEtcd, ensureGo, startCluster } from './lib/etcd.mjs';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
process.chdir(root);
ensureDeps(root);
ensureEtcd({ quiet: false });
const noGo = ensureGo({ quiet: false });
if (noGo) console.error(`[test] ${noGo}; those tests are skipped`);

function findTests(dir) {
  const st = statSync(dir);
  if (st.isFile()) return [dir];
  return readdirSync(dir, { withFileTypes: true })
    .flatMap((e) => (e.isDirectory() ? findTests(join(dir, e.name)) : e.name.endsWith('.test.ts') ? [join(dir, e.name)] : []))
    .sort();
}

const args = process.argv.slice(2);
const wholeSuite = args.length === 0;

// tsx strips types without checking them: without this step a type error could never fail CI.
console.log('[test] type-checking (tsc --noEmit)');
const tsc = spawnSync(process.execPath, [join(root, 'node_modules', 'typescript', 'bin', 'tsc'), '-p', 'tsconfig.json', '--noEmit'], {
  stdio: ['ignore', 'inherit', 'inherit'],
});
if (tsc.status !== 0) {
  console.log('[test] type check failed');
  console.log('0 passed, 1 failed, 0 skipped');
  process.exit(1);
}

const files = (args.length ? args : ['test']).flatMap(findTests).map((f) => relative(root, f));
if (files.length === 0) {
  console.error('no test files found');
  process.exit(1);
}

const outDir = join(root, '.test-output');
rmSync(outDir, { recursive: true, force: true });
mkdirSync(outDir, { recursive: true });
const tapFile = join(outDir, 'results.tap');

const etcd = await startCluster({ size: 1 });
console.log(`[test] throwaway etcd at ${etcd.endpoints.join(',')} (data in ${etcd.root})`);

const env = {
  ...process.env,
  ETCD_ENDPOINTS: etcd.endpoints.join(','),
  COORD_LOG_LEVEL: process.env.COORD_LOG_LEVEL ?? 'silent',
};
const c8 = join(root, 'node_modules', '.bin', 'c8');
const c8Args = [
  '--include', 'src/**',
  '--exclude', 'src/**/*.d.ts',
  '--reporter', 'text-summary',
  '--reporter', 'lcov',
  '--report-dir', join(outDir, 'coverage'),
  '--temp-directory', join(outDir, 'coverage-tmp'),
  ...(wholeSuite ? ['--check-coverage', '--lines', '80'] : []),
];
const nodeArgs = [
  '--import', 'tsx',
  '--import', './test/helpers/guard.ts',
  '--test',
  `--test-concurrency=${process.env.TEST_CONCURRENCY ?? '1'}`,
  '--test-timeout=300000',
  '--test-reporter=spec', '--test-reporter-destination=stdout',
  '--test-reporter=tap', `--test-reporter-destination=${tapFile}`,
  ...files,
];

const started = Date.now();
const child = spawn(c8, [...c8Args, process.execPath, ...nodeArgs], { stdio: ['ignore', 'inherit', 'inherit'], env });
const stopChild = (sig) => child.kill(sig);
process.on('SIGINT', stopChild);
process.on('SIGTERM', stopChild);
const code = await new Promise((resolve) => child.once('exit', (c, s) => resolve(c ?? (s ? 1 : 0))));
await etcd.stop();

// Summary from the TAP stream's trailer (the spec reporter's lines are above).
let pass = 0, fail = 0, skipped = 0;
try {
  const tap = readFileSync(tapFile, 'utf8');
  const num = (name) => Number((tap.match(new RegExp(`^# ${name} (\\d+)$`, 'm')) ?? [])[1] ?? 0);
  pass = num('pass');
  fail = num('fail') + num('cancelled');
  skipped = num('skipped') + num('todo');
} catch {
  fail = fail || 1;
}
if (code !== 0 && fail === 0) fail = 1; // coverage below the bar, or the runner itself failed
console.log(`[test] finished in ${Math.round((Date.now() - started) / 1000)} s, exit code ${code}`);
console.log(`${pass} passed, ${fail} failed, ${skipped} skipped`);
process.exit(code === 0 && fail === 0 ? 0 : 1);
