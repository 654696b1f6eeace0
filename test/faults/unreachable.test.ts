// Scenario 6 — unreachable etcd: a closed port, a blackholed connection and a SIGSTOPped server
// each give a typed error within the deadline + 100 ms (no hang), an abort is honoured at once, and
// the same coordinator works again when etcd returns (nothing is recreated).
import { after, afterEach, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { createCoordinator, ErrorCode, silentLogger, type Coordinator } from '../../src/index.js';
import type { EtcdClient } from '../../src/client/etcd-client.js';
import { freePorts } from '../../scripts/lib/etcd.mjs';
import { assertNoLeakedHandles, FAULT_PREFIX, handleCounts, startFaultCluster, type FaultCluster } from './harness.js';
import { table, writeSection } from './report.js';

const TIMEOUT = 1000;
const SLACK = 100;

let fc: FaultCluster;
let baseline: Map<string, number>;
const rows: Array<[string, string, string, number, number | string]> = [];

before(async () => {
  fc = await startFaultCluster();
  baseline = handleCounts();
});
let stuckHandshakes = 0;
afterEach(async () => {
  stuckHandshakes += await assertNoLeakedHandles(baseline, fc.proxies);
  await fc.reset(`${FAULT_PREFIX}unreach`);
});
after(async () => {
  await fc?.stop();
  writeSection(
    'unreachable',
    '6. Unreachable etcd',
    `Coordinator \`timeout\` ${TIMEOUT} ms, retries off unless noted; the bound asserted is timeout + ${SLACK} ms
(retries on: attempts × timeout + backoff + ${SLACK} ms). Recovery = first successful call of the *same*
coordinator after the fault is removed.

${table(['fault', 'operation', 'error code', 'time to error (ms)', 'recovery (ms)'], rows)}

Connections left behind by grpc-js after close (handshake sent into the blackhole, never given up —
grpc-node#2785; reset by the harness): ${stuckHandshakes}. Before the fix in \`src/client/etcd-client.ts\`
(\`grpc.use_local_subchannel_pool\`), such a connection made every later channel of the coordinator wait on it,
so the coordinator never recovered from a blackhole longer than one call (> 60 s observed). Any other connection
still open after \`close()\` fails the test (finding 8 in "What the suite found").`,
  );
});

/** Operations that must each reach etcd (none answered from a local cache): public API first. */
function operations(c: Coordinator): Array<[string, (signal?: AbortSignal) => Promise<unknown>]> {
  const client = (c as unknown as { client: EtcdClient }).client;
  let n = 0;
  return [
    ['config.get', (signal) => c.config.get('k', { signal }).catch((e: { code?: string }) => (e.code === ErrorCode.NotFound ? undefined : Promise.reject(e)))],
    ['config.set', (signal) => c.config.set('k', n++, { signal })],
    ['lock.tryAcquire', async (signal) => (await c.lock.tryAcquire(`l${n++}`, 2000, { signal })).unlock()],
    ['raw kv get', (signal) => client.call('get', 'k', (o) => client.rpc.kv.range({ key: Buffer.from(client.key('k')) }, o), { idempotent: true, signal })],
  ];
}

async function coordinatorVia(endpoint: string, retry: { maxAttempts: number } = { maxAttempts: 1 }): Promise<Coordinator> {
  return createCoordinator({ endpoints: [endpoint], namespace: `${FAULT_PREFIX}unreach`, timeoutMs: TIMEOUT, logger: silentLogger, retry });
}

/** Runs `op`, expecting a typed error among `codes`; returns the elapsed ms. */
async function timedFailure(op: () => Promise<unknown>, codes: string[]): Promise<{ ms: number; code: string }> {
  const started = performance.now();
  let code = '';
  await assert.rejects(op(), (err: { code?: string; name?: string }) => {
    assert.equal(err.name, 'CoordinationError');
    assert.ok(codes.includes(err.code!), `code ${err.code} not in ${codes.join('/')}`);
    code = err.code!;
    return true;
  });
  return { ms: Math.round(performance.now() - started), code };
}

/** A process's state letter from /proc (T = stopped), for failure messages. */
function processState(pid: number | undefined): string {
  try {
    return readFileSync(`/proc/${pid}/stat`, 'utf8').replace(/^.*\) /s, '').split(' ')[0] ?? '?';
  } catch {
    return 'unknown';
  }
}

/** Polls `op` (bounded) until it succeeds; returns ms since `since`. */
async function recovers(op: () => Promise<unknown>, since: number, timeoutMs = 15_000): Promise<number> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  while (Date.now() < deadline) {
    try {
      await op();
      return Math.round(performance.now() - since);
    } catch (err) {
      last = err;
      await new Promise((r) => setTimeout(r, 50));
    }
  }
  assert.fail(`did not recover within ${timeoutMs} ms: ${String(last)}`);
}

test('closed port at connect: createCoordinator rejects CONNECTION_ERROR within timeout + 100 ms', async () => {
  const [port] = await freePorts(1);
  const { ms, code } = await timedFailure(() => coordinatorVia(`127.0.0.1:${port}`), [ErrorCode.Connection]);
  assert.ok(ms <= TIMEOUT + SLACK, `took ${ms} ms`);
  rows.push(['closed port (connect)', 'createCoordinator', code, ms, '—']);
});

