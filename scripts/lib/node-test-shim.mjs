// The `node:test` API our test files use, with node's semantics, for runtimes whose own `node:test`
// differs (see scripts/lib/foreign-tests.mjs): Deno maps it onto Deno.test, where an after() called
// inside a test never runs (so a test's coordinators would never be closed); Bun only runs it under
// `bun test`. Here each test file runs directly in its own process, like `node --test` runs it:
//
//   <runtime> scripts/lib/node-test-shim.mjs [--import <file>]... [--test-timeout=<ms>]
//             [--test-skip='{"name":"<full test name>","reason":"<why>"}']... <test file>
//
// Imports of `node:test` are mapped onto this module: on Deno by an import map (--import-map), on
// Bun by the plugin below (Bun.plugin cannot replace a builtin module, so it rewrites the specifier
// in TypeScript files outside node_modules as they load). The test files stay exactly as node runs them.
//
// Supported: test/it (name, options, fn), describe/suite, before/after/beforeEach/afterEach at file,
// suite or test level, options skip/todo/timeout, the context's after/before/test/skip/todo/diagnostic/
// signal/name, and (t, done) callbacks. Tests run one after the other (node's default for a file).
// An after() called while a test runs belongs to that test (runs when it ends, first-in first-out).
//
// On Deno it also makes ChildProcess.kill() send every signal, as node does (Deno 2.9 sends only the
// first; the test helpers stop etcd with SIGCONT then SIGTERM): see main().
//
// Output: one line per event on stderr, `##node-test-shim## {json}`, written synchronously so that
// anything else the runtime prints on stderr falls between the start and end of the test that
// printed it (the parent fails that test). After the last test nothing calls process.exit(): the
// process must end on its own (the parent kills it after a grace period and fails the file).
import { writeSync } from 'node:fs';
import { isAbsolute, resolve, sep } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

export const MARK = '##node-test-shim## ';
const SELF = fileURLToPath(import.meta.url);

function emit(event) {
  writeSync(2, `${MARK}${JSON.stringify(event)}\n`);
}

function errorText(err) {
  if (err instanceof Error) {
    const extra = err.cause ? `\n[cause] ${errorText(err.cause)}` : '';
    return `${err.stack ?? `${err.name}: ${err.message}`}${extra}`;
  }
  try {
    return typeof err === 'string' ? err : JSON.stringify(err);
  } catch {
    return String(err);
  }
}

class Suite {
  constructor(name, parent, options = {}) {
    this.name = name;
    this.parent = parent;
    this.options = options;
    this.children = [];
    this.hooks = { before: [], after: [], beforeEach: [], afterEach: [] };
    this.built = undefined; // describe()'s callback, when it returned a promise
  }
  get fullName() {
    return this.parent?.parent ? `${this.parent.fullName} › ${this.name}` : this.name;
  }
}

const root = new Suite('', undefined);
let building = root; // the suite whose describe() callback is running
let running; // the test whose body is running (tests run one after the other)
let nextId = 1;
const counts = { pass: 0, fail: 0, skipped: 0 };
let defaultTimeout = 120_000;
/**
 * Tests the runner skips (--test-skip=<json>, one per test): `{ name, reason }` is reported as
 * skipped (what a runtime cannot run), `{ name, quiet: true }` is not run nor reported at all (the
 * parent runs a file again after the runtime itself crashed, without what it already reported).
 */
const skipList = [];

function normalize(name, options, fn) {
  if (typeof name === 'function') return { name: name.name || '<anonymous>', options: {}, fn: name };
  if (typeof options === 'function') return { name: String(name ?? '<anonymous>'), options: {}, fn: options };
  return { name: String(name ?? '<anonymous>'), options: options ?? {}, fn };
}

