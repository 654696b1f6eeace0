// Where IDs live in etcd and what their keys hold:
//   <namespace>/ids/<pool>/<id>  (layout.ts)  →  {"host":"gw-3","pid":4711,"since":"2026-…Z"}  (bound to the holder's lease)
// The ID is written in plain decimal so that `etcdctl get --prefix <ns>/ids/<pool>/` reads naturally.
import { hostname } from 'node:os';

/** Relative prefix of every key of `pool` (ends with '/'; `dir` is e.g. `ids/`). */
export function poolPrefix(dir: string, pool: string): string {
  return `${dir}${pool}/`;
}

/** Relative key of one ID. */
export function idKey(dir: string, pool: string, id: number): string {
  return `${poolPrefix(dir, pool)}${id}`;
}

/** The ID a full key names, or undefined for a key that is not a plain non-negative decimal. */
export function parseId(fullKey: string, fullPrefix: string): number | undefined {
  if (!fullKey.startsWith(fullPrefix)) return undefined;
  const rest = fullKey.slice(fullPrefix.length);
  if (!/^(0|[1-9]\d{0,15})$/.test(rest)) return undefined;
  const id = Number(rest);
  return Number.isSafeInteger(id) ? id : undefined;
}


export interface OwnerValue {
  host: string;
  pid: number;
  /** When the ID was allocated (ISO 8601). */
  since: string;
}

/** What an ID's key holds: enough to tell who has it, never anything secret. */
export function ownerValue(now: Date = new Date()): OwnerValue {
  return { host: hostname(), pid: process.pid, since: now.toISOString() };
}

/** `host:pid` from a key's value; '' when it is not one of ours. */
export function ownerText(value: Buffer | string): string {
  try {
    const v = JSON.parse(value.toString()) as Partial<OwnerValue>;
    if (typeof v.host === 'string' && typeof v.pid === 'number') return `${v.host}:${v.pid}`;
  } catch {
    /* a foreign value */
  }
  return '';
}
