// Every error that leaves the library is a CoordinationError with a code from ErrorCode.
// gRPC/etcd failures (GrpcError from src/client/grpc) are translated in exactly one place: toCoordinationError().
import { GrpcError, Status } from './client/grpc/status.js';

/** Error codes (seed §4.1), plus `AUTH_ERROR`, `CANCELLED` and `INTERNAL_ERROR` which the seed's list has no place for. */
export const ErrorCode = {
  /** etcd could not be reached, or the connection broke. Transient. */
  Connection: 'CONNECTION_ERROR',
  /** A deadline passed (the coordinator's `timeout`, or etcd's own request timeout). Transient. */
  Timeout: 'TIMEOUT_ERROR',
  /** The key, lease, instance or registration does not exist (any more). */
  NotFound: 'NOT_FOUND',
  /** A compare-and-swap lost, or a lock is held by someone else. */
  Conflict: 'CONFLICT',
  /** Bad input; nothing was written. */
  Validation: 'VALIDATION_ERROR',
  /** etcd answered but cannot serve now (no leader, overloaded), or no instance is available. Transient. */
  Unavailable: 'SERVICE_UNAVAILABLE',
  /** Wrong user/password, expired token, or a permission the user's role lacks. Not retried. */
  Auth: 'AUTH_ERROR',
  /** The caller's AbortSignal fired (cause: `signal.reason`), or the coordinator was closed. */
  Cancelled: 'CANCELLED',
  /**
   * A bug, not an etcd failure: a TypeError, RangeError or failed assertion thrown by our code or a
   * callback of yours (`cause` is the original). Never retried.
   */
  Internal: 'INTERNAL_ERROR',
} as const;
export type ErrorCode = (typeof ErrorCode)[keyof typeof ErrorCode];

const TRANSIENT: ReadonlySet<ErrorCode> = new Set([ErrorCode.Connection, ErrorCode.Timeout, ErrorCode.Unavailable]);

export class CoordinationError extends Error {
  override readonly name = 'CoordinationError';
  readonly code: ErrorCode;

  constructor(code: ErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.code = code;
  }

  override toString(): string {
    return `${this.name} [${this.code}]: ${this.message}`;
  }
}

export function isCoordinationError(err: unknown, code?: ErrorCode): err is CoordinationError {
  return err instanceof CoordinationError && (code === undefined || err.code === code);
}
export const isConnectionError = (err: unknown): err is CoordinationError => isCoordinationError(err, ErrorCode.Connection);
export const isTimeoutError = (err: unknown): err is CoordinationError => isCoordinationError(err, ErrorCode.Timeout);
export const isNotFound = (err: unknown): err is CoordinationError => isCoordinationError(err, ErrorCode.NotFound);
export const isConflict = (err: unknown): err is CoordinationError => isCoordinationError(err, ErrorCode.Conflict);
export const isValidationError = (err: unknown): err is CoordinationError => isCoordinationError(err, ErrorCode.Validation);
export const isUnavailable = (err: unknown): err is CoordinationError => isCoordinationError(err, ErrorCode.Unavailable);
export const isAuthError = (err: unknown): err is CoordinationError => isCoordinationError(err, ErrorCode.Auth);
export const isCancelled = (err: unknown): err is CoordinationError => isCoordinationError(err, ErrorCode.Cancelled);

/** True for codes worth retrying (the operation may succeed if sent again). */
export function isTransient(err: unknown): boolean {
  return err instanceof CoordinationError && TRANSIENT.has(err.code);
}

/** Shorthand for bad input: always VALIDATION_ERROR, always thrown before anything is written. */
export function validationError(message: string, cause?: unknown): CoordinationError {
  return new CoordinationError(ErrorCode.Validation, message, cause === undefined ? undefined : { cause });
}

