#!/usr/bin/env node
// `npm run demo`: installs what is missing, starts a throwaway etcd on free loopback ports, runs the
// examples against it one after the other (each prints what happens), then stops etcd.
//   npm run demo                 every example in the order below
//   npm run demo -- basic grpc   only these
import { spawn } from 'node:child_process';
import { readdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ensureDeps } from './lib/deps.mjs';
import { ensureEtcd, startCluster } from './lib/etcd.mjs';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
process.chdir(root);
// The order a newcomer should read them in; other examples present run after these.
const ORDER = ['connect', 'basic', 'config', 'registry', 'grpc', 'ids', 'election'];
const present = readdirSync(join(root, 'examples'))
  .filter((f) => f.endsWith('.ts') && f !== 'log.ts') // log.ts is the examples' shared logger, not an example
  .map((f) => f.slice(0, -3));
const all = [...ORDER.filter((n) => present.includes(n)), ...present.filter((n) => !ORDER.includes(n)).sort()];
const wanted = process.argv.slice(2);
const unknown = wanted.filter((name) => !all.includes(name));
if (unknown.length) {
  console.error(`[demo] no such example: ${unknown.join(', ')}\n[demo] examples: ${all.join(', ')}`);
  process.exit(2);
}
const examples = wanted.length ? wanted : all;

ensureDeps(root);
ensureEtcd({ quiet: false });
const etcd = await startCluster({ size: 1 });
console.log(`[demo] throwaway etcd at ${etcd.endpoints.join(',')}\n`);

let failed = 0;
try {
  for (const name of examples) {
    console.log(`\n===== examples/${name}.ts =====`);
    const child = spawn(process.execPath, ['--import', 'tsx', join('examples', `${name}.ts`)], {
      stdio: ['ignore', 'inherit', 'inherit'],
      env: { ...process.env, ETCD_ENDPOINTS: etcd.endpoints.join(','), COORD_LOG_LEVEL: process.env.COORD_LOG_LEVEL ?? 'warn' },
    });
    const timer = setTimeout(() => child.kill('SIGKILL'), 120_000);
    const code = await new Promise((r) => child.once('exit', (c, s) => r(c ?? s)));
    clearTimeout(timer);
    if (code !== 0) {
      failed++;
      console.error(`[demo] examples/${name}.ts failed (${code})`);
    }
  }
} finally {
  await etcd.stop();
}
console.log(`\n[demo] ${examples.length - failed} of ${examples.length} examples ran successfully`);
process.exit(failed ? 1 : 0);
