// coordinator.registry: registrations of this process plus one discovery cache per service name
// it asked about. Everything it holds is released by the coordinator's close().
import type { EtcdClient } from '../client/etcd-client.js';
import { race } from '../client/etcd-client.js';
import { CoordinationError, ErrorCode, toCoordinationError } from '../errors.js';
import type { Logger } from '../logger.js';
import { DiscoveryCache } from './discovery-cache.js';
import type { Registration, ServiceEvent, ServiceInfo, ServiceListing, ServiceRegistry } from './interface.js';
import { listServices } from './listing.js';
import { RegistrationImpl } from './registration.js';
import { validName, validService } from './validation.js';

export class EtcdRegistry implements ServiceRegistry {
  private readonly caches = new Map<string, DiscoveryCache>();
  /** Registrations by instance ID; `null` while one is being created (reserves the ID). */
  private readonly registrations = new Map<string, RegistrationImpl | null>();

  constructor(private readonly client: EtcdClient) {}

  /** The coordinator's logger (for the gRPC resolver and service manager built on this registry). */
  get logger(): Logger {
    return this.client.logger;
  }

  async register(service: ServiceInfo, opts: { signal?: AbortSignal } = {}): Promise<Registration> {
    const info = validService(service);
    this.client.assertOpen('registry.register');
    if (this.registrations.has(info.id)) {
      throw new CoordinationError(ErrorCode.Conflict, `registry.register: instance "${info.id}" is already registered by this coordinator`);
    }
    this.registrations.set(info.id, null);
    try {
      // The cache watches the service's prefix; registrations learn from it that their key was deleted.
      const cache = await this.ready(info.name, opts.signal);
      let registration: RegistrationImpl | undefined;
      // Forgets the ID when the registration ends (also if create() fails: then it is still unset).
      const forget = (): void => {
        if (registration && this.registrations.get(info.id) === registration) this.registrations.delete(info.id);
      };
      registration = await RegistrationImpl.create(this.client, cache, info, opts.signal, forget);
      if (registration.state === 'unregistered') throw new CoordinationError(ErrorCode.Cancelled, `registry.register ${info.id}: unregistered while registering`);
      this.registrations.set(info.id, registration);
      return registration;
    } catch (err) {
      if (this.registrations.get(info.id) === null) this.registrations.delete(info.id);
      throw err;
    }
  }

  async unregister(serviceId: string, opts: { signal?: AbortSignal } = {}): Promise<void> {
    const id = validName(serviceId, 'service id');
    const registration = this.registrations.get(id);
    if (!registration) throw new CoordinationError(ErrorCode.NotFound, `registry.unregister: no registration of "${id}" in this coordinator`);
    await registration.unregister(opts);
  }

  async discover(serviceName: string, opts: { signal?: AbortSignal } = {}): Promise<ServiceInfo[]> {
    // Warm path: straight from memory, no etcd request. A name with a cache was validated when the
    // cache was made, so the (comparatively slow) schema check is skipped here.
    const warm = this.caches.get(serviceName);
    if (warm?.loaded && !opts.signal?.aborted) return warm.list();
    const name = validName(serviceName);
    return (await this.ready(name, opts.signal)).list();
  }

  list(serviceName?: string, opts: { signal?: AbortSignal } = {}): Promise<ServiceListing[]> {
    try {
      return listServices(this.client, serviceName === undefined ? undefined : validName(serviceName), opts.signal);
    } catch (err) {
      return Promise.reject(err);
    }
  }

  watch(serviceName: string, opts: { signal?: AbortSignal } = {}): AsyncIterable<ServiceEvent> {
    const name = validName(serviceName);
    return { [Symbol.asyncIterator]: () => this.subscribe(name, opts.signal) };
  }

  /** The cache for `name`, created on first use and listed once; a failed first list is forgotten. */
  private async ready(name: string, signal: AbortSignal | undefined): Promise<DiscoveryCache> {
    const cache = this.cacheFor(name);
    await race(cache.ready, signal, `registry.discover ${name}`);
    return cache;
  }

  private cacheFor(name: string): DiscoveryCache {
    this.client.assertOpen('registry.discover');
    let cache = this.caches.get(name);
    if (!cache) {
      const created = new DiscoveryCache(this.client, name);
      this.caches.set(name, created);
      created.ready.catch(() => {
        if (this.caches.get(name) === created) this.caches.delete(name);
      });
      cache = created;
    }
    return cache;
  }

  /**
   * One watch iterator: subscribes to the cache at once (events after this call), buffers events
   * until read, ends on abort, return() (break) or the coordinator's close.
   */
  private subscribe(name: string, signal: AbortSignal | undefined): AsyncIterator<ServiceEvent> {
    const queue: ServiceEvent[] = [];
    let wake: (() => void) | undefined;
    let done = false;
    let failure: CoordinationError | undefined;
    let unsubscribe = (): void => undefined;
    const finish = (error?: CoordinationError): void => {
      if (done) return;
      done = true;
      failure = error;
      unsubscribe();
      signal?.removeEventListener('abort', onAbort);
      wake?.();
    };
    const onAbort = (): void => finish();
    // Subscribe now, not at the first next(): a caller may discover() in between and miss nothing.
    if (signal?.aborted) finish();
    else {
      signal?.addEventListener('abort', onAbort, { once: true });
      try {
        unsubscribe = this.cacheFor(name).subscribe({
          event: (event) => {
            queue.push(event);
            wake?.();
          },
          end: (error) => finish(error),
        });
      } catch (err) {
        finish(toCoordinationError(err, `registry.watch ${name}`));
      }
    }
    return {
      next: async (): Promise<IteratorResult<ServiceEvent>> => {
        for (;;) {
          const event = queue.shift();
          if (event) return { done: false, value: event };
          if (failure && !(signal?.aborted)) throw failure;
          if (done) return { done: true, value: undefined };
          await new Promise<void>((resolve) => (wake = resolve));
          wake = undefined;
        }
      },
      return: async (): Promise<IteratorResult<ServiceEvent>> => {
        finish();
        return { done: true, value: undefined };
      },
    };
  }
}
