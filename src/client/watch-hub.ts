// Every watch of a coordinator on one etcd Watch stream (as Go's clientv3 watcher does), with
// watch IDs we choose (etcd ≥ 3.4 accepts them), so each answer finds its watch by ID, whatever
// order etcd creates them in. What the stream promises each watch:
//  - resume without a gap: after a broken stream every watch is created again from the revision
//    after the last event it was given (or the last progress etcd confirmed), never from the
//    header revision of some response (the store's head, which may be ahead of what was sent);
//  - compaction reported: etcd cancels a watch whose start revision is compacted; the watch hears
//    `onCancelled` with the compact revision, and it is gone;
//  - a stream that stops answering is replaced: a create not confirmed within the timeout means the
//    stream sits on a dead or hung member, so it is reset and reopened on the next member.
// The stream is closed a moment after the last watch ends (no idle stream, no keep-alive pings).
import { watchCancelError } from './errors.js';
import { errorText, type Logger } from '../logger.js';
import { backoffDelays, type RetryConfig } from '../retry.js';
import { WATCH_CREATE, describeRefused } from './key-needs.js';
import { isStaleToken, type EtcdRpc, type RpcStream } from './grpc/etcd-rpc.js';
import type { Event, WatchCreateRequest, WatchRequest, WatchResponse } from './grpc/messages.js';
import type { GrpcError } from './grpc/status.js';

export interface WatchSpec {
  /** Full etcd key (or range start) and optional range end. */
  key: Buffer;
  range_end?: Buffer;
  /** First revision to deliver; undefined = from now (the watch starts synced). */
  startRevision?: bigint;
  /** Only these event types. @default both */
  only?: 'put' | 'delete';
  /** Ask etcd for progress notifications (empty responses with the store's revision). */
  progressNotify?: boolean;
}

export interface WatchHandlers {
  /** The watch is live on etcd; `revision` is the store's head then. Again after each resume. */
  onCreated?(revision: bigint): void;
  /** Events in revision order; empty for a progress notification (`revision` = store head). */
  onEvents(events: Event[], revision: bigint): void;
  /** The stream broke; the watch will resume by itself. */
  onDisconnected?(error: unknown): void;
  /**
   * etcd cancelled the watch (compactRevision > 0: its start revision was compacted); it is gone.
   * `error`: why etcd refused it, as a call's error would say (a permission denial is AUTH_ERROR
   * naming the key range), when etcd said more than "compacted".
   */
  onCancelled(reason: { compactRevision: bigint; message: string; error?: Error }): void;
}

export interface HubWatch {
  /** Stops the watch (the cancel is sent if etcd had created it). Idempotent. */
  cancel(): void;
}

interface Entry {
  id: number;
  spec: WatchSpec;
  handlers: WatchHandlers;
  /** Revision to resume from; undefined until known for a watch started "from now". */
  next: bigint | undefined;
  created: boolean;
  createTimer: NodeJS.Timeout | undefined;
}

const LINGER_MS = 2000;
/** Re-opening a broken stream: 100 ms doubling to 2 s, with retry.ts's jitter (many clients, one restarted member). */
const REOPEN_BACKOFF: RetryConfig = { maxAttempts: 1, initialDelayMs: 100, maxDelayMs: 2000, multiplier: 2, jitter: 0.2 };

/** What the hub needs of its client (the EtcdClient that owns it): the connection, the deadline, the log. */
export interface WatchHubHost {
  readonly rpc: EtcdRpc;
  readonly timeout: number;
  readonly logger: Logger;
}

export class WatchHub {
  private readonly entries = new Map<number, Entry>();
  private stream: RpcStream<WatchRequest> | undefined;
  private opening: object | undefined;
  private nextId = 1;
  /** IDs of creates sent on the current stream and not yet answered, in send order. */
  private unanswered: number[] = [];
  private reopenDelays = backoffDelays(REOPEN_BACKOFF);
  private reopenTimer: NodeJS.Timeout | undefined;
  private lingerTimer: NodeJS.Timeout | undefined;
  private closed = false;

  constructor(private readonly client: WatchHubHost) {}

  /** Watches currently registered (for tests). */
  get size(): number {
    return this.entries.size;
  }

  watch(spec: WatchSpec, handlers: WatchHandlers): HubWatch {
    const entry: Entry = { id: this.nextId++, spec, handlers, next: spec.startRevision, created: false, createTimer: undefined };
    if (!this.closed) {
      this.entries.set(entry.id, entry);
      clearTimeout(this.lingerTimer);
      this.lingerTimer = undefined;
      if (this.stream) this.create(entry);
      else this.open();
    }
    return { cancel: () => this.cancel(entry) };
  }

  close(): void {
    this.closed = true;
    clearTimeout(this.reopenTimer);
    clearTimeout(this.lingerTimer);
    for (const e of this.entries.values()) clearTimeout(e.createTimer);
    this.entries.clear();
    this.drop();
  }

  private cancel(entry: Entry): void {
    if (this.entries.get(entry.id) !== entry) return;
    this.entries.delete(entry.id);
    clearTimeout(entry.createTimer);
    if (entry.created) this.stream?.write({ cancel_request: { watch_id: entry.id } });
    if (this.entries.size === 0 && !this.closed) {
      clearTimeout(this.lingerTimer);
      this.lingerTimer = setTimeout(() => {
        this.lingerTimer = undefined;
        if (this.entries.size === 0) this.drop();
      }, LINGER_MS);
      this.lingerTimer.unref();
    }
  }