/** Runs `fn` with a deadline; resolves to undefined or rejects with its error (or a timeout). */
async function bounded(fn, thisArg, args, timeoutMs, what) {
  let timer;
  const deadline = new Promise((_, reject) => {
    if (Number.isFinite(timeoutMs) && timeoutMs > 0) timer = setTimeout(() => reject(new Error(`${what} timed out after ${timeoutMs} ms`)), timeoutMs);
  });
  try {
    const run = new Promise((resolveRun, rejectRun) => {
      if (fn.length >= 2 && args.length === 1) {
        // (t, done) style
        const done = (err) => (err ? rejectRun(err) : resolveRun());
        try {
          const r = fn.call(thisArg, args[0], done);
          if (r && typeof r.then === 'function') r.then(undefined, rejectRun);
        } catch (err) {
          rejectRun(err);
        }
        return;
      }
      try {
        Promise.resolve(fn.apply(thisArg, args)).then(resolveRun, rejectRun);
      } catch (err) {
        rejectRun(err);
      }
    });
    await Promise.race([run, deadline]);
  } finally {
    clearTimeout(timer);
  }
}

class SkipSignal {
  constructor(message, todo = false) {
    this.message = message;
    this.todo = todo;
  }
}

class TestContext {
  constructor(test) {
    this.test_ = test;
    this.name = test.name;
    this.fullName = test.fullName;
    this.controller = new AbortController();
  }
  get signal() {
    return this.controller.signal;
  }
  after(fn) {
    this.test_.after.push(fn);
  }
  before(fn) {
    // node runs it before the test's subtests
    this.test_.before.push(fn);
  }
  beforeEach(fn) {
    this.test_.before.push(fn);
  }
  afterEach(fn) {
    this.test_.after.push(fn);
  }
  skip(message) {
    this.test_.skipMessage = message ?? '';
  }
  todo(message) {
    this.test_.todoMessage = message ?? '';
  }
  diagnostic(message) {
    emit({ event: 'diagnostic', id: this.test_.id, message: String(message) });
  }
  plan() {}
  get mock() {
    throw new Error('t.mock is not provided by scripts/lib/node-test-shim.mjs');
  }
  /** A subtest, run now (awaited by the caller, as in node). */
  async test(name, options, fn) {
    const spec = normalize(name, options, fn);
    const sub = makeTest(spec, { parent: this.test_.suite, prefix: this.fullName });
    await runTest(sub, {}, true);
  }
}

function makeTest(spec, { parent, prefix }) {
  const fullName = prefix ? `${prefix} › ${spec.name}` : spec.name;
  return { kind: 'test', id: nextId++, name: spec.name, fullName, options: spec.options, fn: spec.fn, suite: parent, after: [], before: [] };
}

function eachHooks(suite, kind) {
  const chain = [];
  for (let s = suite; s; s = s.parent) chain.unshift(s);
  const hooks = chain.flatMap((s) => s.hooks[kind]);
  return kind === 'afterEach' ? hooks.reverse() : hooks;
}

async function runTest(test, inherited, nested = false) {
  const { options } = test;
  const listed = skipList.find((s) => s.name === test.fullName);
  if (listed?.quiet) return; // already reported by an earlier run of this file
  const skip = options.skip ?? inherited.skip ?? listed?.reason;
  const todo = options.todo ?? inherited.todo;
  emit({ event: 'start', id: test.id, name: test.fullName });
  const started = performance.now();
  const end = (status, extra = {}) => {
    const ms = Math.round((performance.now() - started) * 10) / 10;
    if (status === 'pass') counts.pass++;
    else if (status === 'fail') counts.fail++;
    else counts.skipped++;
    emit({ event: 'end', id: test.id, name: test.fullName, status, ms, ...extra });
  };
  if (skip) return end('skip', { reason: typeof skip === 'string' ? skip : '' });
  if (inherited.error) return end('fail', { error: inherited.error });
  if (typeof test.fn !== 'function') return end(todo ? 'todo' : 'skip', { reason: 'no test function' });
  const timeoutMs = options.timeout ?? inherited.timeout ?? defaultTimeout;
  const ctx = new TestContext(test);
  const errors = [];
  const previous = running;
  running = test;
  try {
    for (const hook of nested ? [] : eachHooks(test.suite, 'beforeEach')) await bounded(hook, ctx, [ctx], timeoutMs, 'beforeEach hook');
    for (const hook of test.before) await bounded(hook, ctx, [ctx], timeoutMs, 'before hook');
    await bounded(test.fn, ctx, [ctx], timeoutMs, `test "${test.fullName}"`);
  } catch (err) {
    errors.push(err);
  }
  ctx.controller.abort(new Error('the test has ended'));
  // after hooks, first-in first-out, also when the test failed or timed out
  for (let i = 0; i < test.after.length; i++) {
    try {
      await bounded(test.after[i], ctx, [ctx], timeoutMs, 'after hook');
    } catch (err) {
      errors.push(err);
    }
  }
  for (const hook of nested ? [] : eachHooks(test.suite, 'afterEach')) {
    try {
      await bounded(hook, ctx, [ctx], timeoutMs, 'afterEach hook');
    } catch (err) {
      errors.push(err);
    }
  }
  running = previous;
  if (errors.length) return end('fail', { error: errors.map(errorText).join('\n') });
  if (test.skipMessage !== undefined) return end('skip', { reason: test.skipMessage });
  if (todo || test.todoMessage !== undefined) return end('todo', { reason: typeof todo === 'string' ? todo : (test.todoMessage ?? '') });
  return end('pass');
}

