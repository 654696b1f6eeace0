// Runs the public-API integration tests and the demo examples on a runtime other than Node (Bun,
// Deno), against the suite's etcd ($ETCD_ENDPOINTS in `env`). Called by scripts/test.mjs once per
// runtime; prints a line per test and returns the counts.
//
// - Every demo example (examples/*.ts but log.ts) is one test: it passes when it exits 0 within
//   120 s and prints nothing on stderr (the examples print nothing there; any warning fails it).
// - The test files below run unchanged, one process per file (like `node --test`), through
//   scripts/lib/node-test-shim.mjs: node's `node:test` semantics on both runtimes (Deno's own
//   node:test never runs an after() registered inside a test, so a test's coordinators would stay
//   open; Bun's only runs under `bun test`). test/helpers/guard.ts is loaded first, as on Node:
//   an unhandled rejection fails the file. Anything printed on stderr (a DeprecationWarning, a
//   runtime's "not implemented" notice, the guard's report...) fails the test that printed it, and
//   a file whose process does not exit by itself within EXIT_GRACE_MS after its last test fails too
//   (something the library opened was left running).
// - Harness checks prove that on each runtime: a deliberate unhandled rejection, a deliberate
//   DeprecationWarning and a timer left running must each be reported as failures.
// - A runtime crash that is a known bug of the runtime (KNOWN_RUNTIME_CRASHES: Deno's nghttp2 under
//   grpc-js) is reported as a skip with its reason, only for the tests and examples listed there.
// Every child has a deadline and is killed by its own PID. Logs: <outDir>/<runtime>/.
import { spawn } from 'node:child_process';
import { mkdirSync, readdirSync, writeFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const SHIM = fileURLToPath(new URL('./node-test-shim.mjs', import.meta.url));
const MARK = '##node-test-shim## '; // as in node-test-shim.mjs

/**
 * The integration tests run on Bun and Deno: the files of test/integration/ that test what an app
 * uses, through the public API (src/index.js). A few reach an internal for setup or fault injection
 * (config-entries and config-watch: clientOf, PAGE_SIZE; registry-faults: the Go-format encoder;
 * coordinator: the raw client beside the coordinator); what they test is public behaviour.
 */
export const FOREIGN_TEST_FILES = Object.freeze([
  'test/integration/coordinator.test.ts', // connect, namespaces, close() idempotent, after close() the process exits by itself
  'test/integration/lock.test.ts', // FIFO hand-over under contention, the lost-lock signal, fencing, TTL expiry
  'test/integration/lock-faults.test.ts', // connection cut under a held lock (TCP proxy)
  'test/integration/lock-processes.test.ts', // mutual exclusion across processes; after close() the process exits by itself
  'test/integration/registry.test.ts', // register/discover/watch, a SIGKILLed child, a lease revoked behind our back
  'test/integration/registry-validation.test.ts',
  'test/integration/registry-faults.test.ts', // cut connections, Go-written entries
  'test/integration/listings.test.ts', // incl. a listing over gRPC's 4 MiB limit, in pages
  'test/integration/grpc.test.ts', // the etcd:/// resolver with @grpc/grpc-js, round robin, failover, SIGTERM
  'test/integration/config.test.ts',
  'test/integration/config-entries.test.ts',
  'test/integration/config-watch.test.ts', // gap-free watches across a cut connection, an etcd restart, a compaction
  'test/integration/config-live.test.ts', // live views, the snapshot file while etcd is stopped
  'test/integration/watch-volume.test.ts', // 24 MB through one watch stream (HTTP/2 flow control)
  'test/integration/election.test.ts',
  'test/integration/semaphore.test.ts', // FIFO permits under contention, a crashed holder's permit taken after its TTL
  'test/integration/rwlock.test.ts', // readers share, writers exclude and are not starved, fencing
  'test/integration/ids.test.ts', // incl. child processes allocating at once, a crashed holder
  'test/integration/auth.test.ts', // user/password, token refresh
  'test/integration/config-auth.test.ts',
  'test/integration/no-warnings.test.ts', // 1,000 registrations, 200 locks, 50 watches: no process warning
]);

/** The other files of test/integration/ run on Node only, and why (for docs/COMPATIBILITY.md). */
export const NODE_ONLY_TEST_FILES = Object.freeze({
  'test/integration/cli*.test.ts': 'coordctl, the command-line tool (a Node program), not the library API',
  'test/integration/least-privilege.test.ts': 'drives coordctl (src/cli/program.js) as well as the API',
  'test/integration/consumer.test.ts': 'the packed npm tarball installed into Node apps (npm, node app.mjs/app.cjs, tsc)',
  'test/integration/lock-go.test.ts': "Go interop (builds gochat's Go side); the wire format does not depend on the JS runtime",
  'test/integration/election-go.test.ts': 'Go interop, as above',
  'test/integration/rwlock-go.test.ts': "Go interop (etcd's recipe.RWMutex), as above",
  'test/integration/gochat-interop.test.ts': 'Go interop, as above',
  'test/integration/grpc-transport.test.ts': 'internal: our gRPC transport (src/client/grpc/) driven directly',
  'test/integration/lease.test.ts': 'internal: the kept lease (src/shared/kept-lease.js) driven directly',
  'test/integration/proxy.test.ts': 'tests the TCP proxy test helper',
});

/**
 * Crashes of a runtime itself (not a test failing) that the listed tests and examples can hit. When
 * the process dies that way during one of them, it is reported skipped with the reason (and the
 * file's other tests run again without it); any other failure, or a crash elsewhere, still fails.
 */
const GRPC_FAILOVER = 'etcd:///<name> spreads calls round-robin over all instances; failover and a new instance with no failed call';
const GRPC_EMPTY_LIST = 'empty-list protection: unregistering every instance keeps the last list (configurable)';
const KNOWN_RUNTIME_CRASHES = Object.freeze({
  deno: {
    // Reproduced with @grpc/grpc-js alone (no code of ours): a grpc-js client on Deno 2.9.6, with
    // calls in flight or idle, dies when the grpc-js server it talks to (on Node or Deno) shuts
    // down. Our own etcd client is not affected (45 etcd restarts under load, no crash): etcd
    // (grpc-go) announces its shutdown with a GOAWAY that names no stream to close.
    reason: "a grpc-js client's HTTP/2 session crashes Deno inside nghttp2 on a GOAWAY from a stopping gRPC server (SIGSEGV, or SIGABRT on find_stream_on_goaway_func), denoland/deno#36788",
    crashed: (r) => r.signal === 'SIGSEGV' || (r.signal === 'SIGABRT' && r.stderr.includes('nghttp2')),
    examples: ['grpc'], // stops an instance while calls flow (about 1 run in 8 crashes)
    tests: { 'test/integration/grpc.test.ts': [GRPC_FAILOVER, GRPC_EMPTY_LIST] }, // servers stop with clients connected
  },
});

/** The demo's order (scripts/demo.mjs); other examples run after these. */
const EXAMPLE_ORDER = ['connect', 'basic', 'config', 'registry', 'grpc', 'ids', 'election'];

const EXAMPLE_TIMEOUT_MS = 120_000;
const FILE_TIMEOUT_MS = 240_000;
const TEST_TIMEOUT_MS = 120_000;
const EXIT_GRACE_MS = 10_000;

/**
 * How a runtime runs one of our TypeScript files: argv after the binary, and environment additions.
 * `importMap` (Deno) maps `node:test` onto the shim. Also used by scripts/bench.mjs.
 * @param {{ kind: string }} runtime
 * @param {string} script
 * @param {string[]} [scriptArgs]
 * @param {{ importMap?: string }} [opts]
 * @returns {{ args: string[], env: Record<string, string> }}
 */
export function runtimeCommand(runtime, script, scriptArgs = [], { importMap } = {}) {
  if (runtime.kind === 'node') return { args: ['--import', 'tsx', script, ...scriptArgs], env: {} };
  // DO_NOT_TRACK: no crash report or telemetry leaves the machine
  if (runtime.kind === 'bun') return { args: [script, ...scriptArgs], env: { DO_NOT_TRACK: '1' } };
  if (runtime.kind === 'deno') {
    return {
      args: [
        'run',
        '-A',
        '--no-lock', // no deno.lock in the repo
        '--node-modules-dir=manual', // the repo's node_modules as npm installed it, never modified
        ...(importMap ? ['--import-map', importMap] : []),
        script,
        ...scriptArgs,
      ],
      env: {
        // `.js` specifiers that name `.ts` files (how our sources import each other), as
        // --sloppy-imports does, but inherited by the child processes the tests start with
        // process.execPath (Deno turns their node-style argv into `deno run`).
        DENO_UNSTABLE_SLOPPY_IMPORTS: '1',
        DENO_NO_UPDATE_CHECK: '1', // no request to the internet, no "new release" line on stderr
        DENO_NO_PROMPT: '1',
      },
    };
  }
  throw new Error(`no way to run TypeScript on runtime kind "${runtime.kind}"`);
}

/** runtimeCommand() for this run: test files go through the shim (on Deno, by an import map). */
function launcher(runtime, outDir) {
  const importMap = join(outDir, 'deno-import-map.json');
  const writeMap = () => {
    // written before every launch: a concurrent `npm test` may have emptied .test-output/
    mkdirSync(outDir, { recursive: true });
    writeFileSync(importMap, `${JSON.stringify({ imports: { 'node:test': pathToFileURL(SHIM).href } }, null, 2)}\n`);
    return importMap;
  };
  runtimeCommand(runtime, ''); // throws early for an unknown kind
  return {
    command: (script, scriptArgs, { shim = false } = {}) =>
      runtimeCommand(runtime, script, scriptArgs, shim && runtime.kind === 'deno' ? { importMap: writeMap() } : {}),
  };
}

/** Process groups of the children running now (each child leads its own), for kill on SIGINT/SIGTERM. */
const running = new Set();
let interrupted = false;
const killGroup = (pid) => {
  try {
    process.kill(-pid, 'SIGKILL'); // the child and what it started (etcd members, fixtures)
  } catch {
    // already gone
  }
};
const onSignal = () => {
  interrupted = true;
  running.forEach(killGroup);
};

/**
 * Spawns `bin` as the leader of a new process group, collects stdout/stderr, and kills the group
 * (SIGKILL to the PID we started, negated) at the deadline, so nothing it started outlives it.
 */
function run(bin, args, { cwd, env, timeoutMs, onStderrLine }) {
  return new Promise((resolve) => {
    const started = Date.now();
    const child = spawn(bin, args, { cwd, env, stdio: ['ignore', 'pipe', 'pipe'], detached: true });
    let stdout = '';
    let stderr = '';
    let partial = '';
    let timedOut = false;
    let done = false;
    const pid = child.pid;
    if (pid) running.add(pid);
    const kill = () => pid && killGroup(pid);
    const timer = setTimeout(() => {
      timedOut = true;
      kill();
    }, timeoutMs);
    const finish = (code, signal) => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      if (pid) {
        running.delete(pid);
        killGroup(pid); // grandchildren left behind by a crash or a kill
      }
      if (partial && onStderrLine) onStderrLine(partial, { kill });
      resolve({ code, signal, stdout, stderr, timedOut, ms: Date.now() - started });
    };
    child.stdout.setEncoding('utf8').on('data', (d) => (stdout += d));
    child.stderr.setEncoding('utf8').on('data', (d) => {
      stderr += d;
      if (!onStderrLine) return;
      const lines = (partial + d).split('\n');
      partial = lines.pop();
      for (const line of lines) onStderrLine(line, { kill });
    });
    child.once('error', (err) => {
      stderr += `\n[spawn error] ${err.message}\n`;
      if (!pid) finish(null, null);
    });
    child.once('close', finish);
  });
}

