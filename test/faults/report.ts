// Writes one scenario's figures into docs/RELIABILITY.md (each scenario owns one section, rewritten
// on every run), so the document always shows the figures of the last run.
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { machine, table } from '../../bench/report.js';

const FILE = fileURLToPath(new URL('../../docs/RELIABILITY.md', import.meta.url));
const HEADER = `# Reliability and security

Figures from the last run of the fault-injection suite (\`test/faults/\`, part of \`npm test\`): a
3-member etcd 3.4 cluster on loopback, every client port behind an in-test TCP proxy (pass, blackhole,
RST, refuse, delay), process faults (SIGSTOP/SIGCONT, SIGKILL + restart) on our own children only.
Each section is rewritten by its test file; seeds are printed so a run can be replayed with
\`FAULT_SEED=<n>\`. Durations are shorter than a soak test so the suite fits in CI (≤ ~8 min on 2 cores).
`;

export { table };

/** Replaces (or appends) section `name` of docs/RELIABILITY.md. */
export function writeSection(name: string, title: string, body: string): void {
  let doc = existsSync(FILE) ? readFileSync(FILE, 'utf8') : HEADER;
  const start = `<!-- fault:${name}:start -->`;
  const end = `<!-- fault:${name}:end -->`;
  const section = `${start}\n## ${title}\n\n_${new Date().toISOString().slice(0, 16).replace('T', ' ')} UTC · ${machine()}_\n\n${body.trim()}\n${end}`;
  const i = doc.indexOf(start);
  const j = doc.indexOf(end);
  doc = i >= 0 && j > i ? doc.slice(0, i) + section + doc.slice(j + end.length) : `${doc.trimEnd()}\n\n${section}\n`;
  writeFileSync(FILE, ordered(doc));
}

/**
 * Sections in scenario order (`## 1.` … `## 8.`), unnumbered ones (findings) last; the header stays
 * first, and what is written by hand after the last section (the robustness run's section) stays last.
 */
function ordered(doc: string): string {
  const re = /<!-- fault:([\w-]+):start -->[\s\S]*?<!-- fault:\1:end -->/g;
  const found = [...doc.matchAll(re)];
  const sections = found.map((m) => m[0]);
  if (sections.length === 0) return doc;
  const head = doc.slice(0, doc.indexOf(sections[0]!)).trimEnd();
  const last = found.at(-1)!;
  const tail = doc.slice(last.index + last[0].length).trim();
  const rank = (s: string): number => Number(/\n## (\d+)\./.exec(s)?.[1] ?? 99);
  sections.sort((a, b) => rank(a) - rank(b));
  return `${head}\n\n${sections.join('\n\n')}\n${tail ? `\n${tail}\n` : ''}`;
}
