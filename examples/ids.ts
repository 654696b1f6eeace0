// Gateways take a unique instance ID in [1, 1023]; it names their Kafka downstream topic.
// Run: npm run demo -- ids
import { createCoordinator, isConflict, type Coordinator, type InstanceId } from '../src/index.js';
import { demoLogger } from './log.js';

const endpoints = (process.env['ETCD_ENDPOINTS'] ?? 'http://127.0.0.1:2379').split(',');
const topicOf = (id: InstanceId): string => `gochat.msg.downstream.${id.id}`;

async function startGateway(name: string, preferred?: number): Promise<{ coord: Coordinator; gid: InstanceId }> {
  const coord = await createCoordinator({ endpoints, namespace: 'gochat-demo', logger: demoLogger });
  const gid = await coord.ids.allocate('gateway', { min: 1, max: 1023, ttlMs: 10_000, ...(preferred !== undefined && { preferred }) });
  // Losing the ID means another gateway may get it: stop consuming its topic at once.
  gid.signal.addEventListener('abort', () => console.log(`${name}: lost ID ${gid.id} (${(gid.signal.reason as Error).message}), stopping`));
  console.log(`${name}: instance ID ${gid.id} → consumes ${topicOf(gid)}${preferred !== undefined ? ` (preferred ${preferred})` : ''}`);
  return { coord, gid };
}

const a = await startGateway('gateway-a', 7);
const b = await startGateway('gateway-b', 7); // 7 is taken: any free ID instead

const list = await a.coord.ids.list('gateway');
console.log('taken IDs:', list.map((e) => `${e.id} (owner ${e.owner}, ttl ${e.remainingMs === undefined ? '-' : Math.round(e.remainingMs / 1000)} s)`).join(', '));

// gateway-a shuts down cleanly: its ID is free at once, and a restart with preferred gets it back.
await a.coord.close();
console.log('gateway-a: closed (ID released)');
const a2 = await startGateway('gateway-a (restarted)', 7);

// A pool can be full: a clear CONFLICT after one scan, not a spin.
try {
  await b.coord.ids.allocate('tiny', { min: 1, max: 1 });
  await b.coord.ids.allocate('tiny', { min: 1, max: 1 });
} catch (err) {
  console.log(`pool "tiny" → ${isConflict(err) ? `CONFLICT: ${(err as Error).message}` : String(err)}`);
}

await b.gid.release(); // idempotent; close() would release it too
await b.coord.close();
await a2.coord.close();
console.log('all gateways stopped; a crashed gateway would free its ID after ttlMs (10 s)');
