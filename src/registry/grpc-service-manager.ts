// Seed §5.2 in Node: start a gRPC server, register it, and on stop() — or SIGTERM/SIGINT — leave
// in the order that loses no call: unregister first (clients drop us from their lists), wait a
// moment for them to see it, then shut down gracefully (in-flight calls finish), forced after a bound.
import { hostname } from 'node:os';
import { randomBytes } from 'node:crypto';
import { ServerCredentials, type Server } from '@grpc/grpc-js';
import { CoordinationError, ErrorCode, validationError } from '../errors.js';
import { toCoordinationError } from '../client/errors.js';
import { errorText, silentLogger, type Logger } from '../logger.js';
import { sleep } from '../retry.js';
import { DEFAULT_TTL_MS } from '../ttl.js';
import type { SignalOptions } from '../shared/vocabulary.js';
import { EtcdRegistry } from './etcd-registry.js';
import type { Registration, ServiceInfo, ServiceRegistry } from './interface.js';
import { validService } from './validation.js';

export interface GrpcServiceOptions {
  /** Service name clients dial as `etcd:///<name>`. */
  name: string;
  /** Instance ID. @default `<name>-<hostname>-<pid>-<random>` */
  id?: string;
  /** Host to bind. @default '127.0.0.1' */
  host?: string;
  /** Port to bind; 0 picks a free one (and registers it). @default 0 */
  port?: number;
  /** Address registered for clients to dial. @default `host` */
  advertiseAddress?: string;
  /** Registered metadata (`protocol: grpc` is added). Never logged. @default {} */
  metadata?: Record<string, string>;
  /** Registration TTL in ms. @default DEFAULT_TTL_MS (10000; the one default of every optional TTL) */
  ttlMs?: number;
  /** @default ServerCredentials.createInsecure() */
  credentials?: ServerCredentials;
  /** Wait between unregistering and shutting down, so clients stop picking us first. @default 500 */
  drainDelayMs?: number;
  /** Graceful shutdown bound, after which open calls are cancelled. @default 10000 */
  shutdownTimeoutMs?: number;
  /** Stop gracefully on these signals (then re-raise them if nobody else listens). @default ['SIGTERM', 'SIGINT'] */
  signals?: NodeJS.Signals[];
}

export interface GrpcServiceManager extends AsyncDisposable {
  /** The registered instance (after start()). */
  readonly service: ServiceInfo | undefined;
  /** The bound port (after start()). */
  readonly port: number | undefined;
  /** Binds the server, then registers it. The server serves once this resolves. */
  start(opts?: SignalOptions): Promise<Registration>;
  /**
   * Unregisters, waits `drainDelayMs`, shuts the server down gracefully. Idempotent. Aborting
   * `signal` cuts the graceful part short: the drain is skipped and open calls are cancelled at
   * once (forceShutdown); it still resolves once the server is down.
   */
  stop(opts?: SignalOptions): Promise<void>;
}

export function createGrpcServiceManager(registry: ServiceRegistry, server: Server, options: GrpcServiceOptions): GrpcServiceManager {
  return new GrpcServiceManagerImpl(registry, server, options);
}

class GrpcServiceManagerImpl implements GrpcServiceManager {
  service: ServiceInfo | undefined;
  port: number | undefined;
  private registration: Registration | undefined;
  private stopping: Promise<void> | undefined;
  private readonly logger: Logger;
  private readonly onSignal = (signal: NodeJS.Signals): void => {
    this.logger.info({ operation: 'grpc.stop', key: this.options.name, signal }, 'signal received; stopping gracefully');
    void this.stop().finally(() => {
      // We replaced the default action; give it back if nobody else handles the signal.
      if (process.listenerCount(signal) === 0) process.kill(process.pid, signal);
    });
  };

