// A call's HTTP/2 request and the events of its stream. The five listeners are module-level
// functions shared by every call: each finds its call on the stream (tagged with a symbol), so a
// call costs no closure, and one 'close' listener serves both the call and its connection.
import type { ClientHttp2Stream, IncomingHttpHeaders, OutgoingHttpHeaders } from 'node:http2';
import type { Call } from './call.js';
import type { Connection } from './connection.js';
import { GrpcError, Status, decodeGrpcMessage } from './status.js';

/** Extra request headers (gRPC metadata), e.g. etcd's `token`. */
export type Metadata = Record<string, string>;

const CALL = Symbol('grpcCall');
type Tagged = ClientHttp2Stream & { [CALL]?: Call };

/**
 * No priority fields: RFC 9113 deprecates them, Node 22+ prints DEP0194 for `weight` (even when
 * undefined), and Bun resets every stream that carries any of them (NGHTTP2_INTERNAL_ERROR).
 */
const REQUEST_OPTIONS = Object.freeze({ endStream: false });

/**
 * Node 22.17+ and 24+ (Bun and Deno too) take request headers as a flat [name, value, ...] array,
 * which skips the per-request copy into an object; Node 20 and 22.12-22.16 take only an object.
 */
const RAW_HEADERS = takesRawHeaders(process.versions.node);

export function takesRawHeaders(nodeVersion: string | undefined): boolean {
  const [major = 0, minor = 0] = (nodeVersion ?? '').split('.').map(Number);
  return major > 22 || (major === 22 && minor >= 17);
}

/** Starts the HTTP/2 request for `call` on `conn`; false (and the call settled) if it could not. */
export function openStream(call: Call, conn: Connection, path: string, metadata: Metadata | undefined, timeoutMs: number): boolean {
  // Every header up front (scheme and authority too), so node adds nothing of its own.
  const headers =
    timeoutMs > 0
      ? [':method', 'POST', ':scheme', conn.scheme, ':authority', conn.authority, ':path', path, 'content-type', 'application/grpc+proto', 'te', 'trailers', 'grpc-timeout', `${timeoutMs}m`]
      : [':method', 'POST', ':scheme', conn.scheme, ':authority', conn.authority, ':path', path, 'content-type', 'application/grpc+proto', 'te', 'trailers'];
  if (metadata) for (const k in metadata) headers.push(k, metadata[k]!);
  let stream: Tagged;
  try {
    // (@types/node 20 does not know the array form yet.)
    stream = conn.session.request(RAW_HEADERS ? (headers as unknown as OutgoingHttpHeaders) : headerObject(headers), REQUEST_OPTIONS) as Tagged;
  } catch (err) {
    conn.kill(err as Error, 'disconnected');
    call.settle(new GrpcError(Status.UNAVAILABLE, (err as Error).message, { cause: err }));
    return false;
  }
  stream[CALL] = call;
  call.stream = stream;
  call.conn = conn;
  call.activityAtStart = conn.activity;
  conn.track(stream);
  stream.on('response', onResponse);
  stream.on('data', onData);
  stream.on('trailers', onTrailers);
  stream.on('error', onError);
  stream.on('close', onClose);
  return true;
}

function onResponse(this: Tagged, headers: IncomingHttpHeaders): void {
  const call = this[CALL]!;
  call.conn!.activity++;
  call.httpStatus = Number(headers[':status']);
  if (headers['grpc-status'] !== undefined) readStatus(this, call, headers); // trailers-only response
}
function onData(this: Tagged, chunk: Buffer): void {
  const call = this[CALL]!;
  call.conn!.activity++;
  if (call.settled) return;
  try {
    call.data(chunk);
  } catch (err) {
    call.cancel(new GrpcError(Status.RESOURCE_EXHAUSTED, (err as Error).message, { cause: err }));
  }
}
function onTrailers(this: Tagged, trailers: IncomingHttpHeaders): void {
  readStatus(this, this[CALL]!, trailers);
}
function onError(this: Tagged, err: Error): void {
  this[CALL]!.error ??= err;
}
function onClose(this: Tagged): void {
  const call = this[CALL]!;
  call.conn!.untrack(this);
  call.finish(this.rstCode ?? 0);
}
function readStatus(stream: ClientHttp2Stream, call: Call, headers: IncomingHttpHeaders): void {
  const raw = headers['grpc-status'];
  call.status = raw === undefined ? Status.UNKNOWN : Number(raw);
  call.statusMessage = decodeGrpcMessage(headers['grpc-message']);
  // The server is done: half-close our side too (a stream may still be open for writing), so the
  // HTTP/2 stream closes and the outcome is delivered.
  if (!stream.writableEnded) stream.end();
  call.statusIn();
}
/** The object form of raw headers, for runtimes that take no array. */
export function headerObject(raw: string[]): OutgoingHttpHeaders {
  const headers: OutgoingHttpHeaders = {};
  for (let i = 0; i < raw.length; i += 2) headers[raw[i]!] = raw[i + 1];
  return headers;
}
