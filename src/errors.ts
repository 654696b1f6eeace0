// Every error that leaves the library is a CoordinationError with a code from ErrorCode. The base
// layer: it knows no etcd. How etcd's and gRPC's failures become these codes is the transport's
// business, written once in src/client/errors.ts (toCoordinationError()).

/** Error codes (seed §4.1), plus `AUTH_ERROR`, `CANCELLED` and `INTERNAL_ERROR` which the seed's list has no place for. */
export const ErrorCode = {
  /** etcd could not be reached, or the connection broke. Transient. */
  Connection: 'CONNECTION_ERROR',
  /** A deadline passed (the coordinator's `timeoutMs`, or etcd's own request timeout). Transient. */
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

/**
 * Why etcd refused, where callers act on a cause that shares its code with others. Set in one place,
 * toCoordinationError(), from the gRPC status and etcd's error identity (the fixed description etcd
 * sends with it), never from message text: a key named `jobs.compacted` is not a compaction.
 */
export const ErrorReason = {
  /** A read or watch asked for a revision etcd has compacted away (NOT_FOUND). */
  Compacted: 'compacted',
  /** The lease does not exist (any more): expired or revoked (NOT_FOUND). */
  LeaseNotFound: 'lease-not-found',
  /** The user's role lacks a permission the request needed; the credentials were accepted (AUTH_ERROR). */
  PermissionDenied: 'permission-denied',
  /** A user or role to be added exists already (CONFLICT). */
  AlreadyExists: 'already-exists',
} as const;
export type ErrorReason = (typeof ErrorReason)[keyof typeof ErrorReason];

const TRANSIENT: ReadonlySet<ErrorCode> = new Set([ErrorCode.Connection, ErrorCode.Timeout, ErrorCode.Unavailable]);

export class CoordinationError extends Error {
  override readonly name = 'CoordinationError';
  readonly code: ErrorCode;
  /** The specific cause etcd reported, when callers need to tell it apart (see ErrorReason); else undefined. */
  readonly reason: ErrorReason | undefined;

  constructor(code: ErrorCode, message: string, options?: { cause?: unknown; reason?: ErrorReason | undefined }) {
    super(message, options && 'cause' in options ? { cause: options.cause } : undefined);
    this.code = code;
    this.reason = options?.reason;
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
