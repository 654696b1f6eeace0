// The one place that talks to etcd3: builds the client (auth, TLS, no hidden retries), applies the
// per-request deadline, the caller's AbortSignal, our retry policy, error mapping and logging, and
// owns every resource (leases, watches, loops) so that close() can release them all.
import { Etcd3, type IOptions, type Namespace } from 'etcd3';
import { ExponentialBackoff, noop, type IBackoff } from 'cockatiel';
import { CoordinationError, ErrorCode, abortError, toCoordinationError } from '../errors.js';
import { createDefaultLogger, errorText, type Logger } from '../logger.js';
import type { Component } from '../layout.js';
import type { ResolvedOptions } from '../options.js';
import { withRetry, type RetryConfig } from '../retry.js';
import { stopRedialsOfClosedChannels } from './closed-channel-redials.js';
import { startConnectWatchdog } from './connect-watchdog.js';
import { authenticateOnHostChannels } from './pooled-auth.js';
import { ignoreStrayWatchResponses } from './stray-watch-responses.js';

/** gRPC call options etcd3 accepts on every RPC. */
export interface CallOptions {
  deadline: Date;
}

export interface CallSettings {
  signal?: AbortSignal | undefined;
  /** Safe to send again after an unknown outcome (reads, puts of the same value, revokes). @default false */
  idempotent?: boolean;
  /** Level for the success line. @default 'info' */
  level?: 'info' | 'debug';
  /** Cleanup that must still reach etcd while close() runs (revokes, deletes). @default false */
  duringClose?: boolean;
}

/** Something close() must release; `close` must not throw for an already-released resource. */
export interface Owned {
  close(): Promise<void> | void;
}

// etcd3 types this as an IBackoff but calls `.next()` on it first, as on its own default (a factory).
const WATCH_BACKOFF = new ExponentialBackoff({ initialDelay: 100, maxDelay: 2000 }) as unknown as IBackoff<unknown>;

const toBuffer = (v: Buffer | string): Buffer => (typeof v === 'string' ? Buffer.from(v) : v);

export class EtcdClient {
  readonly etcd: Etcd3;
  /** etcd3 namespace rooted at our prefix (one watch stream for the whole coordinator). */
  readonly ns: Namespace;
  readonly prefix: string;
  readonly namespace: string;
  /** Each component's directory relative to `prefix` (e.g. `locks/`): see layout.ts. */
  readonly dirs: Readonly<Record<Component, string>>;
  readonly timeout: number;
  readonly retry: RetryConfig;
  readonly logger: Logger;
  readonly options: ResolvedOptions;
  /** Aborts when close() begins: background loops and waits stop on it. */
  readonly closing: AbortSignal;
  /** Resolves once close() has finished. */
  readonly closed: Promise<void>;

  private readonly closeController = new AbortController();
  private readonly owned = new Set<Owned>();
  private closePromise: Promise<void> | undefined;
  private ended = false;
  private resolveClosed!: () => void;

