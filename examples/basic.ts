// Seed §5.1 end to end: a distributed lock, the config center and the service registry on one
// coordinator. Run: npm run demo -- basic
import { z } from 'zod';
import { createCoordinator, type Coordinator } from '../src/index.js';
import { demoLogger } from './log.js';

const endpoints = (process.env['ETCD_ENDPOINTS'] ?? 'http://127.0.0.1:2379').split(',');

async function lockExample(coord: Coordinator): Promise<void> {
  console.log('=== distributed lock ===');
  const lock = await coord.lock.acquire('my-lock', 30_000);
  console.log(`lock acquired (fencing token ${lock.fencingToken}, etcd key ${lock.ownerKey})`);
  console.log(`  remaining TTL from etcd: ${await lock.remainingMs()} ms`);
  // A second contender cannot get it while we hold it…
  await coord.lock.tryAcquire('my-lock', 30_000).catch((err: { code: string }) => console.log(`  tryAcquire by another contender → ${err.code}`));
  console.log('  executing critical section...');
  await lock.unlock();
  console.log('lock released');
  // …and withLock renews while the work runs and always unlocks.
  const result = await coord.lock.withLock('my-lock', 5_000, async (lost) => (lost.aborted ? 'lost' : 'work done under lock'));
  console.log(`withLock → ${result}`);
}

async function configExample(coord: Coordinator): Promise<void> {
  console.log('\n=== config center ===');
  const { revision } = await coord.config.set('app.name', 'gochat');
  console.log(`simple config set: app.name (revision ${revision})`);
  const dbSchema = z.object({ host: z.string(), port: z.number().int(), database: z.string(), charset: z.string() });
  await coord.config.set('database.mysql', { host: 'localhost', port: 3306, database: 'gochat', charset: 'utf8mb4' });
  const db = await coord.config.getObject('database.mysql', dbSchema);
  console.log(`typed read of database.mysql → ${db.host}:${db.port}/${db.database}`);

  // Watch app.name from just after our write (nothing can slip between), then change it.
  const ac = new AbortController();
  const seen = (async () => {
    for await (const event of coord.config.watch('app.name', { signal: ac.signal, fromRevision: revision + 1n })) {
      console.log(`config changed: ${event.type} ${event.key} = ${JSON.stringify(event.value)} (revision ${event.revision})`);
      return;
    }
  })();
  await coord.config.set('app.name', 'gochat-v2');
  await seen;
  ac.abort();
  console.log(`keys under "": ${(await coord.config.list('')).join(', ')}`);
}

async function registryExample(coord: Coordinator): Promise<void> {
  console.log('\n=== service registry ===');
  const ac = new AbortController();
  const events: string[] = [];
  const watching = (async () => {
    for await (const event of coord.registry.watch('chat-service', { signal: ac.signal })) {
      events.push(`${event.type} ${event.service.id}`);
      console.log(`service event: ${event.type} - ${event.service.id}`);
      if (event.type === 'DELETE') return;
    }
  })();
  const registration = await coord.registry.register({
    id: 'chat-service-001',
    name: 'chat-service',
    address: '127.0.0.1',
    port: 8080,
    metadata: { version: '1.0.0', region: 'us-west' },
    ttlMs: 30_000,
  });
  console.log(`service registered (${registration.state})`);
  const services = await coord.registry.discover('chat-service');
  console.log(`discovered ${services.length} service(s)`);
  for (const s of services) console.log(`  service: ${s.id} at ${s.address}:${s.port} version=${s.metadata['version']}`);
  await new Promise((r) => setTimeout(r, 200));
  await coord.registry.unregister('chat-service-001');
  console.log('service unregistered');
  await Promise.race([watching, new Promise((r) => setTimeout(r, 5000))]);
  ac.abort();
}

const coord = await createCoordinator({ endpoints, namespace: 'gochat-demo', timeoutMs: 5000, logger: demoLogger });
try {
  await lockExample(coord);
  await configExample(coord);
  await registryExample(coord);
} finally {
  await coord.close();
}
console.log('\ncoordinator closed');