async function runSuite(suite, inherited) {
  if (suite.built) {
    try {
      await suite.built;
    } catch (err) {
      inherited = { ...inherited, error: `describe() callback failed: ${errorText(err)}` };
    }
  }
  const options = suite.options;
  const here = {
    skip: options.skip ?? inherited.skip,
    todo: options.todo ?? inherited.todo,
    timeout: options.timeout ?? inherited.timeout,
    error: inherited.error,
  };
  if (!here.skip && !here.error) {
    for (const hook of suite.hooks.before) {
      try {
        await bounded(hook, undefined, [{ name: suite.name, signal: new AbortController().signal }], here.timeout ?? defaultTimeout, 'before hook');
      } catch (err) {
        here.error = `before hook failed: ${errorText(err)}`; // node fails every test of the suite with it
        break;
      }
    }
  }
  // New children may be added while running (a test file's module body awaits between test() calls).
  for (let i = 0; i < suite.children.length; i++) {
    const child = suite.children[i];
    if (child instanceof Suite) await runSuite(child, here);
    else await runTest(child, here);
  }
  const afterErrors = [];
  for (const hook of suite.hooks.after) {
    try {
      await bounded(hook, undefined, [{ name: suite.name }], here.timeout ?? defaultTimeout, 'after hook');
    } catch (err) {
      afterErrors.push(err);
    }
  }
  if (afterErrors.length) {
    counts.fail++;
    emit({ event: 'hook-failure', name: suite.parent ? suite.fullName : '<file>', error: afterErrors.map(errorText).join('\n') });
  }
}

// ── the node:test API ──
export function test(name, options, fn) {
  const spec = normalize(name, options, fn);
  if (running && building === root) {
    // test() inside a running test: a subtest, as in node
    return new TestContext(running).test(spec.name, spec.options, spec.fn);
  }
  building.children.push(makeTest(spec, { parent: building, prefix: building.parent ? building.fullName : '' }));
  return Promise.resolve();
}
export const it = test;

export function describe(name, options, fn) {
  const spec = normalize(name, options, fn);
  const suite = new Suite(spec.name, building, spec.options);
  building.children.push(suite);
  const outer = building;
  building = suite;
  try {
    const r = spec.fn?.call(undefined, { name: spec.name });
    if (r && typeof r.then === 'function') suite.built = r;
  } finally {
    building = outer;
  }
  return Promise.resolve();
}
export const suite = describe;

function hook(kind) {
  return (fn) => {
    if (running && building === root) {
      if (kind === 'after' || kind === 'afterEach') running.after.push(fn);
      else running.before.push(fn);
      return;
    }
    building.hooks[kind].push(fn);
  };
}
export const before = hook('before');
export const after = hook('after');
export const beforeEach = hook('beforeEach');
export const afterEach = hook('afterEach');

