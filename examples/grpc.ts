// gRPC with service discovery (seed §5.2): three real instances of a small .proto service register
// themselves; a client dials `etcd:///echo` and its calls spread over all three (round_robin).
// One instance stops (unregister → drain → graceful shutdown): calls continue on the others with
// no failed call. A new instance starts: it gets traffic. Run: npm run demo -- grpc
import { fileURLToPath } from 'node:url';
import * as grpc from '@grpc/grpc-js';
import { loadSync } from '@grpc/proto-loader';
import { createCoordinator } from '../src/index.js';
import { createGrpcServiceManager, registerGrpcResolver, type GrpcServiceManager } from '../src/grpc.js';
import { demoLogger } from './log.js';

const endpoints = (process.env['ETCD_ENDPOINTS'] ?? 'http://127.0.0.1:2379').split(',');
const namespace = `demo-grpc-${process.pid}`;

// ── the .proto service ──
const proto = grpc.loadPackageDefinition(loadSync(fileURLToPath(new URL('./proto/echo.proto', import.meta.url)))) as unknown as {
  echo: { Echo: grpc.ServiceClientConstructor };
};
type Reply = { text: string; instance: string };
function echoServer(instance: string): grpc.Server {
  const server = new grpc.Server();
  server.addService(proto.echo.Echo.service, {
    Say: (call: grpc.ServerUnaryCall<{ text: string }, Reply>, done: grpc.sendUnaryData<Reply>) => done(null, { text: call.request.text, instance }),
  });
  return server;
}

// ── servers: each its own coordinator, as separate processes would have ──
const coordinators: Array<Awaited<ReturnType<typeof createCoordinator>>> = [];
async function startInstance(id: string): Promise<GrpcServiceManager> {
  const coordinator = await createCoordinator({ endpoints, namespace, logger: demoLogger });
  coordinators.push(coordinator);
  const manager = createGrpcServiceManager(coordinator.registry, echoServer(id), { name: 'echo', id, ttlMs: 10_000, drainDelayMs: 500, signals: [] });
  await manager.start();
  console.log(`[server] ${id} serving on 127.0.0.1:${manager.port} and registered as echo/${id}`);
  return manager;
}

// ── client: dials etcd:///echo through the registry ──
const clientSide = await createCoordinator({ endpoints, namespace, logger: demoLogger });
registerGrpcResolver(clientSide.registry); // scheme etcd, round_robin, keeps the last non-empty list
const servers = new Map<string, GrpcServiceManager>();
for (const id of ['echo-1', 'echo-2', 'echo-3']) servers.set(id, await startInstance(id));
const client = new proto.echo.Echo('etcd:///echo', grpc.credentials.createInsecure()) as unknown as {
  Say(req: { text: string }, opts: grpc.CallOptions, cb: (err: grpc.ServiceError | null, res: Reply) => void): void;
  close(): void;
};
const say = (text: string) =>
  new Promise<Reply>((resolve, reject) => client.Say({ text }, { deadline: Date.now() + 3000 }, (err, res) => (err ? reject(err) : resolve(res))));

let calls = 0;
let failed = 0;
let counts = new Map<string, number>();
const tally = (label: string) => {
  const parts = [...counts].sort().map(([id, n]) => `${id}=${n}`);
  console.log(`[client] ${label}: ${parts.join(' ')} (${failed} failed so far)`);
  counts = new Map();
};
// A steady stream of calls in the background, as a real client would make.
let running = true;
const traffic = (async () => {
  while (running) {
    try {
      const { instance } = await say(`hello ${++calls}`);
      counts.set(instance, (counts.get(instance) ?? 0) + 1);
    } catch (err) {
      failed++;
      console.log(`[client] call failed: ${(err as Error).message}`);
    }
    await new Promise((r) => setTimeout(r, 2));
  }
})();

try {
  await pause(1500);
  tally('calls over 1.5 s with three instances');

  console.log('[server] stopping echo-2 (unregister → drain → graceful shutdown)…');
  await servers.get('echo-2')!.stop();
  counts = new Map();
  await pause(1500);
  tally('calls over 1.5 s after echo-2 stopped');

  servers.set('echo-4', await startInstance('echo-4'));
  await pause(300);
  counts = new Map();
  await pause(1500);
  tally('calls over 1.5 s after echo-4 started');
} finally {
  running = false;
  await traffic;
  console.log(`[client] ${calls} calls, ${failed} failed`);
  client.close();
  for (const m of servers.values()) await m.stop();
  for (const c of coordinators) await c.close();
  await clientSide.close();
}
if (failed > 0) process.exitCode = 1;

function pause(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}
