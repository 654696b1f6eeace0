// A grpc-js name resolver for `etcd:///<service-name>`, fed by the registry's discovery cache:
// the channel gets the current instances at once and every change as it happens, round_robin by
// default. Supported: @grpc/grpc-js >=1.10.0 <2, a peer dependency so that the scheme lands in the
// app's own grpc-js, the copy its channels use. 1.10 is the first whose listener takes Endpoint[]
// (earlier ones take addresses); the listener itself changed shape in 1.14, so one class serves both,
// choosing at run time by what the channel hands it:
//   - 1.10–1.13: an object, onSuccessfulResolution(endpoints, serviceConfig, serviceConfigError,
//     configSelector, attributes) and onError(status) (LegacyResolverListener below);
//   - 1.14+: one function taking StatusOr<Endpoint[]>, attributes, StatusOr<ServiceConfig> | null
//     and a resolution note (build/src/resolver.d.ts).
// We compile against 1.14's types. StatusOr values are built here as plain objects: the
// experimental.statusOrFrom* helpers do not exist before 1.14, and only types come from there.
import { experimental, status, Metadata, type ChannelOptions, type ServiceConfig, type StatusObject } from '@grpc/grpc-js';
import { errorText, silentLogger, type Logger } from '../logger.js';
import { validationError } from '../errors.js';
import { toCoordinationError } from '../client/errors.js';
import { EtcdRegistry } from './etcd-registry.js';
import type { ServiceInfo, ServiceRegistry } from './interface.js';
import { validName } from './validation.js';

type Endpoint = experimental.Endpoint;

/**
 * The listener grpc-js 1.10–1.13 hand a resolver (their build/src/resolver.d.ts), as far as we use
 * it: we never pass a service-config error or a config selector (whose type differs between 1.12
 * and 1.13), so those are typed as the null we pass.
 */
interface LegacyResolverListener {
  onSuccessfulResolution(
    endpoints: Endpoint[],
    serviceConfig: ServiceConfig | null,
    serviceConfigError: null,
    configSelector: null,
    attributes: Record<string, unknown>,
  ): void;
  onError(error: StatusObject): void;
}

/** What grpc-js hands the resolver's constructor: a function on 1.14+, an object on 1.10–1.13. */
type AnyResolverListener = experimental.ResolverListener | LegacyResolverListener;

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

function unavailable(details: string): StatusObject {
  return { code: status.UNAVAILABLE, details, metadata: new Metadata() };
}

class EtcdResolver implements experimental.Resolver {
  private readonly name: string;
  private readonly binding: Binding | undefined;
  private running: AbortController | undefined;
  private lastSent: string | undefined; // the endpoint list last given to the channel, as text
  private hadInstances = false;

  constructor(
    private readonly target: experimental.GrpcUri,
    private readonly listener: AnyResolverListener,
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
      // grpc-js's contract: no listener call synchronously with updateResolution(), errors included.
      await Promise.resolve();
      if (run.signal.aborted) return;
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
      this.fail(unavailable(`etcd resolver: ${error.message}`), null);
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
    const serviceConfig: ServiceConfig | null = this.channelOptions['grpc.service_config']
      ? null
      : { loadBalancingConfig: [{ [this.binding!.options.loadBalancingPolicy]: {} }], methodConfig: [] };
    const listener = this.listener;
    if (typeof listener === 'function') listener({ ok: true, value: endpoints }, {}, serviceConfig && { ok: true, value: serviceConfig }, '');
    else listener.onSuccessfulResolution(endpoints, serviceConfig, null, null, {});
    // grpc-js parks a channel with an empty list in IDLE, where calls wait for their deadline:
    // an error on top (with no subchannels left to keep) makes them fail fast with UNAVAILABLE.
    if (endpoints.length === 0) this.fail(unavailable(`etcd resolver: no instances of "${this.name}" registered`), serviceConfig);
  }

  /** Reports a resolution failure in the listener's shape (1.10–1.13 take no service config with it). */
  private fail(error: StatusObject, serviceConfig: ServiceConfig | null): void {
    const listener = this.listener;
    if (typeof listener === 'function') listener({ ok: false, error }, {}, serviceConfig && { ok: true, value: serviceConfig }, '');
    else listener.onError(error);
  }
}
