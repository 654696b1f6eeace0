// gRPC framing and the channel's protocol handling, against a local HTTP/2 server that answers
// exactly as the test needs (split and packed DATA frames, trailers-only errors, silence).
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { constants, createServer, type Http2Server, type ServerHttp2Stream } from 'node:http2';
import { frame, MessageReader } from '../../src/client/grpc/framing.js';
import { GrpcChannel } from '../../src/client/grpc/channel.js';
import { GrpcError, Status } from '../../src/client/grpc/status.js';
import { takesRawHeaders } from '../../src/client/grpc/stream-handlers.js';
import { ErrorCode } from '../../src/errors.js';
import { toCoordinationError } from '../../src/client/errors.js';

test('frame() prefixes a message with a zero flag and its big-endian length', () => {
  const out = frame(Buffer.from('abc'));
  assert.deepEqual([...out], [0, 0, 0, 0, 3, 0x61, 0x62, 0x63]);
});

test('messages packed into one chunk are all read', () => {
  const got: string[] = [];
  new MessageReader().push(Buffer.concat([frame(Buffer.from('one')), frame(Buffer.alloc(0)), frame(Buffer.from('three'))]), { onMessage: (m) => got.push(m.toString()) });
  assert.deepEqual(got, ['one', '', 'three']);
});

test('a message split across chunks (even inside its prefix) is read once whole', () => {
  const data = Buffer.concat([frame(Buffer.from('hello world')), frame(Buffer.from('second'))]);
  const got: string[] = [];
  const reader = new MessageReader();
  for (let i = 0; i < data.length; i++) reader.push(data.subarray(i, i + 1), { onMessage: (m) => got.push(m.toString()) });
  assert.deepEqual(got, ['hello world', 'second']);
  assert.equal(reader.partial, false);
});

test('a chunk that ends one message and starts the next keeps the rest', () => {
  const a = frame(Buffer.from('first'));
  const b = frame(Buffer.from('second'));
  const got: string[] = [];
  const reader = new MessageReader();
  reader.push(Buffer.concat([a, b.subarray(0, 7)]), { onMessage: (m) => got.push(m.toString()) });
  assert.deepEqual(got, ['first']);
  assert.equal(reader.partial, true);
  reader.push(b.subarray(7), { onMessage: (m) => got.push(m.toString()) });
  assert.deepEqual(got, ['first', 'second']);
});

test('a message over the receive limit is refused', () => {
  assert.throws(() => new MessageReader(4).push(frame(Buffer.alloc(5)), { onMessage: () => undefined }), /larger than max/);
});

// ---- a scripted HTTP/2 server ----

