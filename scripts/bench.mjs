#!/usr/bin/env node
// `npm run bench`: installs what is missing, starts a throwaway etcd (data on tmpfs), runs every
// bench/*.bench.ts against it in turn; each writes its own section of docs/BENCHMARKS.md.
//   npm run bench                all benchmarks
//   npm run bench -- lock        only bench/lock.bench.ts (also: config, registry, ids, election)
import { execFileSync, spawn } from 'node:child_process';
import { availableParallelism } from 'node:os';
import { readdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ensureDeps } from './lib/deps.mjs';
import { ensureEtcd, startCluster } from './lib/etcd.mjs';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
process.chdir(root);
const wanted = process.argv.slice(2);
const benches = readdirSync(join(root, 'bench'))
  .filter((f) => f.endsWith('.bench.ts'))
  .map((f) => f.replace(/\.bench\.ts$/, ''))
  .filter((name) => wanted.length === 0 || wanted.includes(name))
  .sort();

ensureDeps(root);
ensureEtcd({ quiet: false });
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
    const command = [process.execPath, '--import', 'tsx', '--expose-gc', join('bench', `${name}.bench.ts`)];
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
process.exit(failed ? 1 : 0);

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
