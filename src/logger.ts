// Structured logs instead of a monitoring stack (seed §3). pino by default; any logger with
// pino's `(fields, message)` methods can be injected. Values of config entries, service
// metadata, passwords and TLS keys are never passed to a logger: only keys, operations,
// durations and codes. The default pino instance also redacts such fields in case one slips in.
import { pino } from 'pino';

/** Fields we log. Nothing else is ever put in a log line. */
export interface LogFields {
  operation?: string;
  key?: string;
  durationMs?: number;
  code?: string;
  /** The error's message (never a value). */
  error?: string;
  attempt?: number;
  delayMs?: number;
  /** State changes are logged as `from -> to`. */
  from?: string;
  to?: string;
  [extra: string]: string | number | boolean | undefined;
}

/** The logger the library writes to: pino's calling convention, `(fields, message)`. */
export interface Logger {
  debug(fields: LogFields, message: string): void;
  info(fields: LogFields, message: string): void;
  warn(fields: LogFields, message: string): void;
  error(fields: LogFields, message: string): void;
}

export type LogLevel = 'debug' | 'info' | 'warn' | 'error' | 'silent';

/** Paths the default logger censors even if a caller's field slips through. */
const REDACT = [
  'password',
  'value',
  'values',
  'metadata',
  'token',
  'key_pem',
  'privateKey',
  '*.password',
  '*.value',
  '*.privateKey',
];

/** The default logger: JSON lines on stdout via pino, level from the option or COORD_LOG_LEVEL. */
export function createDefaultLogger(level?: LogLevel): Logger {
  const resolved = level ?? (process.env['COORD_LOG_LEVEL'] as LogLevel | undefined) ?? 'warn';
  return pino({ name: 'coordination', level: resolved, redact: { paths: REDACT, censor: '[redacted]' } });
}

/** A logger that drops everything (tests, benchmarks). */
export const silentLogger: Logger = Object.freeze({
  debug() {},
  info() {},
  warn() {},
  error() {},
});

/** Message of an error for the `error` field: the text only, no stack, cut to a sane length. */
export function errorText(err: unknown): string {
  const text = err instanceof Error ? err.message : String(err);
  return text.length > 300 ? `${text.slice(0, 300)}…` : text;
}
