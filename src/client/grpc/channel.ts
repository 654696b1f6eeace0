// gRPC over node:http2 (https://github.com/grpc/grpc/blob/master/doc/PROTOCOL-HTTP2.md), just what
// an etcd v3 client needs: unary calls and bidirectional streams on one HTTP/2 session per endpoint.
//  - A session counts as connected once the server's SETTINGS arrive, and that must happen within
//    `connectTimeoutMs`: a handshake sent into a black hole fails in time and the next endpoint is tried.
//  - Any session failure (error, close, keep-alive timeout) drops it and moves on to the next endpoint;
//    a GOAWAY lets the streams it still accepts finish (drain) while new calls open a fresh session.
//  - Keep-alive: an HTTP/2 PING every `keepaliveIntervalMs` (10 s) while the session has open streams,
//    and the session is dropped when no PING ACK comes within `keepaliveTimeoutMs`. Idle sessions are
//    never pinged: etcd (grpc-go, PermitWithoutStream=false) answers pings on a connection without
//    streams with GOAWAY too_many_pings. An idle dead session is found by the next call's deadline.
//  - Every call has a deadline: `grpc-timeout` tells etcd, a local timer enforces it. Abort and
//    deadline close the HTTP/2 stream with RST_STREAM(CANCEL) — a real cancel on the wire — and the
//    caller learns at once.
import {
  connect as http2Connect,
  constants,
  type ClientHttp2Session,
  type ClientHttp2Stream,
  type IncomingHttpHeaders,
  type OutgoingHttpHeaders,
  type SecureClientSessionOptions,
} from 'node:http2';
import { isIP } from 'node:net';
import { connect as tlsConnect } from 'node:tls';
import { abortError } from '../../errors.js';
import { frame, MessageReader } from './framing.js';
import { GrpcError, Status, decodeGrpcMessage, statusFromHttp } from './status.js';

export interface ChannelTls {
  /** CA bundle to trust (PEM). */
  ca: Buffer | string;
  /** Client certificate and key (PEM) for mTLS. */
  cert?: Buffer | string;
  key?: Buffer | string;
}

export interface ChannelOptions {
  /** `http://host:port` (h2c) or `https://host:port` (TLS) for each member. */
  endpoints: string[];
  /** Bound on one connect attempt, TCP + TLS + the server's SETTINGS. */
  connectTimeoutMs: number;
  tls?: ChannelTls | undefined;
  /** PING interval while streams are open. @default 10_000 */
  keepaliveIntervalMs?: number;
  /** A PING not answered within this drops the session. @default min(10_000, max(1000, connectTimeoutMs)) */
  keepaliveTimeoutMs?: number;
  /** Largest message accepted from the server. @default 4 MiB (as grpc-js) */
  maxReceiveMessageBytes?: number;
  /** Connection state changes, for logging (no secrets are ever passed). */
  onEvent?: (event: ChannelEvent) => void;
}

export interface ChannelEvent {
  type: 'connected' | 'connect-failed' | 'disconnected' | 'goaway' | 'rotated';
  endpoint: string;
  error?: string;
}

/** Extra request headers (gRPC metadata), e.g. etcd's `token`. */
export type Metadata = Record<string, string>;

export interface StreamHandlers {
  onMessage(message: Buffer): void;
  /** Called once: with undefined for an OK end, else with the error that ended the stream. */
  onEnd(error: GrpcError | undefined): void;
}

const { NGHTTP2_CANCEL } = constants;

function rst(stream: ClientHttp2Stream): void {
  if (!stream.closed && !stream.destroyed && !stream.session?.destroyed) stream.close(NGHTTP2_CANCEL);
}
const CALL = Symbol('grpcCall');
/**
 * No priority fields: RFC 9113 deprecates them, Node 22+ prints DEP0194 for `weight` (even when
 * undefined), and Bun resets every stream that carries any of them (NGHTTP2_INTERNAL_ERROR).
 */
const REQUEST_OPTIONS = Object.freeze({ endStream: false });
const SESSION_WINDOW = 16 * 1024 * 1024;

type Tagged = ClientHttp2Stream & { [CALL]?: Call };

