// A hot-reloaded config value: read once, then follow the key with a gap-free watch from the
// revision just read + 1. Only values that pass the schema are taken (go-zero overwrites its
// value with whatever arrives; we keep the last good one and say so). With a snapshot file, a
// view that cannot reach etcd starts from the snapshot, marked stale, and catches up in the background.
import { EventEmitter } from 'node:events';
import type { KeyValue } from '../client/grpc/messages.js';
import type { EtcdClient } from '../client/etcd-client.js';
import { openWatch, type WatchStream } from '../shared/watch-stream.js';
import { CoordinationError, ErrorCode, isTransient } from '../errors.js';
import { toCoordinationError } from '../client/errors.js';
import { errorText } from '../logger.js';
import { backoffDelays } from '../retry.js';
import { retryUntil } from '../shared/retry-until.js';
import { checkSchema, decodeValue, parseWith } from './codec.js';
import type { ConfigSchema, LiveConfig, LiveOptions } from './interface.js';
import type { SnapshotFile } from './snapshot.js';

export class LiveConfigImpl<T> extends EventEmitter implements LiveConfig<T> {
  private current: T;
  private rev: bigint;
  private isStale: boolean;
  private stream: WatchStream | undefined;
  private readonly stop = new AbortController();
  private readonly lossController = new AbortController();
  private readonly unown: () => void;
  private closing: Promise<void> | undefined;

  private constructor(
    private readonly client: EtcdClient,
    private readonly snapshot: SnapshotFile | undefined,
    readonly key: string,
    private readonly options: LiveOptions<T>,
    initial: { value: T; revision: bigint; stale: boolean },
  ) {
    super();
    this.current = initial.value;
    this.rev = initial.revision;
    this.isStale = initial.stale;
    this.unown = client.own(this);
    // The one signal rule: it cancels the open, and once open it closes the view (as a watch's ends it).
    options.signal?.addEventListener('abort', this.onSignal, { once: true });
  }

  private readonly onSignal = (): void => void this.close();

  get value(): T {
    return this.current;
  }
  get signal(): AbortSignal {
    return this.lossController.signal;
  }
  get revision(): bigint {
    return this.rev;
  }
  get stale(): boolean {
    return this.isStale;
  }

  /** Reads the key (or, if etcd is unreachable, the snapshot) and starts following it. */
  static async open<T>(client: EtcdClient, snapshot: SnapshotFile | undefined, key: string, options: LiveOptions<T>): Promise<LiveConfig<T>> {
    if (options.schema !== undefined) checkSchema(options.schema);
    const fullKey = Buffer.from(client.key(client.dirs.config + key));
    let res;
    try {
      res = await client.call('config.live', key, (o) => client.rpc.kv.range({ key: fullKey }, o), {
        signal: options.signal,
        idempotent: true,
      });
    } catch (err) {
      // Start when etcd is down: only with a snapshot file, only for network trouble.
      if (!snapshot || !isTransient(err)) throw err;
      const saved = await snapshot.get(fullKey.toString());
      const parsed = saved ? tryParse(options.schema, key, decodeValue(saved.raw)) : undefined;
      const initial = parsed && !parsed.error ? { value: parsed.value, revision: saved!.revision } : undefined;
      if (initial === undefined && options.default === undefined) throw err;
      const view = new LiveConfigImpl<T>(client, snapshot, key, options, {
        value: initial ? initial.value : (options.default as T),
        revision: initial ? initial.revision : 0n,
        stale: true,
      });
      client.logger.warn({ operation: 'config.live', key, code: (err as CoordinationError).code, from: 'etcd', to: 'snapshot' }, 'etcd unreachable; serving the snapshot');
      void view.recover();
      return view;
    }
    const kv = res.kvs[0];
    const revision = res.header.revision;
    let value: T;
    if (kv) {
      const parsed = tryParse(options.schema, key, decodeValue(kv.value));
      if (parsed.error) throw parsed.error;
      value = parsed.value;
      snapshot?.put(fullKey.toString(), kv.value, kv.mod_revision);
    } else if (options.default !== undefined) value = options.default;
    else throw new CoordinationError(ErrorCode.NotFound, `config key ${key} not found (and no default given)`);
    const view = new LiveConfigImpl<T>(client, snapshot, key, options, { value, revision: kv ? kv.mod_revision : 0n, stale: false });
    view.follow(revision, kv);
    return view;
  }

