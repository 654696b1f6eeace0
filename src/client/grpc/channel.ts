// gRPC over node:http2 (https://github.com/grpc/grpc/blob/master/doc/PROTOCOL-HTTP2.md), just what
// an etcd v3 client needs: unary calls and bidirectional streams on one HTTP/2 session per endpoint.
// The channel picks the endpoint: it keeps one current session (connection.ts), dials the next
// member when that one dies or is retired, and starts each call (call.ts) on it (stream-handlers.ts).
import { Call, type StreamHandlers } from './call.js';
import { Deadlines } from './deadlines.js';
import { Connection, connectSession, type ChannelEvent, type ChannelTls, type ConnectionOwner, type ConnectionTimeouts } from './connection.js';
import { frame } from './framing.js';
import { GrpcError, Status } from './status.js';
import { openStream, type Metadata } from './stream-handlers.js';

export type { StreamHandlers } from './call.js';
export type { ChannelEvent, ChannelTls } from './connection.js';
export type { Metadata } from './stream-handlers.js';

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

/** What a unary call calls: its `:path` and how its response is decoded (codec.ts's `Method` fits as is). */
export interface UnaryMethod<T> {
  readonly path: string;
  decode(message: Buffer): T;
}

/** How a unary call runs (etcd-rpc's `RpcOptions` fits as is, so a call allocates nothing for it). */
export interface UnaryOptions {
  /** Bounds the whole call, connect included. */
  timeoutMs: number;
  /** Cancels the call: it rejects with the signal's reason (CANCELLED, or a timeout). */
  signal?: AbortSignal | undefined;
  metadata?: Metadata | undefined;
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

export class GrpcChannel implements ConnectionOwner {
  private readonly endpoints: string[];
  private current: Connection | undefined;
  private readonly all = new Set<Connection>();
  private nextIndex: number;
  private closed = false;
  private readonly opts: ConnectionTimeouts;
  private readonly maxReceive: number;
  private idle: Array<() => void> = [];
  private readonly deadlines = new Deadlines();

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
   * One request, one response, decoded by `method.decode` (the raw message without one).
   * `options.timeoutMs` bounds the whole call (connect included); `options.signal` cancels it.
   * Rejects with GrpcError (or the signal's reason's GrpcError CANCELLED).
   */
  unary<T>(method: UnaryMethod<T>, body: Uint8Array, options: UnaryOptions): Promise<T>;
  unary(method: { readonly path: string }, body: Uint8Array, options: UnaryOptions): Promise<Buffer>;
  unary<T>(method: { readonly path: string; readonly decode?: (message: Buffer) => T }, body: Uint8Array, options: UnaryOptions): Promise<T | Buffer> {
    return new Promise<T | Buffer>((resolve, reject) => {
      const call = new Call(resolve as (m: Buffer) => void, reject, this.maxReceive);
      call.decode = method.decode;
      this.start(call, method.path, frame(body), options);
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
        if (!openStream(call, conn, path, metadata, 0)) return;
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
    this.deadlines.close();
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

  private start(call: Call, path: string, data: Buffer, options: UnaryOptions): void {
    const timeoutMs = options.timeoutMs;
    if (!call.arm(path, timeoutMs, options.signal, this.deadlines)) return;
    // Fast path: the current session is up, so the request goes out now.
    const conn = this.current;
    if (conn && !conn.dead && conn.session.remoteSettings !== undefined && !conn.session.closed) {
      if (openStream(call, conn, path, options.metadata, timeoutMs)) call.stream!.end(data);
      return;
    }
    this.startWhenConnected(call, path, data, timeoutMs, options.metadata);
  }

  /**
   * Slow path (kept apart so the fast one allocates no closures): wait for a session within the
   * call's own deadline, and tell etcd only the time that is left.
   */
  private startWhenConnected(call: Call, path: string, data: Buffer, timeoutMs: number, metadata: Metadata | undefined): void {
    const deadline = call.startedAt + timeoutMs;
    call.connecting = this;
    this.connection(timeoutMs).then(
      (c) => {
        if (call.settled) return;
        if (openStream(call, c, path, metadata, Math.max(1, Math.round(deadline - performance.now())))) call.stream!.end(data);
      },
      (err: unknown) => call.settle(err as GrpcError),
    );
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
    const session = connectSession(endpoint, this.options.tls);
    const conn = new Connection(endpoint, session, this, { ...this.opts, connectTimeoutMs: Math.max(1, Math.round(connectTimeoutMs)) });
    this.all.add(conn);
    this.current = conn;
    return conn;
  }
}