test('connection refused after connect: typed error within timeout + 100 ms, then the same coordinator recovers', async () => {
  const proxy = fc.proxies[0]!;
  const c = await coordinatorVia(proxy.url);
  try {
    for (const [name, op] of operations(c)) {
      await op();
      await proxy.setMode('refuse');
      const { ms, code } = await timedFailure(op, [ErrorCode.Connection, ErrorCode.Timeout]);
      assert.ok(ms <= TIMEOUT + SLACK, `${name} took ${ms} ms`);
      const healed = performance.now();
      await proxy.setMode('pass');
      rows.push(['refused', name, code, ms, await recovers(op, healed)]);
    }
  } finally {
    await c.close();
  }
});

test('blackholed connection: TIMEOUT_ERROR within timeout + 100 ms (no hang), then recovery', async () => {
  const proxy = fc.proxies[1]!;
  const c = await coordinatorVia(proxy.url);
  try {
    for (const [name, op] of operations(c)) {
      await op();
      await proxy.setMode('blackhole');
      const { ms, code } = await timedFailure(op, [ErrorCode.Timeout]);
      assert.ok(ms <= TIMEOUT + SLACK, `${name} took ${ms} ms`);
      const healed = performance.now();
      await proxy.setMode('pass');
      rows.push(['blackhole', name, code, ms, await recovers(op, healed)]);
    }
  } finally {
    await c.close();
  }
});

test('blackhole with retries on: bounded by attempts × timeout + backoff', async () => {
  const proxy = fc.proxies[1]!;
  const c = await coordinatorVia(proxy.url, { maxAttempts: 3 });
  try {
    const [name, op] = operations(c)[0]!;
    await op();
    await proxy.setMode('blackhole');
    const { ms, code } = await timedFailure(op, [ErrorCode.Timeout]);
    // DEFAULT_RETRY: delays 100 and 200 ms, ±20 % jitter.
    const bound = 3 * TIMEOUT + 360 + SLACK;
    assert.ok(ms <= bound, `${name} took ${ms} ms > ${bound}`);
    const healed = performance.now();
    await proxy.setMode('pass');
    rows.push(['blackhole, 3 attempts', name, code, ms, await recovers(op, healed)]);
  } finally {
    await c.close();
  }
});

test('an abort during a blackhole rejects CANCELLED at once', async () => {
  const proxy = fc.proxies[2]!;
  const c = await coordinatorVia(proxy.url);
  try {
    const [name, op] = operations(c)[0]!;
    await op();
    await proxy.setMode('blackhole');
    const ac = new AbortController();
    setTimeout(() => ac.abort(), 200);
    const { ms, code } = await timedFailure(() => op(ac.signal), [ErrorCode.Cancelled]);
    assert.ok(ms <= 200 + SLACK, `took ${ms} ms`);
    await proxy.setMode('pass');
    rows.push(['blackhole + abort at 200 ms', name, code, ms, '—']);
  } finally {
    await c.close();
  }
});

test('SIGSTOPped member: TIMEOUT_ERROR within timeout + 100 ms, recovery after SIGCONT', async () => {
  // Stop a follower so that the rest of the cluster keeps its leader; the client only knows this member.
  const leader = await fc.leader();
  const i = (leader + 1) % fc.members.length;
  const c = await coordinatorVia(fc.proxies[i]!.url);
  try {
    for (const [name, op] of operations(c)) {
      await op();
      fc.members[i]!.pause();
      let result: { ms: number; code: string };
      try {
        result = await timedFailure(op, [ErrorCode.Timeout]);
      } catch (err) {
        // Seen once (not reproduced since): an operation succeeded here. Say what the member was doing.
        const pid = fc.members[i]!.pid;
        throw new Error(`${name} during SIGSTOP of member ${i} (pid ${pid}, state ${processState(pid)}): ${(err as Error).message}`, { cause: err });
      } finally {
        fc.members[i]!.resume();
      }
      assert.ok(result.ms <= TIMEOUT + SLACK, `${name} took ${result.ms} ms`);
      rows.push(['SIGSTOP member', name, result.code, result.ms, await recovers(op, performance.now())]);
    }
  } finally {
    await c.close();
  }
});

test('all members stopped and restarted: typed errors while down, the same coordinator recovers', async () => {
  const c = await createCoordinator({
    endpoints: fc.endpoints,
    namespace: `${FAULT_PREFIX}unreach`,
    timeoutMs: TIMEOUT,
    logger: silentLogger,
    retry: { maxAttempts: 1 },
  });
  try {
    const ops = operations(c);
    for (const [, op] of ops) await op();
    // One outage for all operations (a restart costs seconds).
    await Promise.all(fc.members.map((m) => m.stop()));
    const failures: Array<{ ms: number; code: string }> = [];
    for (const [name, op] of ops) {
      const f = await timedFailure(op, [ErrorCode.Connection, ErrorCode.Timeout, ErrorCode.Unavailable]);
      assert.ok(f.ms <= TIMEOUT + SLACK, `${name} took ${f.ms} ms`);
      failures.push(f);
    }
    const restarted = performance.now();
    await fc.heal();
    for (const [i, [name, op]] of ops.entries()) rows.push(['whole cluster stopped', name, failures[i]!.code, failures[i]!.ms, await recovers(op, restarted)]);
  } finally {
    await c.close();
  }
});