/** One endpoint's HTTP/2 session and the streams open on it. */
class Connection {
  readonly streams = new Set<ClientHttp2Stream>();
  readonly ready: Promise<void>;
  dead = false;
  private pingTimer: NodeJS.Timeout | undefined;
  private pingTimeout: NodeJS.Timeout | undefined;
  private lastProbe = -Infinity;
  /** Bumped by every response frame and PING ACK: unchanged over a whole call = nothing came back. */
  activity = 0;
  readonly startedAt = performance.now();
  connected = false;
  /** `:scheme` and `:authority` of every request on this session. */
  readonly scheme: string;
  readonly authority: string;

  constructor(
    readonly endpoint: string,
    readonly session: ClientHttp2Session,
    private readonly channel: GrpcChannel,
    private readonly opts: Required<Pick<ChannelOptions, 'connectTimeoutMs' | 'keepaliveIntervalMs' | 'keepaliveTimeoutMs'>>,
  ) {
    const url = new URL(endpoint);
    this.scheme = url.protocol.slice(0, -1);
    this.authority = `${url.hostname}:${url.port || (this.scheme === 'https' ? 443 : 80)}`;
    this.ready = new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => fail(new Error(`connect to ${endpoint} timed out after ${opts.connectTimeoutMs} ms`)), opts.connectTimeoutMs);
      const fail = (err: Error): void => {
        clearTimeout(timer);
        session.off('remoteSettings', ok);
        this.kill(err, 'connect-failed');
        reject(new GrpcError(Status.UNAVAILABLE, `${endpoint}: ${err.message}`, { cause: err }));
      };
      const ok = (): void => {
        this.connected = true;
        clearTimeout(timer);
        session.off('error', fail);
        session.off('close', closedEarly);
        try {
          session.setLocalWindowSize(SESSION_WINDOW);
        } catch {
          /* destroyed meanwhile: the first request will tell */
        }
        this.channel.emit({ type: 'connected', endpoint });
        resolve();
      };
      const closedEarly = (): void => fail(new Error('connection closed'));
      session.once('remoteSettings', ok);
      session.once('error', fail);
      session.once('close', closedEarly);
    });
    this.ready.catch(() => undefined);
    session.on('error', (err: Error) => this.kill(err, 'disconnected'));
    session.on('close', () => this.kill(new Error('connection closed'), 'disconnected'));
    session.on('goaway', (code: number) => {
      // Streams the server still accepted finish here; new calls go to a fresh session.
      this.channel.retire(this, code === constants.NGHTTP2_NO_ERROR ? undefined : `GOAWAY code ${code}`);
    });
  }

  track(stream: ClientHttp2Stream): void {
    this.streams.add(stream);
    if (this.streams.size === 1) this.startPings();
  }

  /** The stream closed (called from its 'close' handler, so a stream needs no listener of its own here). */
  untrack(stream: ClientHttp2Stream): void {
    this.streams.delete(stream);
    if (this.streams.size === 0) {
      // No more pings on an idle session; one already in flight still gets its answer (or not).
      clearInterval(this.pingTimer);
      this.pingTimer = undefined;
    }
    this.channel.released(this);
  }

  private startPings(): void {
    if (this.pingTimer || this.dead) return;
    this.pingTimer = setInterval(() => this.ping(), this.opts.keepaliveIntervalMs);
    this.pingTimer.unref();
  }

  private stopPings(): void {
    clearInterval(this.pingTimer);
    clearTimeout(this.pingTimeout);
    this.pingTimer = this.pingTimeout = undefined;
  }

  /**
   * A call just missed its deadline: check now that the peer still answers (an HTTP/2 PING) rather
   * than at the next keep-alive tick, so a session cut off in a black hole is dropped within about
   * one `timeout` of the first failed call. At most once a second (etcd counts rapid pings as abuse).
   */
  probe(): void {
    if (this.dead) return;
    const now = performance.now();
    if (now - this.lastProbe < 1000) return;
    this.lastProbe = now;
    this.ping();
  }

  private ping(): void {
    if (this.pingTimeout || this.dead || this.streams.size === 0) return;
    this.pingTimeout = setTimeout(() => {
      this.kill(new Error(`keep-alive PING not answered within ${this.opts.keepaliveTimeoutMs} ms`), 'disconnected');
    }, this.opts.keepaliveTimeoutMs);
    this.pingTimeout.unref();
    try {
      this.session.ping((err) => {
        this.activity++;
        clearTimeout(this.pingTimeout);
        this.pingTimeout = undefined;
        if (err && !this.dead) this.kill(err, 'disconnected');
      });
    } catch (err) {
      this.kill(err as Error, 'disconnected');
    }
  }

  /** Drops the session for good: open streams end with UNAVAILABLE. */
  kill(err: Error, type: ChannelEvent['type']): void {
    if (this.dead) return;
    this.dead = true;
    this.stopPings();
    this.channel.forget(this, type, err.message);
    if (!this.session.destroyed) this.session.destroy();
  }
}

