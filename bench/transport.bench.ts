// Transport benchmark (issue 14): the cost of one etcd call through our own gRPC client (node:http2
// + protobufjs) against plain @grpc/grpc-js with the same .proto files (proto-loader), same etcd,
// same run. Range of one key and a one-put Txn, serial and 32 in flight: calls/s and CPU per call
// (user + system time of the client's process / calls). Each client runs in a process of its own
// (its garbage collection is its own); rounds interleave them in short slices, one process busy at
// a time, the order rotating, so they share the machine's phases. Medians of the rounds reported,
// with the range of the single rounds' ratios.
import { credentials, loadPackageDefinition, type Client, type ServiceClientConstructor } from '@grpc/grpc-js';
import { loadSync } from '@grpc/proto-loader';
import { fork, type ChildProcess } from 'node:child_process';
import { connect as http2Connect, type OutgoingHttpHeaders } from 'node:http2';
import { KV } from '../src/client/grpc/codec.js';
import { EtcdRpc } from '../src/client/grpc/etcd-rpc.js';
import { frame } from '../src/client/grpc/framing.js';
import { headerObject, takesRawHeaders } from '../src/client/grpc/stream-handlers.js';
import { fileURLToPath } from 'node:url';
import { endpoints, percentile, table, writeSection } from './report.js';

const PROTO_DIR = fileURLToPath(new URL('../proto/', import.meta.url));
const SECONDS = Number(process.env['TRANSPORT_BENCH_SECONDS'] ?? 2);
const ROUNDS = Number(process.env['TRANSPORT_BENCH_ROUNDS'] ?? 7);
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
/** What one slice of one client took: calls made, wall ms and CPU µs (sums over a round give a Sample). */
interface Slice {
  calls: number;
  ms: number;
  cpuMicros: number;
}

/** Warm-up before each case: long enough for V8 to finish optimizing every client's call path (steady state, as in a service). */
const WARM_UP_MS = Number(process.env['TRANSPORT_BENCH_WARMUP_MS'] ?? 1000);
/**
 * Each round gives every client SECONDS in this many slices, taken in turn (the order rotates per
 * slice): the clients share the VM's fast and slow phases instead of one round each catching a
 * different one.
 */
const SLICES = Number(process.env['TRANSPORT_BENCH_SLICES'] ?? 8);

/** Runs `call` with `inFlight` loops for `ms`: the calls made, the time taken and this process's CPU µs. */
async function runSlice(call: Call, inFlight: number, ms: number): Promise<Slice> {
  const end = performance.now() + ms;
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
  const taken = performance.now() - t0;
  const cpu = process.cpuUsage(cpu0);
  return { calls, ms: taken, cpuMicros: cpu.user + cpu.system };
}

async function warmUp(call: Call): Promise<void> {
  const end = performance.now() + WARM_UP_MS;
  while (performance.now() < end) await call();
}

type Op = 'range' | 'txn';
type Request = { type: 'warm'; op: Op } | { type: 'slice'; op: Op; inFlight: number; ms: number } | { type: 'close' };
const CLIENTS = { ours: oursKv, 'grpc-js': grpcJsKv, floor: bareKv } as const;
type ClientName = keyof typeof CLIENTS;

/** A client in a process of its own: does what the parent asks, one request at a time. */
async function serve(name: ClientName): Promise<void> {
  const client = await CLIENTS[name]();
  await client.txn();
  process.on('message', (req: Request) => {
    if (req.type === 'close') {
      client.close();
      process.disconnect();
      return;
    }
    const done = req.type === 'warm' ? warmUp(client[req.op]).then(() => ({})) : runSlice(client[req.op], req.inFlight, req.ms);
    void done.then((res) => process.send!(res));
  });
  process.send!({ ready: true });
}

/** The parent's handle on one client process. */
class Remote {
  private readonly child: ChildProcess;
  constructor(readonly name: ClientName) {
    this.child = fork(fileURLToPath(import.meta.url), [], { env: { ...process.env, TRANSPORT_BENCH_CLIENT: name } });
  }
  /** Resolves once the child has connected its client and made one call. */
  ready(): Promise<unknown> {
    return this.reply();
  }
  ask<T>(req: Request): Promise<T> {
    const answer = this.reply<T>();
    this.child.send(req);
    return answer;
  }
  private reply<T>(): Promise<T> {
    return new Promise((resolve, reject) => {
      const onExit = (code: number | null): void => reject(new Error(`${this.name} client exited (${code})`));
      this.child.once('exit', onExit);
      this.child.once('message', (res) => {
        this.child.off('exit', onExit);
        resolve(res as T);
      });
    });
  }
  async close(): Promise<void> {
    const exited = new Promise((resolve) => this.child.once('exit', resolve));
    this.child.send({ type: 'close' });
    await exited;
  }
}

/** One round: every client gets SECONDS in SLICES turns, the order rotating; calls/s and CPU µs per call of each. */
async function round(clients: Remote[], op: Op, inFlight: number, first: number): Promise<Sample[]> {
  const totals: Slice[] = clients.map(() => ({ calls: 0, ms: 0, cpuMicros: 0 }));
  for (let s = 0; s < SLICES; s++) {
    for (let i = 0; i < clients.length; i++) {
      const k = (first + s + i) % clients.length;
      const slice = await clients[k]!.ask<Slice>({ type: 'slice', op, inFlight, ms: (SECONDS * 1000) / SLICES });
      totals[k]!.calls += slice.calls;
      totals[k]!.ms += slice.ms;
      totals[k]!.cpuMicros += slice.cpuMicros;
    }
  }
  return totals.map((t) => ({ callsPerSecond: t.calls / (t.ms / 1000), cpuMicros: t.cpuMicros / t.calls }));
}

