#!/usr/bin/env node
// `npm run bench`: installs what is missing, starts a throwaway etcd (data on tmpfs), runs every
// bench/*.bench.ts against it in turn; each writes its own section of docs/BENCHMARKS.md.
//   npm run bench                all benchmarks (on Node 24; BENCH_NODE=node20 for another major), then "runtimes"
//   npm run bench -- lock        only bench/lock.bench.ts (also: config, registry, ids, election)
//   npm run bench -- runtimes    only the runtime comparison: the lock and config benchmarks' own
//                                cases (BENCH_OURS_ONLY) on Node 24, Bun and Deno, one table
//   npm run bench -- --runtimes node24,bun   that comparison on these runtimes (scripts/lib/runtimes.mjs)
import { execFileSync, spawn } from 'node:child_process';
import { availableParallelism } from 'node:os';
import { readdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ensureDeps } from './lib/deps.mjs';
import { ensureEtcd, startCluster } from './lib/etcd.mjs';
import { runtimeCommand } from './lib/foreign-tests.mjs';
import { ensureRuntime } from './lib/runtimes.mjs';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
process.chdir(root);
const wanted = [];
let runtimes = ['node24', 'bun', 'deno'];
for (let i = 2; i < process.argv.length; i++) {
  const a = process.argv[i];
  if (a === '--runtimes' || a.startsWith('--runtimes=')) {
    runtimes = (a === '--runtimes' ? process.argv[++i] ?? '' : a.slice('--runtimes='.length)).split(',').filter(Boolean);
    wanted.push('runtimes');
  } else wanted.push(a);
}
const benches = readdirSync(join(root, 'bench'))
  .filter((f) => f.endsWith('.bench.ts'))
  .map((f) => f.replace(/\.bench\.ts$/, ''))
  .filter((name) => wanted.length === 0 || wanted.includes(name))
  .sort();
const compareRuntimes = wanted.length === 0 || wanted.includes('runtimes');

ensureDeps(root);
ensureEtcd({ quiet: false });
// The benchmarks headline Node 24 (the LTS); BENCH_NODE=node20 (or node22, node26) measures another major.
const benchNode = ensureRuntime(process.env.BENCH_NODE ?? 'node24');
console.log(`[bench] benchmarks run on Node ${benchNode.version}`);
const pins = cpuSplit();
if (pins) console.log(`[bench] etcd pinned to CPU ${pins.etcd}, benchmarks (and the Go programs they run) to CPU ${pins.client} (BENCH_PIN=0 turns this off)`);
let failed = 0;
for (const name of benches) {
  // A fresh member per benchmark, so one's leftovers (watchers, leases) cannot slow the next.
  const etcd = await startCluster({ size: 1 });
  console.log(`\n===== bench/${name}.bench.ts (etcd ${etcd.endpoints.join(',')}) =====`);
  try {
    // etcd and the client on cores of their own, as on separate machines: neither evicts the
    // other's caches or waits for the other's time slice, so runs vary less.
    if (pins) for (const pid of etcd.members.map((m) => m.pid)) execFileSync('taskset', ['-a', '-p', '-c', pins.etcd, String(pid)], { stdio: 'ignore' });
    const command = [benchNode.bin, '--import', 'tsx', '--expose-gc', join('bench', `${name}.bench.ts`)];
    const child = spawn(pins ? 'taskset' : command[0], pins ? ['-c', pins.client, ...command] : command.slice(1), {
      stdio: ['ignore', 'inherit', 'inherit'],
      env: { ...process.env, ETCD_ENDPOINTS: etcd.endpoints.join(','), COORD_LOG_LEVEL: 'silent' },
    });
    const code = await new Promise((r) => child.once('exit', (c, s) => r(c ?? s)));
    if (code !== 0) {
      failed++;
      console.error(`[bench] ${name} failed (${code})`);
    }
  } finally {
    await etcd.stop();
  }
}
if (compareRuntimes) await runtimesSection();
process.exit(failed ? 1 : 0);

/**
 * Our lock (uncontended acquire + unlock) and config.get() on each runtime: the same bench files in
 * their BENCH_OURS_ONLY mode, a fresh etcd per run, pinned like the others; one table, written as
 * the "runtimes" section of docs/BENCHMARKS.md (through bench/report.ts).
 */