/** An in-flight unary call; event handlers are shared functions that find it on the stream. */
class Call {
  status = -1;
  statusMessage = '';
  httpStatus = 0;
  message: Buffer | undefined;
  messages = 0;
  error: Error | undefined;
  settled = false;
  timer: NodeJS.Timeout | undefined;
  private reader: MessageReader | undefined;
  signal: AbortSignal | undefined;
  onAbort: (() => void) | undefined;
  stream: ClientHttp2Stream | undefined;
  conn: Connection | undefined;
  /** Turns the response into what the caller's promise resolves with (decoded once, here). */
  decode: ((message: Buffer) => unknown) | undefined;
  /** When the call started, and the channel it waits on for a connection (slow path only). */
  startedAt = 0;
  connecting: GrpcChannel | undefined;
  /** conn.activity when the request was sent. */
  activityAtStart = 0;

  constructor(
    readonly resolve: (message: Buffer) => void,
    readonly reject: (err: unknown) => void,
    private readonly maxBytes: number,
    /** Streams: every message and the end go here instead of resolve/reject. */
    readonly handlers?: StreamHandlers,
  ) {
  }

  /** DATA from the server; the reader is made on first use. */
  data(chunk: Buffer): void {
    (this.reader ??= new MessageReader(this.maxBytes)).push(chunk, this);
  }

  onMessage(message: Buffer): void {
    if (this.handlers) {
      this.handlers.onMessage(message);
      return;
    }
    this.messages++;
    this.message = message;
  }

  /**
   * The call ran out of time. If nothing at all came back on its session meanwhile, the session is
   * dead (e.g. cut off in a black hole): drop it now, so the next call connects afresh. Otherwise
   * the peer is alive but slow; a PING checks it.
   */
  suspect(): void {
    if (this.settled) return;
    const conn = this.conn;
    if (!conn) {
      // Still waiting for a connection: one that has been connecting for this whole call is stuck.
      this.connecting?.abandonConnect(this.startedAt);
      return;
    }
    if (conn.activity === this.activityAtStart) conn.kill(new Error('no answer on the connection for a whole call'), 'disconnected');
    else conn.probe();
  }

  /** Ends the call with `err` now and cancels the stream on the wire. */
  cancel(err: Error): void {
    if (this.settled) return;
    const stream = this.stream;
    this.settle(err);
    // The RST_STREAM goes out on the next turn of the event loop, never from inside a timer or event
    // handler that runs while node's http2 session is busy: submitted synchronously right after a
    // long SIGSTOP, Node 20's native rstStream was seen spinning in SendPendingData (a busy hang).
    if (stream && !stream.closed && !stream.destroyed) setImmediate(rst, stream);
  }

  settle(err: Error | undefined): void {
    if (this.settled) return;
    this.settled = true;
    clearTimeout(this.timer);
    if (this.onAbort) this.signal!.removeEventListener('abort', this.onAbort);
    if (this.handlers) {
      this.handlers.onEnd(err as GrpcError | undefined);
      return;
    }
    if (err) this.reject(err);
    else if (!this.decode) this.resolve(this.message!);
    else {
      let decoded: unknown;
      try {
        decoded = this.decode(this.message!);
      } catch (e) {
        this.reject(new GrpcError(Status.INTERNAL, `undecodable response: ${(e as Error).message}`, { cause: e }));
        return;
      }
      this.resolve(decoded as Buffer);
    }
  }

  /**
   * The server sent its status. A unary call's outcome is known now: settling here rather than at
   * the stream's 'close' lets the caller's next request go out before node tears this stream down
   * (that work then overlaps with etcd's). Anything unusual waits for 'close' and `finish`.
   */
  statusIn(): void {
    if (this.settled || this.handlers) return;
    if (this.status !== Status.OK) this.settle(new GrpcError(this.status, this.statusMessage));
    else if (this.messages === 1 && !this.reader?.partial) this.settle(undefined);
  }