type Handler = (stream: ServerHttp2Stream, body: Promise<Buffer>) => void;
let handler: Handler = () => undefined;
const resets: number[] = [];
let server: Http2Server;
let url: string;
const ready = (async () => {
  server = createServer();
  server.on('session', (session) => {
    serverSessions.push(session);
    session.on('ping', () => pings++);
  });
  server.on('stream', (stream) => {
    const chunks: Buffer[] = [];
    const body = new Promise<Buffer>((resolve) => {
      stream.on('data', (c: Buffer) => chunks.push(c));
      stream.on('end', () => resolve(Buffer.concat(chunks)));
    });
    stream.on('close', () => resets.push(stream.rstCode));
    stream.on('error', () => undefined);
    handler(stream, body);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  url = `http://127.0.0.1:${(server.address() as { port: number }).port}`;
})();
const channels: GrpcChannel[] = [];
const serverSessions: Array<import('node:http2').ServerHttp2Session> = [];
let pings = 0;
after(async () => {
  for (const ch of channels) ch.close();
  await new Promise<void>((r) => server.close(() => r()));
});

async function channel(timeoutMs = 2000, keepaliveIntervalMs?: number): Promise<GrpcChannel> {
  await ready;
  const ch = new GrpcChannel({ endpoints: [url], connectTimeoutMs: timeoutMs, ...(keepaliveIntervalMs && { keepaliveIntervalMs }) });
  channels.push(ch);
  return ch;
}

function ok(stream: ServerHttp2Stream, ...parts: Buffer[]): void {
  stream.respond({ ':status': 200, 'content-type': 'application/grpc' }, { waitForTrailers: true });
  stream.on('wantTrailers', () => stream.sendTrailers({ 'grpc-status': '0' }));
  for (const p of parts) stream.write(p);
  stream.end();
}

test('a unary response split across DATA frames arrives whole', async () => {
  const ch = await channel();
  handler = (stream, body) =>
    void body.then((b) => {
      const reply = frame(Buffer.from(`echo:${b.subarray(5).toString()}`));
      ok(stream, ...[...reply].map((byte) => Buffer.from([byte]))); // one byte per write
    });
  const res = await ch.unary({ path: '/t.S/Echo' }, Buffer.from('ping'), { timeoutMs: 2000 });
  assert.equal(res.toString(), 'echo:ping');
});

test('a unary request carries gRPC\'s headers, the deadline and the metadata, on this runtime\'s header form', async () => {
  const ch = await channel();
  let seen: import('node:http2').IncomingHttpHeaders | undefined;
  server.once('stream', (_stream, headers) => (seen = headers));
  handler = (stream) => ok(stream, frame(Buffer.from('x')));
  await ch.unary({ path: '/t.S/Echo' }, Buffer.from('ping'), { timeoutMs: 1500, metadata: { token: 'tok-1' } });
  assert.equal(seen?.[':method'], 'POST');
  assert.equal(seen?.[':scheme'], 'http');
  assert.equal(seen?.[':authority'], new URL(url).host);
  assert.equal(seen?.[':path'], '/t.S/Echo');
  assert.equal(seen?.['content-type'], 'application/grpc+proto');
  assert.equal(seen?.['te'], 'trailers');
  // The first call waits for the connection: etcd is told the time that is left.
  const timeout = /^(\d+)m$/.exec(String(seen?.['grpc-timeout']));
  assert.ok(timeout && Number(timeout[1]) <= 1500 && Number(timeout[1]) > 1000, `grpc-timeout ${seen?.['grpc-timeout']}`);
  assert.equal(seen?.['token'], 'tok-1');
});

test('raw header arrays are used from Node 22.17 and 24 on, objects before', () => {
  for (const v of ['24.0.0', '22.17.0', '26.3.0', '23.0.0']) assert.equal(takesRawHeaders(v), true, v);
  for (const v of ['20.19.0', '22.12.0', '22.16.9', '', undefined]) assert.equal(takesRawHeaders(v), false, String(v));
});

test('two messages packed into one DATA frame both reach a stream', async () => {
  const ch = await channel();
  handler = (stream) => ok(stream, Buffer.concat([frame(Buffer.from('a')), frame(Buffer.from('b'))]));
  const got: string[] = [];
  const ended = new Promise<GrpcError | undefined>((resolve) => {
    ch.stream('/t.S/Stream', { onMessage: (m) => got.push(m.toString()), onEnd: resolve }, 2000);
  });
  assert.equal(await ended, undefined);
  assert.deepEqual(got, ['a', 'b']);
});

test('a trailers-only error gives its status and percent-decoded message', async () => {
  const ch = await channel();
  handler = (stream) =>
    stream.respond({ ':status': 200, 'content-type': 'application/grpc', 'grpc-status': '5', 'grpc-message': 'etcdserver%3A requested lease not found' }, { endStream: true });
  await assert.rejects(ch.unary({ path: '/t.S/Echo' }, Buffer.alloc(0), { timeoutMs: 2000 }), (err: GrpcError) => {
    assert.equal(err.code, Status.NOT_FOUND);
    assert.equal(err.details, 'etcdserver: requested lease not found');
    assert.equal(toCoordinationError(err, 'x').code, ErrorCode.NotFound);
    return true;
  });
});

test('an error status in trailers after headers is reported', async () => {
  const ch = await channel();
  handler = (stream) => {
    stream.respond({ ':status': 200, 'content-type': 'application/grpc' }, { waitForTrailers: true });
    stream.on('wantTrailers', () => stream.sendTrailers({ 'grpc-status': '14', 'grpc-message': 'etcdserver: no leader' }));
    stream.end();
  };
  await assert.rejects(ch.unary({ path: '/t.S/Echo' }, Buffer.alloc(0), { timeoutMs: 2000 }), (err: GrpcError) => err.code === Status.UNAVAILABLE && /no leader/.test(err.details));
});

test('a deadline cancels the stream on the wire (RST_STREAM CANCEL) and rejects with DEADLINE_EXCEEDED', async () => {
  const ch = await channel();
  resets.length = 0;
  handler = () => undefined; // never answers
  await assert.rejects(ch.unary({ path: '/t.S/Echo' }, Buffer.alloc(0), { timeoutMs: 200 }), (err: GrpcError) => {
    assert.equal(err.code, Status.DEADLINE_EXCEEDED);
    assert.equal(toCoordinationError(err, 'x').code, ErrorCode.Timeout);
    return true;
  });
  await ch.whenIdle();
  assert.equal(ch.openStreams, 0);
  for (let i = 0; i < 100 && resets.length === 0; i++) await new Promise((r) => setTimeout(r, 10));
  assert.deepEqual(resets, [constants.NGHTTP2_CANCEL]);
});

test('an abort rejects at once with CANCELLED and resets the stream', async () => {
  const ch = await channel();
  resets.length = 0;
  let arrived!: () => void;
  const atServer = new Promise<void>((r) => (arrived = r));
  handler = () => arrived();
  const ac = new AbortController();
  const call = ch.unary({ path: '/t.S/Echo' }, Buffer.alloc(0), { timeoutMs: 10_000, signal: ac.signal });
  await atServer;
  assert.equal(ch.openStreams, 1);
  ac.abort();
  await assert.rejects(call, (err: { code: string }) => err.code === ErrorCode.Cancelled);
  await ch.whenIdle();
  for (let i = 0; i < 100 && resets.length === 0; i++) await new Promise((r) => setTimeout(r, 10));
  assert.deepEqual(resets, [constants.NGHTTP2_CANCEL]);
});

test('a connect to a port nobody listens on fails with UNAVAILABLE', async () => {
  const ch = new GrpcChannel({ endpoints: ['http://127.0.0.1:1'], connectTimeoutMs: 1000 });
  channels.push(ch);
  await assert.rejects(ch.unary({ path: '/t.S/Echo' }, Buffer.alloc(0), { timeoutMs: 1000 }), (err: GrpcError) => err.code === Status.UNAVAILABLE);
  assert.equal(ch.sessions, 0);
});

test('a non-gRPC HTTP answer maps its HTTP status', async () => {
  const ch = await channel();
  handler = (stream) => stream.respond({ ':status': 503 }, { endStream: true });
  await assert.rejects(ch.unary({ path: '/t.S/Echo' }, Buffer.alloc(0), { timeoutMs: 2000 }), (err: GrpcError) => err.code === Status.UNAVAILABLE && /HTTP status 503/.test(err.details));
});

const echo: Handler = (stream, body) => void body.then((b) => ok(stream, frame(b.subarray(5))));

test('after a GOAWAY the next call opens a fresh session and the old one is closed', async () => {
  const ch = await channel();
  handler = echo;
  await ch.unary({ path: '/t.S/Echo' }, Buffer.from('a'), { timeoutMs: 2000 });
  const before = serverSessions.length;
  serverSessions.at(-1)!.goaway(constants.NGHTTP2_NO_ERROR);
  for (let i = 0; i < 100 && ch.sessions !== 0; i++) await new Promise((r) => setTimeout(r, 10));
  assert.equal(ch.sessions, 0, 'the drained session is closed');
  assert.equal((await ch.unary({ path: '/t.S/Echo' }, Buffer.from('b'), { timeoutMs: 2000 })).toString(), 'b');
  assert.equal(serverSessions.length, before + 1);
});

test('keep-alive PINGs go out only while a stream is open', async () => {
  const ch = await channel(2000, 50);
  handler = echo;
  await ch.unary({ path: '/t.S/Echo' }, Buffer.from('a'), { timeoutMs: 2000 });
  pings = 0;
  await new Promise((r) => setTimeout(r, 300));
  assert.equal(pings, 0, 'no ping on an idle session');
  handler = () => undefined; // hold the stream open
  const ac = new AbortController();
  const call = ch.unary({ path: '/t.S/Echo' }, Buffer.from('b'), { timeoutMs: 5000, signal: ac.signal });
  await new Promise((r) => setTimeout(r, 300));
  assert.ok(pings >= 2, `pings while a stream is open: ${pings}`);
  ac.abort();
  await assert.rejects(call);
});