async function runtimesSection() {
  const rts = runtimes.map((name) => ensureRuntime(name));
  const rows = [];
  for (const rt of rts) {
    const row = { rt };
    for (const name of ['lock', 'config']) {
      const etcd = await startCluster({ size: 1 });
      try {
        if (pins) for (const pid of etcd.members.map((m) => m.pid)) execFileSync('taskset', ['-a', '-p', '-c', pins.etcd, String(pid)], { stdio: 'ignore' });
        const cmd = runtimeCommand(rt, join('bench', `${name}.bench.ts`));
        const command = [rt.bin, ...cmd.args];
        console.log(`\n===== bench/${name}.bench.ts on ${rt.kind} ${rt.version} (BENCH_OURS_ONLY) =====`);
        const child = spawn(pins ? 'taskset' : command[0], pins ? ['-c', pins.client, ...command] : command.slice(1), {
          stdio: ['ignore', 'pipe', 'inherit'],
          env: { ...process.env, ...cmd.env, ETCD_ENDPOINTS: etcd.endpoints.join(','), COORD_LOG_LEVEL: 'silent', BENCH_OURS_ONLY: '1' },
        });
        let out = '';
        child.stdout.setEncoding('utf8').on('data', (d) => (out += d));
        const timer = setTimeout(() => process.kill(child.pid, 'SIGKILL'), 300_000);
        const code = await new Promise((r) => child.once('exit', (c, s) => r(c ?? s)));
        clearTimeout(timer);
        process.stdout.write(out);
        if (code !== 0) {
          failed++;
          console.error(`[bench] ${name} on ${rt.kind} ${rt.version} failed (${code})`);
          continue;
        }
        Object.assign(row, JSON.parse(out.trim().split('\n').pop()));
      } finally {
        await etcd.stop();
      }
    }
    rows.push(row);
  }
  if (rows.length === 0) return;
  const base = rows.find((r) => r.rt.name === 'node24') ?? rows[0];
  const fmt = (v) => (v === undefined ? 'n/a' : String(Math.round(v)));
  const vs = (v, b) => (v === undefined || !b ? 'n/a' : `${(v / b).toFixed(2)}×`);
  const label = (rt) => `${{ node: 'Node', bun: 'Bun', deno: 'Deno' }[rt.kind] ?? rt.kind} ${rt.version}`;
  const body = `
| runtime | lock: uncontended acquire + unlock, cycles/s | ÷ ${label(base.rt)} | \`config.get()\`, ops/s (1 in flight) | ÷ ${label(base.rt)} |
|---|---|---|---|---|
${rows.map((r) => `| ${label(r.rt)} | ${fmt(r.lockCyclesPerSec)} | ${vs(r.lockCyclesPerSec, base.lockCyclesPerSec)} | ${fmt(r.configGetPerSec)} | ${vs(r.configGetPerSec, base.configGetPerSec)} |`).join('\n')}

The same code on each runtime: bench/lock.bench.ts and bench/config.bench.ts with \`BENCH_OURS_ONLY=1\`
(our default lock, \`holdTryAcquireKey\` on: best of ${process.env.LOCK_BENCH_ROUNDS ?? 3} rounds of ${process.env.LOCK_BENCH_SECONDS ?? 3} s; \`config.get()\` of one
small JSON value, one caller: best of 3 rounds of ${process.env.CONFIG_BENCH_SECONDS ?? 3} s), each against a fresh etcd member, pinned like
the sections above; Node runs the TypeScript through tsx, Bun and Deno natively (binaries from
scripts/lib/runtimes.mjs). Every row names its runtime's version.
`;
  // writeSection() and the machine line live in bench/report.ts: run it through tsx, on the Node measured.
  const writer = rts.find((rt) => rt.kind === 'node')?.bin ?? process.execPath;
  execFileSync(writer, ['--import', 'tsx', '--input-type=module', '-e', "const { writeSection } = await import('./bench/report.ts'); writeSection('runtimes', 'Bun and Deno', process.env.BENCH_SECTION);"], {
    stdio: 'inherit',
    env: { ...process.env, BENCH_SECTION: body },
    timeout: 60_000,
  });
}

/** CPUs for etcd (upper half) and for the benchmark process (lower half); none on one CPU or without taskset. */
function cpuSplit() {
  const n = availableParallelism();
  if (process.env.BENCH_PIN === '0' || n < 2) return undefined;
  try {
    execFileSync('taskset', ['-p', String(process.pid)], { stdio: 'ignore' });
  } catch {
    return undefined;
  }
  const half = Math.floor(n / 2);
  const range = (from, to) => (from === to ? `${from}` : `${from}-${to}`);
  return { client: range(0, half - 1), etcd: range(half, n - 1) };
}