  /** The stream closed: decide the outcome from the status we got (or did not get). */
  finish(rstCode: number): void {
    if (this.settled) return;
    if (this.status < 0) {
      if (this.httpStatus !== 0 && this.httpStatus !== 200) {
        return this.settle(new GrpcError(statusFromHttp(this.httpStatus), `HTTP status ${this.httpStatus}`));
      }
      const why = this.error?.message ?? (rstCode ? `stream reset (HTTP/2 code ${rstCode})` : 'stream closed without a status');
      return this.settle(new GrpcError(Status.UNAVAILABLE, why, this.error ? { cause: this.error } : undefined));
    }
    if (this.status !== Status.OK) return this.settle(new GrpcError(this.status, this.statusMessage));
    if (this.handlers) return this.settle(undefined);
    if (this.messages !== 1) return this.settle(new GrpcError(Status.INTERNAL, `unary call got ${this.messages} messages`));
    this.settle(undefined);
  }
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

/** An open bidirectional stream. */
export interface BidiStream {
  /** Sends one message; false when the stream has ended. */
  write(body: Uint8Array): boolean;
  /** Half-closes our side. */
  end(): void;
  /** RST_STREAM(CANCEL); onEnd is called with CANCELLED. Idempotent. */
  cancel(): void;
  /** The endpoint the stream runs on. */
  readonly endpoint: string;
}

export class GrpcChannel {
  private readonly endpoints: string[];
  private current: Connection | undefined;
  private readonly all = new Set<Connection>();
  private nextIndex: number;
  private closed = false;
  private readonly opts: Required<Pick<ChannelOptions, 'connectTimeoutMs' | 'keepaliveIntervalMs' | 'keepaliveTimeoutMs'>>;
  private readonly maxReceive: number;
  private readonly sessionOptions: SecureClientSessionOptions;
  private idle: Array<() => void> = [];

