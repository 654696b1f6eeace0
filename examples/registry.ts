// Service registry (seed §2.3): register, discover from another process's coordinator, watch,
// self-healing after the lease is revoked behind our back, unregister. Run: npm run demo -- registry
import { Etcd3 } from 'etcd3';
import { createCoordinator, type ServiceEvent } from '../src/index.js';
import { demoLogger } from './log.js';

const endpoints = (process.env['ETCD_ENDPOINTS'] ?? 'http://127.0.0.1:2379').split(',');
const namespace = `demo-registry-${process.pid}`;
const chat = await createCoordinator({ endpoints, namespace, logger: demoLogger }); // the service
const gateway = await createCoordinator({ endpoints, namespace, logger: demoLogger }); // a client of it

try {
  // A gateway watches chat-service: every change, in revision order, none missed.
  const watching = new AbortController();
  const events: Promise<void> = (async () => {
    for await (const e of gateway.registry.watch('chat-service', { signal: watching.signal })) show(e);
  })();
  await gateway.registry.discover('chat-service'); // warms the cache: later calls cost no etcd request

  const registration = await chat.registry.register({
    id: 'chat-service-001',
    name: 'chat-service',
    address: '127.0.0.1',
    port: 8080,
    metadata: { version: '1.0.0', region: 'us-west' },
    ttlMs: 5000, // the instance vanishes 5 s after its process dies
  });
  await chat.registry.register({ id: 'chat-service-002', name: 'chat-service', address: '127.0.0.1', port: 8081, metadata: { version: '1.0.0' }, ttlMs: 5000 });
  console.log(`registered chat-service-001 and -002 (state: ${registration.state})`);
  await pause(100);

  const found = await gateway.registry.discover('chat-service');
  console.log(`gateway discovers ${found.length} instances (from memory):`);
  for (const s of found) console.log(`  ${s.id} at ${s.address}:${s.port} version=${s.metadata['version']}`);

  // An operator revokes our lease by hand: the registration notices and registers again.
  const raw = new Etcd3({ hosts: endpoints });
  const kv = (await raw.get(`${chat.namespace}/services/chat-service/chat-service-001`).exec()).kvs[0]!;
  await raw.leaseClient.leaseRevoke({ ID: kv.lease });
  console.log('lease of chat-service-001 revoked behind its back…');
  const t0 = Date.now();
  while (registration.state !== 'registered' || (await raw.get(`${chat.namespace}/services/chat-service/chat-service-001`).exec()).kvs.length === 0) await pause(20);
  console.log(`…and it re-registered itself in ${Date.now() - t0} ms (state: ${registration.state})`);
  raw.close();

  await chat.registry.unregister('chat-service-002');
  await registration.unregister();
  await pause(100);
  console.log(`after unregister: gateway discovers ${(await gateway.registry.discover('chat-service')).length} instances`);
  watching.abort();
  await events;
} finally {
  await chat.close();
  await gateway.close();
}

function show(e: ServiceEvent): void {
  console.log(`  [watch] ${e.type.padEnd(6)} ${e.service.id} ${e.service.address}:${e.service.port} (revision ${e.revision})`);
}

function pause(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}
