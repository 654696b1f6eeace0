// The local copy of one service's instances (go-zero's discov registry, in Node): list once,
// then watch from the list's revision + 1, so discover() answers from memory with no etcd request.
// The watch (shared/watch-stream.ts) is gap-free across reconnects and reconciles after a
// compaction; if it ever fails for good we re-list, reconcile, and watch again.
import type { EtcdClient } from '../client/etcd-client.js';
import { prefixEnd } from '../client/prefix-end.js';
import { openWatch, type WatchEvent, type WatchStream } from '../shared/watch-stream.js';
import { CoordinationError, ErrorCode } from '../errors.js';
import { isPermissionDenied } from '../client/errors.js';
import { errorText } from '../logger.js';
import { backoffDelays } from '../retry.js';
import { retryUntil } from '../shared/retry-until.js';
import { decodeService, servicePrefix } from './codec.js';
import type { ServiceEvent, ServiceInfo } from './interface.js';

export interface CacheSubscriber {
  /** Each change after subscribing, in revision order; `key` is relative to the namespace. */
  event(event: ServiceEvent, key: string): void;
  /** The cache stopped (coordinator closed, its first list failed, or a re-list was denied: AUTH_ERROR). */
  end(error?: CoordinationError): void;
}

interface Entry {
  info: Readonly<ServiceInfo>;
  revision: bigint;
}

export class DiscoveryCache {
  /** Resolves once the first list is in (rejects if it failed; the owner then drops this cache). */
  readonly ready: Promise<void>;
  /** True once the first list is in: list() answers from memory. */
  loaded = false;
  private readonly entries = new Map<string, Entry>(); // key → instance
  private snapshot: ReadonlyArray<Readonly<ServiceInfo>> | undefined; // rebuilt lazily after a change
  private readonly subscribers = new Set<CacheSubscriber>();
  private readonly keyDeleted = new Map<string, (revision: bigint) => void>();
  private readonly stop = new AbortController();
  private applied = 0n; // revision of the last change (or list) applied
  private waiters: Array<{ revision: bigint; done: () => void }> = [];
  private stream: WatchStream | undefined;
  private readonly prefix: string;
  private readonly unown: () => void;

  constructor(
    private readonly client: EtcdClient,
    readonly name: string,
    /** Told once when the cache stops, whatever stops it (its owner then forgets it). */
    private readonly onClosed: () => void,
  ) {
    this.prefix = servicePrefix(client.dirs.registry, name);
    this.unown = client.own(this);
    let loaded!: () => void;
    let failed!: (err: CoordinationError) => void;
    this.ready = new Promise<void>((resolve, reject) => ((loaded = resolve), (failed = reject)));
    this.ready.catch(() => undefined);
    void this.run(loaded, failed);
  }

  /** Revision of the last change (or list) applied: a subscriber added now hears every change after it. */
  get revision(): bigint {
    return this.applied;
  }

  /** The instances as of the last event seen (a fresh array of frozen objects). */
  list(): ServiceInfo[] {
    this.snapshot ??= Object.freeze([...this.entries.values()].map((e) => e.info));
    return [...this.snapshot] as ServiceInfo[];
  }

  /**
   * Resolves once changes up to `revision` are applied (our own put is visible to discover()), or
   * after the client's timeout if the watch lags: a registration never waits on an outage.
   */
  caughtUp(revision: bigint): Promise<void> {
    if (this.applied >= revision || this.stop.signal.aborted) return Promise.resolve();
    return new Promise((resolve) => {
      const timer = setTimeout(done, this.client.timeout);
      const waiter = { revision, done };
      function done(): void {
        clearTimeout(timer);
        resolve();
      }
      this.waiters.push(waiter);
    });
  }

  private advance(revision: bigint): void {
    if (revision <= this.applied) return;
    this.applied = revision;
    const due = this.waiters.filter((w) => w.revision <= revision);
    if (due.length === 0) return;
    this.waiters = this.waiters.filter((w) => w.revision > revision);
    for (const w of due) w.done();
  }

  subscribe(subscriber: CacheSubscriber): () => void {
    this.subscribers.add(subscriber);
    return () => this.subscribers.delete(subscriber);
  }

  /** Calls `fn` with the revision whenever `key` is deleted (one listener per key: its registration). */
  onDeleted(key: string, fn: (revision: bigint) => void): () => void {
    this.keyDeleted.set(key, fn);
    return () => {
      if (this.keyDeleted.get(key) === fn) this.keyDeleted.delete(key);
    };
  }

