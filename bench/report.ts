// Shared by the benchmarks: timing helpers and writing one section of docs/BENCHMARKS.md.
import { readFileSync, writeFileSync, existsSync } from 'node:fs';
import { cpus, totalmem } from 'node:os';
import { execFileSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const FILE = fileURLToPath(new URL('../docs/BENCHMARKS.md', import.meta.url));
const HEADER = `# Benchmarks

Produced by \`npm run bench\` (each benchmark runs against its own throwaway etcd member on loopback,
data on tmpfs, and compares with the raw \`etcd3\` client in the same run). Re-run after touching a
measured path; each section below is rewritten by its benchmark.
`;

export function endpoints(): string[] {
  const env = process.env['ETCD_ENDPOINTS'];
  if (!env) throw new Error('ETCD_ENDPOINTS is not set: run benchmarks with `npm run bench`');
  return env.split(',');
}

/** One line naming the date, machine, Node and etcd versions. */
export function machine(): string {
  let etcd = 'etcd ?';
  try {
    etcd = execFileSync('etcd', ['--version'], { encoding: 'utf8' }).split('\n')[0]!.trim();
  } catch {
    /* not on PATH */
  }
  const cpu = cpus()[0]?.model ?? 'unknown CPU';
  return `${new Date().toISOString().slice(0, 10)} · ${cpus().length} × ${cpu} · ${Math.round(totalmem() / 2 ** 30)} GiB · Node ${process.version} · ${etcd}`;
}

/** Percentile (0..100) of a list of numbers. */
export function percentile(values: number[], p: number): number {
  if (values.length === 0) return NaN;
  const sorted = [...values].sort((a, b) => a - b);
  const idx = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
  return sorted[idx]!;
}

/** Runs `fn` repeatedly for `ms` (after `warmupMs`), returns operations per second. */
export async function opsPerSecond(fn: () => Promise<unknown>, ms = 3000, warmupMs = 500): Promise<number> {
  const warmEnd = performance.now() + warmupMs;
  while (performance.now() < warmEnd) await fn();
  let n = 0;
  const start = performance.now();
  const end = start + ms;
  while (performance.now() < end) {
    await fn();
    n++;
  }
  return n / ((performance.now() - start) / 1000);
}

/** Markdown table from a header row and data rows. */
export function table(head: string[], rows: Array<Array<string | number>>): string {
  const fmt = (v: string | number) => (typeof v === 'number' ? (Number.isInteger(v) ? String(v) : v.toFixed(v < 10 ? 2 : 1)) : v);
  return [`| ${head.join(' | ')} |`, `|${head.map(() => '---').join('|')}|`, ...rows.map((r) => `| ${r.map(fmt).join(' | ')} |`)].join('\n');
}

/** Replaces (or appends) the section `name` of docs/BENCHMARKS.md with `body`. */
export function writeSection(name: string, title: string, body: string): void {
  let doc = existsSync(FILE) ? readFileSync(FILE, 'utf8') : HEADER;
  const start = `<!-- bench:${name}:start -->`;
  const end = `<!-- bench:${name}:end -->`;
  const section = `${start}\n## ${title}\n\n_${machine()}_\n\n${body.trim()}\n${end}`;
  const i = doc.indexOf(start);
  const j = doc.indexOf(end);
  doc = i >= 0 && j > i ? doc.slice(0, i) + section + doc.slice(j + end.length) : `${doc.trimEnd()}\n\n${section}\n`;
  writeFileSync(FILE, doc);
  console.log(`[bench] wrote section "${name}" of docs/BENCHMARKS.md`);
}
