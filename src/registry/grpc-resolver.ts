// A grpc-js name resolver for `etcd:///<service-name>`, fed by the registry's discovery cache:
// the channel gets the current instances at once and every change as it happens, round_robin by
// default. Supported: @grpc/grpc-js 1.14.x, a peer dependency (`~1.14.0`) so that the scheme lands in the
// app's own grpc-js, the copy its channels use. Since 1.10 the listener
// receives Endpoint[] instead of addresses, and in 1.14 it became one function taking
// StatusOr<Endpoint[]> (build/src/resolver.d.ts); older or newer majors need another adapter.
import { experimental, status, Metadata, type ChannelOptions } from '@grpc/grpc-js';
import { errorText, silentLogger, type Logger } from '../logger.js';
import { toCoordinationError, validationError } from '../errors.js';
import { EtcdRegistry } from './etcd-registry.js';
import type { ServiceInfo, ServiceRegistry } from './interface.js';
import { validName } from './validation.js';

type Endpoint = experimental.Endpoint;

export interface GrpcResolverOptions {
  /** URI scheme to register: targets look like `<scheme>:///<service-name>`. @default 'etcd' */
  scheme?: string;
  /**
   * Load-balancing policy the resolver asks for, unless the channel sets its own
   * `grpc.service_config`. @default 'round_robin'
   */
  loadBalancingPolicy?: 'round_robin' | 'pick_first';
  /**
   * When the instance list would become empty, keep sending calls to the last non-empty list
   * (an etcd hiccup or a deploy unregistering everyone must not blackhole traffic). Watchers still
   * see the DELETEs. @default true
   */
  keepLastNonEmpty?: boolean;
  /** @default the coordinator's logger */
  logger?: Logger;
}

export const DEFAULT_GRPC_RESOLVER_OPTIONS = Object.freeze({
  scheme: 'etcd',
  loadBalancingPolicy: 'round_robin',
  keepLastNonEmpty: true,
} as const);

interface Binding {
  registry: ServiceRegistry;
  options: Required<Omit<GrpcResolverOptions, 'logger'>>;
  logger: Logger;
}

/** Registry per scheme; grpc-js keeps one resolver class per scheme and has no unregister. */
const bindings = new Map<string, Binding>();

/**
 * Makes `<scheme>:///<service-name>` targets resolve through `registry` in this process's
 * @grpc/grpc-js. Returns a function that detaches the registry (later channels fail to resolve).
 */
export function registerGrpcResolver(registry: ServiceRegistry, options: GrpcResolverOptions = {}): () => void {
  const resolved = { ...DEFAULT_GRPC_RESOLVER_OPTIONS, ...options };
  const { logger: _logger, ...rest } = resolved;
  if (!/^[a-z][a-z0-9+.-]*$/.test(rest.scheme)) throw validationError(`registerGrpcResolver: invalid scheme "${rest.scheme}"`);
  if (rest.loadBalancingPolicy !== 'round_robin' && rest.loadBalancingPolicy !== 'pick_first') {
    throw validationError(`registerGrpcResolver: loadBalancingPolicy must be round_robin or pick_first`);
  }
  const logger = options.logger ?? (registry instanceof EtcdRegistry ? registry.logger : silentLogger);
  const binding: Binding = { registry, options: rest, logger };
  bindings.set(rest.scheme, binding);
  experimental.registerResolver(rest.scheme, EtcdResolver);
  return () => {
    if (bindings.get(rest.scheme) === binding) bindings.delete(rest.scheme);
  };
}

function unavailable(details: string): experimental.StatusOr<Endpoint[]> {
  return experimental.statusOrFromError({ code: status.UNAVAILABLE, details, metadata: new Metadata() });
}

class EtcdResolver implements experimental.Resolver {
  private readonly name: string;
  private readonly binding: Binding | undefined;
  private running: AbortController | undefined;
  private lastSent: string | undefined; // the endpoint list last given to the channel, as text
  private hadInstances = false;

