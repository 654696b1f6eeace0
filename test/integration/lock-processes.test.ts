// The lock across processes: mutual exclusion between separate Node processes, and a process that
// used the lock and closed its coordinator exits on its own.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { runChild } from '../helpers/child.js';
import { etcdEndpoints, rawClient, uniqueNamespace } from '../helpers/etcd.js';

const fixture = (name: string): string => new URL(`../fixtures/${name}`, import.meta.url).pathname;

test('N processes incrementing a non-atomic counter under the lock end at the exact total', async () => {
  const namespace = uniqueNamespace('lockmx');
  const [processes, rounds] = [4, 25];
  const env = { ETCD_ENDPOINTS: (await etcdEndpoints()).join(',') };
  const results = await Promise.all(
    Array.from({ length: processes }, () => runChild(fixture('lock-counter.ts'), [namespace, String(rounds)], { timeoutMs: 60_000, env })),
  );
  for (const r of results) assert.equal(r.code, 0, r.stderr);
  const raw = await rawClient();
  assert.equal(await raw.get(`${namespace}/counter`).string(), String(processes * rounds));
  assert.equal((await raw.getAll().prefix(`${namespace}/locks/`).keys()).length, 0, 'no lock keys left');
});

test('after using locks and close() the process exits on its own, leaving no keys', async () => {
  const env = { ETCD_ENDPOINTS: (await etcdEndpoints()).join(',') };
  const r = await runChild(fixture('lock-close.ts'), [], { timeoutMs: 20_000, env });
  assert.equal(r.code, 0, r.stderr);
  const namespace = /closed c (\S+)/.exec(r.stdout)?.[1];
  assert.ok(namespace, r.stdout);
  const raw = await rawClient();
  assert.deepEqual(await raw.getAll().prefix(`${namespace}/`).keys(), []);
  assert.ok(r.durationMs < 15_000, `exited after ${r.durationMs} ms`);
});
