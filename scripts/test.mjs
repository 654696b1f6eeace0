#!/usr/bin/env node
// `npm test`: installs what is missing (npm packages, etcd, Go, the other runtimes), starts a
// throwaway etcd on free loopback ports, runs the tests on every runtime we support, stops etcd,
// and ends with the runner's summary plus a plain `N passed, N failed, N skipped` line (all runs).
//
// The matrix (what CI runs):
//   node24  the whole suite, under c8 coverage (the gate: src/ lines >= 80%)            etcd 3.4
//   node20  the whole suite but the robustness smoke (the oldest supported major; the machine's own Node when it is a 20)  etcd 3.4
//   node22  test/integration (public API, Go interop, least privilege, consumer tarball, no-warning checks)  etcd 3.5
//   node26  test/integration                                                             etcd 3.4
//   bun, deno        the public-API integration tests and every demo example (scripts/lib/foreign-tests.mjs)  etcd 3.4
// etcd 3.4 is Debian bookworm's etcd-server; 3.5 is Debian's newer suites' etcd-server/-client,
// fetched and unpacked into .cache/ (scripts/lib/etcd-lines.mjs), never installed. A run puts the
// row's etcd and etcdctl first on PATH, so every member a test starts is of that line too.
// Extra runtimes come from the npm registry (scripts/lib/runtimes.mjs), cached in .runtimes/.
//
//   npm test                                  the matrix
//   npm test -- test/unit                     only these paths, on node24 alone (etcd 3.4)
//   npm test -- --runtimes node20,bun [paths] only these runtimes (paths apply to the Node ones)
//   npm test -- --etcd 3.5 [paths]            the chosen rows (or node24 with paths) on etcd 3.5
// Every run first type-checks the whole tree (tsc --noEmit): a type error fails the run.
import { spawn, spawnSync } from 'node:child_process';
import { mkdirSync, readFileSync, readdirSync, rmSync, statSync } from 'node:fs';
import { delimiter, dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ensureDeps } from './lib/deps.mjs';
import { ensureGo, startCluster } from './lib/etcd.mjs';
import { ensureEtcdLine, LINES } from './lib/etcd-lines.mjs';
import { ensureRuntime } from './lib/runtimes.mjs';
import { runForeignTests } from './lib/foreign-tests.mjs';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
process.chdir(root);

function findTests(dir) {
  const st = statSync(dir);
  if (st.isFile()) return [dir];
  return readdirSync(dir, { withFileTypes: true })
    .flatMap((e) => (e.isDirectory() ? findTests(join(dir, e.name)) : e.name.endsWith('.test.ts') ? [join(dir, e.name)] : []))
    .sort();
}

// ── what to run ──
const argv = process.argv.slice(2);
let only;
let etcdLine;
const paths = [];
for (let i = 0; i < argv.length; i++) {
  if (argv[i] === '--runtimes') only = argv[++i]?.split(',').filter(Boolean);
  else if (argv[i].startsWith('--runtimes=')) only = argv[i].slice('--runtimes='.length).split(',').filter(Boolean);
  else if (argv[i] === '--etcd') etcdLine = argv[++i];
  else if (argv[i].startsWith('--etcd=')) etcdLine = argv[i].slice('--etcd='.length);
  else paths.push(argv[i]);
}
if (etcdLine !== undefined && !LINES.includes(etcdLine)) {
  console.error(`[test] unknown etcd line ${etcdLine}; known: ${LINES.join(', ')}`);
  process.exit(2);
}
const wholeSuite = paths.length === 0;
const ALL = ['test'];
const INTEGRATION = ['test/integration'];
const MATRIX = [
  { runtime: 'node24', paths: ALL, coverage: true, etcd: '3.4', what: 'whole suite, coverage' },
  // The robustness smoke (a minute of random faults) runs once, on the headline row.
  { runtime: 'node20', paths: ALL, exclude: ['test/robustness'], etcd: '3.4', what: 'whole suite but the robustness smoke (oldest supported major)' },
  { runtime: 'node22', paths: INTEGRATION, etcd: '3.5', what: 'integration + consumer' },
  { runtime: 'node26', paths: INTEGRATION, etcd: '3.4', what: 'integration + consumer' },
  { runtime: 'bun', foreign: true, etcd: '3.4', what: 'public-API integration tests + demo' },
  { runtime: 'deno', foreign: true, etcd: '3.4', what: 'public-API integration tests + demo' },
];
let plan;
if (only) {
  const unknown = only.filter((r) => !MATRIX.some((m) => m.runtime === r));
  if (unknown.length) {
    console.error(`[test] unknown runtime(s) ${unknown.join(', ')}; known: ${MATRIX.map((m) => m.runtime).join(', ')}`);
    process.exit(2);
  }
  plan = MATRIX.filter((m) => only.includes(m.runtime)).map((m) => (wholeSuite ? m : { ...m, paths, exclude: [], coverage: false, what: paths.join(' ') }));
} else if (!wholeSuite) {
  plan = [{ runtime: 'node24', paths, coverage: false, etcd: '3.4', what: paths.join(' ') }];
} else {
  plan = MATRIX;
}
if (etcdLine !== undefined) plan = plan.map((step) => ({ ...step, etcd: etcdLine }));