  /** List, watch from the list + 1, apply events; on a failed watch, re-list (reconciling) and go again. */
  private async run(loaded: () => void, failed: (err: CoordinationError) => void): Promise<void> {
    let first = true;
    const listAndWatch = async (): Promise<true> => {
      const revision = await this.load(first);
      if (first) {
        this.loaded = true;
        loaded();
      }
      first = false;
      const known = new Map([...this.entries].map(([key, e]) => [key, e.revision]));
      this.stream = openWatch(this.client, { key: this.prefix, prefix: true, fromRevision: revision + 1n, known, signal: this.stop.signal, operation: 'registry.watch' });
      for await (const event of this.stream) this.apply(event);
      return true; // the stream ends only when we (or the coordinator) close it
    };
    try {
      const done = await retryUntil(this.stop.signal, listAndWatch, {
        operation: `registry.discover ${this.prefix}`,
        delays: backoffDelays(this.client.retry),
        // Any failure after the first list is worth a re-list; the first one goes to `ready`.
        // A denied read is not: our role lost the prefix, and re-listing would only be denied again.
        retryable: (error) => !first && !isPermissionDenied(error) && !this.stop.signal.aborted,
        onRetry: (error) => this.client.logger.error({ operation: 'registry.watch', key: this.prefix, code: error.code, error: errorText(error) }, 'discovery watch failed; re-listing'),
      });
      if (!done) this.end(undefined, failed); // stopped
    } catch (err) {
      // Subscribers hear of a denial (their watch throws it); a stop during a re-list is a plain end.
      this.end(first || isPermissionDenied(err) ? (err as CoordinationError) : undefined, failed);
    }
  }

  /** Reads every instance; after the first time, emits the differences as events (like a resync). */
  private async load(first: boolean): Promise<bigint> {
    const key = Buffer.from(this.client.key(this.prefix));
    // One snapshot in pages, like registry.list(): a service list over gRPC's 4 MiB must still load.
    const { kvs, revision: head } = await this.client.rangeAll('registry.list', this.prefix, { key, range_end: prefixEnd(key) }, { level: 'debug', signal: this.stop.signal });
    const now = new Set<string>();
    for (const kv of kvs) {
      const rel = this.client.relative(kv.key.toString());
      now.add(rel);
      if (this.entries.get(rel)?.revision === kv.mod_revision) continue;
      this.apply({ type: 'PUT', key: rel, value: kv.value, revision: kv.mod_revision, reconciled: !first }, !first);
    }
    for (const rel of [...this.entries.keys()]) if (!now.has(rel)) this.apply({ type: 'DELETE', key: rel, revision: head, reconciled: true });
    this.advance(head);
    return head;
  }

  /** Applies one change; subscribers hear of it unless it is part of the first list (not a change). */
  private apply(event: WatchEvent, notify = true): void {
    const previous = this.entries.get(event.key);
    let info: Readonly<ServiceInfo> | undefined;
    if (event.type === 'PUT') {
      const decoded = decodeService(event.value ?? Buffer.alloc(0), event.key);
      if (decoded) {
        info = Object.freeze({ ...decoded, metadata: Object.freeze(decoded.metadata) });
        this.entries.set(event.key, { info, revision: event.revision });
      } else {
        this.client.logger.warn({ operation: 'registry.watch', key: event.key }, 'ignoring an entry that is not a service (bad JSON)');
        this.entries.delete(event.key);
      }
    } else {
      this.entries.delete(event.key);
      this.keyDeleted.get(event.key)?.(event.revision);
    }
    this.snapshot = undefined;
    if (notify) this.advance(event.revision);
    const service = info ?? previous?.info;
    if (!service || !notify) return; // a bad entry came or went: nothing a subscriber knew of
    const type = info ? 'PUT' : 'DELETE';
    const out: ServiceEvent = { type, service: service as ServiceInfo, revision: event.revision, timestamp: new Date(), reconciled: event.reconciled };
    for (const s of this.subscribers) s.event(out, event.key);
  }

  private end(error: CoordinationError | undefined, failed: (err: CoordinationError) => void): void {
    const reason = error ?? new CoordinationError(ErrorCode.Cancelled, 'discovery cache closed');
    failed(reason);
    for (const s of [...this.subscribers]) s.end(error);
    this.subscribers.clear();
    void this.close();
  }

  /** Stops the watch; subscribers end. Idempotent. */
  async close(): Promise<void> {
    if (this.stop.signal.aborted) return;
    this.stop.abort();
    this.loaded = false;
    this.onClosed();
    this.unown();
    for (const w of this.waiters.splice(0)) w.done();
    await this.stream?.close();
    for (const s of [...this.subscribers]) s.end();
    this.subscribers.clear();
  }
}