const seconds = (ms) => `${(ms / 1000).toFixed(1)} s`;
const indent = (text, pad = '      ') =>
  text
    .trimEnd()
    .split('\n')
    .map((l) => pad + l)
    .join('\n');
const meaningful = (lines) => lines.filter((l) => l.trim() !== '');

function exampleList(root) {
  const present = readdirSync(join(root, 'examples'))
    .filter((f) => f.endsWith('.ts') && f !== 'log.ts') // log.ts is the examples' shared logger
    .map((f) => f.slice(0, -3));
  return [...EXAMPLE_ORDER.filter((n) => present.includes(n)), ...present.filter((n) => !EXAMPLE_ORDER.includes(n)).sort()];
}

/**
 * Runs one test file through the shim and prints its tests as they end. A test fails on its error,
 * on anything it printed on stderr, on an uncaught exception; the file fails on a load error, on
 * stderr outside any test, when its process does not exit by itself, or exits non-zero (the guard).
 * When the runtime itself crashes during a test listed in `crashes.tests` (a known runtime bug, see
 * KNOWN_RUNTIME_CRASHES), that test is reported skipped with the reason and the file runs again
 * without the tests already reported.
 */
async function runTestFile({ root, runtime, launch, env, file, logDir, print = true, crashes, exitGraceMs = EXIT_GRACE_MS }) {
  const results = [];
  const fileFailures = [];
  const out = (line) => print && console.log(line);
  const reported = new Set();
  let ms = 0;
  let logs = '';

  const finalize = (r) => {
    if (!r || r.final) return;
    r.final = true;
    reported.add(r.name);
    const noise = meaningful(r.noise);
    if (r.forcedFail) r.status = 'fail';
    if (noise.length && r.status !== 'fail') {
      r.status = 'fail';
      r.error = 'printed on stderr (a test must print no warning):';
    }
    if (r.status === 'pass') out(`  ✔ ${r.name} (${r.ms}ms)`);
    else if (r.status === 'fail') {
      out(`  ✖ ${r.name} (${r.ms}ms)`);
      if (r.error) out(indent(r.error));
      if (noise.length) out(indent(`[stderr]\n${noise.join('\n')}`));
    } else out(`  ﹣ ${r.name} # ${r.status.toUpperCase()}${r.reason ? ` ${r.reason}` : ''}`);
    results.push(r);
  };

  out(`▶ ${file}`);
  for (let attempt = 1; ; attempt++) {
    let current; // started, not ended
    let lastEnded; // ended; stderr until the next test starts is still its own
    const loadNoise = [];
    const lateNoise = [];
    let done = false;
    let doneTimer;
    let killedAfterDone = false;
    const byId = new Map();
    const skipArgs = [...reported].map((name) => `--test-skip=${JSON.stringify({ name, quiet: true })}`);
    const cmd = launch.command(SHIM, ['--import', 'test/helpers/guard.ts', `--test-timeout=${TEST_TIMEOUT_MS}`, ...skipArgs, file], { shim: true });
    const res = await run(runtime.bin, cmd.args, {
      cwd: root,
      env: { ...env, ...cmd.env },
      timeoutMs: FILE_TIMEOUT_MS,
      onStderrLine(line, { kill }) {
        if (!line.startsWith(MARK)) {
          if (done) lateNoise.push(line);
          else if (current) current.noise.push(line);
          else if (lastEnded) lastEnded.noise.push(line);
          else loadNoise.push(line);
          return;
        }
        let ev;
        try {
          ev = JSON.parse(line.slice(MARK.length));
        } catch {
          loadNoise.push(line);
          return;
        }
        switch (ev.event) {
          case 'start':
            finalize(lastEnded);
            lastEnded = undefined;
            current = { id: ev.id, name: ev.name, noise: [], status: 'running' };
            byId.set(ev.id, current);
            break;
          case 'end': {
            const r = byId.get(ev.id) ?? { id: ev.id, name: ev.name, noise: [] };
            Object.assign(r, { status: ev.status, ms: ev.ms, error: r.error ? `${r.error}\n${ev.error ?? ''}` : ev.error, reason: ev.reason });
            if (current === r) current = undefined;
            lastEnded = r;
            break;
          }
          case 'uncaught': {
            const r = byId.get(ev.id);
            const text = `uncaught exception: ${ev.error}`;
            if (r && !r.final) {
              r.error = r.error ? `${r.error}\n${text}` : text;
              r.forcedFail = true;
            } else fileFailures.push(text);
            break;
          }
          case 'hook-failure':
            fileFailures.push(`after hook of ${ev.name} failed:\n${ev.error}`);
            break;
          case 'load-failure':
            fileFailures.push(`could not load:\n${ev.error}`);
            break;
          case 'done':
            finalize(lastEnded);
            lastEnded = undefined;
            done = true;
            doneTimer = setTimeout(() => {
              killedAfterDone = true;
              kill();
            }, exitGraceMs);
            break;
          default:
            break;
        }
      },
    });
    clearTimeout(doneTimer);
    ms += res.ms;
    logs += `${attempt > 1 ? `\n===== run ${attempt} =====\n` : ''}[stdout]\n${res.stdout}\n[stderr]\n${res.stderr}`;
    const victim = current ?? lastEnded;
    if (!done && !res.timedOut && victim && crashes?.tests.includes(victim.name) && crashes.crashed(res) && attempt < 5) {
      // the runtime crashed (not a test failing): skip this test, run the file again for the rest
      Object.assign(victim, { status: 'skip', reason: `(${runtime.kind} ${runtime.version} crashed: ${crashes.reason})`, noise: [], ms: victim.ms ?? 0 });
      finalize(victim);
      continue;
    }
    finalize(lastEnded);
    if (current) {
      current.status = 'fail';
      current.ms ??= 0;
      current.error = res.timedOut
        ? `killed: the file ran longer than ${seconds(FILE_TIMEOUT_MS)}`
        : `the process ended during this test (code ${res.code}, signal ${res.signal})`;
      finalize(current);
    }
    if (meaningful(loadNoise).length) fileFailures.push(`printed on stderr outside any test:\n${meaningful(loadNoise).join('\n')}`);
    if (meaningful(lateNoise).length) fileFailures.push(`printed on stderr after its last test:\n${meaningful(lateNoise).join('\n')}`);
    if (killedAfterDone) fileFailures.push(`did not exit within ${seconds(exitGraceMs)} after its last test: something left open keeps the process alive`);
    else if (!done) fileFailures.push(res.timedOut ? `killed after ${seconds(FILE_TIMEOUT_MS)}` : `ended before its tests finished (code ${res.code}, signal ${res.signal})`);
    else if (res.code !== 0 && !results.some((r) => r.status === 'fail') && fileFailures.length === 0) {
      fileFailures.push(`exited with code ${res.code} (set by test/helpers/guard.ts: an unhandled rejection or a process warning)`);
    }
    break;
  }
  for (const f of fileFailures) {
    out(`  ✖ ${file}: ${f.split('\n')[0]}`);
    if (f.includes('\n')) out(indent(f.split('\n').slice(1).join('\n')));
  }
  const failed = results.filter((r) => r.status === 'fail').length + fileFailures.length;
  out(`${failed ? '✖' : '✔'} ${file} (${seconds(ms)})`);
  if (logDir) writeFileSync(join(logDir, `${file.replaceAll('/', '_')}.log`), logs);
  return {
    pass: results.filter((r) => r.status === 'pass').length,
    fail: failed,
    skipped: results.filter((r) => r.status !== 'pass' && r.status !== 'fail').length,
    results,
    fileFailures,
    ms,
  };
}

