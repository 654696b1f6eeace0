// Test helpers: the throwaway etcd from the harness (or one of our own when a file runs alone),
// a unique key prefix per test, and coordinators with silent logs and retries off.
import { after } from 'node:test';
import { randomBytes } from 'node:crypto';
import { Etcd3 } from 'etcd3';
import { startCluster, type EtcdCluster } from '../../scripts/lib/etcd.mjs';
import { createCoordinator, silentLogger, type Coordinator, type CoordinatorOptions } from '../../src/index.js';

let own: Promise<EtcdCluster> | undefined;
// Registered at import time, so it hangs on the file's root and runs once all tests are done.
after(async () => {
  if (own) await (await own).stop();
});

/** Endpoints of the suite's etcd: $ETCD_ENDPOINTS from `npm test`, else a member started for this file. */
export async function etcdEndpoints(): Promise<string[]> {
  const env = process.env['ETCD_ENDPOINTS'];
  if (env) return env.split(',');
  own ??= startCluster({ size: 1 });
  return (await own).endpoints;
}

/** A namespace no other test uses, written as the coordinator reports it (`/test-…`, like Go's path.Join). */
export function uniqueNamespace(label = 't'): string {
  return `/test-${label}-${randomBytes(4).toString('hex')}`;
}

/** A coordinator on the suite's etcd; closed when the calling test ends (after() inside a test). */
export async function testCoordinator(options: Partial<CoordinatorOptions> = {}): Promise<Coordinator> {
  const coordinator = await createCoordinator({
    endpoints: await etcdEndpoints(),
    namespace: uniqueNamespace(),
    logger: silentLogger,
    retry: { maxAttempts: 1 },
    ...options,
  });
  after(() => coordinator.close());
  return coordinator;
}

/** A raw etcd3 client (for writing "foreign" keys and checking what we wrote). Closed when the calling test ends. */
export async function rawClient(): Promise<Etcd3> {
  const client = new Etcd3({ hosts: await etcdEndpoints() });
  after(() => client.close());
  return client;
}

/** etcd's current revision: unchanged across a call means nothing was written. */
export async function headRevision(): Promise<bigint> {
  const raw = await rawClient();
  return BigInt((await raw.kv.range({ key: Buffer.from('\0'), count_only: true })).header.revision);
}

/** True if `p` is still pending after the macrotask queue drains twice. */
export async function pending(p: Promise<unknown>): Promise<boolean> {
  let settled = false;
  p.then(
    () => (settled = true),
    () => (settled = true),
  );
  await new Promise((r) => setImmediate(r));
  await new Promise((r) => setImmediate(r));
  return !settled;
}

/** Waits for `predicate` to hold, checking every `intervalMs`, failing after `timeoutMs`. */
export async function eventually<T>(
  predicate: () => Promise<T | undefined | false> | T | undefined | false,
  { timeoutMs = 10_000, intervalMs = 25, what = 'condition' } = {},
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    try {
      const v = await predicate();
      if (v !== undefined && v !== false) return v as T;
    } catch (err) {
      last = err;
    }
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}${last ? `: ${String(last)}` : ''}`);
    await new Promise((r) => setTimeout(r, intervalMs));
  }
}
