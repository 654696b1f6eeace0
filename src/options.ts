// Options for createCoordinator(): one interface, every field documented with its default,
// defaults in one frozen object, validated once (bad options → VALIDATION_ERROR, nothing connects).
import { z } from 'zod';
import { validationError } from './errors.js';
import type { ClientConfig, TlsOptions } from './client/config.js';
import type { LockSettings } from './lock/interface.js';
import { resolveLayout, type KeyPrefixes } from './layout.js';
import type { Logger, LogLevel } from './logger.js';
import { DEFAULT_RETRY, type RetryConfig } from './retry.js';

export type { SignalOptions } from './shared/vocabulary.js';
export type { LockSettings, TlsOptions };

export interface CoordinatorOptions {
  /** etcd client URLs, e.g. `['http://10.0.0.1:2379']`; `host:port` means `http://host:port`. */
  endpoints: string[];
  /** etcd user (auth-enabled clusters). */
  username?: string;
  /** etcd password. Never logged. */
  password?: string;
  /** Per-request deadline in ms; also bounds the connect check in createCoordinator(). @default 5000 */
  timeoutMs?: number;
  /**
   * Root under which every key lives, joined like Go's `path.Join("/", namespace, prefix, …)`:
   * `gochat` → `/gochat/locks/…`. With none, keys are gochat's Go defaults (`/locks/…`). @default '' (none)
   */
  namespace?: string;
  /**
   * Each component's key prefix under the namespace, as passed to gochat's Go constructors
   * (`NewEtcdDistributedLock(c, "/locks")`). @default DEFAULT_PREFIXES
   */
  prefixes?: KeyPrefixes;
  /** Retry policy for transient failures of idempotent operations. @default DEFAULT_RETRY */
  retry?: Partial<RetryConfig>;
  /** A logger with pino's `(fields, message)` methods. @default pino JSON on stdout */
  logger?: Logger;
  /** Level of the default pino logger (ignored with `logger`). $COORD_LOG_LEVEL, else 'warn' (quiet like a library; 'info' logs every completed operation) */
  logLevel?: LogLevel;
  /** TLS / mTLS towards etcd. @default none (plain http) */
  tls?: TlsOptions;
  /**
   * File where live config views persist their last good values, so that a service can start
   * while etcd is down (config center). Written atomically with mode 0600. Setting it also lets
   * createCoordinator() resolve when etcd is unreachable (after `timeoutMs`, logged at WARN) instead
   * of rejecting with CONNECTION_ERROR. @default off
   */
  snapshotFile?: string;
  /** Distributed lock settings. */
  lock?: LockSettings;
}

/** Resolved options: what the client needs (ClientConfig) plus each component's own settings. */
export interface ResolvedOptions extends ClientConfig {
  snapshotFile?: string;
  lock: Required<LockSettings>;
}

export const DEFAULT_OPTIONS = Object.freeze({
  timeoutMs: 5000,
  namespace: '',
  retry: DEFAULT_RETRY,
  lock: Object.freeze({ holdTryAcquireKey: true }),
});

const pem = z.union([z.string().min(1), z.instanceof(Buffer)]);
const loggerShape = z.custom<Logger>(
  (l) =>
    typeof l === 'object' &&
    l !== null &&
    ['debug', 'info', 'warn', 'error'].every((m) => typeof (l as Record<string, unknown>)[m] === 'function'),
  { message: 'must have debug/info/warn/error methods' },
);