/** The error an aborted call rejects with: TIMEOUT_ERROR for `AbortSignal.timeout()`, else CANCELLED. */
export function abortError(signal: AbortSignal, what: string): CoordinationError {
  const reason: unknown = signal.reason;
  if (reason instanceof CoordinationError) return reason;
  const isTimeout = reason instanceof Error && reason.name === 'TimeoutError';
  return new CoordinationError(isTimeout ? ErrorCode.Timeout : ErrorCode.Cancelled, `${what}: ${isTimeout ? 'timed out' : 'aborted'}`, {
    cause: reason,
  });
}

// gRPC status codes (https://grpc.github.io/grpc/core/md_doc_statuscodes.html) → our codes.
const BY_STATUS: Record<number, ErrorCode> = {
  1: ErrorCode.Connection, // CANCELLED: the channel went away under the call
  2: ErrorCode.Unavailable, // UNKNOWN
  3: ErrorCode.Validation, // INVALID_ARGUMENT (e.g. request too large)
  4: ErrorCode.Timeout, // DEADLINE_EXCEEDED
  5: ErrorCode.NotFound, // NOT_FOUND (e.g. lease not found)
  7: ErrorCode.Auth, // PERMISSION_DENIED
  8: ErrorCode.Unavailable, // RESOURCE_EXHAUSTED (too many requests)
  9: ErrorCode.Conflict, // FAILED_PRECONDITION
  10: ErrorCode.Conflict, // ABORTED
  11: ErrorCode.NotFound, // OUT_OF_RANGE (e.g. compacted revision)
  13: ErrorCode.Unavailable, // INTERNAL
  14: ErrorCode.Connection, // UNAVAILABLE
  15: ErrorCode.Unavailable, // DATA_LOSS
  16: ErrorCode.Auth, // UNAUTHENTICATED
};

// Message text last: etcd server conditions that arrive under a generic status.
const BY_MESSAGE: Array<[RegExp, ErrorCode]> = [
  [/authentication failed|invalid auth token|permission denied|user name not found/i, ErrorCode.Auth],
  [/etcdserver: request timed out|deadline exceeded/i, ErrorCode.Timeout],
  [/etcdserver: (no leader|leader changed|too many requests|not capable|unhealthy cluster)/i, ErrorCode.Unavailable],
  [/required revision has been compacted|requested lease not found/i, ErrorCode.NotFound],
  [/request is too large|value size|too many operations/i, ErrorCode.Validation],
  [/ECONNREFUSED|ECONNRESET|EHOSTUNREACH|No connection established|connection|socket|closed/i, ErrorCode.Connection],
];

/**
 * A programming error (ours or a caller's callback): JS engine errors and failed assertions. These
 * carry no gRPC status and must never be matched by message text (a TypeError about `closed` is
 * not a closed connection).
 */
export function isProgrammingError(err: unknown): boolean {
  return (
    err instanceof TypeError ||
    err instanceof RangeError ||
    err instanceof ReferenceError ||
    err instanceof SyntaxError ||
    (err instanceof Error && (err.name === 'AssertionError' || (err as { code?: unknown }).code === 'ERR_ASSERTION'))
  );
}

/** etcd said the lease does not exist (expired or revoked): a NOT_FOUND with this specific cause. */
export function isLeaseNotFound(err: unknown): boolean {
  return err instanceof Error && /requested lease not found|lease not found/i.test(err.message);
}

/** etcd compacted the revision a read or watch asked for: a NOT_FOUND with this specific cause. */
export function isCompacted(err: unknown): boolean {
  return err instanceof Error && /required revision has been compacted|compacted/i.test(err.message);
}

