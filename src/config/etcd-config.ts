// ConfigCenter on etcd: one key per entry at `<namespace>/config/<key>`, JSON values, CAS on the
// key's mod revision, watches and live views on the gap-free watch stream, history from MVCC.
import type { KeyValue, RequestOp, TxnResponse } from '../client/grpc/messages.js';
import type { EtcdClient } from '../client/etcd-client.js';
import { prefixEnd } from '../client/prefix-end.js';
import { openWatch, type WatchEvent } from '../shared/watch-stream.js';
import { CoordinationError, ErrorCode, validationError } from '../errors.js';
import { isCompacted } from '../client/errors.js';
import type { SignalOptions } from '../shared/vocabulary.js';
import { checkKey, checkSchema, decodeValue, encodeValue, parseWith } from './codec.js';
import type {
  ConfigCenter,
  ConfigEntry,
  ConfigEvent,
  ConfigSchema,
  ConfigVersion,
  ConfigWatch,
  ConfigWatchOptions,
  ConfigWriteOptions,
  LiveConfig,
  LiveOptions,
} from './interface.js';
import { LiveConfigImpl } from './live.js';
import { SnapshotFile } from './snapshot.js';

const DEFAULT_HISTORY = 10;
const MAX_HISTORY = 1000;

/** The config center's own settings, handed over by coordinator.ts. */
export interface ConfigCenterSettings {
  /** File where live views persist their last good values (CoordinatorOptions.snapshotFile); none if undefined. */
  snapshotFile?: string | undefined;
}

export class EtcdConfigCenter implements ConfigCenter {
  private readonly snapshot: SnapshotFile | undefined;

  constructor(
    private readonly client: EtcdClient,
    settings: ConfigCenterSettings = {},
  ) {
    const file = settings.snapshotFile;
    this.snapshot = file === undefined ? undefined : new SnapshotFile(file, client.logger);
  }

  async get<T = unknown>(key: string, opts: SignalOptions = {}): Promise<T> {
    const kv = await this.read('config.get', checkKey(key), undefined, opts.signal);
    if (!kv) throw new CoordinationError(ErrorCode.NotFound, `config key ${key} not found`);
    return decodeValue(kv.value) as T;
  }

  async getObject<T>(key: string, schema: ConfigSchema<T>, opts: SignalOptions = {}): Promise<T> {
    checkKey(key);
    checkSchema(schema);
    return parseWith(schema, key, await this.get(key, opts));
  }

  set(key: string, value: unknown, opts: ConfigWriteOptions = {}): Promise<{ revision: bigint }> {
    try {
      checkKey(key);
      checkRevision(opts.ifRevision, 'ifRevision', 0n);
      return this.write('config.set', key, encodeValue(key, value), opts);
    } catch (err) {
      return Promise.reject(err);
    }
  }

  async delete(key: string, opts: ConfigWriteOptions = {}): Promise<boolean> {
    const k = this.full(checkKey(key));
    checkRevision(opts.ifRevision, 'ifRevision', 0n);
    if (opts.ifRevision === undefined) {
      const res = await this.client.call('config.delete', key, (o) => this.client.rpc.kv.deleteRange({ key: k }, o), {
        signal: opts.signal,
        idempotent: true,
      });
      return Number(res.deleted) > 0;
    }
    const res = await this.cas('config.delete', key, opts, { request_delete_range: { key: k } });
    return Number(res.responses[0]?.response_delete_range?.deleted ?? 0) > 0;
  }

  async list(prefix: string, opts: SignalOptions = {}): Promise<string[]> {
    const k = this.full(checkKey(prefix, 'prefix', true));
    const res = await this.client.rangeAll('config.list', prefix, { key: k, range_end: prefixEnd(k), keys_only: true }, { signal: opts.signal });
    return res.kvs.map((kv) => this.configKey(kv.key.toString()));
  }

  async entries(prefix: string, opts: SignalOptions = {}): Promise<{ entries: ConfigEntry[]; revision: bigint }> {
    const k = this.full(checkKey(prefix, 'prefix', true));
    const res = await this.client.rangeAll('config.entries', prefix, { key: k, range_end: prefixEnd(k) }, { signal: opts.signal });
    return {
      revision: res.revision,
      entries: res.kvs.map((kv) => ({
        key: this.configKey(kv.key.toString()),
        value: decodeValue(kv.value),
        revision: kv.mod_revision,
        version: Number(kv.version),
      })),
    };
  }

  watch(keyOrPrefix: string, opts: ConfigWatchOptions = {}): ConfigWatch {
    checkKey(keyOrPrefix, 'key', opts.prefix === true);
    checkRevision(opts.fromRevision, 'fromRevision', 1n);
    const stream = openWatch(this.client, {
      key: this.client.dirs.config + keyOrPrefix,
      prefix: opts.prefix === true,
      ...(opts.fromRevision !== undefined && { fromRevision: opts.fromRevision }),
      // A dependent signal: the stream listens on it, not on the caller's, which an app may share
      // across many watches (no MaxListenersExceededWarning on its signal).
      ...(opts.signal && { signal: AbortSignal.any([opts.signal]) }),
      operation: 'config.watch',
    });
    const toEvent = (ev: WatchEvent): ConfigEvent => ({
      type: ev.type,
      key: ev.key.slice(this.client.dirs.config.length),
      ...(ev.value !== undefined && { value: decodeValue(ev.value) }),
      revision: ev.revision,
      timestamp: new Date(),
      reconciled: ev.reconciled,
    });
    return {
      ready: stream.ready,
      close: () => stream.close(),
      [Symbol.asyncDispose]: () => stream.close(),
      async *[Symbol.asyncIterator]() {
        try {
          for await (const ev of stream) yield toEvent(ev);
        } finally {
          await stream.close();
        }
      },
    };
  }

