// Service registry and discovery (seed §2.3): public types. What is stored in etcd follows gochat's
// Go registry byte for byte (see codec.ts), so Go and Node services discover each other.
import type { EventType, RemainingMs, SignalOptions, Watch } from '../shared/vocabulary.js';

export type { EventType };

/** One instance of a service. Durations are milliseconds here; etcd holds Go's nanoseconds. */
export interface ServiceInfo {
  /** Instance ID, unique within the service name (no `/`). */
  id: string;
  /** Service name (no `/`), e.g. `chat-service`. */
  name: string;
  /** Host or IP clients dial. */
  address: string;
  /** TCP port, 1..65535. */
  port: number;
  /** Free-form string pairs (version, region, protocol …). Never logged. `{}` when none. */
  metadata: Record<string, string>;
  /**
   * Lease TTL in ms (integer, 1000 ms to a year): the instance disappears this long after its
   * process dies (etcd rounds up to whole seconds). Stored as Go's `ttl` in nanoseconds.
   */
  ttlMs: number;
}

/** What register() takes: a ServiceInfo whose `metadata` may be left out (registered as `{}`). */
export type ServiceInput = Omit<ServiceInfo, 'metadata'> & { metadata?: Record<string, string> };

export interface ServiceEvent {
  type: EventType;
  /** For `DELETE`, the instance as it was last known (not just its key). */
  service: ServiceInfo;
  /** etcd revision of the change; strictly increasing within one watch. */
  revision: bigint;
  /** When this process learned of the change. */
  timestamp: Date;
  /**
   * True when the event was derived by re-reading the current state (after a compaction, or when
   * the discovery watch had to re-list) rather than seen as it happened, like `ConfigEvent.reconciled`.
   */
  reconciled: boolean;
}

export interface ServiceWatchOptions extends SignalOptions {
  /**
   * First revision to deliver, replayed from etcd's history: pass the last `ServiceEvent.revision`
   * seen + 1 to resume with nothing missed. @default the changes after the call
   */
  fromRevision?: bigint;
}

/** An async-iterable watch of one service's instances (the same kind of handle as ConfigWatch). */
export type ServiceWatch = Watch<ServiceEvent>;

/** One instance as `list()` reads it from etcd. */
export interface ServiceListing extends ServiceInfo {
  /** Remaining time of the instance's lease in ms, as etcd reports it (whole seconds); undefined without a lease. */
  remainingMs: RemainingMs;
  /** Mod revision of the instance's key. */
  revision: bigint;
}

export type RegistrationState = 'registered' | 'lost' | 'unregistered';

/** A live registration of this coordinator. Disposing it unregisters. */
export interface Registration extends AsyncDisposable {
  /** The instance as registered (frozen). */
  readonly service: Readonly<ServiceInfo>;
  /**
   * `registered` while the key is in etcd under a live lease; `lost` while it is being
   * re-registered (lease lost, etcd unreachable); `unregistered` after unregister()/close().
   */
  readonly state: RegistrationState;
  /**
   * Aborts the first time the instance drops out of etcd (its lease was lost or its key deleted
   * behind our back), with a CoordinationError (NOT_FOUND) as reason: for a moment clients could
   * not discover it. The registration keeps healing itself (`state` shows where it is); the
   * signal does not re-arm. It does not abort on unregister() or close().
   */
  readonly signal: AbortSignal;
  /** Deletes the key and revokes its lease; idempotent. */
  unregister(opts?: SignalOptions): Promise<void>;
}

export interface ServiceRegistry {
  /**
   * Writes the instance under a lease kept alive in the background (not tied to `signal`, which
   * only bounds this call) and keeps it registered until unregistered or the coordinator closes:
   * a lost lease is re-granted and the key re-put with backoff; a key deleted behind our back is
   * put back. VALIDATION_ERROR for bad input (nothing written); CONFLICT if this coordinator
   * already registered the same `id`.
   */
  register(service: ServiceInput, opts?: SignalOptions): Promise<Registration>;
  /** Unregisters an instance this coordinator registered; NOT_FOUND for any other ID. */
  unregister(serviceId: string, opts?: SignalOptions): Promise<void>;
  /**
   * The instances of `serviceName`. The first call lists them and starts a watch; later calls
   * answer from memory (no etcd request), also while etcd is unreachable (last known list).
   * An empty list when none is registered.
   */
  discover(serviceName: string, opts?: SignalOptions): Promise<ServiceInfo[]>;
  /**
   * Changes of `serviceName`'s instances after the call (or from `fromRevision`), in revision
   * order, with no duplicates or gaps (also across reconnects). Subscribes at once; ends when
   * `close()` is called, `signal` aborts, the loop breaks or the coordinator closes. Iterate it once.
   */
  watch(serviceName: string, opts?: ServiceWatchOptions): ServiceWatch;
  /**
   * The instances of `serviceName` — of every service when omitted — as etcd holds them now (one
   * read, not the discovery cache; Go services' entries included), each with its lease's remaining
   * TTL, sorted by name then id. For operators' tools such as `coordctl services ls`.
   */
  list(serviceName?: string, opts?: SignalOptions): Promise<ServiceListing[]>;
}
