// One endpoint's HTTP/2 session and the streams open on it (the channel keeps one per member).
//  - A session counts as connected once the server's SETTINGS arrive, and that must happen within
//    `connectTimeoutMs`: a handshake sent into a black hole fails in time and the next endpoint is tried.
//  - Any session failure (error, close, keep-alive timeout) drops it and moves on to the next endpoint;
//    a GOAWAY lets the streams it still accepts finish (drain) while new calls open a fresh session.
//  - Keep-alive: an HTTP/2 PING every `keepaliveIntervalMs` (10 s) while the session has open streams,
//    and the session is dropped when no PING ACK comes within `keepaliveTimeoutMs`. Idle sessions are
//    never pinged: etcd (grpc-go, PermitWithoutStream=false) answers pings on a connection without
//    streams with GOAWAY too_many_pings. An idle dead session is found by the next call's deadline.
import {
  connect as http2Connect,
  constants,
  type ClientHttp2Session,
  type ClientHttp2Stream,
  type SecureClientSessionOptions,
} from 'node:http2';
import { isIP } from 'node:net';
import { connect as tlsConnect } from 'node:tls';
import { GrpcError, Status } from './status.js';

export interface ChannelTls {
  /** CA bundle to trust (PEM). */
  ca: Buffer | string;
  /** Client certificate and key (PEM) for mTLS. */
  cert?: Buffer | string;
  key?: Buffer | string;
}

export interface ChannelEvent {
  type: 'connected' | 'connect-failed' | 'disconnected' | 'goaway' | 'rotated';
  endpoint: string;
  error?: string;
}

export interface ConnectionTimeouts {
  connectTimeoutMs: number;
  keepaliveIntervalMs: number;
  keepaliveTimeoutMs: number;
}

/** What a connection tells the channel that owns it. */
export interface ConnectionOwner {
  emit(event: ChannelEvent): void;
  /** The session died. */
  forget(conn: Connection, type: ChannelEvent['type'], error: string): void;
  /** GOAWAY: no new calls on it. */
  retire(conn: Connection, error: string | undefined): void;
  /** One of its streams closed. */
  released(conn: Connection): void;
}

/** The session's receive window, raised once connected: responses of many calls in flight at once. */
const SESSION_WINDOW = 16 * 1024 * 1024;
/**
 * No server push (etcd never pushes). Each stream's receive window is the session's, not smaller:
 * Bun (1.4.5) replenishes a stream's window only once the session has taken in half the session
 * window, so a stream window under half of it stalls that stream for good once it is used up: the
 * watch stream (every watch of the client) froze after 4 MiB of events with a 4 MiB stream window.
 * Any window of at least the 4 MiB message limit lets a large Range arrive without stalls.
 */
const SESSION_OPTIONS: SecureClientSessionOptions = { settings: { enablePush: false, initialWindowSize: SESSION_WINDOW } };

/** Starts the HTTP/2 session to `endpoint`; TLS sockets are made here, so that an IP address is not sent as SNI. */
export function connectSession(endpoint: string, tls: ChannelTls | undefined): ClientHttp2Session {
  if (!tls || !endpoint.startsWith('https:')) return http2Connect(endpoint, SESSION_OPTIONS);
  const url = new URL(endpoint);
  const host = url.hostname.replace(/^\[|\]$/g, '');
  return http2Connect(endpoint, {
    ...SESSION_OPTIONS,
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
  });
}

/** One endpoint's HTTP/2 session and the streams open on it. */
export class Connection {
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
    private readonly owner: ConnectionOwner,
    private readonly opts: ConnectionTimeouts,
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
        this.owner.emit({ type: 'connected', endpoint });
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
      this.owner.retire(this, code === constants.NGHTTP2_NO_ERROR ? undefined : `GOAWAY code ${code}`);
    });
  }

  track(stream: ClientHttp2Stream): void {
    this.streams.add(stream);
    if (this.streams.size === 1) this.startPings();
  }

  /**
   * The stream closed (called from its 'close' handler, so a stream needs no listener of its own here).
   * The keep-alive interval stays: its next tick stops it if the session is still idle then. Stopped
   * here, one call at a time would make and drop a timer per call.
   */
  untrack(stream: ClientHttp2Stream): void {
    this.streams.delete(stream);
    this.owner.released(this);
  }

  private startPings(): void {
    if (this.pingTimer || this.dead) return;
    this.pingTimer = setInterval(() => this.tick(), this.opts.keepaliveIntervalMs);
    this.pingTimer.unref();
  }

  /** A keep-alive tick: a PING while streams are open; an idle session is not pinged, and the ticks stop. */
  private tick(): void {
    if (this.streams.size > 0) return this.ping();
    // One PING already in flight still gets its answer (or not).
    clearInterval(this.pingTimer);
    this.pingTimer = undefined;
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
    this.owner.forget(this, type, err.message);
    if (!this.session.destroyed) this.session.destroy();
  }
}
