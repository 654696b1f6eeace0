// A gap-free watch over one key or a prefix: events in revision order, never duplicated, none
// missed across reconnects, and an explicit, logged resync when etcd compacted what we missed.
//
// Built on the client's WatchHub (every watch of a coordinator shares one Watch stream), which
// resumes each watch after the last event it delivered. On compaction etcd cancels the watch
// (compact_revision set): we re-read the state at head, emit reconciling PUT/DELETE events
// against the keys we knew, log WARN, and watch again from that read + 1.
import { CoordinationError, ErrorCode } from '../errors.js';
import { classify, isCompacted, toCoordinationError } from '../client/errors.js';
import { errorText } from '../logger.js';
import { backoffDelays } from '../retry.js';
import { EventQueue } from './event-queue.js';
import { Ownership } from './ownership.js';
import { retryUntil } from './retry-until.js';
import type { EtcdClient } from '../client/etcd-client.js';
import type { Event, KeyValue, KvOf } from '../client/grpc/messages.js';
import type { PagedRange, PagedRangeRequest } from '../client/paged-range.js';
import { prefixEnd } from '../client/prefix-end.js';
import type { HubWatch } from '../client/watch-hub.js';

/** One change, keyed relative to the coordinator's namespace. */
export interface WatchEvent {
  type: 'PUT' | 'DELETE';
  key: string;
  /** The stored bytes (PUT only). */
  value?: Buffer;
  /** Mod revision of the change; for a reconciled DELETE, the revision of the re-read. */
  revision: bigint;
  /** True when synthesised by the resync after a compaction (the individual changes are lost). */
  reconciled: boolean;
}

export interface WatchStreamOptions {
  /** Key, or prefix with `prefix: true`, relative to the namespace. */
  key: string;
  prefix?: boolean;
  /** First revision to deliver. @default the revision after an initial read of the current state */
  fromRevision?: bigint;
  /**
   * Keys → mod revision that existed at `fromRevision - 1`, when the caller has just read them
   * (list-then-watch): saves the initial read. Needed to reconcile deletes after a compaction.
   */
  known?: Map<string, bigint>;
  signal?: AbortSignal;
  /** Names the watch in logs, e.g. `config.watch`. */
  operation: string;
}


/**
 * Opens a watch at once (the initial read starts now). Iterate it with `for await`; breaking the
 * loop, `close()`, the signal, or the coordinator's close end it and cancel its etcd watcher.
 */
export function openWatch(client: EtcdClient, options: WatchStreamOptions): WatchStream {
  return new WatchStream(client, options);
}

export class WatchStream implements AsyncIterable<WatchEvent>, AsyncDisposable {
  /** Resolves with the revision the stream is synced from (events start after it). */
  readonly ready: Promise<bigint>;
  private seen = 0n; // last revision delivered or confirmed by a progress notification
  private known = new Map<string, bigint>(); // keys that exist as of `seen` → their mod revision
  private readonly queue = new EventQueue<WatchEvent>({ onReturn: () => this.close() });
  private ended = false;
  private watcher: HubWatch | undefined;
  private disconnectedAt: number | undefined;
  private readonly stop = new AbortController();
  private readonly ownership: Ownership;

  constructor(
    private readonly client: EtcdClient,
    private readonly options: WatchStreamOptions,
  ) {
    this.ownership = new Ownership(client, this, options.signal);
    this.ready = this.ownership.start(() => this.start(), (err) => this.fail(err));
  }

  private get rangeKey(): { key: Buffer; range_end?: Buffer } {
    const key = Buffer.from(this.client.key(this.options.key));
    return this.options.prefix ? { key, range_end: prefixEnd(key) } : { key };
  }

  /** Learns which keys exist just before the first revision to deliver, then attaches the watcher. */
  private async start(): Promise<bigint> {
    const { fromRevision, known } = this.options;
    if (fromRevision !== undefined && known) {
      this.seen = fromRevision - 1n;
      this.known = new Map(known);
    } else if (fromRevision !== undefined && fromRevision <= 1n) {
      this.seen = 0n; // nothing existed before revision 1
    } else {
      const at = fromRevision === undefined ? undefined : fromRevision - 1n;
      try {
        const res = await this.persist('range', () => this.readAll({ keys_only: true, ...(at !== undefined && { revision: at }) }));
        this.seen = res.revision;
        for (const kv of res.kvs) this.known.set(this.client.relative(kv.key.toString()), kv.mod_revision);
      } catch (err) {
        if (!(isCompacted(err) && at !== undefined)) throw err;
        // fromRevision is already compacted: what existed then is unknowable; resync from head.
        this.seen = at;
        this.log('warn', 'watch start revision compacted; deletes before it cannot be replayed');
        await this.resync();
      }
    }
    this.attach();
    return this.seen;
  }

  /** Watches from `seen + 1` on the client's shared Watch stream. */
  private attach(): void {
    if (this.ended) return;
    const { key, range_end } = this.rangeKey;
    const watch = this.client.watches.watch(
      { key, ...(range_end && { range_end }), startRevision: this.seen + 1n },
      {
        onEvents: (events, revision) => this.onData(events, revision),
        onDisconnected: (err) => {
          if (this.disconnectedAt !== undefined) return;
          this.disconnectedAt = performance.now();
          this.log('warn', 'watch disconnected; resuming', { error: errorText(err), from: 'connected', to: 'reconnecting' });
        },
        onCreated: () => {
          if (this.disconnectedAt === undefined) return;
          const durationMs = Math.round(performance.now() - this.disconnectedAt);
          this.disconnectedAt = undefined;
          this.log('info', 'watch resumed', { from: 'reconnecting', to: 'connected', durationMs, revision: String(this.seen + 1n) });
        },
        // etcd cancelled the watch (compaction, permission): it is gone from the hub.
        onCancelled: (reason) => {
          if (this.watcher !== watch || this.ended) return;
          this.watcher = undefined;
          void this.afterCancel(reason);
        },
      },
    );
    this.watcher = watch;
  }

