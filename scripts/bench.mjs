#!/usr/bin/env node
// `npm run bench`: installs what is missing, starts a throwaway etcd (data on tmpfs), runs every
// bench/*.bench.ts against it in turn; each writes its own section of docs/BENCHMARKS.md.
//   npm run bench                all benchmarks
//   npm run bench -- lock        only bench/lock.bench.ts (also: config, registry, ids, election)
import { spawn } from 'node:child_process';
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
let failed = 0;
for (const name of benches) {
  // A fresh member per benchmark, so one's leftovers (watchers, leases) cannot slow the next.
  const etcd = await startCluster({ size: 1 });
  console.log(`\n===== bench/${name}.bench.ts (etcd ${etcd.endpoints.join(',')}) =====`);
  try {
    const child = spawn(process.execPath, ['--import', 'tsx', '--expose-gc', join('bench', `${name}.bench.ts`)], {
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
