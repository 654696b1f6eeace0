// coordinator.registry: registrations of this process plus one discovery cache per service name
// it asked about. Everything it holds is released by the coordinator's close().
import type { EtcdClient } from '../client/etcd-client.js';
import { race } from '../client/etcd-client.js';
import { openWatch } from '../shared/watch-stream.js';
import { CoordinationError, ErrorCode, abortError, validationError } from '../errors.js';
import { toCoordinationError } from '../client/errors.js';
import { decodeService, servicePrefix } from './codec.js';
import type { Logger } from '../logger.js';
import { EventQueue } from '../shared/event-queue.js';
import { DiscoveryCache } from './discovery-cache.js';
import type { Registration, ServiceEvent, ServiceInfo, ServiceInput, ServiceListing, ServiceRegistry, ServiceWatch, ServiceWatchOptions } from './interface.js';
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

  async register(service: ServiceInput, opts: { signal?: AbortSignal } = {}): Promise<Registration> {
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

  watch(serviceName: string, opts: ServiceWatchOptions = {}): ServiceWatch {
    const name = validName(serviceName);
    if (opts.fromRevision !== undefined && (typeof opts.fromRevision !== 'bigint' || opts.fromRevision < 1n)) {
      throw validationError('registry.watch: fromRevision must be a bigint >= 1n');
    }
    // From a revision: a watch of its own replaying etcd's history. Otherwise: the discovery
    // cache's one watch per service, shared by every watcher and discover() of that name.
    return opts.fromRevision === undefined ? this.subscribe(name, opts.signal) : replayWatch(this.client, name, opts.fromRevision, opts.signal);
  }

  /** The cache for `name`, created on first use and listed once; forgotten once it ends. */
  private async ready(name: string, signal: AbortSignal | undefined): Promise<DiscoveryCache> {
    const cache = this.cacheFor(name);
    await race(cache.ready, signal, `registry.discover ${name}`);
    return cache;
  }

  private cacheFor(name: string): DiscoveryCache {
    this.client.assertOpen('registry.discover');
    let cache = this.caches.get(name);
    if (!cache) {
      // Forgotten once it ends, whatever ends it (a failed first list, a denied re-list): the next use lists afresh.
      const created: DiscoveryCache = new DiscoveryCache(this.client, name, () => this.caches.get(name) === created && this.caches.delete(name));
      this.caches.set(name, created);
      cache = created;
    }
    return cache;
  }

  /**
   * One watch handle on the cache: subscribes at once (events after this call), buffers events
   * until read, ends on close(), abort, return() (break) or the coordinator's close.
   */
  private subscribe(name: string, callerSignal: AbortSignal | undefined): ServiceWatch {
    // Listen on a dependent signal, not the caller's: an app may share one across many watches.
    const signal = callerSignal && AbortSignal.any([callerSignal]);
    const sub = subscription(signal);
    // Subscribe now, not at the first next(): a caller may discover() in between and miss nothing.
    const ready = signal?.aborted ? endAborted(sub, signal, name) : this.attach(name, sub);
    ready.catch(() => undefined);
    const iterator = sub.queue[Symbol.asyncIterator]();
    const close = async (): Promise<void> => sub.finish();
    return { ready, close, [Symbol.asyncDispose]: close, [Symbol.asyncIterator]: () => iterator };
  }

  /** Feeds the cache's events into `sub`; resolves with the revision its events start after. */
  private attach(name: string, sub: Subscription): Promise<bigint> {
    try {
      const cache = this.cacheFor(name);
      const at = cache.loaded ? cache.revision : undefined; // before its first list, events start after the list
      sub.unsubscribe = cache.subscribe({
        event: (event) => sub.queue.push(event),
        end: (error) => sub.finish(error),
      });
      return cache.ready.then(() => at ?? cache.revision);
    } catch (err) {
      const error = toCoordinationError(err, `registry.watch ${name}`);
      sub.finish(error);
      return Promise.reject(error);
    }
  }
}

/** One watch handle's queue and its one way to end, whatever ends it: ends once, then detaches. */
interface Subscription {
  readonly queue: EventQueue<ServiceEvent>;
  finish(error?: CoordinationError): void;
  /** Detaches from the cache (set once subscribed). */
  unsubscribe: () => void;
}

/** Ended watches keep what is buffered; an error after the caller's abort reads as a plain end. */
function subscription(signal: AbortSignal | undefined): Subscription {
  const onAbort = (): void => sub.finish();
  const sub: Subscription = {
    queue: new EventQueue<ServiceEvent>({ onReturn: () => sub.finish(), ...(signal && { quiet: signal }) }),
    unsubscribe: () => undefined,
    finish: (error) => {
      if (sub.queue.done) return;
      sub.queue.end(error);
      sub.unsubscribe();
      signal?.removeEventListener('abort', onAbort);
    },
  };
  if (!signal?.aborted) signal?.addEventListener('abort', onAbort, { once: true });
  return sub;
}

/** A watch asked for with an aborted signal: ended at once, its `ready` rejects as cancelled. */
function endAborted(sub: Subscription, signal: AbortSignal, name: string): Promise<bigint> {
  sub.finish();
  return Promise.reject(abortError(signal, `registry.watch ${name}`));
}

/**
 * registry.watch() from a revision: its own gap-free stream from etcd's history. A DELETE names
 * the instance as last seen on this stream, else as it was just before the delete (an MVCC read);
 * only if that revision is compacted too does it carry no more than the key's name and id.
 */
function replayWatch(client: EtcdClient, name: string, fromRevision: bigint, signal: AbortSignal | undefined): ServiceWatch {
  const prefix = servicePrefix(client.dirs.registry, name);
  const stream = openWatch(client, { key: prefix, prefix: true, fromRevision, operation: 'registry.watch', ...(signal && { signal: AbortSignal.any([signal]) }) });
  const last = new Map<string, ServiceInfo>();
  const before = async (key: string, revision: bigint): Promise<ServiceInfo> => {
    const full = Buffer.from(client.key(key));
    const res = await client
      .call('registry.watch', key, (o) => client.rpc.kv.range({ key: full, revision: revision - 1n }, o), { idempotent: true, level: 'debug' })
      .catch(() => undefined);
    const kv = res?.kvs[0];
    return (kv && decodeService(kv.value, key)) ?? decodeService('{}', key)!;
  };
  async function* events(): AsyncGenerator<ServiceEvent> {
    try {
      for await (const ev of stream) {
        let service: ServiceInfo | undefined;
        if (ev.type === 'PUT') {
          service = decodeService(ev.value ?? Buffer.alloc(0), ev.key);
          if (!service) continue; // not an instance (bad JSON): discovery skips it too
          last.set(ev.key, service);
        } else {
          service = last.get(ev.key) ?? (await before(ev.key, ev.revision));
          last.delete(ev.key);
        }
        yield { type: ev.type, service: Object.freeze({ ...service, metadata: Object.freeze(service.metadata) }) as ServiceInfo, revision: ev.revision, timestamp: new Date(), reconciled: ev.reconciled };
      }
    } finally {
      await stream.close();
    }
  }
  const close = (): Promise<void> => stream.close();
  return { ready: stream.ready, close, [Symbol.asyncDispose]: close, [Symbol.asyncIterator]: events };
}
