// createCoordinator() → Coordinator (seed §1.2): one etcd client, one namespace, and the
// components built on them. close() releases everything the components own.
import { setMaxListeners } from 'node:events';
import { EtcdClient } from './client/etcd-client.js';
import { CoordinationError, ErrorCode } from './errors.js';
import { toCoordinationError } from './client/errors.js';
import { errorText } from './logger.js';
import { resolveOptions, type CoordinatorOptions, type ResolvedOptions } from './options.js';
import { backoffDelays } from './retry.js';
import { retryUntil } from './shared/retry-until.js';
import { EtcdDistributedLock } from './lock/etcd-lock.js';
import type { DistributedLock } from './lock/interface.js';
import { EtcdIdAllocator } from './ids/etcd-ids.js';
import type { InstanceIdAllocator } from './ids/interface.js';
import { EtcdConfigCenter } from './config/etcd-config.js';
import type { ConfigCenter } from './config/interface.js';
import { EtcdRegistry } from './registry/etcd-registry.js';
import type { ServiceRegistry } from './registry/interface.js';
import { EtcdLeaderElection } from './election/etcd-election.js';
import type { LeaderElection } from './election/interface.js';
import { EtcdSemaphore } from './semaphore/etcd-semaphore.js';
import type { Semaphore } from './semaphore/interface.js';
import { EtcdReadWriteLock } from './rwlock/etcd-rwlock.js';
import type { ReadWriteLock } from './rwlock/interface.js';

export interface Coordinator extends AsyncDisposable {
  // ── components: one readonly field each (lock, registry, config, ids, election, semaphore, rwlock) ──
  /** Service registry: self-healing registrations, cached discovery, gap-free watches, gRPC resolver (docs/REGISTRY.md). */
  readonly registry: ServiceRegistry;
  /** Distributed lock: fair, fenced, lost-lock aware, shared with Go's Mutex (docs/LOCK.md). */
  readonly lock: DistributedLock;
  /** Instance IDs: a small integer per live instance, freed when the instance dies (docs/INSTANCE-IDS.md). */
  readonly ids: InstanceIdAllocator;
  /** Config center: JSON values, CAS, gap-free watches, live views, history (docs/CONFIG.md). */
  readonly config: ConfigCenter;
  /** Leader election: one leader per name, fenced, observable, shared with Go's Election (docs/ELECTION.md). */
  readonly election: LeaderElection;
  /** Counting semaphore: at most N holders of a name, FIFO, fenced, freed at the TTL of a crashed holder (docs/SEMAPHORE.md). */
  readonly semaphore: Semaphore;
  /** Read-write lock: many readers or one writer, FIFO, fenced, shared with Go's recipe.RWMutex (docs/RWLOCK.md). */
  readonly rwlock: ReadWriteLock;
  /** The namespace every key of this coordinator lives under ('' for none). */
  readonly namespace: string;
  /** Resolves when close() has finished. */
  readonly closed: Promise<void>;
  /** Idempotent: revokes leases it owns, stops keep-alives and watches, closes connections. */
  close(): Promise<void>;
}

class CoordinatorImpl implements Coordinator {
  readonly namespace: string;
  readonly closed: Promise<void>;

  // ── components: one readonly field each ──
  readonly registry: ServiceRegistry;
  readonly lock: DistributedLock;
  readonly ids: InstanceIdAllocator;
  readonly config: ConfigCenter;
  readonly election: LeaderElection;
  readonly semaphore: Semaphore;
  readonly rwlock: ReadWriteLock;

  constructor(
    readonly client: EtcdClient,
    options: ResolvedOptions,
  ) {
    this.namespace = client.namespace;
    this.closed = client.closed;
    // ── components: one line each, built on the shared client ──
    this.registry = new EtcdRegistry(client);
    this.lock = new EtcdDistributedLock(client, options.lock);
    this.ids = new EtcdIdAllocator(client);
    this.config = new EtcdConfigCenter(client, { snapshotFile: options.snapshotFile });
    this.election = new EtcdLeaderElection(client);
    this.semaphore = new EtcdSemaphore(client);
    this.rwlock = new EtcdReadWriteLock(client);
  }

  close(): Promise<void> {
    return this.client.close();
  }

  [Symbol.asyncDispose](): Promise<void> {
    return this.close();
  }
}

/** The etcd client behind a coordinator, for our own tools (coordctl); not exported by index.ts. */
export function clientOf(coordinator: Coordinator): EtcdClient {
  if (!(coordinator instanceof CoordinatorImpl)) throw new TypeError('not a coordinator made by createCoordinator()');
  return coordinator.client;
}

/**
 * Connects to etcd and checks it answers within `options.timeoutMs` (retrying refused connections
 * inside that budget). Rejects with VALIDATION_ERROR for bad options, AUTH_ERROR for bad
 * credentials (a valid user connects whatever its role may read: each call is checked against its
 * own keys), CONNECTION_ERROR when etcd cannot be reached in time — unless `snapshotFile` is set:
 * then it resolves after `timeoutMs` without etcd (logged at WARN) and config live views serve the snapshot.
 */
export async function createCoordinator(options: CoordinatorOptions): Promise<Coordinator> {
  const resolved = resolveOptions(options);
  const client = new EtcdClient(resolved);
  // `closing` is ours and shared by design: every in-flight call of every resource listens on it
  // until it settles (1,000 registrations granting at once = 1,000 listeners). Not a leak, so no
  // MaxListenersExceededWarning in the app's process. (Belongs in EtcdClient once issue 14 lands.)
  setMaxListeners(0, client.closing);
  const started = performance.now();
  const budget = AbortSignal.timeout(resolved.timeout);
  let lastError: CoordinationError | undefined;
  try {
    // Only network trouble is worth another ping (until the budget runs out); anything else
    // (credentials etcd refuses or does not expect, a bug) is thrown at once.
    const pinged = await retryUntil(budget, () => client.ping(budget), {
      operation: 'connect',
      delays: backoffDelays({ ...resolved.retry, initialDelayMs: 50, maxDelayMs: 500 }),
      onRetry: (error) => (lastError = error),
    });
    if (pinged) {
      if (!pinged.readable) {
        // Least privilege: etcd knew the user (else no permission check); its role just cannot read the root key.
        client.logger.debug(
          { operation: 'connect', key: client.prefix, code: 'PERMISSION_DENIED' },
          'credentials accepted: the role may not read the namespace root (least privilege); each call is checked against its own keys',
        );
      }
      client.logger.info(
        { operation: 'connect', key: resolved.namespace, durationMs: Math.round(performance.now() - started) },
        'coordinator connected',
      );
      return new CoordinatorImpl(client, resolved);
    }
    // Start when etcd is down (opt-in via snapshotFile): config live views serve the snapshot, stale.
    if (resolved.snapshotFile !== undefined) {
      const fields = { operation: 'connect', code: ErrorCode.Connection, error: errorText(lastError), from: 'connecting', to: 'degraded' };
      client.logger.warn(fields, 'etcd unreachable; started without it (config snapshot)');
      return new CoordinatorImpl(client, resolved);
    }
    const endpoints = resolved.endpoints.join(', ');
    throw new CoordinationError(ErrorCode.Connection, `cannot reach etcd at ${endpoints} within ${resolved.timeout} ms`, {
      cause: lastError,
    });
  } catch (err) {
    const error = toCoordinationError(err, 'connect');
    client.logger.error({ operation: 'connect', code: error.code, error: errorText(error) }, 'coordinator connect failed');
    await client.close();
    throw error;
  }
}