/**
 * The harness's own checks, on the runtime under test: a deliberate unhandled rejection must fail
 * the file (test/helpers/guard.ts), a deliberate DeprecationWarning must fail the test that printed
 * it, and a file that leaves a timer running must fail for not exiting.
 */
async function harnessChecks({ root, runtime, launch, env, dir }) {
  const probes = [
    {
      name: 'an unhandled rejection fails the run (test/helpers/guard.ts)',
      source: `test('leaves an unhandled rejection behind', async () => {\n  void Promise.reject(new Error('deliberate unhandled rejection'));\n  await new Promise((r) => setTimeout(r, 50));\n});\n`,
      caught: (r) => r.fail > 0 && r.results.length === 1,
    },
    {
      name: 'a warning printed by a test fails that test',
      source: `test('prints a DeprecationWarning', async () => {\n  process.emitWarning('deliberate warning', 'DeprecationWarning', 'DEP0000');\n  await new Promise((r) => setTimeout(r, 50));\n});\ntest('prints nothing', () => {});\n`,
      caught: (r) => r.results.map((t) => t.status).join() === 'fail,pass',
    },
    {
      name: 'a process kept alive after its tests fails',
      source: `test('leaves an interval running', () => {\n  setInterval(() => {}, 1000);\n});\n`,
      caught: (r) => r.fileFailures.some((f) => f.startsWith('did not exit')),
    },
  ];
  let pass = 0;
  let fail = 0;
  console.log('▶ harness checks');
  for (const [i, probe] of probes.entries()) {
    const file = join(dir, `harness-${i + 1}.test.ts`);
    writeFileSync(file, `import { test } from 'node:test';\n${probe.source}`);
    const r = await runTestFile({ root, runtime, launch, env, file: relative(root, file), print: false, exitGraceMs: 2000 });
    const ok = probe.caught(r);
    console.log(`  ${ok ? '✔' : '✖'} ${probe.name}${ok ? '' : ` — not reported as expected: ${JSON.stringify(r.results.map((t) => [t.name, t.status]))} ${r.fileFailures.join('; ')}`}`);
    if (ok) pass++;
    else fail++;
  }
  return { pass, fail, count: probes.length };
}