const optionsSchema = z
  .object({
    endpoints: z
      .array(
        z
          .string()
          .refine((e) => !/^(https?:\/\/)?[^\s/]+:\d{1,5}\/.*$/.test(e), 'must be host:port or http(s)://host:port with no path (not even a trailing "/")')
          .regex(/^(https?:\/\/)?[^\s/]+:\d{1,5}$/, 'must look like http://host:port'),
      )
      .min(1, 'at least one endpoint is required'),
    username: z.string().min(1).optional(),
    password: z.string().optional(),
    timeoutMs: z.number().int().positive().max(3_600_000).optional(),
    namespace: z
      .string()
      .refine((s) => !s.includes('\0'), 'must not contain NUL')
      .optional(),
    prefixes: z
      .object({
        lock: z.string().optional(),
        registry: z.string().optional(),
        config: z.string().optional(),
        ids: z.string().optional(),
        election: z.string().optional(),
      })
      .strict()
      .refine((p) => Object.values(p).every((v) => v === undefined || !v.includes('\0')), 'must not contain NUL')
      .optional(),
    retry: z
      .object({
        maxAttempts: z.number().int().min(1).max(100),
        initialDelayMs: z.number().min(0).max(600_000),
        maxDelayMs: z.number().min(0).max(3_600_000),
        multiplier: z.number().min(1).max(100),
        jitter: z.number().min(0).max(1),
      })
      .partial()
      .optional(),
    logger: loggerShape.optional(),
    logLevel: z.enum(['debug', 'info', 'warn', 'error', 'silent']).optional(),
    tls: z.object({ ca: pem, cert: pem.optional(), key: pem.optional() }).optional(),
    snapshotFile: z.string().min(1).optional(),
    lock: z.object({ holdTryAcquireKey: z.boolean().optional() }).strict().optional(),
  })
  .refine((o) => o.password === undefined || o.username !== undefined, {
    message: 'password given without username',
    path: ['password'],
  })
  .refine((o) => !o.tls || (o.tls.cert === undefined) === (o.tls.key === undefined), {
    message: 'cert and key go together',
    path: ['tls'],
  });

/** Options renamed in 1.0 (every duration ends in `Ms`): passing an old name is an error, not ignored. */
const RENAMED: ReadonlyArray<[path: string, now: string, get: (o: Record<string, unknown>) => unknown]> = [
  ['timeout', 'timeoutMs', (o) => o['timeout']],
  ['retry.initialDelay', 'retry.initialDelayMs', (o) => (o['retry'] as Record<string, unknown> | undefined)?.['initialDelay']],
  ['retry.maxDelay', 'retry.maxDelayMs', (o) => (o['retry'] as Record<string, unknown> | undefined)?.['maxDelay']],
];

/** Validates options and fills defaults. Messages name the field, never its value. */
export function resolveOptions(options: CoordinatorOptions): ResolvedOptions {
  if (typeof options === 'object' && options !== null) {
    for (const [old, now, get] of RENAMED) {
      if (get(options as unknown as Record<string, unknown>) !== undefined) throw validationError(`invalid coordinator option ${old}: renamed ${now} in 1.0 (durations are ms, named …Ms)`);
    }
  }
  const parsed = optionsSchema.safeParse(options);
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    throw validationError(`invalid coordinator option ${issue.path.join('.') || '(options)'}: ${issue.message}`);
  }
  const o = parsed.data;
  const retry: RetryConfig = { ...DEFAULT_OPTIONS.retry, ...o.retry };
  if (retry.maxDelayMs < retry.initialDelayMs) throw validationError('invalid coordinator option retry: maxDelayMs < initialDelayMs');
  const layout = resolveLayout(o.namespace ?? DEFAULT_OPTIONS.namespace, o.prefixes);
  return {
    endpoints: o.endpoints.map((e) => (/^https?:\/\//.test(e) ? e : `${o.tls ? 'https' : 'http'}://${e}`)),
    ...(o.username !== undefined && { username: o.username }),
    ...(o.password !== undefined && { password: o.password }),
    timeout: o.timeoutMs ?? DEFAULT_OPTIONS.timeoutMs,
    namespace: layout.namespace,
    prefix: layout.root,
    dirs: layout.dirs,
    retry,
    ...(o.logger !== undefined && { logger: o.logger }),
    ...(o.logLevel !== undefined && { logLevel: o.logLevel }),
    ...(o.tls !== undefined && { tls: o.tls }),
    ...(o.snapshotFile !== undefined && { snapshotFile: o.snapshotFile }),
    lock: { holdTryAcquireKey: o.lock?.holdTryAcquireKey ?? DEFAULT_OPTIONS.lock.holdTryAcquireKey },
  };
}