  /** A compacted resume revision is the one cause of a cancel we can repair. */
  private async afterCancel(reason: { compactRevision: bigint; message: string; error?: Error }): Promise<void> {
    try {
      // Refused for the user's role (or credentials): said at once, never retried.
      if (reason.error && classify(reason.error) === ErrorCode.Auth) throw reason.error;
      if (reason.compactRevision === 0n && !(await this.compactedAt(this.seen + 1n))) {
        throw new CoordinationError(ErrorCode.Unavailable, `watch cancelled by etcd: ${reason.message}`);
      }
      await this.resync();
      this.attach();
    } catch (err) {
      this.fail(err);
    }
  }

  /** True when etcd has compacted `revision` away (a count-only read at it is refused so). */
  private async compactedAt(revision: bigint): Promise<boolean> {
    try {
      await this.persist('probe', () => this.client.rpc.kv.range({ ...this.rangeKey, count_only: true, revision }, this.client.callOptions()));
      return false;
    } catch (err) {
      if (isCompacted(err)) return true;
      throw err;
    }
  }

  private onData(events: Event[], head: bigint): void {
    if (this.ended) return;
    // No events = progress notification, sent only to synced watchers: everything up to head is in.
    if (events.length === 0) {
      if (head > this.seen) this.seen = head;
      return;
    }
    // etcd never splits one revision across responses, so "<= seen" drops only what we delivered.
    const floor = this.seen;
    for (const ev of events) {
      const revision = ev.kv.mod_revision;
      if (revision <= floor) continue;
      const key = this.client.relative(ev.kv.key.toString());
      if (ev.type === 'PUT') {
        this.known.set(key, revision);
        this.queue.push({ type: 'PUT', key, value: ev.kv.value, revision, reconciled: false });
      } else {
        this.known.delete(key);
        this.queue.push({ type: 'DELETE', key, revision, reconciled: false });
      }
      if (revision > this.seen) this.seen = revision;
    }
  }

  /** After a compaction: re-read at head, emit the differences from what we knew, continue after the read. */
  private async resync(): Promise<void> {
    const res = await this.persist('resync', () => this.readAll({}));
    if (this.ended) return;
    const head = res.revision;
    const now = new Map<string, KeyValue>();
    for (const kv of res.kvs) now.set(this.client.relative(kv.key.toString()), kv);
    const puts = [...now]
      .filter(([key, kv]) => {
        const before = this.known.get(key);
        return before === undefined ? kv.mod_revision > this.seen : before !== kv.mod_revision;
      })
      .sort((a, b) => (a[1].mod_revision < b[1].mod_revision ? -1 : 1));
    const deletes = [...this.known.keys()].filter((key) => !now.has(key)).sort();
    this.log('warn', 'watch revision compacted; re-read the state and reconciled', {
      from: String(this.seen),
      to: String(head),
      puts: puts.length,
      deletes: deletes.length,
    });
    for (const [key, kv] of puts) this.queue.push({ type: 'PUT', key, value: kv.value, revision: kv.mod_revision, reconciled: true });
    for (const key of deletes) this.queue.push({ type: 'DELETE', key, revision: head, reconciled: true });
    this.known = new Map([...now].map(([key, kv]) => [key, kv.mod_revision]));
    this.seen = head;
  }

  /** The watched key or prefix, in pages at one revision; persist() retries and logs it (WARN, as the watch's own). */
  private readAll<const R extends Omit<PagedRangeRequest, 'key' | 'range_end'>>(request: R): Promise<PagedRange<KvOf<R & { key: Buffer }>>> {
    return this.client.pages({ ...this.rangeKey, ...request });
  }

  /** Runs one read until it succeeds: transient failures are retried with backoff until close. */
  private async persist<T>(what: string, fn: () => Promise<T>): Promise<T> {
    const result = await retryUntil(this.stop.signal, fn, {
      operation: `${this.options.operation} ${what} ${this.options.key}`,
      delays: backoffDelays({ ...this.client.retry, maxDelayMs: Math.max(this.client.retry.maxDelayMs, 1000) }),
      onRetry: (error, delayMs) => this.log('warn', 'watch read failed; retrying', { code: error.code, error: errorText(error), delayMs }),
    });
    if (result === undefined) throw new CoordinationError(ErrorCode.Cancelled, `${this.options.operation}: closed`);
    return result;
  }

  /** Ends the stream with an error: pending events are still read, then it is thrown. */
  private fail(err: unknown): void {
    if (this.ended) return;
    const failure = toCoordinationError(err, `${this.options.operation} ${this.options.key}`);
    this.queue.end(failure);
    this.log('error', 'watch failed', { code: failure.code, error: errorText(failure) });
    void this.close();
  }

  private log(level: 'info' | 'warn' | 'error', message: string, fields: Record<string, string | number> = {}): void {
    this.client.logger[level]({ operation: this.options.operation, key: this.options.key, ...fields }, message);
  }

  /** Ends the stream (pending events are dropped) and cancels the etcd watcher. Idempotent. */
  async close(): Promise<void> {
    if (this.ended) return;
    this.ended = true;
    this.stop.abort();
    this.ownership.release();
    this.queue.close();
    const watcher = this.watcher;
    this.watcher = undefined;
    watcher?.cancel();
  }

  [Symbol.asyncDispose](): Promise<void> {
    return this.close();
  }

  [Symbol.asyncIterator](): AsyncIterator<WatchEvent> {
    return this.queue[Symbol.asyncIterator]();
  }
}