  private open(): void {
    if (this.opening || this.stream || this.closed || this.reopenTimer) return;
    const token = {};
    this.opening = token;
    this.unanswered = [];
    let current: RpcStream<WatchRequest> | undefined;
    let ended = false;
    const onEnd = (err: GrpcError | undefined): void => {
      ended = true;
      const why = err ?? new Error('watch stream ended');
      if (current !== undefined && this.stream === current) {
        this.stream = undefined;
        this.broken(why);
      } else if (this.opening === token) {
        this.opening = undefined;
        this.broken(why);
      }
    };
    this.client.rpc.watch({ onMessage: (res) => this.onResponse(res), onEnd }, this.client.timeout).then(
      (s) => {
        current = s;
        if (this.opening !== token) {
          s.cancel();
          return;
        }
        this.opening = undefined;
        if (ended) return;
        this.stream = s;
        for (const e of this.entries.values()) this.create(e);
      },
      (err: unknown) => {
        if (this.opening !== token) return;
        this.opening = undefined;
        this.broken(err);
      },
    );
  }

  private create(entry: Entry): void {
    const req: WatchCreateRequest = { key: entry.spec.key, watch_id: entry.id };
    if (entry.spec.range_end) req.range_end = entry.spec.range_end;
    if (entry.next !== undefined) req.start_revision = entry.next;
    if (entry.spec.only === 'delete') req.filters = ['NOPUT'];
    else if (entry.spec.only === 'put') req.filters = ['NODELETE'];
    if (entry.spec.progressNotify) req.progress_notify = true;
    entry.created = false;
    clearTimeout(entry.createTimer);
    // No answer to a create within the timeout: the stream is stuck on a dead or hung member.
    entry.createTimer = setTimeout(() => {
      if (this.entries.get(entry.id) !== entry || entry.created) return;
      this.client.logger.warn({ operation: 'watch', key: entry.spec.key.toString(), durationMs: this.client.timeout }, 'watch create not confirmed; reopening the stream');
      this.reset(new Error(`watch create not confirmed within ${this.client.timeout} ms`));
    }, this.client.timeout);
    entry.createTimer.unref();
    this.unanswered.push(entry.id);
    this.stream!.write({ create_request: req });
  }

  private onResponse(res: WatchResponse): void {
    let id = Number(res.watch_id);
    // etcd answers creates in order; a create it refuses (permission denied, invalid token, a
    // compacted or negative start revision: 3.4.22/3.5.6+) comes back created+canceled with watch
    // ID -1, not ours, so the oldest unanswered create is the one it refers to.
    if (res.created) {
      if (id === -1) id = this.unanswered.shift() ?? -1;
      else this.unanswered = this.unanswered.filter((x) => x !== id);
    }
    const entry = this.entries.get(id);
    if (!entry) {
      // A watch we cancelled before etcd created it: cancel it now. Anything else is late news.
      if (res.created && !res.canceled) this.stream?.write({ cancel_request: { watch_id: id } });
      return;
    }
    const revision = res.header.revision;
    if (res.canceled && isStaleToken(res.cancel_reason)) {
      // The stream's token expired (or auth changed): authenticate again and re-create every watch on a new stream.
      this.client.rpc.forgetToken();
      this.reset(new Error(res.cancel_reason), false);
      return;
    }
    if (res.canceled) {
      // Only this watch ends: etcd refused (or compacted) it alone, the stream and the others go on.
      this.entries.delete(id);
      clearTimeout(entry.createTimer);
      const compactRevision = res.compact_revision;
      const message = res.cancel_reason || 'watch cancelled by etcd';
      if (compactRevision > 0n || !res.cancel_reason) entry.handlers.onCancelled({ compactRevision, message });
      else entry.handlers.onCancelled({ compactRevision, message, error: watchCancelError(res.cancel_reason, describeRefused(WATCH_CREATE, entry.spec)) });
      return;
    }
    if (res.created) {
      entry.created = true;
      clearTimeout(entry.createTimer);
      entry.createTimer = undefined;
      this.reopenDelays = backoffDelays(REOPEN_BACKOFF);
      // A watch "from now" is synced: everything after the head at creation reaches it.
      if (entry.next === undefined) entry.next = revision + 1n;
      entry.handlers.onCreated?.(revision);
      if (res.events.length === 0) return;
    }
    if (res.events.length > 0) {
      const last = res.events[res.events.length - 1]!.kv.mod_revision;
      if (entry.next === undefined || last + 1n > entry.next) entry.next = last + 1n;
    } else if (entry.next === undefined || revision + 1n > entry.next) {
      // Progress notification: etcd has sent everything up to its head.
      entry.next = revision + 1n;
    }
    entry.handlers.onEvents(res.events, revision);
  }

  /** The stream is gone: tell every watch, and reopen after a backoff (on the next member). */
  private broken(err: unknown): void {
    this.stream = undefined;
    this.unanswered = [];
    for (const e of this.entries.values()) {
      clearTimeout(e.createTimer);
      e.createTimer = undefined;
      e.created = false;
    }
    if (this.closed || this.entries.size === 0) return;
    const delay = this.reopenDelays.next().value;
    this.client.logger.debug({ operation: 'watch', error: errorText(err), delayMs: delay }, 'watch stream broken; reopening');
    for (const e of [...this.entries.values()]) e.handlers.onDisconnected?.(err);
    this.reopenTimer = setTimeout(() => {
      this.reopenTimer = undefined;
      if (this.entries.size > 0) this.open();
    }, delay);
  }

  private reset(err: Error, rotate = true): void {
    const stream = this.stream;
    if (!stream) return;
    if (rotate) this.client.rpc.channel.rotate(stream.endpoint);
    this.stream = undefined;
    stream.cancel();
    this.broken(err);
  }

  private drop(): void {
    this.opening = undefined;
    const stream = this.stream;
    this.stream = undefined;
    stream?.cancel();
  }
}
