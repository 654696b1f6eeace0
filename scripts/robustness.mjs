#!/usr/bin/env node
// `npm run robustness -- --minutes N [--seed S]`: installs what is missing, then runs
// test/robustness/run.ts (a 3-member throwaway etcd, worker processes, random faults, a history check).
import { spawn } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ensureDeps } from './lib/deps.mjs';
import { ensureEtcd } from './lib/etcd.mjs';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
process.chdir(root);
ensureDeps(root);
ensureEtcd({ quiet: false });
const child = spawn(process.execPath, ['--import', 'tsx', join('test', 'robustness', 'run.ts'), ...process.argv.slice(2)], {
  stdio: 'inherit',
  env: { ...process.env, COORD_LOG_LEVEL: process.env.COORD_LOG_LEVEL ?? 'silent' },
});
const stop = (sig) => child.kill(sig);
process.on('SIGINT', stop);
process.on('SIGTERM', stop);
child.once('exit', (code, signal) => process.exit(code ?? (signal ? 1 : 0)));