  /** Watches from `revision + 1`, knowing whether the key existed at `revision`. */
  private follow(revision: bigint, kv: KeyValue | undefined): void {
    if (this.stop.signal.aborted) return;
    const relative = this.client.dirs.config + this.key;
    const known = new Map(kv ? [[relative, kv.mod_revision]] : []);
    const stream = openWatch(this.client, { key: relative, fromRevision: revision + 1n, known, operation: 'config.live' });
    this.stream = stream;
    void (async () => {
      try {
        for await (const ev of stream) {
          if (ev.type === 'PUT') this.accept(ev.value!, ev.revision);
          else this.deleted(ev.revision);
        }
      } catch (err) {
        const error = toCoordinationError(err, `config.live ${this.key}`);
        this.client.logger.error({ operation: 'config.live', key: this.key, code: error.code, error: errorText(error) }, 'live view stopped following');
        this.lost(error);
      }
    })();
  }

  /** After a stale start: read etcd until it answers, adopt its value, then follow. */
  private async recover(): Promise<void> {
    const fullKey = Buffer.from(this.client.key(this.client.dirs.config + this.key));
    const catchUp = async (): Promise<void> => {
      const res = await this.client.rpc.kv.range({ key: fullKey }, this.client.callOptions());
      const kv = res.kvs[0];
      this.isStale = false;
      this.client.logger.info({ operation: 'config.live', key: this.key, from: 'snapshot', to: 'etcd' }, 'live view caught up with etcd');
      if (kv && kv.mod_revision !== this.rev) this.accept(kv.value, kv.mod_revision);
      else if (!kv && this.rev !== 0n) this.deleted(res.header.revision); // the snapshot's key is gone
      this.follow(res.header.revision, kv);
    };
    try {
      // Network trouble is retried quietly until close(); the view stays stale meanwhile.
      await retryUntil(this.stop.signal, catchUp, {
        operation: `config.live ${this.key}`,
        delays: backoffDelays({ ...this.client.retry, maxDelayMs: Math.max(this.client.retry.maxDelayMs, 1000) }),
      });
    } catch (err) {
      const error = toCoordinationError(err, `config.live ${this.key}`);
      this.client.logger.error({ operation: 'config.live', key: this.key, code: error.code, error: errorText(error) }, 'live view cannot reach etcd; stays stale');
      this.lost(error);
    }
  }

  /** The view no longer follows etcd: tell `signal` (not after close(), which is not a loss). */
  private lost(error: CoordinationError): void {
    if (!this.stop.signal.aborted && !this.lossController.signal.aborted) this.lossController.abort(error);
  }

  /** A new stored value: take it if it passes the schema, else keep the last good one. */
  private accept(raw: Buffer, revision: bigint): void {
    const parsed = tryParse(this.options.schema, this.key, decodeValue(raw));
    if (parsed.error) return this.reject(parsed.error, revision);
    this.snapshot?.put(this.client.key(this.client.dirs.config + this.key), raw, revision);
    this.change(parsed.value, revision);
  }

  private deleted(revision: bigint): void {
    if (this.options.default !== undefined) return this.change(this.options.default, 0n);
    this.reject(new CoordinationError(ErrorCode.NotFound, `config key ${this.key} was deleted at revision ${revision}; keeping the last value`), revision);
  }

  private change(value: T, revision: bigint): void {
    const previous = this.current;
    this.current = value;
    this.rev = revision;
    this.isStale = false;
    this.fire('change', value, previous);
  }

  private reject(error: CoordinationError, revision: bigint): void {
    this.client.logger.warn({ operation: 'config.live', key: this.key, revision: String(revision), code: error.code }, 'live view kept its last good value');
    this.fire('invalid', error);
  }

  /** Calls listeners one by one; an exception in one is logged and does not stop the view. */
  private fire(event: 'change' | 'invalid', ...args: unknown[]): void {
    for (const fn of this.listeners(event) as Array<(...a: unknown[]) => void>) {
      try {
        fn(...args);
      } catch (err) {
        this.client.logger.error({ operation: 'config.live', key: this.key, error: errorText(err) }, `'${event}' listener threw`);
      }
    }
  }

  close(): Promise<void> {
    this.closing ??= (async () => {
      this.stop.abort();
      this.unown();
      this.options.signal?.removeEventListener('abort', this.onSignal);
      await this.stream?.close();
      await this.snapshot?.flush();
    })();
    return this.closing;
  }

  [Symbol.asyncDispose](): Promise<void> {
    return this.close();
  }
}

function tryParse<T>(schema: ConfigSchema<T> | undefined, key: string, value: unknown): { value: T; error?: undefined } | { error: CoordinationError; value?: undefined } {
  if (!schema) return { value: value as T };
  try {
    return { value: parseWith(schema, key, value) };
  } catch (err) {
    return { error: toCoordinationError(err, `config.live ${key}`) };
  }
}
