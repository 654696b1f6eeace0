// Runs coordctl as operators do: a separate process, from the TypeScript sources (never a possibly
// stale dist/), with COORD_* pointing at the suite's etcd and a namespace of the test's own.
import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { after } from 'node:test';
import { fileURLToPath } from 'node:url';
import { childEnv, runChild, type ChildResult } from './child.js';
import { etcdEndpoints, eventually, uniqueNamespace } from './etcd.js';

export const COORDCTL = fileURLToPath(new URL('../../src/cli/coordctl.ts', import.meta.url));

/** Environment for one test: endpoints of the suite's etcd, its own namespace, no colour forcing ('' = unset, see childEnv). */
export async function cliEnv(namespace = uniqueNamespace('cli'), extra: Record<string, string> = {}): Promise<Record<string, string>> {
  return { COORD_ENDPOINTS: (await etcdEndpoints()).join(','), COORD_NAMESPACE: namespace, NO_COLOR: '', FORCE_COLOR: '', ...extra };
}

/** Runs `coordctl ...args` to completion. */
export function coordctl(args: string[], env: Record<string, string>, timeoutMs = 30_000): Promise<ChildResult> {
  return runChild(COORDCTL, args, { env, timeoutMs });
}

export interface RunningCli {
  child: ChildProcessWithoutNullStreams;
  stdout(): string;
  stderr(): string;
  /** Resolves with the exit code once the process has ended. */
  exited: Promise<number | null>;
  /** Waits until stderr contains `text` (e.g. the "watching …" line). */
  waitForStderr(text: string, timeoutMs?: number): Promise<void>;
  /** Waits until stdout has at least `n` lines. */
  waitForLines(n: number, timeoutMs?: number): Promise<string[]>;
}

/** Starts a long-running coordctl (watches); killed (SIGKILL) when the test ends if still running. */
export function startCoordctl(args: string[], env: Record<string, string>): RunningCli {
  const child = spawn(process.execPath, ['--import', 'tsx', COORDCTL, ...args], { env: childEnv(env), stdio: 'pipe' });
  let out = '';
  let err = '';
  child.stdout.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr.on('data', (d: Buffer) => (err += d.toString()));
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  after(() => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  });
  const lines = (): string[] => out.split('\n').filter((l) => l !== '');
  return {
    child,
    stdout: () => out,
    stderr: () => err,
    exited,
    waitForStderr: async (text, timeoutMs = 15_000) => {
      await eventually(() => err.includes(text), { timeoutMs, what: `coordctl stderr to contain "${text}"` });
    },
    waitForLines: (n, timeoutMs = 15_000) => eventually(() => (lines().length >= n ? lines() : undefined), { timeoutMs, what: `${n} lines on coordctl stdout` }),
  };
}
