// The one place that builds our etcd v3 client (gRPC over node:http2, auth, TLS, no hidden
// retries), applies the per-request deadline, the caller's AbortSignal (a real cancel on the wire),
// our retry policy, error mapping and logging, and owns every resource (leases, watches, loops) so
// that close() can release them all.
import { setMaxListeners } from 'node:events';
import { CoordinationError, ErrorCode, abortError } from '../errors.js';
import { isPermissionDenied, toCoordinationError } from './errors.js';
import { createDefaultLogger, errorText, type Logger } from '../logger.js';
import type { Component } from '../layout.js';
import { type RetryConfig } from '../retry.js';
import { retryAfter } from './call-retry.js';
import type { ClientConfig } from './config.js';
import { EtcdRpc, type RpcOptions } from './grpc/etcd-rpc.js';
import type { KvOf } from './grpc/messages.js';
import { pagedRange, type PageOptions, type PagedRange, type PagedRangeRequest } from './paged-range.js';
import { WatchHub } from './watch-hub.js';

/** Options every RPC takes: its deadline and (optionally) the caller's signal. */
export type CallOptions = RpcOptions;

export interface CallSettings {
  signal?: AbortSignal | undefined;
  /** Safe to send again after an unknown outcome (reads, puts of the same value, revokes). @default false */
  idempotent?: boolean;
  /** Level for the success line. @default 'info' */
  level?: 'info' | 'debug';
  /** Cleanup that must still reach etcd while close() runs (revokes, deletes). @default false */
  duringClose?: boolean;
}

/** Settings of rangeAll(): a read is always safe to send again, and never runs during close. */
export interface RangeSettings extends Pick<CallSettings, 'signal' | 'level'>, PageOptions {}

/** Something close() must release; `close` must not throw for an already-released resource. */
export interface Owned {
  close(): Promise<void> | void;
}

export class EtcdClient {
  /** etcd's KV, Lease, Watch and Status RPCs over one HTTP/2 session per member. */
  readonly rpc: EtcdRpc;
  /** Every watch of the coordinator, multiplexed on one Watch stream. */
  readonly watches: WatchHub;
  readonly prefix: string;
  readonly namespace: string;
  /** Each component's directory relative to `prefix` (e.g. `locks/`): see layout.ts. */
  readonly dirs: Readonly<Record<Component, string>>;
  readonly timeout: number;
  readonly retry: RetryConfig;
  readonly logger: Logger;
  /** Aborts when close() begins: background loops and waits stop on it. */
  readonly closing: AbortSignal;
  /** Resolves once close() has finished. */
  readonly closed: Promise<void>;

  private readonly closeController = new AbortController();
  private readonly owned = new Set<Owned>();
  private closePromise: Promise<void> | undefined;
  private ended = false;
  private resolveClosed!: () => void;

  constructor(options: ClientConfig) {
    this.prefix = options.prefix;
    this.namespace = options.namespace;
    this.dirs = options.dirs;
    this.timeout = options.timeout;
    this.retry = options.retry;
    this.logger = options.logger ?? createDefaultLogger(options.logLevel);
    this.closing = this.closeController.signal;
    // Every call in flight that must end with close() (lease grants, waits) listens on it: no cap.
    setMaxListeners(0, this.closing);
    this.closed = new Promise((resolve) => (this.resolveClosed = resolve));
    this.rpc = new EtcdRpc({
      endpoints: options.endpoints,
      connectTimeoutMs: Math.max(1, options.timeout),
      // PING every 10 s while a stream is open; no ACK within the timeout (1–10 s) drops the session.
      keepaliveIntervalMs: 10_000,
      keepaliveTimeoutMs: Math.max(1000, Math.min(options.timeout, 10_000)),
      tls: options.tls,
      username: options.username,
      password: options.password,
      onEvent: (e) => {
        const fields = { operation: 'connection', key: e.endpoint, ...(e.error !== undefined && { error: e.error }) };
        // Calls and watches report their own failures (WARN/ERROR); the connection's story is DEBUG,
        // except a GOAWAY or a member given up on, which no call may have noticed.
        if (this.closing.aborted) return;
        if (e.type === 'goaway') this.logger.warn(fields, 'server sent GOAWAY; reconnecting');
        else if (e.type === 'rotated') this.logger.warn(fields, 'member stopped answering; moving to the next');
        else this.logger.debug(fields, `connection ${e.type}`);
      },
    });
    this.watches = new WatchHub(this);
  }