  constructor(private readonly options: ChannelOptions) {
    if (options.endpoints.length === 0) throw new Error('no endpoints');
    this.endpoints = options.endpoints.map((e) => (/^[a-z]+:\/\//i.test(e) ? e : `${options.tls ? 'https' : 'http'}://${e}`));
    this.nextIndex = Math.floor(Math.random() * this.endpoints.length);
    this.opts = {
      connectTimeoutMs: options.connectTimeoutMs,
      keepaliveIntervalMs: options.keepaliveIntervalMs ?? 10_000,
      keepaliveTimeoutMs: options.keepaliveTimeoutMs ?? Math.min(10_000, Math.max(1000, options.connectTimeoutMs)),
    };
    this.maxReceive = options.maxReceiveMessageBytes ?? 4 * 1024 * 1024;
    this.sessionOptions = { settings: { enablePush: false, initialWindowSize: 4 * 1024 * 1024 } };
  }

  /** Session options for `endpoint`: TLS sockets are made here, so that an IP address is not sent as SNI. */
  private sessionOptionsFor(endpoint: string): SecureClientSessionOptions {
    const tls = this.options.tls;
    if (!tls || !endpoint.startsWith('https:')) return this.sessionOptions;
    const url = new URL(endpoint);
    const host = url.hostname.replace(/^\[|\]$/g, '');
    return {
      ...this.sessionOptions,
      createConnection: () =>
        tlsConnect({
          host,
          port: Number(url.port || 443),
          ALPNProtocols: ['h2'],
          ...(isIP(host) === 0 && { servername: host }),
          ca: tls.ca,
          ...(tls.cert !== undefined && { cert: tls.cert }),
          ...(tls.key !== undefined && { key: tls.key }),
        }),
    };
  }

  /** HTTP/2 streams open right now, over every session (closed streams are not counted). */
  get openStreams(): number {
    let n = 0;
    for (const c of this.all) n += c.streams.size;
    return n;
  }

  /** Sessions not yet closed (the current one plus any draining after a GOAWAY). */
  get sessions(): number {
    return this.all.size;
  }

  /** The endpoint of the current session, if connected. */
  get connectedEndpoint(): string | undefined {
    return this.current && !this.current.dead ? this.current.endpoint : undefined;
  }

  /**
   * One request, one response. `timeoutMs` bounds the whole call (connect included); `signal`
   * cancels it. Rejects with GrpcError (or the signal's reason's GrpcError CANCELLED).
   */
  unary(path: string, body: Uint8Array, timeoutMs: number, signal?: AbortSignal, metadata?: Metadata): Promise<Buffer>;
  unary<T>(path: string, body: Uint8Array, timeoutMs: number, signal: AbortSignal | undefined, metadata: Metadata | undefined, decode: (message: Buffer) => T): Promise<T>;
  unary<T>(path: string, body: Uint8Array, timeoutMs: number, signal?: AbortSignal, metadata?: Metadata, decode?: (message: Buffer) => T): Promise<T | Buffer> {
    return new Promise<T | Buffer>((resolve, reject) => {
      const call = new Call(resolve as (m: Buffer) => void, reject, this.maxReceive);
      call.decode = decode;
      this.start(call, path, frame(body), timeoutMs, signal, metadata);
    });
  }

  /**
   * Opens a bidirectional stream. `openTimeoutMs` bounds only the connect; the stream itself has
   * no deadline. Failures (including a failed connect) arrive through `handlers.onEnd`.
   */
  stream(path: string, handlers: StreamHandlers, openTimeoutMs: number, metadata?: Metadata): BidiStream {
    const call = new Call(
      () => undefined,
      () => undefined,
      this.maxReceive,
      handlers,
    );
    const pending: Buffer[] = [];
    let ended = false;
    let endpoint = '';
    const stream: BidiStream = {
      write: (body) => {
        if (call.settled) return false;
        const data = frame(body);
        if (call.stream) call.stream.write(data);
        else pending.push(data);
        return true;
      },
      end: () => {
        ended = true;
        if (call.stream && !call.stream.closed) call.stream.end();
      },
      cancel: () => call.cancel(new GrpcError(Status.CANCELLED, 'stream cancelled')),
      get endpoint() {
        return endpoint;
      },
    };
    void this.connection(openTimeoutMs).then(
      (conn) => {
        if (call.settled) return;
        endpoint = conn.endpoint;
        if (!this.open(call, conn, path, metadata, 0)) return;
        for (const data of pending) call.stream!.write(data);
        pending.length = 0;
        if (ended) call.stream!.end();
      },
      (err: unknown) => call.settle(err as GrpcError),
    );
    return stream;
  }

  /**
   * Stop opening calls on `endpoint`'s session (it stopped answering one of our streams although
   * HTTP/2 still looks fine, e.g. a hung member): its open streams may finish, new calls go to the
   * next endpoint.
   */
  rotate(endpoint: string): void {
    const conn = this.current;
    if (conn && conn.endpoint === endpoint) this.retire(conn, 'stopped answering', 'rotated');
  }

  /** Closes every session and timer; calls in flight end with CANCELLED. Idempotent. */
  close(): void {
    this.closed = true;
    for (const conn of [...this.all]) conn.kill(new Error('channel closed'), 'disconnected');
    this.current = undefined;
  }

  /**
   * A call ran out of time waiting for a connection: a connect attempt pending since before that
   * call began is stuck (e.g. its handshake went into a black hole), so give it up now — the next
   * call dials afresh instead of waiting on it for the rest of the connect timeout.
   */
  abandonConnect(since: number): void {
    const conn = this.current;
    if (conn && !conn.dead && !conn.connected && conn.startedAt <= since) conn.kill(new Error('connect not answered within a whole call'), 'connect-failed');
  }

  /** Resolves once no HTTP/2 stream is open (for tests and orderly shutdown). */
  whenIdle(): Promise<void> {
    if (this.openStreams === 0) return Promise.resolve();
    return new Promise((resolve) => this.idle.push(resolve));
  }

  // ---- internals used by Connection ----

  emit(event: ChannelEvent): void {
    this.options.onEvent?.(event);
  }

  /** A session died: forget it; the next call connects to the next endpoint. */
  forget(conn: Connection, type: ChannelEvent['type'], error: string): void {
    this.all.delete(conn);
    if (this.current === conn) {
      this.current = undefined;
      this.nextIndex++;
    }
    if (!this.closed) this.emit({ type, endpoint: conn.endpoint, error });
    this.released(conn);
  }

  /** GOAWAY: keep the session for the streams it still serves, but open new calls elsewhere. */
  retire(conn: Connection, error: string | undefined, type: 'goaway' | 'rotated' = 'goaway'): void {
    if (this.current === conn) {
      this.current = undefined;
      if (error) this.nextIndex++;
    }
    this.emit({ type, endpoint: conn.endpoint, ...(error && { error }) });
    if (conn.streams.size === 0) conn.kill(new Error('GOAWAY'), 'disconnected');
  }

  released(conn: Connection): void {
    if (this.current !== conn && !conn.dead && conn.streams.size === 0) conn.kill(new Error('drained after GOAWAY'), 'disconnected');
    if (this.idle.length > 0 && this.openStreams === 0) {
      const waiting = this.idle;
      this.idle = [];
      for (const resolve of waiting) resolve();
    }
  }

  // ---- calls ----

  private start(call: Call, path: string, data: Buffer, timeoutMs: number, signal: AbortSignal | undefined, metadata: Metadata | undefined): void {
    if (signal) {
      if (signal.aborted) return call.settle(cancelledBy(signal, path));
      call.signal = signal;
      call.onAbort = () => {
        if (isTimeout(signal.reason)) call.suspect();
        call.cancel(cancelledBy(signal, path));
      };
      signal.addEventListener('abort', call.onAbort, { once: true });
    }
    call.startedAt = performance.now();
    const deadline = call.startedAt + timeoutMs;
    call.timer = setTimeout(() => {
      call.suspect(); // before the cancel: a probe needs a stream open to be allowed
      call.cancel(new GrpcError(Status.DEADLINE_EXCEEDED, `deadline of ${timeoutMs} ms exceeded`));
    }, timeoutMs);
    const conn = this.current;
    if (conn && !conn.dead && conn.session.remoteSettings !== undefined && !conn.session.closed) {
      if (this.open(call, conn, path, metadata, timeoutMs)) call.stream!.end(data);
      return;
    }
    call.connecting = this;
    this.connection(timeoutMs).then(
      (c) => {
        if (call.settled) return;
        if (this.open(call, c, path, metadata, Math.max(1, Math.round(deadline - performance.now())))) call.stream!.end(data);
      },
      (err: unknown) => call.settle(err as GrpcError),
    );
  }

  /** Starts the HTTP/2 request for `call` on `conn`; false (and the call settled) if it could not. */
  private open(call: Call, conn: Connection, path: string, metadata: Metadata | undefined, timeoutMs: number): boolean {
    // Every header up front (scheme and authority too), so node adds nothing to its copy.
    const headers: OutgoingHttpHeaders =
      timeoutMs > 0
        ? { ':method': 'POST', ':scheme': conn.scheme, ':authority': conn.authority, ':path': path, 'content-type': 'application/grpc+proto', te: 'trailers', 'grpc-timeout': `${timeoutMs}m` }
        : { ':method': 'POST', ':scheme': conn.scheme, ':authority': conn.authority, ':path': path, 'content-type': 'application/grpc+proto', te: 'trailers' };
    if (metadata) for (const k in metadata) headers[k] = metadata[k];
    let stream: Tagged;
    try {
      stream = conn.session.request(headers, REQUEST_OPTIONS) as Tagged;
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

  /** The current session, or a new one: endpoints are tried in turn until one connects or time is up. */
  private connection(timeoutMs: number): Promise<Connection> {
    if (this.closed) return Promise.reject(new GrpcError(Status.CANCELLED, 'channel closed'));
    const deadline = performance.now() + timeoutMs;
    const attempt = (tried: number, lastError: GrpcError | undefined): Promise<Connection> => {
      if (this.closed) return Promise.reject(new GrpcError(Status.CANCELLED, 'channel closed'));
      const left = deadline - performance.now();
      if (tried >= this.endpoints.length || left <= 0) {
        return Promise.reject(lastError ?? new GrpcError(Status.UNAVAILABLE, 'no endpoint reachable'));
      }
      const conn = this.current && !this.current.dead ? this.current : this.dial(Math.min(this.opts.connectTimeoutMs, left));
      return conn.ready.then(
        () => conn,
        (err: GrpcError) => attempt(tried + 1, err),
      );
    };
    return attempt(0, undefined);
  }

  private dial(connectTimeoutMs: number): Connection {
    const endpoint = this.endpoints[this.nextIndex % this.endpoints.length]!;
    const session = http2Connect(endpoint, this.sessionOptionsFor(endpoint));
    const conn = new Connection(endpoint, session, this, { ...this.opts, connectTimeoutMs: Math.max(1, Math.round(connectTimeoutMs)) });
    this.all.add(conn);
    this.current = conn;
    return conn;
  }
}

function isTimeout(reason: unknown): boolean {
  return reason instanceof Error && reason.name === 'TimeoutError';
}

/** The caller's abort: CANCELLED (or TIMEOUT_ERROR for AbortSignal.timeout()), not a connection error. */
function cancelledBy(signal: AbortSignal, path: string): Error {
  return abortError(signal, path);
}
