// Runs a TypeScript snippet file in a child node process (with tsx) and collects its output.
import { spawn } from 'node:child_process';

export interface ChildResult {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
  durationMs: number;
}

/**
 * The child's environment: ours with `env` on top, where an empty string unsets a variable (Node 22+
 * warns when NO_COLOR and FORCE_COLOR are both present, even empty, so "no colour forcing" must
 * mean absent, not '').
 */
export function childEnv(env: Record<string, string>): NodeJS.ProcessEnv {
  const merged: NodeJS.ProcessEnv = { ...process.env, ...env };
  for (const [k, v] of Object.entries(env)) if (v === '') delete merged[k];
  return merged;
}

/** Runs `node --import tsx <file> ...args`; kills it (SIGKILL) after `timeoutMs`. */
export function runChild(file: string, args: string[] = [], { timeoutMs = 30_000, env = {} as Record<string, string> } = {}): Promise<ChildResult> {
  const started = Date.now();
  const child = spawn(process.execPath, ['--import', 'tsx', file, ...args], {
    stdio: ['ignore', 'pipe', 'pipe'],
    env: childEnv(env),
  });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (d) => (stdout += d));
  child.stderr.on('data', (d) => (stderr += d));
  const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
  return new Promise((resolve) => {
    child.once('exit', (code, signal) => {
      clearTimeout(timer);
      resolve({ code, signal, stdout, stderr, durationMs: Date.now() - started });
    });
  });
}