  constructor(
    private readonly target: experimental.GrpcUri,
    private readonly listener: experimental.ResolverListener,
    private readonly channelOptions: ChannelOptions,
  ) {
    this.name = target.path.replace(/^\/+/, '');
    this.binding = bindings.get(target.scheme ?? '');
  }

  static getDefaultAuthority(target: experimental.GrpcUri): string {
    return target.path.replace(/^\/+/, '');
  }

  /**
   * Starts following the service. While following, there is nothing to do: every change is sent
   * as it happens. (Re-sending the same list here would reset grpc-js's re-resolution backoff and
   * spin when the only instance refuses connections.)
   */
  updateResolution(): void {
    if (this.running) return;
    const run = new AbortController();
    this.running = run;
    void this.follow(run);
  }

  destroy(): void {
    this.running?.abort();
    this.running = undefined;
    this.lastSent = undefined;
  }

  /** Subscribe first, then read the list: a change in between is not missed. Every change → the whole list. */
  private async follow(run: AbortController): Promise<void> {
    const { binding, name } = this;
    try {
      if (!binding) throw new Error(`no registry registered for scheme "${this.target.scheme}"`);
      validName(name);
      const changes = binding.registry.watch(name, { signal: run.signal })[Symbol.asyncIterator]();
      this.update(await binding.registry.discover(name, { signal: run.signal }));
      while (!run.signal.aborted) {
        const next = await changes.next();
        if (next.done) break;
        if (!run.signal.aborted) this.update(await binding.registry.discover(name, { signal: run.signal }));
      }
    } catch (err) {
      if (run.signal.aborted) return;
      const error = toCoordinationError(err, `grpc.resolve ${name}`);
      binding?.logger.warn({ operation: 'grpc.resolve', key: name, code: error.code, error: errorText(error) }, 'resolution failed');
      this.listener(unavailable(`etcd resolver: ${error.message}`), {}, null, '');
    } finally {
      // Ended (error, coordinator closed): the next updateResolution() starts again.
      if (this.running === run) this.running = undefined;
    }
  }

  private update(instances: ServiceInfo[]): void {
    const seen = new Set<string>();
    const endpoints: Endpoint[] = [];
    for (const s of instances) {
      const id = `${s.address}:${s.port}`;
      if (seen.has(id)) continue;
      seen.add(id);
      endpoints.push({ addresses: [{ host: s.address, port: s.port }] });
    }
    endpoints.sort((a, b) => (JSON.stringify(a) < JSON.stringify(b) ? -1 : 1));
    const logger = this.binding!.logger;
    if (endpoints.length === 0 && this.hadInstances && this.binding!.options.keepLastNonEmpty) {
      logger.warn({ operation: 'grpc.resolve', key: this.name }, 'no instances left; keeping the last non-empty list');
      return;
    }
    if (JSON.stringify(endpoints) === this.lastSent) return;
    logger.info({ operation: 'grpc.resolve', key: this.name, instances: endpoints.length }, 'instances updated');
    this.hadInstances ||= endpoints.length > 0;
    this.send(endpoints);
  }

  private send(endpoints: Endpoint[]): void {
    this.lastSent = JSON.stringify(endpoints);
    // A channel with its own service config keeps it; otherwise we ask for our policy.
    const serviceConfig = this.channelOptions['grpc.service_config']
      ? null
      : experimental.statusOrFromValue({ loadBalancingConfig: [{ [this.binding!.options.loadBalancingPolicy]: {} }], methodConfig: [] });
    this.listener(experimental.statusOrFromValue(endpoints), {}, serviceConfig, '');
    // grpc-js parks a channel with an empty list in IDLE, where calls wait for their deadline:
    // an error on top (with no subchannels left to keep) makes them fail fast with UNAVAILABLE.
    if (endpoints.length === 0) this.listener(unavailable(`etcd resolver: no instances of "${this.name}" registered`), {}, serviceConfig, '');
  }
}