  constructor(options: ResolvedOptions) {
    this.options = options;
    this.prefix = options.prefix;
    this.namespace = options.namespace;
    this.dirs = options.dirs;
    this.timeout = options.timeout;
    this.retry = options.retry;
    this.logger = options.logger ?? createDefaultLogger(options.logLevel);
    this.closing = this.closeController.signal;
    this.closed = new Promise((resolve) => (this.resolveClosed = resolve));
    const etcdOptions: IOptions = {
      hosts: options.endpoints,
      dialTimeout: options.timeout,
      // Our retry policy decides what is retried; etcd3's own retry and circuit breaker would hide
      // failures and keep a dead host out of rotation for 5 s after it came back.
      // etcd3 re-opens a broken watch stream after a backoff that grows to 30 s by default: after a
      // few seconds of outage a watch would resume up to ~half a minute late, and the pending ref'd
      // timer outlives close() by as long. Capped at 2 s.
      faultHandling: { host: () => noop, global: noop, watchBackoff: WATCH_BACKOFF },
      grpcOptions: {
        'grpc.keepalive_time_ms': 10_000,
        'grpc.keepalive_timeout_ms': Math.max(1000, Math.min(options.timeout, 10_000)),
        // etcd enforces PermitWithoutStream=false: pings on a connection with no open call count as
        // strikes, and after two the server sends GOAWAY too_many_pings (killing the connection).
        // Idle connections are checked by the next call's deadline instead.
        'grpc.keepalive_permit_without_calls': 0,
        'grpc.initial_reconnect_backoff_ms': 100,
        'grpc.max_reconnect_backoff_ms': 2000,
        // grpc-js waits forever for the server's HTTP/2 SETTINGS on a new connection (no connect
        // timeout, grpc-node#2785): a connection opened into a black hole stays CONNECTING for good,
        // and with the global subchannel pool every channel etcd3 re-creates after an error reuses
        // that dead subchannel. A pool per channel makes each re-created channel dial afresh.
        'grpc.use_local_subchannel_pool': 1,
      },
    };
    if (options.username !== undefined) {
      etcdOptions.auth = {
        username: options.username,
        password: options.password ?? '',
        callOptions: () => ({ deadline: this.deadline() }),
      };
    }
    if (options.tls) {
      etcdOptions.credentials = {
        rootCertificate: toBuffer(options.tls.ca),
        ...(options.tls.key !== undefined && { privateKey: toBuffer(options.tls.key) }),
        ...(options.tls.cert !== undefined && { certChain: toBuffer(options.tls.cert) }),
      };
    }
    this.etcd = new Etcd3(etcdOptions);
    this.ns = this.prefix ? this.etcd.namespace(this.prefix) : this.etcd;
    stopRedialsOfClosedChannels(this.etcd);
    authenticateOnHostChannels(this.etcd);
    startConnectWatchdog(this.etcd, Math.max(1000, this.timeout), this.logger, this.closing);
    ignoreStrayWatchResponses(this.ns, this.logger);
    if (this.ns !== this.etcd) ignoreStrayWatchResponses(this.etcd, this.logger);
  }

  /** Full etcd key for a key relative to our namespace. */
  key(relative: string): string {
    return this.prefix + relative;
  }

  /** Strips our namespace prefix from a full etcd key. */
  relative(full: string): string {
    return full.startsWith(this.prefix) ? full.slice(this.prefix.length) : full;
  }

  /** A fresh per-request deadline. */
  deadline(ms: number = this.timeout): Date {
    return new Date(Date.now() + ms);
  }

  callOptions(ms?: number): CallOptions {
    return { deadline: this.deadline(ms) };
  }

  /**
   * Runs one etcd request `fn` with a deadline, the caller's signal, retry (if idempotent),
   * error mapping and a log line. `key` is logged; values never are.
   */
  async call<T>(operation: string, key: string, fn: (opts: CallOptions) => Promise<T>, settings: CallSettings = {}): Promise<T> {
    const started = performance.now();
    const signal = settings.signal;
    try {
      if (!settings.duringClose || this.ended) this.assertOpen(operation);
      const result = await withRetry(() => race(fn(this.callOptions()), signal, `${operation} ${key}`), {
        config: this.retry,
        operation: `${operation} ${key}`,
        idempotent: settings.idempotent ?? false,
        ...(signal && { signal }),
        onRetry: ({ attempt, delayMs, error }) =>
          this.logger.warn({ operation, key, attempt, delayMs, code: error.code, error: errorText(error) }, 'operation retry'),
      });
      const durationMs = round(performance.now() - started);
      this.logger[settings.level ?? 'info']({ operation, key, durationMs }, 'operation success');
      return result;
    } catch (err) {
      const error = toCoordinationError(err, `${operation} ${key}`);
      const durationMs = round(performance.now() - started);
      if (error.code !== ErrorCode.Cancelled && error.code !== ErrorCode.Conflict && error.code !== ErrorCode.NotFound) {
        this.logger.error({ operation, key, durationMs, code: error.code, error: errorText(error) }, 'operation failed');
      } else {
        this.logger.debug({ operation, key, durationMs, code: error.code }, 'operation ended');
      }
      throw error;
    }
  }