/** Runs one demo example: it passes when it exits 0 in time and prints nothing on stderr. */
async function runExample({ root, runtime, launch, env, name, dir, crashes }) {
  const file = join('examples', `${name}.ts`);
  const cmd = launch.command(file, []);
  const r = await run(runtime.bin, cmd.args, {
    cwd: root,
    env: { ...env, ...cmd.env, COORD_LOG_LEVEL: process.env.COORD_LOG_LEVEL ?? 'warn' }, // as `npm run demo`
    timeoutMs: EXAMPLE_TIMEOUT_MS,
  });
  writeFileSync(join(dir, `example-${name}.log`), `[stdout]\n${r.stdout}\n[stderr]\n${r.stderr}`);
  const stderr = meaningful(r.stderr.split('\n'));
  if (r.code === 0 && stderr.length === 0) {
    console.log(`  ✔ ${file} (${r.ms}ms)`);
    return 'pass';
  }
  if (!r.timedOut && crashes?.examples.includes(name) && crashes.crashed(r)) {
    console.log(`  ﹣ ${file} # SKIP (${runtime.kind} ${runtime.version} crashed: ${crashes.reason})`);
    return 'skip';
  }
  const why = r.timedOut ? `killed after ${seconds(EXAMPLE_TIMEOUT_MS)}` : r.code !== 0 ? `exit ${r.code ?? r.signal}` : 'printed on stderr (an example must print no warning)';
  console.log(`  ✖ ${file} (${r.ms}ms): ${why}`);
  if (stderr.length) console.log(indent(`[stderr]\n${stderr.join('\n')}`));
  if (r.code !== 0) console.log(indent(`[stdout, last lines]\n${r.stdout.trimEnd().split('\n').slice(-15).join('\n')}`));
  return 'fail';
}