  /** Full etcd key for a key relative to our namespace. */
  key(relative: string): string {
    return this.prefix + relative;
  }

  /** Strips our namespace prefix from a full etcd key. */
  relative(full: string): string {
    return full.startsWith(this.prefix) ? full.slice(this.prefix.length) : full;
  }

  /** Options for one RPC sent outside call(): the client's timeout, and no signal. */
  callOptions(ms: number = this.timeout): CallOptions {
    return { timeoutMs: ms };
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
      const opts: CallOptions = { timeoutMs: this.timeout, signal };
      if (signal?.aborted) throw abortError(signal, `${operation} ${key}`);
      let result: T;
      try {
        result = await fn(opts);
      } catch (err) {
        // Retry state is built only now: the common case, a call that succeeds, pays for none of it.
        result = await retryAfter(err, () => fn(opts), {
          config: this.retry,
          operation: `${operation} ${key}`,
          idempotent: settings.idempotent ?? false,
          ...(signal && { signal }),
          onRetry: ({ attempt, delayMs, error }) =>
            this.logger.warn({ operation, key, attempt, delayMs, code: error.code, error: errorText(error) }, 'operation retry'),
        });
      }
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
   * Every key of `request` (key + range_end), read in pages at one revision (the first page's, or
   * `request.revision`) as one call(): retried as a whole, mapped, logged; each page's RPC carries the
   * deadline and the caller's signal, so aborting cancels the page in flight on the wire.
   */
  rangeAll<const R extends PagedRangeRequest>(operation: string, key: string, request: R, settings: RangeSettings = {}): Promise<PagedRange<KvOf<R>>> {
    const { pageSize, ...call } = settings;
    return this.call(operation, key, (o) => this.pages(request, o, { pageSize }), { ...call, idempotent: true });
  }

  /**
   * The paged read itself, outside call(): no retry, mapping or log line. For loops that retry and
   * log on their own terms (a watch's start and resync reads back off and log WARN, not ERROR).
   */
  pages<const R extends PagedRangeRequest>(request: R, opts: CallOptions = this.callOptions(), page: PageOptions = {}): Promise<PagedRange<KvOf<R>>> {
    return pagedRange(request, (req) => this.rpc.kv.range(req, opts), page);
  }

  /**
   * Checks etcd answers within `timeout` and accepts our credentials: a serializable count-only
   * read of our namespace's root key. etcd's Status RPC would not do: etcd 3.4 answers it without
   * any credentials (verified on 3.4.23), so it proves nothing. A least-privilege role (only
   * `<ns>/config/`, say) may not read that key: etcd's PERMISSION_DENIED then proves the credentials
   * all the same — etcd resolved our token to a user before it checked the user's roles (a wrong
   * password fails at Authenticate, an unknown token is UNAUTHENTICATED, no user at all "user name
   * is empty") — so it counts as connected, with `revision` unknown and `readable: false`.
   */
  async ping(signal?: AbortSignal): Promise<{ revision: bigint | undefined; readable: boolean }> {
    const key = Buffer.from(this.prefix || 'health');
    try {
      const res = await this.rpc.kv.range({ key, count_only: true, serializable: true }, { timeoutMs: this.timeout, signal });
      return { revision: res.header.revision, readable: true };
    } catch (err) {
      if (!isPermissionDenied(err)) throw err;
      return { revision: undefined, readable: false };
    }
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
      this.watches.close();
      this.rpc.close();
      this.logger.info({ operation: 'close' }, 'coordinator closed');
      this.resolveClosed();
    })();
    return this.closePromise;
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