// ── set-up: npm packages, etcd, Go, runtimes ──
ensureDeps(root);
const lines = new Map();
for (const line of new Set(plan.map((step) => step.etcd))) lines.set(line, ensureEtcdLine(line, { root }));
const noGo = ensureGo({ quiet: false });
if (noGo) console.error(`[test] ${noGo}; those tests are skipped`);
for (const step of plan) step.rt = ensureRuntime(step.runtime);

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

const outDir = join(root, '.test-output');
rmSync(outDir, { recursive: true, force: true });
mkdirSync(outDir, { recursive: true });

/** One throwaway member per etcd line, started when a row first needs it. */
const clusters = new Map();
async function etcdFor(line) {
  if (!clusters.has(line)) {
    const { binDir } = lines.get(line);
    clusters.set(line, startCluster({ size: 1, ...(binDir && { bin: join(binDir, 'etcd') }) }));
  }
  const cluster = await clusters.get(line);
  // What the server says it is (GET /version), not what we meant to start.
  const server = await fetch(`${cluster.endpoints[0]}/version`).then((r) => r.json());
  return { ...lines.get(line), cluster, server: server.etcdserver };
}

/**
 * The environment of one row's run: its runtime's binary first on PATH (so `node`, npm and npx
 * children use it too), then its etcd line's etcd and etcdctl (so members the tests start match).
 */
function envFor(rt, etcd) {
  const dirs = [dirname(rt.bin), ...(etcd.binDir ? [etcd.binDir] : []), process.env.PATH ?? ''];
  return {
    ...process.env,
    PATH: dirs.join(delimiter),
    ETCD_ENDPOINTS: etcd.cluster.endpoints.join(','),
    COORD_ETCD_VERSION: etcd.server,
    COORD_LOG_LEVEL: process.env.COORD_LOG_LEVEL ?? 'silent',
  };
}

/** Counts of a TAP stream's trailer. */
function tapCounts(tapFile) {
  try {
    const tap = readFileSync(tapFile, 'utf8');
    const num = (name) => Number((tap.match(new RegExp(`^# ${name} (\\d+)$`, 'm')) ?? [])[1] ?? 0);
    return { pass: num('pass'), fail: num('fail') + num('cancelled'), skipped: num('skipped') + num('todo') };
  } catch {
    return { pass: 0, fail: 1, skipped: 0 };
  }
}

const children = new Set();
const stopChildren = (sig) => children.forEach((c) => c.kill(sig));
process.on('SIGINT', stopChildren);
process.on('SIGTERM', stopChildren);

/**
 * Test files whose own process a signal killed (a native crash of the runtime, e.g. while exiting
 * after every test of the file passed): node's runner reports such a file as a top-level failure
 * with `signal:` set and no exit code. `all` tells whether these are the only failures of the run.
 */
function crashedFiles(tapFile) {
  let tap = '';
  try {
    tap = readFileSync(tapFile, 'utf8');
  } catch {
    return { files: [], all: false };
  }
  const lines = tap.split('\n');
  const files = [];
  let failures = 0;
  for (let i = 0; i < lines.length; i++) {
    const m = /^not ok \d+ - (.+)$/.exec(lines[i]);
    if (!m) continue;
    failures++;
    const block = [];
    for (let j = i + 1; j < lines.length && lines[j] !== '  ...'; j++) block.push(lines[j]);
    const signal = block.map((l) => /^ {2}signal: '(SIG[A-Z]+)'$/.exec(l)?.[1]).find(Boolean);
    if (signal && block.includes('  exitCode: ~') && CRASH_SIGNALS.has(signal)) files.push({ file: m[1], signal });
  }
  return { files, all: files.length > 0 && files.length === failures };
}
const CRASH_SIGNALS = new Set(['SIGSEGV', 'SIGBUS', 'SIGABRT', 'SIGILL']);

