// Connect to etcd, show the namespace, close. Run: npm run demo -- connect
import { createCoordinator, isConnectionError } from '../src/index.js';
import { demoLogger } from './log.js';

const endpoints = (process.env['ETCD_ENDPOINTS'] ?? 'http://127.0.0.1:2379').split(',');

const coordinator = await createCoordinator({ endpoints, namespace: 'gochat', timeoutMs: 5000, logger: demoLogger });
console.log(`connected to ${endpoints.join(',')} with namespace "${coordinator.namespace}"`);
await coordinator.close();
console.log('closed (idempotent; leaves no timers or sockets)');

// An unreachable etcd is a typed error within the timeout, not a hang.
try {
  await createCoordinator({ endpoints: ['127.0.0.1:1'], timeoutMs: 500, logLevel: 'silent' });
} catch (err) {
  console.log(`unreachable endpoint → ${isConnectionError(err) ? 'CONNECTION_ERROR' : String(err)}`);
}
