// The robustness run (issue 29) for one minute with a fixed seed, so that it cannot rot between long
// runs: every fault kind, every component, and the history checks. The long runs are
// `npm run robustness -- --minutes N` (docs/RELIABILITY.md §10).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';

const SEED = 29;

test(`robustness smoke: one minute of random faults (seed ${SEED}) leaves no violation`, async (t) => {
  const child = spawn(process.execPath, ['--import', 'tsx', 'test/robustness/run.ts', '--minutes', '1', '--seed', String(SEED)], {
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, COORD_LOG_LEVEL: 'silent' },
  });
  let output = '';
  child.stdout.setEncoding('utf8').on('data', (chunk: string) => (output += chunk));
  child.stderr.setEncoding('utf8').on('data', (chunk: string) => (output += chunk));
  const code = await new Promise<number | null>((resolve) => child.once('exit', (c, signal) => resolve(c ?? (signal ? -1 : 0))));
  // The run's summary (faults per kind, operations, resources) goes to the report as it is.
  for (const line of output.split('\n').filter((l) => l.startsWith('[robustness]'))) t.diagnostic(line);
  assert.equal(code, 0, output);
  assert.match(output, /\[robustness\] no violations/);
  for (const kind of ['member-kill', 'leader-loss', 'link-cut', 'auth-change', 'worker-pause']) assert.match(output, new RegExp(`${kind} \\d+`), `no ${kind} in a minute`);
});