  live<T>(key: string, opts: LiveOptions<T> = {}): Promise<LiveConfig<T>> {
    try {
      checkKey(key);
      return LiveConfigImpl.open(this.client, this.snapshot, key, opts);
    } catch (err) {
      return Promise.reject(err);
    }
  }

  /**
   * Walks back through MVCC: read the key, then read it again just before that version's mod
   * revision, until its first version, `limit`, or the compaction horizon (older versions are gone).
   */
  async history(key: string, opts: { limit?: number; signal?: AbortSignal } = {}): Promise<ConfigVersion[]> {
    checkKey(key);
    const limit = opts.limit ?? DEFAULT_HISTORY;
    if (!Number.isInteger(limit) || limit < 1 || limit > MAX_HISTORY) throw validationError(`history limit must be an integer in 1..${MAX_HISTORY}`);
    const versions: ConfigVersion[] = [];
    let at: bigint | undefined; // undefined = head
    while (versions.length < limit) {
      let kv: KeyValue | undefined;
      try {
        kv = await this.read('config.history', key, at, opts.signal);
      } catch (err) {
        if (at !== undefined && isCompacted(err)) break; // older versions are gone
        throw err;
      }
      if (!kv) break; // deleted before `at`: the current incarnation of the key starts here
      versions.push({ value: decodeValue(kv.value), revision: kv.mod_revision, version: Number(kv.version) });
      if (kv.version === '1') break;
      at = kv.mod_revision - 1n;
    }
    return versions;
  }

  async rollback(key: string, toRevision: bigint, opts: ConfigWriteOptions = {}): Promise<{ revision: bigint }> {
    checkKey(key);
    checkRevision(toRevision, 'toRevision', 1n);
    checkRevision(opts.ifRevision, 'ifRevision', 0n);
    const kv = await this.read('config.rollback', key, toRevision, opts.signal);
    if (!kv) throw new CoordinationError(ErrorCode.NotFound, `config key ${key} did not exist at revision ${toRevision}`);
    // The stored bytes go back as they were (a raw non-JSON value stays raw).
    return this.write('config.rollback', key, kv.value, opts);
  }

  /** One key at head or at an older revision. */
  private async read(operation: string, key: string, revision: bigint | undefined, signal?: AbortSignal): Promise<KeyValue | undefined> {
    const res = await this.client.call(
      operation,
      key,
      (o) => this.client.rpc.kv.range({ key: this.full(key), ...(revision !== undefined && { revision }) }, o),
      { signal, idempotent: true, level: operation === 'config.history' ? 'debug' : 'info' },
    );
    return res.kvs[0];
  }

  private async write(operation: string, key: string, raw: Buffer, opts: ConfigWriteOptions): Promise<{ revision: bigint }> {
    const k = this.full(key);
    if (opts.ifRevision === undefined) {
      // Putting the same bytes again is harmless, so an unknown outcome may be retried.
      const res = await this.client.call(operation, key, (o) => this.client.rpc.kv.put({ key: k, value: raw }, o), {
        signal: opts.signal,
        idempotent: true,
      });
      return { revision: res.header.revision };
    }
    const res = await this.cas(operation, key, opts, { request_put: { key: k, value: raw } });
    return { revision: res.header.revision };
  }

  /** One txn: `op` if the key's mod revision is still `ifRevision` (0 = absent), else CONFLICT naming the current one. */
  private async cas(operation: string, key: string, opts: ConfigWriteOptions, op: RequestOp): Promise<TxnResponse> {
    const k = this.full(key);
    const res = await this.client.call(
      operation,
      key,
      (o) =>
        this.client.rpc.kv.txn(
          {
            compare: [{ key: k, target: 'MOD', result: 'EQUAL', mod_revision: opts.ifRevision }],
            success: [op],
            failure: [{ request_range: { key: k, keys_only: true } }],
          },
          o,
        ),
      // Not retried: after an unknown outcome a resend could report our own write as a conflict.
      { signal: opts.signal },
    );
    if (!res.succeeded) {
      const now = res.responses[0]?.response_range!.kvs[0]?.mod_revision ?? '0 (absent)';
      throw new CoordinationError(ErrorCode.Conflict, `config key ${key} moved: expected revision ${opts.ifRevision}, now ${now}`);
    }
    return res;
  }

  private full(key: string): Buffer {
    return Buffer.from(this.client.key(this.client.dirs.config + key));
  }

  private configKey(full: string): string {
    return this.client.relative(full).slice(this.client.dirs.config.length);
  }
}

function checkRevision(value: bigint | undefined, name: string, min: bigint): void {
  if (value === undefined) return;
  if (typeof value !== 'bigint' || value < min) throw validationError(`${name} must be a bigint >= ${min}`);
}
