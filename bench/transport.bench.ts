// Transport benchmark (issue 14): the cost of one etcd call through our own gRPC client (node:http2
// + protobufjs) against plain @grpc/grpc-js with the same .proto files (proto-loader), same etcd,
// same run. Range of one key and a one-put Txn, serial and 32 in flight: calls/s and CPU per call
// (user + system time of this process / calls). Rounds alternate the two clients (and which goes
// first); medians reported, with the range of the single rounds' ratios.
import { credentials, loadPackageDefinition, type Client, type ServiceClientConstructor } from '@grpc/grpc-js';
import { loadSync } from '@grpc/proto-loader';
import { connect as http2Connect, type ClientHttp2Session, type OutgoingHttpHeaders } from 'node:http2';
import { KV } from '../src/client/grpc/codec.js';
import { EtcdRpc } from '../src/client/grpc/etcd-rpc.js';
import { frame } from '../src/client/grpc/framing.js';
import { headerObject, takesRawHeaders } from '../src/client/grpc/stream-handlers.js';
import { fileURLToPath } from 'node:url';
import { endpoints, percentile, table, writeSection } from './report.js';

const PROTO_DIR = fileURLToPath(new URL('../proto/', import.meta.url));
const SECONDS = Number(process.env['TRANSPORT_BENCH_SECONDS'] ?? 2);
const ROUNDS = Number(process.env['TRANSPORT_BENCH_ROUNDS'] ?? 5);
const KEY = Buffer.from('bench-transport/k');
const TXN = {
  compare: [{ key: KEY, target: 'CREATE' as const, result: 'EQUAL' as const, create_revision: 0 }],
  success: [{ request_put: { key: KEY, value: Buffer.from('v') } }],
  failure: [{ request_put: { key: KEY, value: Buffer.from('v') } }],
};

type Call = () => Promise<unknown>;
interface Sample {
  callsPerSecond: number;
  cpuMicros: number;
}

/** Warm-up before each measurement: long enough for V8 to finish optimizing the call path (steady state, as in a service). */
const WARM_UP_MS = Number(process.env['TRANSPORT_BENCH_WARMUP_MS'] ?? 1000);

/** Runs `call` with `inFlight` loops for SECONDS (after a warm-up): calls/s and CPU µs per call. */
async function measure(call: Call, inFlight: number): Promise<Sample> {
  const warmEnd = performance.now() + WARM_UP_MS;
  while (performance.now() < warmEnd) await call();
  const end = performance.now() + SECONDS * 1000;
  let calls = 0;
  const cpu0 = process.cpuUsage();
  const t0 = performance.now();
  await Promise.all(
    Array.from({ length: inFlight }, async () => {
      while (performance.now() < end) {
        await call();
        calls++;
      }
    }),
  );
  const seconds = (performance.now() - t0) / 1000;
  const cpu = process.cpuUsage(cpu0);
  return { callsPerSecond: calls / seconds, cpuMicros: (cpu.user + cpu.system) / calls };
}

function grpcJsKv(): { client: Client; range: Call; txn: Call } {
  const def = loadSync(`${PROTO_DIR}rpc.proto`, { keepCase: true, longs: String, enums: String, defaults: true, oneofs: true, includeDirs: [PROTO_DIR] });
  const pkg = loadPackageDefinition(def) as unknown as { etcdserverpb: { KV: ServiceClientConstructor } };
  const host = new URL(endpoints()[0]!).host;
  const client = new pkg.etcdserverpb.KV(host, credentials.createInsecure()) as Client & Record<string, (req: unknown, opts: object, cb: (err: unknown, res: unknown) => void) => void>;
  const unary = (method: string, req: unknown): Promise<unknown> =>
    new Promise((resolve, reject) => client[method]!(req, { deadline: Date.now() + 5000 }, (err, res) => (err ? reject(err) : resolve(res))));
  return { client, range: () => unary('Range', { key: KEY }), txn: () => unary('Txn', TXN) };
}

function oursKv(): { rpc: EtcdRpc; range: Call; txn: Call } {
  const rpc = new EtcdRpc({ endpoints: endpoints(), connectTimeoutMs: 5000 });
  const o = { timeoutMs: 5000 };
  return { rpc, range: () => rpc.kv.range({ key: KEY }, o), txn: () => rpc.kv.txn(TXN, o) };
}

/**
 * The floor: what node:http2 alone costs for the same call — one session, the request encoded once
 * up front, headers in the cheapest form this runtime takes, done at the trailers: no deadline, no
 * decode, no status check. No client on node:http2 can go below it.
 */
