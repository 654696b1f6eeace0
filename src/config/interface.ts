// The config center's public surface (seed §2.2): typed reads, CAS writes, gap-free watches,
// hot-reload views, MVCC history. Keys live at `<namespace>/config/<key>`, values as JSON.
import type { EventType, SignalOptions, Watch } from '../shared/vocabulary.js';

/**
 * A Standard Schema v1 validator (https://standardschema.dev): zod 4 (classic or mini), valibot,
 * arktype… or any object with `'~standard': { version: 1, vendor, validate }`. Declared here so that
 * no public type needs a particular validation library.
 */
export interface StandardSchemaV1<Input = unknown, Output = Input> {
  readonly '~standard': {
    readonly version: 1;
    readonly vendor: string;
    readonly validate: (value: unknown) => StandardSchemaResult<Output> | Promise<StandardSchemaResult<Output>>;
    readonly types?: { readonly input: Input; readonly output: Output } | undefined;
  };
}

/** What a Standard Schema's `validate` returns: the output value, or issues. */
export type StandardSchemaResult<Output> =
  | { readonly value: Output; readonly issues?: undefined }
  | { readonly issues: ReadonlyArray<{ readonly message: string; readonly path?: ReadonlyArray<PropertyKey | { readonly key: PropertyKey }> | undefined }> };

/**
 * The schema a config value is checked against: any Standard Schema whose output is `T`.
 * Validation must be synchronous (a validator that returns a Promise is rejected with VALIDATION_ERROR).
 */
export type ConfigSchema<T> = StandardSchemaV1<unknown, T>;

export interface ConfigWriteOptions extends SignalOptions {
  /**
   * Write only if the key's mod revision is still this one (`0n` = only if the key does not
   * exist); otherwise CONFLICT. Take it from `ConfigEvent.revision`, `history()` or `set()`.
   */
  ifRevision?: bigint;
}

/** Options of `watch()`; aborting `signal` ends the iteration without an error, as close() does. */
export interface ConfigWatchOptions extends SignalOptions {
  /** Watch every key starting with `keyOrPrefix`. @default false */
  prefix?: boolean;
  /** First revision to deliver (replay from history). @default the revision after the watch starts */
  fromRevision?: bigint;
}

/**
 * Options of `live()`. Its `signal`, like every watch's, bounds the view's life: aborting it cancels
 * the initial read (CANCELLED / TIMEOUT_ERROR), and once the view is open, closes it.
 */
export interface LiveOptions<T> extends SignalOptions {
  /** Values that fail it are not taken: the view keeps its last good value and emits 'invalid'. */
  schema?: ConfigSchema<T>;
  /** Used while the key is absent (and after it is deleted). Without it, live() of an absent key is NOT_FOUND. */
  default?: T;
}

export interface ConfigEvent {
  type: EventType;
  /** The config key (without namespace and `config/`). */
  key: string;
  /** Decoded value (PUT only): JSON, or the raw text if it is not JSON. */
  value?: unknown;
  /** etcd mod revision of the change; strictly increasing between events of different changes. */
  revision: bigint;
  /** When this process received the event (etcd keeps no timestamps). */
  timestamp: Date;
  /**
   * True when etcd had compacted the history the watch needed: the event was derived by re-reading
   * the current state (a DELETE then carries the revision of that read). Logged at WARN.
   */
  reconciled: boolean;
}

/** An async-iterable watch of config changes; also closable directly. */
export type ConfigWatch = Watch<ConfigEvent>;

/** One key as `entries()` reads it. */
export interface ConfigEntry {
  /** The config key (without namespace and `config/`). */
  key: string;
  /** Decoded value: JSON, or the raw text if it is not JSON. */
  value: unknown;
  /** The key's mod revision: what `ifRevision` compares against. */
  revision: bigint;
  /** etcd's per-key version counter (1 = the write that created the key). */
  version: number;
}

export interface ConfigVersion {
  /** Decoded value of this version. */
  value: unknown;
  /** The mod revision that wrote it (pass to `rollback`). */
  revision: bigint;
  /** etcd's per-key version counter (1 = the write that created the key). */
  version: number;
}

/**
 * A hot-reloaded value. `value` always holds the latest value that passed the schema.
 * - `'change'` fires after `value` changed, with the new and previous value (not for the initial value).
 * - `'invalid'` fires when a pushed value fails the schema, or the key is deleted and there is no
 *   `default`; `value` stays at the last good one. Listeners' exceptions are caught and logged.
 */
export interface LiveConfig<T> extends AsyncDisposable {
  readonly key: string;
  readonly value: T;
  /** Mod revision of `value` (0n for a default). */
  readonly revision: bigint;
  /** True while `value` comes from the snapshot file (or default) because etcd was unreachable. */
  readonly stale: boolean;
  /**
   * Aborts when the view stops following etcd for good (its watch failed with a non-transient
   * error, or etcd refused the recovery read): `value` then stays as it is. The reason is a
   * CoordinationError. It does not abort on close().
   */
  readonly signal: AbortSignal;
  on(event: 'change', fn: (value: T, previous: T) => void): this;
  on(event: 'invalid', fn: (err: Error) => void): this;
  off(event: 'change', fn: (value: T, previous: T) => void): this;
  off(event: 'invalid', fn: (err: Error) => void): this;
  /** Stops watching. Idempotent. */
  close(): Promise<void>;
}

export interface ConfigCenter {
  /** The decoded value; NOT_FOUND if absent. */
  get<T = unknown>(key: string, opts?: SignalOptions): Promise<T>;
  /** The value checked against `schema`; VALIDATION_ERROR on mismatch, NOT_FOUND if absent. */
  getObject<T>(key: string, schema: ConfigSchema<T>, opts?: SignalOptions): Promise<T>;
  /** Writes `value` as JSON; resolves with the new mod revision. */
  set(key: string, value: unknown, opts?: ConfigWriteOptions): Promise<{ revision: bigint }>;
  /** Deletes the key; false if it was absent. */
  delete(key: string, opts?: ConfigWriteOptions): Promise<boolean>;
  /** Config keys starting with `prefix` (plain string prefix; '' = all), in byte order. */
  list(prefix: string, opts?: SignalOptions): Promise<string[]>;
  /**
   * Keys starting with `prefix` with their values and mod revisions, in byte order, all read at one
   * revision (returned as `revision`): a consistent snapshot for tools that diff, export or CAS.
   */
  entries(prefix: string, opts?: SignalOptions): Promise<{ entries: ConfigEntry[]; revision: bigint }>;
  /** Gap-free changes of a key or prefix: revision order, no duplicates, none missed across reconnects. */
  watch(keyOrPrefix: string, opts?: ConfigWatchOptions): ConfigWatch;
  /** A hot-reloaded view of one key (see LiveConfig). */
  live<T>(key: string, opts?: LiveOptions<T>): Promise<LiveConfig<T>>;
  /** Earlier versions of the key from etcd's MVCC history, newest first (back to the last compaction). */
  history(key: string, opts?: { limit?: number } & SignalOptions): Promise<ConfigVersion[]>;
  /** Writes the value the key had at `toRevision` back as a new revision. NOT_FOUND if compacted or absent then. */
  rollback(key: string, toRevision: bigint, opts?: ConfigWriteOptions): Promise<{ revision: bigint }>;
}
