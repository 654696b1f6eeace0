// coordctl's exit codes: one number per kind of outcome, so that scripts can branch on them
// without parsing messages. The table is printed by `coordctl --help`.
import { ErrorCode, isCoordinationError } from '../errors.js';

export const ExitCode = {
  /** Done. */
  Ok: 0,
  /** Bad flags, arguments or input (also bad JSON and library VALIDATION_ERROR). Nothing was written. */
  Usage: 1,
  /** The key, service, lock or revision does not exist. */
  NotFound: 2,
  /** A compare-and-swap lost (`--if-revision`), or the data changed while we worked. */
  Conflict: 3,
  /** etcd could not be reached or did not answer in time (`--timeout`), or cannot serve now. */
  Connection: 4,
  /** etcd refused the credentials or the user's role lacks a permission. */
  Auth: 5,
  /** Stopped by Ctrl-C / SIGTERM (a watch stopped this way exits 0). */
  Interrupted: 130,
} as const;
export type ExitCode = (typeof ExitCode)[keyof typeof ExitCode];

/** The table `--help` ends with. */
export const EXIT_CODES_HELP = `
Exit codes:
    0  ok
    1  usage error: bad flag, argument or JSON (nothing was written)
    2  not found: key, service, lock or revision does not exist
    3  conflict: --if-revision did not match, or the value changed meanwhile
    4  connection: etcd unreachable, timed out (--timeout) or unavailable
    5  auth: wrong user/password or permission denied
  130  interrupted (Ctrl-C); a watch ended by Ctrl-C exits 0`;

/** A failure the CLI itself detects (bad flag value, unreadable file): message + exit code. */
export class CliError extends Error {
  override readonly name = 'CliError';
  constructor(
    message: string,
    readonly exitCode: ExitCode = ExitCode.Usage,
    /** One line telling the operator what to do instead. */
    readonly hint?: string,
  ) {
    super(message);
  }
}

/** Maps any error to an exit code; unknown errors count as usage errors (1). */
export function exitCodeOf(err: unknown): ExitCode {
  if (err instanceof CliError) return err.exitCode;
  if (!isCoordinationError(err)) return ExitCode.Usage;
  switch (err.code) {
    case ErrorCode.NotFound:
      return ExitCode.NotFound;
    case ErrorCode.Conflict:
      return ExitCode.Conflict;
    case ErrorCode.Connection:
    case ErrorCode.Timeout:
    case ErrorCode.Unavailable:
      return ExitCode.Connection;
    case ErrorCode.Auth:
      return ExitCode.Auth;
    case ErrorCode.Cancelled:
      return ExitCode.Interrupted;
    default:
      return ExitCode.Usage;
  }
}