async function bareKv(): Promise<{ session: ClientHttp2Session; range: Call; txn: Call }> {
  const url = new URL(endpoints()[0]!);
  const session = http2Connect(url.origin, { settings: { enablePush: false, initialWindowSize: 16 * 1024 * 1024 } });
  await new Promise((resolve, reject) => session.once('remoteSettings', resolve).once('error', reject));
  const options = { endStream: false };
  const call = (path: string, body: Buffer): Call => {
    const raw = [':method', 'POST', ':scheme', 'http', ':authority', url.host, ':path', path, 'content-type', 'application/grpc+proto', 'te', 'trailers', 'grpc-timeout', '5000m'];
    const headers = takesRawHeaders(process.versions.node) ? (raw as unknown as OutgoingHttpHeaders) : headerObject(raw);
    return () =>
      new Promise((resolve, reject) => {
        const stream = session.request(headers, options);
        stream.on('data', () => undefined);
        stream.on('trailers', resolve);
        stream.on('error', reject);
        stream.end(body);
      });
  };
  return { session, range: call(KV.range.path, frame(KV.range.encode({ key: KEY }))), txn: call(KV.txn.path, frame(KV.txn.encode(TXN))) };
}

const median = (xs: number[]): number => percentile(xs, 50);

const ours = oursKv();
const theirs = grpcJsKv();
const bare = await bareKv();
await ours.txn();
await theirs.txn();
await bare.txn();
const cases = [
  ['Range, serial', 'range', 1],
  ['Range, 32 in flight', 'range', 32],
  ['Txn (one put), serial', 'txn', 1],
  ['Txn (one put), 32 in flight', 'txn', 32],
] as const;
const rows: Array<Array<string | number>> = [];
for (const [name, op, inFlight] of cases) {
  const a: Sample[] = [];
  const b: Sample[] = [];
  const c: Sample[] = [];
  for (let r = 0; r < ROUNDS; r++) {
    // Which client goes first alternates: neither always inherits the other's garbage and timers.
    if (r % 2 === 0) {
      a.push(await measure(ours[op], inFlight));
      b.push(await measure(theirs[op], inFlight));
    } else {
      b.push(await measure(theirs[op], inFlight));
      a.push(await measure(ours[op], inFlight));
    }
    c.push(await measure(bare[op], inFlight));
  }
  const [oRate, gRate] = [median(a.map((s) => s.callsPerSecond)), median(b.map((s) => s.callsPerSecond))];
  const [oCpu, gCpu] = [median(a.map((s) => s.cpuMicros)), median(b.map((s) => s.cpuMicros))];
  const fCpu = median(c.map((s) => s.cpuMicros));
  console.log(`${name}: ours ${Math.round(oRate)}/s ${oCpu.toFixed(0)} µs CPU; grpc-js ${Math.round(gRate)}/s ${gCpu.toFixed(0)} µs CPU; bare node:http2 ${fCpu.toFixed(0)} µs CPU`);
  // Each round's ours ÷ grpc-js (the two ran back to back): how far single rounds stray from the medians.
  const spread = (xs: number[]): string => `${Math.min(...xs).toFixed(2)}–${Math.max(...xs).toFixed(2)}`;
  const rateRounds = spread(a.map((s, r) => s.callsPerSecond / b[r]!.callsPerSecond));
  const cpuRounds = spread(a.map((s, r) => s.cpuMicros / b[r]!.cpuMicros));
  rows.push([name, Math.round(oRate), Math.round(gRate), `${(oRate / gRate).toFixed(2)}×`, rateRounds, Math.round(oCpu), Math.round(gCpu), `${(oCpu / gCpu).toFixed(2)}×`, cpuRounds, Math.round(fCpu), `${(fCpu / gCpu).toFixed(2)}×`]);
}
ours.rpc.close();
theirs.client.close();
bare.session.close();

writeSection(
  'transport',
  'Transport: our node:http2 gRPC client vs @grpc/grpc-js (issue 14)',
  `One etcd call, same .proto files, same etcd, same process, ${ROUNDS} alternating rounds of ${SECONDS} s per client
(medians), each after ${WARM_UP_MS / 1000} s of the same calls unmeasured (steady state). CPU per call = this process's user + system time / calls. Targets: CPU per call ≤ 0.6× grpc-js's,
calls/s ≥ 1.3× serial. The ratios are of the medians; "rounds" is the range of the ${ROUNDS} single rounds' ratios (ours ÷ the grpc-js round run next to it).
"floor" is bare node:http2 making the same call (encoded once up front, done at the trailers: no deadline, no decode), measured in the same rounds:
what any client on node:http2 pays at least, here as a share of grpc-js's CPU per call.

${table(['call', 'ours calls/s', 'grpc-js calls/s', 'ratio', 'rounds', 'ours µs CPU/call', 'grpc-js µs CPU/call', 'CPU ratio', 'rounds', 'floor µs CPU/call', 'floor ÷ grpc-js'], rows)}`,
);