/**
 * @param {{ root: string, runtime: { name: string, kind: string, version: string, bin: string }, env: NodeJS.ProcessEnv, outDir: string, files?: readonly string[], examples?: boolean }} opts
 *   `files` and `examples: false` narrow the run (to try one file); scripts/test.mjs runs everything.
 * @returns {Promise<{ pass: number, fail: number, skipped: number }>}
 */
export async function runForeignTests({ root, runtime, env, outDir, files = FOREIGN_TEST_FILES, examples = true }) {
  const dir = join(outDir, runtime.name);
  mkdirSync(dir, { recursive: true });
  const launch = launcher(runtime, dir);
  const crashes = KNOWN_RUNTIME_CRASHES[runtime.kind];
  const label = `${runtime.kind} ${runtime.version}`;
  const totals = { pass: 0, fail: 0, skipped: 0 };
  const add = (status) => (status === 'pass' ? totals.pass++ : status === 'fail' ? totals.fail++ : totals.skipped++);
  const started = Date.now();
  interrupted = false;
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  try {
    // ── the demo's examples ──
    const names = examples ? exampleList(root) : [];
    if (names.length) {
      console.log(`▶ examples (as \`npm run demo\`)`);
      const t0 = Date.now();
      const before = totals.fail;
      for (const name of names) if (!interrupted) add(await runExample({ root, runtime, launch, env, name, dir, crashes }));
      console.log(`${totals.fail > before ? '✖' : '✔'} examples (${seconds(Date.now() - t0)})`);
    }

    // ── the harness's own checks, then the integration tests ──
    const h = interrupted ? { pass: 0, fail: 0, count: 0 } : await harnessChecks({ root, runtime, launch, env, dir });
    totals.pass += h.pass;
    totals.fail += h.fail;
    for (const file of files) {
      if (interrupted) break;
      const r = await runTestFile({ root, runtime, launch, env, file, logDir: dir, crashes: crashes && { ...crashes, tests: crashes.tests[file] ?? [] } });
      totals.pass += r.pass;
      totals.fail += r.fail;
      totals.skipped += r.skipped;
    }
    if (interrupted) {
      totals.fail++;
      console.log('✖ interrupted');
    }
    console.log(
      `[test] ${label}: ${totals.pass} passed, ${totals.fail} failed, ${totals.skipped} skipped ` +
        `(${names.length} examples, ${h.count} harness checks, ${files.length} test files) in ${seconds(Date.now() - started)}; logs in ${relative(root, dir)}/`,
    );
    return totals;
  } finally {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
  }
}