/** Finds the code for a gRPC/etcd error: a few etcd conditions by text, then the status code, message text last. */
export function classify(err: unknown): ErrorCode {
  if (err instanceof CoordinationError) return err.code;
  if (isProgrammingError(err)) return ErrorCode.Internal;
  if (err instanceof Error) {
    const message = err.message ?? '';
    // A few etcd conditions share a status with others; the message tells them apart.
    if (/required revision has been compacted/i.test(message)) return ErrorCode.NotFound;
    if (/etcdserver: (no leader|leader changed|too many requests)/i.test(message)) return ErrorCode.Unavailable;
    if (/etcdserver: request timed out/i.test(message)) return ErrorCode.Timeout;
    if (/etcdserver: (user name is empty|authentication failed|invalid auth token|permission denied|authentication is not enabled)/i.test(message)) return ErrorCode.Auth;
    const status = (err as { code?: unknown }).code;
    if (typeof status === 'number' && BY_STATUS[status] !== undefined) return BY_STATUS[status];
    if (err.name === 'AbortError') return ErrorCode.Cancelled;
    if (err.name === 'TimeoutError') return ErrorCode.Timeout;
    for (const [re, code] of BY_MESSAGE) if (re.test(message)) return code;
  }
  return ErrorCode.Unavailable;
}

/**
 * Wraps any error from gRPC/etcd (or elsewhere) as a CoordinationError, keeping the original as
 * `cause` and its message text. `what` names the operation, e.g. `config.set app.name`. A permission
 * etcd denied reads `<what>: permission denied (needs readwrite on /gochat/config/app.name)`: the key
 * ranges the refused request needed (GrpcError.needs, src/client/key-needs.ts).
 */
export function toCoordinationError(err: unknown, what: string): CoordinationError {
  if (err instanceof CoordinationError) return err;
  const code = classify(err);
  if (err instanceof GrpcError && err.code === Status.PERMISSION_DENIED) {
    return new CoordinationError(ErrorCode.Auth, `${what}: permission denied${err.needs ? ` (needs ${err.needs})` : ''}`, { cause: err });
  }
  const detail = err instanceof Error ? err.message : String(err);
  return new CoordinationError(code, `${what}: ${detail}`, { cause: err });
}

/**
 * True when etcd refused a request for a permission the user's role lacks (gRPC PERMISSION_DENIED;
 * the user and password were accepted), also once wrapped in a CoordinationError.
 */
export function isPermissionDenied(err: unknown): boolean {
  for (let e: unknown = err, depth = 0; e instanceof Error && depth < 8; e = e.cause, depth++) {
    if (e instanceof GrpcError) return e.code === Status.PERMISSION_DENIED;
    if (!(e instanceof CoordinationError)) return false;
  }
  return false;
}

// grpc-go's names of the status codes, as etcd writes them into a watch's cancel_reason.
const GO_CODES: Record<string, number> = { Canceled: Status.CANCELLED };
for (const [name, code] of Object.entries(Status)) {
  const camel = name.toLowerCase().replace(/(^|_)([a-z])/g, (_m, _s: string, c: string) => c.toUpperCase());
  GO_CODES[camel] ??= code;
}

/**
 * The error of a watch etcd cancelled: etcd ≥ 3.4 writes the gRPC status of why it refused a create
 * into cancel_reason (`rpc error: code = PermissionDenied desc = etcdserver: permission denied`), so
 * it is classified by that status like any call's; other reasons stay text. `needs`: what the
 * create needed (`read on prefix /gochat/config/`), named when it was a permission denial.
 */
export function watchCancelError(reason: string, needs?: string): Error {
  const m = /^rpc error: code = (\w+) desc = ([\s\S]*)$/.exec(reason);
  const code = m ? GO_CODES[m[1]!] : undefined;
  if (m === null || code === undefined) return new Error(reason || 'watch cancelled by etcd');
  const error = new GrpcError(code, m[2]!);
  if (needs && code === Status.PERMISSION_DENIED) error.needs = needs;
  return error;
}

/** etcd's answer to adding a user or role that exists (its error identity: FAILED_PRECONDITION and this text). */
export function isAlreadyExists(err: unknown): boolean {
  const e = err instanceof CoordinationError ? err.cause : err;
  return e instanceof GrpcError && e.code === Status.FAILED_PRECONDITION && /^etcdserver: (user|role) name already exists$/.test(e.details);
}