function grpcJsKv(): { close(): void; range: Call; txn: Call } {
  const def = loadSync(`${PROTO_DIR}rpc.proto`, { keepCase: true, longs: String, enums: String, defaults: true, oneofs: true, includeDirs: [PROTO_DIR] });
  const pkg = loadPackageDefinition(def) as unknown as { etcdserverpb: { KV: ServiceClientConstructor } };
  const host = new URL(endpoints()[0]!).host;
  const client = new pkg.etcdserverpb.KV(host, credentials.createInsecure()) as Client & Record<string, (req: unknown, opts: object, cb: (err: unknown, res: unknown) => void) => void>;
  const unary = (method: string, req: unknown): Promise<unknown> =>
    new Promise((resolve, reject) => client[method]!(req, { deadline: Date.now() + 5000 }, (err, res) => (err ? reject(err) : resolve(res))));
  return { close: () => client.close(), range: () => unary('Range', { key: KEY }), txn: () => unary('Txn', TXN) };
}

function oursKv(): { close(): void; range: Call; txn: Call } {
  const rpc = new EtcdRpc({ endpoints: endpoints(), connectTimeoutMs: 5000 });
  const o = { timeoutMs: 5000 };
  return { close: () => rpc.close(), range: () => rpc.kv.range({ key: KEY }, o), txn: () => rpc.kv.txn(TXN, o) };
}

/**
 * The floor: what node:http2 alone costs for the same call — one session, the request encoded once
 * up front, headers in the cheapest form this runtime takes, done at the trailers: no deadline, no
 * decode, no status check. No client on node:http2 can go below it.
 */
async function bareKv(): Promise<{ close(): void; range: Call; txn: Call }> {
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
  return { close: () => session.close(), range: call(KV.range.path, frame(KV.range.encode({ key: KEY }))), txn: call(KV.txn.path, frame(KV.txn.encode(TXN))) };
}

const median = (xs: number[]): number => percentile(xs, 50);

const role = process.env['TRANSPORT_BENCH_CLIENT'] as ClientName | undefined;
if (role) await serve(role);
else await main();

async function main(): Promise<void> {
  const remotes = (['ours', 'grpc-js', 'floor'] as const).map((name) => new Remote(name));
  await Promise.all(remotes.map((r) => r.ready()));
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
    for (const remote of remotes) await remote.ask({ type: 'warm', op });
    for (let r = 0; r < ROUNDS; r++) {
      const [o, g, f] = await round(remotes, op, inFlight, r);
      a.push(o!);
      b.push(g!);
      c.push(f!);
    }
    const [oRate, gRate, fRate] = [a, b, c].map((xs) => median(xs.map((s) => s.callsPerSecond))) as [number, number, number];
    const [oCpu, gCpu, fCpu] = [a, b, c].map((xs) => median(xs.map((s) => s.cpuMicros))) as [number, number, number];
    console.log(`${name}: ours ${Math.round(oRate)}/s ${oCpu.toFixed(0)} µs CPU; grpc-js ${Math.round(gRate)}/s ${gCpu.toFixed(0)} µs CPU; bare node:http2 ${Math.round(fRate)}/s ${fCpu.toFixed(0)} µs CPU`);
    // Each round's ours ÷ grpc-js (interleaved in that round): how far single rounds stray from the medians.
    const rateRounds = a.map((s, r) => s.callsPerSecond / b[r]!.callsPerSecond);
    const cpuRounds = a.map((s, r) => s.cpuMicros / b[r]!.cpuMicros);
    const spread = (xs: number[]): string => `${Math.min(...xs).toFixed(2)}–${Math.max(...xs).toFixed(2)}`;
    console.log(`  rounds (ours ÷ grpc-js): calls/s ${rateRounds.map((x) => x.toFixed(2)).join(' ')}; CPU ${cpuRounds.map((x) => x.toFixed(2)).join(' ')}`);
    const ratio = (x: number, y: number): string => `${(x / y).toFixed(2)}×`;
    rows.push([name, Math.round(oRate), Math.round(gRate), Math.round(fRate), ratio(oRate, gRate), spread(rateRounds), ratio(fRate, gRate), Math.round(oCpu), Math.round(gCpu), Math.round(fCpu), ratio(oCpu, gCpu), spread(cpuRounds), ratio(fCpu, gCpu)]);
  }
  for (const remote of remotes) await remote.close();

  writeSection(
    'transport',
    'Transport: our node:http2 gRPC client vs @grpc/grpc-js (issue 14)',
    `One etcd call, same .proto files, same etcd, each client in a process of its own (its garbage
collection is its own), ${ROUNDS} rounds of ${SECONDS} s per client (medians), each round interleaving the clients in ${SLICES} slices of ${(SECONDS * 1000) / SLICES} ms
(one process busy at a time, the order rotating per slice), after ${WARM_UP_MS / 1000} s of each client's calls unmeasured (steady state). CPU per call = the client process's user + system time / calls. Targets: CPU per call ≤ 0.6× grpc-js's,
calls/s ≥ 1.3× serial. The ratios (ours ÷ grpc-js) are of the medians; "rounds" is the range of the ${ROUNDS} single rounds' ratios.
"floor" is bare node:http2 making the same call (encoded once up front, done at the trailers: no deadline, no decode), measured in the same rounds:
what any client on node:http2 pays at least; "floor ratio" is it ÷ grpc-js, the best ratio any such client could show.

${table(['call', 'ours calls/s', 'grpc-js calls/s', 'floor calls/s', 'ratio', 'rounds', 'floor ratio', 'ours µs CPU/call', 'grpc-js µs CPU/call', 'floor µs CPU/call', 'CPU ratio', 'rounds', 'floor CPU ratio'], rows)}`,
  );
}