for (const f of [test, describe]) {
  f.skip = (name, options, fn) => {
    const spec = normalize(name, options, fn);
    return f(spec.name, { ...spec.options, skip: true }, spec.fn);
  };
  f.todo = (name, options, fn) => {
    const spec = normalize(name, options, fn);
    return f(spec.name, { ...spec.options, todo: true }, spec.fn);
  };
  f.only = f;
}
test.test = test;
test.describe = describe;
test.it = test;
test.suite = describe;
test.before = before;
test.after = after;
test.beforeEach = beforeEach;
test.afterEach = afterEach;
export default test;

// ── the runner (when this file is the entry point) ──
async function main(argv) {
  const imports = [];
  let file;
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === '--import') imports.push(argv[++i]);
    else if (a.startsWith('--test-timeout=')) defaultTimeout = Number(a.slice('--test-timeout='.length));
    else if (a.startsWith('--test-skip=')) skipList.push(JSON.parse(a.slice('--test-skip='.length)));
    else file = a;
  }
  if (!file) throw new Error('usage: node-test-shim.mjs [--import <file>]... [--test-timeout=<ms>] [--test-skip=<json>]... <test file>');
  const toUrl = (f) => pathToFileURL(isAbsolute(f) ? f : resolve(f)).href;

  const Bun = globalThis.Bun;
  if (Bun) {
    // `node:test` is a builtin Bun will not let a plugin replace: rewrite the specifier instead, in
    // TypeScript files outside node_modules (the tests, their helpers).
    const { readFileSync } = await import('node:fs');
    const nodeModules = `${sep}node_modules${sep}`;
    Bun.plugin({
      name: 'node-test-shim',
      setup(build) {
        build.onLoad({ filter: /\.ts$/ }, ({ path }) => {
          const source = readFileSync(path, 'utf8');
          if (path.includes(nodeModules) || !source.includes('node:test')) return { contents: source, loader: 'ts' };
          return { contents: source.replace(/(from\s*)(['"])node:test\2/g, (_, from) => `${from}${JSON.stringify(SELF)}`), loader: 'ts' };
        });
      },
    });
  }

  if (globalThis.Deno) {
    // Deno 2.9's ChildProcess.kill() sends only its first signal: every later call is a no-op that
    // returns false (node sends each one); it also sets signalCode to that first signal at once.
    // Our helpers rely on node's behaviour: EtcdMember.stop() sends SIGCONT then SIGTERM (SIGKILL
    // after a deadline), tests SIGTERM a child and SIGKILL it in after(). So later signals go
    // through process.kill(pid), until the child's 'exit'.
    const { ChildProcess } = await import('node:child_process');
    const kill = ChildProcess.prototype.kill;
    const exited = Symbol('exited');
    ChildProcess.prototype.kill = function (signal = 'SIGTERM') {
      if (!this.killed) {
        this.once('exit', () => (this[exited] = true));
        return kill.call(this, signal);
      }
      if (this[exited] || this.exitCode != null || !this.pid) return false;
      try {
        process.kill(this.pid, signal);
        return true;
      } catch {
        return false;
      }
    };
  }

  process.on('uncaughtException', (err) => {
    // node's runner fails the running test (or the file) instead of dying
    process.exitCode = 1;
    emit({ event: 'uncaught', id: running?.id, error: errorText(err) });
  });

  for (const f of imports) await import(toUrl(f));
  emit({ event: 'file', file });
  try {
    await import(toUrl(file));
  } catch (err) {
    counts.fail++;
    emit({ event: 'load-failure', error: errorText(err) });
  }
  await runSuite(root, {});
  emit({ event: 'done', ...counts });
  if (counts.fail > 0) process.exitCode = 1;
  // and no process.exit(): what is still open keeps the process alive, and the parent sees it
}

// No top-level await: the test file imports this module, which must have finished evaluating.
const entry = process.argv[1] && resolve(process.argv[1]);
if (entry === SELF) {
  main(process.argv.slice(2)).catch((err) => {
    process.exitCode = 1;
    emit({ event: 'load-failure', error: errorText(err) });
  });
}
