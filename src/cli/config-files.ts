// gochat's layered config directory ⇄ config keys, and the diff `config import` shows.
//
// Mapping (both ways): the file `<dir>/<path>.json` holds the value of the key `<root>/<path>`,
// where `<root>` is `--env` for import (keys `<env>/global/app`, `<env>/chat-service/db`, …) and
// the exported prefix for export. So `import <dir> --env prod` then `export prod <dir2>` recreates
// <dir>'s .json files (values compared as JSON; files are written pretty-printed).
import { mkdir, readdir, readFile, rename, writeFile } from 'node:fs/promises';
import { dirname, join, relative, sep } from 'node:path';
import { isDeepStrictEqual } from 'node:util';
import type { ConfigCenter } from '../config/interface.js';
import { CliError, ExitCode } from './exit-codes.js';

/** Reads every `*.json` under `dir` (recursively, dot-entries skipped) → key → parsed value. */
export async function readConfigDir(dir: string, root: string): Promise<{ values: Map<string, unknown>; skipped: string[] }> {
  const values = new Map<string, unknown>();
  const skipped: string[] = [];
  const walk = async (current: string): Promise<void> => {
    let entries;
    try {
      entries = await readdir(current, { withFileTypes: true });
    } catch (err) {
      throw new CliError(`cannot read directory ${current}: ${(err as NodeJS.ErrnoException).code ?? 'error'}`, ExitCode.Usage);
    }
    for (const entry of entries.sort((a, b) => (a.name < b.name ? -1 : 1))) {
      if (entry.name.startsWith('.')) continue;
      const path = join(current, entry.name);
      if (entry.isDirectory()) await walk(path);
      else if (entry.isFile() && entry.name.endsWith('.json') && entry.name !== '.json') {
        const rel = relative(dir, path).split(sep).join('/').slice(0, -'.json'.length);
        values.set(`${root}/${rel}`, parseFile(path, await readFile(path, 'utf8')));
      } else skipped.push(relative(dir, path));
    }
  };
  await walk(dir);
  return { values, skipped };
}

function parseFile(path: string, text: string): unknown {
  try {
    return JSON.parse(text) as unknown;
  } catch (err) {
    throw new CliError(`${path} is not valid JSON: ${(err as Error).message}`, ExitCode.Usage, 'fix the file; nothing was written');
  }
}

/** The file a key under `root/` is exported to; rejects keys that cannot be a safe relative path. */
export function fileForKey(dir: string, root: string, key: string): string {
  const rel = root === '' ? key : key.slice(root.length + 1);
  const parts = rel.split('/');
  if (parts.some((p) => p === '' || p === '.' || p === '..')) {
    throw new CliError(`config key '${key}' cannot be exported as a file (empty, '.' or '..' path segment)`, ExitCode.Usage, 'export a narrower prefix');
  }
  return join(dir, ...parts) + '.json';
}

/** Writes one file per key (pretty JSON + newline), each atomically (temp file + rename). */
export async function writeConfigDir(dir: string, root: string, values: Array<{ key: string; value: unknown }>): Promise<string[]> {
  const files = values.map(({ key, value }) => ({ file: fileForKey(dir, root, key), value })); // check all before writing any
  for (const { file, value } of files) {
    await mkdir(dirname(file), { recursive: true });
    const tmp = `${file}.${process.pid}.tmp`;
    await writeFile(tmp, `${JSON.stringify(value, null, 2)}\n`);
    await rename(tmp, file);
  }
  return files.map((f) => f.file);
}

export interface ConfigDiff {
  added: string[];
  changed: string[];
  removed: string[];
  unchanged: number;
}

/** What writing `wanted` over `current` changes; values compare as JSON (key order ignored). */
export function diffConfig(current: Map<string, unknown>, wanted: Map<string, unknown>, prune: boolean): ConfigDiff {
  const diff: ConfigDiff = { added: [], changed: [], removed: [], unchanged: 0 };
  for (const [key, value] of wanted) {
    if (!current.has(key)) diff.added.push(key);
    else if (!isDeepStrictEqual(current.get(key), value)) diff.changed.push(key);
    else diff.unchanged++;
  }
  if (prune) for (const key of current.keys()) if (!wanted.has(key)) diff.removed.push(key);
  diff.added.sort();
  diff.changed.sort();
  diff.removed.sort();
  return diff;
}

/**
 * Writes the diff key by key, each conditional on the mod revision the diff was computed from
 * (`revisions`; added keys must still be absent): if someone changed a key meanwhile, that write
 * fails CONFLICT (exit 3) and the import stops there. Not atomic across keys — re-running the
 * import converges, since it is idempotent.
 */
export async function applyImport(
  config: ConfigCenter,
  diff: ConfigDiff,
  wanted: Map<string, unknown>,
  revisions: Map<string, bigint>,
  signal?: AbortSignal,
): Promise<void> {
  for (const key of diff.added) await config.set(key, wanted.get(key), { ifRevision: 0n, signal });
  for (const key of diff.changed) await config.set(key, wanted.get(key), { ifRevision: revisions.get(key)!, signal });
  for (const key of diff.removed) {
    if (!(await config.delete(key, { ifRevision: revisions.get(key)!, signal }))) {
      throw new CliError(`config key ${key} vanished during the import`, ExitCode.Conflict, 're-run the import');
    }
  }
}