  constructor(
    private readonly registry: ServiceRegistry,
    private readonly server: Server,
    private readonly options: GrpcServiceOptions,
  ) {
    this.logger = registry instanceof EtcdRegistry ? registry.logger : silentLogger;
  }

  async start(opts: SignalOptions = {}): Promise<Registration> {
    const o = this.options;
    if (this.registration || this.stopping) throw new CoordinationError(ErrorCode.Conflict, 'grpc.start: already started');
    const host = o.host ?? '127.0.0.1';
    // Validate everything before binding anything (port 1 is a placeholder for "not bound yet").
    const draft = validService({
      id: o.id ?? `${o.name}-${hostname()}-${process.pid}-${randomBytes(3).toString('hex')}`,
      name: o.name,
      address: o.advertiseAddress ?? host,
      port: o.port || 1,
      metadata: { ...o.metadata, protocol: 'grpc' },
      ttlMs: o.ttlMs ?? DEFAULT_TTL_MS,
    });
    if (o.port !== undefined && (!Number.isInteger(o.port) || o.port < 0 || o.port > 65535)) throw validationError('grpc.start: port must be in 0..65535');
    const bindHost = host.includes(':') ? `[${host}]` : host;
    this.port = await new Promise<number>((resolve, reject) =>
      this.server.bindAsync(`${bindHost}:${o.port ?? 0}`, o.credentials ?? ServerCredentials.createInsecure(), (err, port) => (err ? reject(err) : resolve(port))),
    ).catch((err: unknown) => {
      throw new CoordinationError(ErrorCode.Connection, `grpc.start: cannot bind ${bindHost}:${o.port ?? 0}: ${errorText(err)}`, { cause: err });
    });
    this.service = { ...draft, metadata: { ...draft.metadata }, port: this.port };
    try {
      this.registration = await this.registry.register(this.service, opts);
    } catch (err) {
      this.server.forceShutdown();
      throw toCoordinationError(err, 'grpc.start');
    }
    for (const s of o.signals ?? ['SIGTERM', 'SIGINT']) process.once(s, this.onSignal);
    this.logger.info({ operation: 'grpc.start', key: o.name, port: this.port }, 'gRPC service started and registered');
    return this.registration;
  }

  stop(opts: SignalOptions = {}): Promise<void> {
    const signal = opts.signal;
    this.stopping ??= (async () => {
      for (const s of this.options.signals ?? ['SIGTERM', 'SIGINT']) process.removeListener(s, this.onSignal);
      const started = performance.now();
      // 1. Leave the registry: clients' resolvers drop us from their lists.
      await this.registration?.unregister(signal ? { signal } : {}).catch((err: unknown) => {
        this.logger.warn({ operation: 'grpc.stop', key: this.options.name, error: errorText(err) }, 'unregister failed; the lease will expire');
      });
      // 2. Give them a moment to see the DELETE before we refuse new streams (an abort skips it).
      if (this.registration) await sleep(this.options.drainDelayMs ?? 500, signal).catch(() => undefined);
      // 3. Finish in-flight calls; cancel what is left after the bound, or at once on abort.
      await new Promise<void>((resolve) => {
        let done = false;
        const finish = (force: boolean): void => {
          if (done) return;
          done = true;
          clearTimeout(timer);
          signal?.removeEventListener('abort', onAbort);
          if (force) this.server.forceShutdown();
          resolve();
        };
        const onAbort = (): void => finish(true);
        const timer = setTimeout(onAbort, this.options.shutdownTimeoutMs ?? 10_000);
        signal?.addEventListener('abort', onAbort, { once: true });
        this.server.tryShutdown(() => finish(false));
        if (signal?.aborted) onAbort();
      });
      this.logger.info({ operation: 'grpc.stop', key: this.options.name, durationMs: Math.round(performance.now() - started) }, 'gRPC service unregistered and stopped');
    })();
    return this.stopping;
  }

  [Symbol.asyncDispose](): Promise<void> {
    return this.stop();
  }
}
