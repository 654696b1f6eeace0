// What the etcd client needs to know, and nothing more: where etcd is, how to talk to it, how long
// to wait and retry, where our keys live, where to log. The facade (options.ts) resolves it from
// CoordinatorOptions; components get their own settings from coordinator.ts, not from the client.
import type { Component } from '../layout.js';
import type { Logger, LogLevel } from '../logger.js';
import type { RetryConfig } from '../retry.js';

/** TLS material for etcd's client port. PEM contents (Buffer or string), not file paths. */
export interface TlsOptions {
  /** CA certificate(s) that signed etcd's server certificate. */
  ca: Buffer | string;
  /** Client certificate for mTLS (with `key`). */
  cert?: Buffer | string;
  /** Client private key for mTLS (with `cert`). Never logged. */
  key?: Buffer | string;
}

export interface ClientConfig {
  /** etcd client URLs with scheme (`http://host:port`). */
  endpoints: string[];
  username?: string;
  password?: string;
  /** Per-request deadline in ms. */
  timeout: number;
  /** `path.Join("/", namespace)` without a trailing slash: '' for none, else e.g. '/gochat'. */
  namespace: string;
  /** `namespace + '/'` ('/' for none): what every key of ours starts with. */
  prefix: string;
  /** Each component's directory relative to `prefix`, ending with '/' (e.g. `locks/`). */
  dirs: Readonly<Record<Component, string>>;
  retry: RetryConfig;
  logger?: Logger;
  /** Level of the default logger (ignored with `logger`). */
  logLevel?: LogLevel;
  tls?: TlsOptions;
}
