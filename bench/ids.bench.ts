// Instance-ID allocation rate with 100 of 1023 IDs taken, against the raw etcd3 client doing the
// same create-if-absent transaction. Run: npm run bench -- ids
import { Etcd3 } from 'etcd3';
import { createCoordinator, silentLogger, type InstanceId } from '../src/index.js';
import { endpoints, opsPerSecond, percentile, table, writeSection } from './report.js';
import { countRpcs, perOperation } from './rpc-count.js';

const POOL = 'gateway';
const RANGE = { min: 1, max: 1023, ttlMs: 10_000 };
const TAKEN = 100;
const ALLOCATE_ONLY = 400; // stays well below the 923 free IDs
const MS = 3000;

const hosts = endpoints();
const coord = await createCoordinator({ endpoints: hosts, namespace: 'bench-ids', logger: silentLogger });
const raw = new Etcd3({ hosts });

// 100 IDs held by "other gateways" for the whole run.
const others = await Promise.all(Array.from({ length: TAKEN }, () => coord.ids.allocate(POOL, RANGE)));

async function timed(fn: () => Promise<unknown>, samples: number[]): Promise<void> {
  const t = performance.now();
  await fn();
  samples.push(performance.now() - t);
}

// 1. allocate + release, one at a time (a gateway starting and stopping).
const cycle: number[] = [];
const cycles = await opsPerSecond(() => timed(async () => (await coord.ids.allocate(POOL, RANGE)).release(), cycle), MS);

// 2. allocate only, one at a time (the pool fills from 100 towards 500 taken).
const only: number[] = [];
const held: InstanceId[] = [];
let t0 = performance.now();
for (let i = 0; i < ALLOCATE_ONLY; i++) await timed(async () => held.push(await coord.ids.allocate(POOL, RANGE)), only);
const allocOnly = ALLOCATE_ONLY / ((performance.now() - t0) / 1000);
await Promise.all(held.splice(0).map((h) => h.release()));

// 3. eight allocators racing for IDs of the same pool (allocate + release each).
const CONCURRENT = 8;
let racing = 0;
const raceEnd = performance.now() + MS;
t0 = performance.now();
await Promise.all(
  Array.from({ length: CONCURRENT }, async () => {
    while (performance.now() < raceEnd) {
      await (await coord.ids.allocate(POOL, RANGE)).release();
      racing++;
    }
  }),
);
const racingRate = racing / ((performance.now() - t0) / 1000);

// Raw etcd3, same keys and values: the floor for one create-if-absent txn, and a full cycle.
const prefix = 'bench-ids-raw/ids/gateway/';
const value = JSON.stringify({ host: 'bench', pid: process.pid, since: new Date().toISOString() });
const shared = raw.lease(10, { autoKeepAlive: false });
const sharedId = await shared.grant();
let next = 0;
const rawTxn: number[] = [];
const rawTxnRate = await opsPerSecond(
  () =>
    timed(async () => {
      const key = `${prefix}${1 + (next++ % 1023)}`;
      await raw.if(key, 'Create', '==', 0).then(raw.put(key).value(value).lease(sharedId)).commit();
      await raw.delete().key(key); // keep it free for the next lap (not timed separately)
    }, rawTxn),
  MS,
);
const rawCycle: number[] = [];
const rawCycleRate = await opsPerSecond(
  () =>
    timed(async () => {
      const lease = await raw.leaseClient.leaseGrant({ TTL: 10, ID: 0 });
      const key = `${prefix}${1 + (next++ % 1023)}`;
      await raw.if(key, 'Create', '==', 0).then(raw.put(key).value(value).lease(lease.ID)).commit();
      await raw.leaseClient.leaseRevoke({ ID: lease.ID });
    }, rawCycle),
  MS,
);
await shared.revoke();

// etcd requests per allocate and per release, counted on the wire (a coordinator of its own, pool
// warm): each ID's own-key check (a watch, then one read of the key) included, once it has run.
const counted = await createCoordinator({ endpoints: hosts, namespace: 'bench-ids', logger: silentLogger });
const rpcs = countRpcs(counted);
await (await counted.ids.allocate(POOL, RANGE)).release();
const COUNTED = 20;
const countedIds: InstanceId[] = [];
rpcs.take();
for (let i = 0; i < COUNTED; i++) countedIds.push(await counted.ids.allocate(POOL, RANGE));
await new Promise((r) => setTimeout(r, 500)); // the own-key checks run after allocate() returns
const perAllocate = perOperation(rpcs.take(), COUNTED);
for (const id of countedIds) await id.release();
const perRelease = perOperation(rpcs.take(), COUNTED);
await counted.close();

const row = (name: string, rate: number, s: number[] | undefined, rpcs: string): Array<string | number> => [
  name,
  Math.round(rate),
  s ? percentile(s, 50) : '–',
  s ? percentile(s, 99) : '–',
  rpcs,
];
const body = `Pool of 1023 IDs with ${TAKEN} held by other instances; one coordinator, loopback etcd.

${table(
  ['operation', 'ops/s', 'p50 ms', 'p99 ms', 'etcd requests'],
  [
    row('ids.allocate + release (sequential)', cycles, cycle, 'grant, range (keys only), txn, revoke'),
    row(`ids.allocate only (sequential, ${TAKEN}→${TAKEN + ALLOCATE_ONLY} taken)`, allocOnly, only, 'grant, range, txn'),
    row(`ids.allocate + release, ${CONCURRENT} racing`, racingRate, undefined, 'same, plus a txn per lost race'),
    row('raw etcd3: create-if-absent txn + delete', rawTxnRate, rawTxn, 'txn, delete'),
    row('raw etcd3: grant + create-if-absent txn + revoke', rawCycleRate, rawCycle, 'grant, txn, revoke'),
  ],
)}

The allocator costs one keys-only range more than the raw transaction (it must learn which IDs are
free); with 100–500 IDs taken that range is a few KB. Lost races cost one txn each and a fresh
range after three.

etcd requests counted on the wire, per operation (${COUNTED} of each, sequential): \`ids.allocate\` ${perAllocate};
\`release()\` ${perRelease}. An allocate's own-key check reads the key whole (etcd 3.7's keys-only
answers carry no lease): one Range, as the keys-only read before it was.`;
console.log(body);
writeSection('ids', 'Instance IDs', body);

await Promise.all(others.map((h) => h.release()));
await coord.close();
raw.close();