  /**
   * Checks etcd answers within `timeout` and accepts our credentials: a serializable count-only
   * read of our namespace (etcd's Status RPC alone would pass without any credentials).
   */
  async ping(signal?: AbortSignal): Promise<{ revision: bigint }> {
    const key = Buffer.from(this.prefix || 'health');
    const res = await race(this.etcd.kv.range({ key, count_only: true, serializable: true }, this.callOptions()), signal, 'ping');
    return { revision: BigInt(res.header.revision) };
  }

  /** Registers a resource for close(); returns a function that forgets it (call it on release). */
  own(resource: Owned): () => void {
    if (this.closing.aborted) {
      void Promise.resolve()
        .then(() => resource.close())
        .catch(() => undefined);
      throw new CoordinationError(ErrorCode.Cancelled, 'coordinator is closed');
    }
    this.owned.add(resource);
    return () => this.owned.delete(resource);
  }

  get isClosed(): boolean {
    return this.closing.aborted;
  }

  assertOpen(what: string): void {
    if (this.closing.aborted) throw new CoordinationError(ErrorCode.Cancelled, `${what}: coordinator is closed`);
  }

  /** Idempotent: stops loops, releases owned resources (newest first), then closes the gRPC channels. */
  close(): Promise<void> {
    this.closePromise ??= (async () => {
      this.closeController.abort(new CoordinationError(ErrorCode.Cancelled, 'coordinator is closed'));
      const resources = [...this.owned].reverse();
      this.owned.clear();
      const results = await Promise.allSettled(resources.map((r) => r.close()));
      for (const r of results) {
        if (r.status === 'rejected') this.logger.warn({ operation: 'close', error: errorText(r.reason) }, 'resource close failed');
      }
      this.ended = true;
      stopWatchReconnects(this.ns);
      stopWatchReconnects(this.etcd);
      this.etcd.close();
      this.logger.info({ operation: 'close' }, 'coordinator closed');
      this.resolveClosed();
    })();
    return this.closePromise;
  }
}

/** The parts of etcd3's (internal) WatchManager that close() has to reach. */
interface WatchManagerInternals {
  watchers: unknown[];
  state: number;
  stream?: { cancel(): void };
  establishStream(): void;
}

/**
 * etcd3's WatchManager re-dials (on a timer, forever) for any watcher still attached when the
 * client closes — e.g. one whose create or cancel never came back over a dead connection — and
 * that timer keeps the process alive. After our own watchers are closed, forget the rest and
 * turn reconnecting off. etcd3 has no public API for this; the shape is checked before use.
 */
function stopWatchReconnects(ns: Namespace): void {
  const manager = (ns as unknown as { watchManager?: Partial<WatchManagerInternals> }).watchManager;
  if (!manager || !Array.isArray(manager.watchers) || typeof manager.establishStream !== 'function') return;
  manager.watchers = [];
  manager.establishStream = () => undefined;
  try {
    manager.stream?.cancel();
  } catch {
    /* already gone */
  }
}

function round(ms: number): number {
  return Math.round(ms * 100) / 100;
}

/** Resolves/rejects with `promise`, or rejects at once when `signal` aborts (the RPC's deadline still bounds it). */
export function race<T>(promise: Promise<T>, signal: AbortSignal | undefined, what: string): Promise<T> {
  if (!signal) return promise;
  if (signal.aborted) {
    promise.catch(() => undefined);
    return Promise.reject(abortError(signal, what));
  }
  return new Promise<T>((resolve, reject) => {
    const onAbort = (): void => reject(abortError(signal, what));
    signal.addEventListener('abort', onAbort, { once: true });
    promise.then(
      (v) => {
        signal.removeEventListener('abort', onAbort);
        resolve(v);
      },
      (e: unknown) => {
        signal.removeEventListener('abort', onAbort);
        reject(e);
      },
    );
  });
}
