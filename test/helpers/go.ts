// A Go program of the interop tests (bench/go/*) run against the suite's etcd: its output so far,
// its exit, and a kill after a minute at the latest.
import { spawn, type ChildProcessByStdio } from 'node:child_process';
import type { Readable, Writable } from 'node:stream';
import { etcdEndpoints } from './etcd.js';

export interface GoProcess {
  proc: ChildProcessByStdio<Writable, Readable, Readable>;
  /** stdout and stderr so far. */
  output: () => string;
  exited: Promise<number | null>;
}

/** Starts `binary -mode <mode> -prefix <prefix> -endpoints <the suite's etcd>`. */
export async function runGo(binary: string, mode: string, prefix: string): Promise<GoProcess> {
  const endpoints = (await etcdEndpoints()).map((e) => e.replace(/^https?:\/\//, '')).join(',');
  const proc = spawn(binary, ['-mode', mode, '-prefix', prefix, '-endpoints', endpoints], { stdio: ['pipe', 'pipe', 'pipe'] });
  let out = '';
  proc.stdout.on('data', (d) => (out += d));
  proc.stderr.on('data', (d) => (out += d));
  const exited = new Promise<number | null>((resolve) => proc.once('exit', (code) => resolve(code)));
  const timer = setTimeout(() => proc.kill('SIGKILL'), 60_000);
  void exited.then(() => clearTimeout(timer));
  return { proc, output: () => out, exited };
}