/** One Node major: node's test runner (under c8 when coverage is wanted) over the step's files. */
async function runNode(step, env) {
  const excluded = (f) => (step.exclude ?? []).some((dir) => f === dir || f.startsWith(`${dir}/`));
  const files = step.paths.flatMap(findTests).map((f) => relative(root, f)).filter((f) => !excluded(f));
  if (files.length === 0) throw new Error(`no test files under ${step.paths.join(' ')}`);
  const tapFile = join(outDir, `${step.runtime}-etcd${step.etcd}.tap`);
  const nodeArgs = (tap, list) => [
    '--import', 'tsx',
    '--import', './test/helpers/guard.ts',
    '--test',
    `--test-concurrency=${process.env.TEST_CONCURRENCY ?? '1'}`,
    '--test-timeout=300000',
    '--test-reporter=spec', '--test-reporter-destination=stdout',
    '--test-reporter=tap', `--test-reporter-destination=${tap}`,
    ...list,
  ];
  let cmd = step.rt.bin;
  let args = nodeArgs(tapFile, files);
  const cov = join(outDir, `coverage-${step.runtime}-etcd${step.etcd}`);
  const covFiles = ['--include', 'src/**', '--exclude', 'src/**/*.d.ts', '--temp-directory', join(cov, 'tmp')];
  if (step.coverage) {
    cmd = process.execPath;
    args = [join(root, 'node_modules', 'c8', 'bin', 'c8.js'), ...covFiles, '--reporter', 'text-summary', '--reporter', 'lcov', '--report-dir', cov, step.rt.bin, ...args];
  }
  const spawnRun = (c, a) =>
    new Promise((resolve) => {
      const child = spawn(c, a, { stdio: ['ignore', 'inherit', 'inherit'], env });
      children.add(child);
      child.once('exit', (code, signal) => {
        children.delete(child);
        resolve(code ?? (signal ? 1 : 0));
      });
    });
  const code = await spawnRun(cmd, args);
  const counts = tapCounts(tapFile);
  // A runtime that crashes natively while a file's process exits (seen once on Node 26, after every
  // test of the file had passed) is not our failure, but only a second run can tell: such files run
  // once more, alone; if they pass, the crash is reported and not counted. Any other failure counts.
  const crashes = crashedFiles(tapFile);
  let forgiven = false;
  if (crashes.all) {
    for (const { file, signal } of crashes.files) console.log(`[test] ${file}: its process died by ${signal} (a crash of ${step.rt.kind} ${step.rt.version}); running it once more`);
    const again = join(outDir, `${step.runtime}-etcd${step.etcd}-rerun.tap`);
    const rerun = await spawnRun(step.rt.bin, nodeArgs(again, crashes.files.map((c) => relative(root, c.file))));
    const second = tapCounts(again);
    forgiven = rerun === 0 && second.fail === 0 && second.pass > 0;
    console.log(`[test] the re-run: ${second.pass} passed, ${second.fail} failed — the crash ${forgiven ? 'is reported, not counted' : 'counts as a failure'}`);
    if (forgiven) {
      counts.fail -= crashes.files.length;
      counts.crashes = crashes.files.length;
    }
  }
  // The coverage bar, checked on its own so that its verdict does not hang on the runner's exit code.
  const coverageOk = !(step.coverage && wholeSuite) || spawnSync(process.execPath, [join(root, 'node_modules', 'c8', 'bin', 'c8.js'), 'check-coverage', '--lines', '80', ...covFiles], { stdio: 'inherit' }).status === 0;
  const runnerFailed = code !== 0 && !forgiven;
  if ((runnerFailed || !coverageOk) && counts.fail === 0) counts.fail = 1; // coverage below the bar, or the runner itself failed
  return { ...counts, code };
}

const results = [];
const started = Date.now();
try {
  for (const step of plan) {
    const t0 = Date.now();
    const etcd = await etcdFor(step.etcd);
    step.server = etcd.server;
    console.log(`\n[test] ===== ${step.rt.kind} ${step.rt.version} (${step.runtime}) on etcd ${etcd.server}: ${step.what} =====`);
    console.log(`[test] etcd server ${etcd.server} at ${etcd.cluster.endpoints.join(',')} (${etcd.binDir ? `unpacked in ${relative(root, etcd.binDir)}` : 'Debian bookworm\'s, on PATH'}; data in ${etcd.cluster.root})`);
    const env = envFor(step.rt, etcd);
    const r = step.foreign ? await runForeignTests({ root, runtime: step.rt, env, outDir }) : await runNode(step, env);
    results.push({ step, ...r, seconds: Math.round((Date.now() - t0) / 1000) });
  }
} finally {
  await Promise.all([...clusters.values()].map(async (c) => (await c.catch(() => undefined))?.stop()));
}

let pass = 0, fail = 0, skipped = 0;
console.log('\n[test] runtimes:');
for (const r of results) {
  pass += r.pass;
  fail += r.fail;
  skipped += r.skipped;
  const crashed = r.crashes ? `; ${r.crashes} file(s) re-run after a runtime crash at exit` : '';
  console.log(`[test]   ${`${r.step.rt.kind} ${r.step.rt.version}`.padEnd(16)} ${`etcd ${r.step.server}`.padEnd(12)} ${r.step.what.padEnd(40)} ${r.pass} passed, ${r.fail} failed, ${r.skipped} skipped (${r.seconds} s${crashed})`);
}
console.log(`[test] finished in ${Math.round((Date.now() - started) / 1000)} s`);
console.log(`${pass} passed, ${fail} failed, ${skipped} skipped`);
process.exit(fail === 0 ? 0 : 1);
