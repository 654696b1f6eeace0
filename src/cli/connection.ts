// Connection flags and environment → CoordinatorOptions. Flags win over COORD_* variables; TLS
// material is read from files here (the library takes PEM contents). The password is only ever
// handed to the library, never printed: error text that could echo it is scrubbed.
import { readFileSync } from 'node:fs';
import { Option, type Command } from 'commander';
import type { CoordinatorOptions } from '../options.js';
import type { Logger, LogFields } from '../logger.js';
import { silentLogger } from '../logger.js';
import { CliError, ExitCode } from './exit-codes.js';

/** Global options every command understands (commander's camelCase names). */
export interface GlobalOptions {
  endpoints: string;
  namespace?: string;
  user?: string;
  password?: string;
  cacert?: string;
  cert?: string;
  key?: string;
  timeout: string;
  json?: boolean;
  color: boolean;
  verbose?: boolean;
}

export const DEFAULT_ENDPOINTS = '127.0.0.1:2379';
export const DEFAULT_TIMEOUT_MS = 5000;

/** Adds the connection and output flags to the root command. */
export function addGlobalOptions(program: Command): void {
  program
    .addOption(new Option('--endpoints <urls>', 'etcd endpoints, comma-separated').env('COORD_ENDPOINTS').default(DEFAULT_ENDPOINTS))
    .addOption(new Option('--namespace <ns>', 'key prefix of the application, e.g. gochat').env('COORD_NAMESPACE'))
    .addOption(new Option('--user <name>', 'etcd user').env('COORD_USER'))
    .addOption(new Option('--password <password>', 'etcd password (prefer the env variable: flags show in ps)').env('COORD_PASSWORD'))
    .addOption(new Option('--cacert <file>', 'CA certificate (PEM) that signed etcd\'s certificate; enables TLS'))
    .addOption(new Option('--cert <file>', 'client certificate (PEM) for mTLS, with --key'))
    .addOption(new Option('--key <file>', 'client private key (PEM) for mTLS, with --cert'))
    .addOption(new Option('--timeout <ms>', 'per-request deadline and connect budget in ms').default(String(DEFAULT_TIMEOUT_MS)))
    .addOption(new Option('--json', 'machine-readable JSON on stdout'))
    .addOption(new Option('--no-color', 'no colours even on a terminal (NO_COLOR=1 works too)'))
    .addOption(new Option('--verbose', 'library log lines (JSON) on stderr'));
}

/** Parses a positive integer flag value; bad values are usage errors naming the flag. */
export function positiveInt(value: string, flag: string, max = Number.MAX_SAFE_INTEGER): number {
  if (!/^\d+$/.test(value.trim())) throw new CliError(`${flag} must be a positive integer, got '${value}'`, ExitCode.Usage);
  const n = Number(value);
  if (n <= 0 || n > max) throw new CliError(`${flag} must be between 1 and ${max}, got ${value}`, ExitCode.Usage);
  return n;
}

/** Parses a revision (`--if-revision`, rollback target): a non-negative integer as bigint. */
export function revision(value: string, what: string): bigint {
  if (!/^\d+$/.test(value.trim())) throw new CliError(`${what} must be a non-negative integer revision, got '${value}'`, ExitCode.Usage);
  return BigInt(value.trim());
}

/** `--count <n>` of the live commands: how many lines before stopping (absent: until Ctrl-C). */
export function countOption(value: string | undefined): number {
  return value === undefined ? Infinity : positiveInt(value, '--count');
}

/** An optional revision flag (`--if-revision`, `--from-revision`): undefined when absent. */
export function optionalRevision(value: string | undefined, flag: string): bigint | undefined {
  return value === undefined ? undefined : revision(value, flag);
}

function readPem(file: string | undefined, flag: string): Buffer | undefined {
  if (file === undefined) return undefined;
  try {
    return readFileSync(file);
  } catch (err) {
    const reason = (err as NodeJS.ErrnoException).code ?? 'unreadable';
    throw new CliError(`cannot read ${flag} file ${file}: ${reason}`, ExitCode.Usage);
  }
}

/** Builds the library's options from the flags; throws CliError (exit 1) for bad flag values. */
export function coordinatorOptions(opts: GlobalOptions, stderr: NodeJS.WritableStream): CoordinatorOptions {
  const endpoints = opts.endpoints
    .split(',')
    .map((e) => e.trim())
    .filter((e) => e !== '');
  if (endpoints.length === 0) throw new CliError('--endpoints is empty', ExitCode.Usage, 'e.g. --endpoints 127.0.0.1:2379');
  const timeout = positiveInt(opts.timeout, '--timeout', 3_600_000);
  if ((opts.cert === undefined) !== (opts.key === undefined)) throw new CliError('--cert and --key go together', ExitCode.Usage);
  if (opts.cert !== undefined && opts.cacert === undefined) throw new CliError('--cert/--key need --cacert', ExitCode.Usage);
  if (opts.password !== undefined && opts.user === undefined) throw new CliError('a password was given without --user / COORD_USER', ExitCode.Usage);
  const ca = readPem(opts.cacert, '--cacert');
  const cert = readPem(opts.cert, '--cert');
  const key = readPem(opts.key, '--key');
  return {
    endpoints,
    timeoutMs: timeout,
    ...(opts.namespace !== undefined && { namespace: opts.namespace }),
    ...(opts.user !== undefined && { username: opts.user }),
    ...(opts.password !== undefined && { password: opts.password }),
    ...(ca !== undefined && { tls: { ca, ...(cert && { cert }), ...(key && { key }) } }),
    logger: opts.verbose ? stderrLogger(stderr) : silentLogger,
    // One quick retry of idempotent reads is enough for an interactive tool; --timeout bounds each try.
    retry: { maxAttempts: 2, initialDelayMs: 100, maxDelayMs: 500 },
  };
}

/** --verbose: the library's log lines as JSON on stderr (they never carry values or passwords). */
function stderrLogger(stderr: NodeJS.WritableStream): Logger {
  const at =
    (level: string) =>
    (fields: LogFields, msg: string): void =>
      void stderr.write(`${JSON.stringify({ level, msg, ...fields })}\n`);
  return { debug: at('debug'), info: at('info'), warn: at('warn'), error: at('error') };
}

/** Removes the password from text that is about to be printed (belt and braces). */
export function scrub(text: string, opts: Pick<GlobalOptions, 'password'>): string {
  return opts.password ? text.split(opts.password).join('***') : text;
}
