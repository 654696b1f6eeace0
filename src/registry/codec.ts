// gochat's Go registry wire format, both ways. Key: `<namespace>/services/<name>/<id>` (Go's
// `path.Join(prefix, name, id)`, `dir` being the registry's prefix under the namespace); value: the
// JSON of Go's `ServiceInfo` struct — fields in declaration order, `ttl` a time.Duration
// (nanoseconds), map keys sorted and `<>&` escaped as encoding/json does — so the bytes we write
// are the bytes a Go service writes for the same instance.
import type { ServiceInfo } from './interface.js';

const NS_PER_MS = 1_000_000;

/** Key of one instance, relative to the coordinator's namespace (`dir` is e.g. `services/`). */
export function serviceKey(dir: string, name: string, id: string): string {
  return `${dir}${name}/${id}`;
}

/** Prefix of every instance of a service, relative to the namespace (trailing `/` so `chat` ≠ `chat2`). */
export function servicePrefix(dir: string, name: string): string {
  return `${dir}${name}/`;
}

/** encoding/json's HTML-safe string escaping, on top of JSON.stringify's. */
const GO_ESCAPES: Record<string, string> = { '<': '\\u003c', '>': '\\u003e', '&': '\\u0026', '\u2028': '\\u2028', '\u2029': '\\u2029' };
const NEEDS_GO_ESCAPE = /[<>&\u2028\u2029]/;
function goString(s: string): string {
  const json = JSON.stringify(s);
  return NEEDS_GO_ESCAPE.test(json) ? json.replace(/[<>&\u2028\u2029]/g, (c) => GO_ESCAPES[c]!) : json;
}

/** The value Go's `json.Marshal(ServiceInfo)` produces for this instance. */
export function encodeService(info: ServiceInfo): string {
  const metadata = Object.keys(info.metadata)
    .sort()
    .map((k) => `${goString(k)}:${goString(info.metadata[k]!)}`)
    .join(',');
  return (
    `{"id":${goString(info.id)},"name":${goString(info.name)},"address":${goString(info.address)},` +
    `"port":${info.port},"metadata":{${metadata}},"ttl":${Math.round(info.ttlMs * NS_PER_MS)}}`
  );
}

/**
 * Reads a value written by us or by a Go service. Missing or `null` metadata (a nil Go map) reads
 * as `{}`; id and name fall back to the key's. Returns undefined for a value that is not such JSON.
 */
export function decodeService(value: Buffer | string, key: string): ServiceInfo | undefined {
  let raw: unknown;
  try {
    raw = JSON.parse(typeof value === 'string' ? value : value.toString('utf8'));
  } catch {
    return undefined;
  }
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) return undefined;
  const o = raw as Record<string, unknown>;
  const [, keyName = '', keyId = ''] = key.split('/').slice(-3);
  const metadata: Record<string, string> = {};
  if (typeof o['metadata'] === 'object' && o['metadata'] !== null) {
    for (const [k, v] of Object.entries(o['metadata'] as Record<string, unknown>)) metadata[k] = typeof v === 'string' ? v : String(v);
  }
  return {
    id: typeof o['id'] === 'string' && o['id'] !== '' ? o['id'] : keyId,
    name: typeof o['name'] === 'string' && o['name'] !== '' ? o['name'] : keyName,
    address: typeof o['address'] === 'string' ? o['address'] : '',
    port: typeof o['port'] === 'number' ? o['port'] : 0,
    metadata,
    ttlMs: typeof o['ttl'] === 'number' ? o['ttl'] / NS_PER_MS : 0,
  };
}
