// How the transport's failures become CoordinationErrors, in exactly one place: toCoordinationError().
// A failed call's gRPC status and etcd's fixed description of its error (its rpctypes/error.go) give
// the code and reason; message text is read only for errors that carry no status at all.
import { CoordinationError, ErrorCode, ErrorReason, isProgrammingError } from '../errors.js';
import { GrpcError, Status } from './grpc/status.js';

// gRPC status codes → our codes.
const BY_STATUS: Partial<Record<number, ErrorCode>> = {
  [Status.CANCELLED]: ErrorCode.Connection, // the channel went away under the call
  [Status.UNKNOWN]: ErrorCode.Unavailable,
  [Status.INVALID_ARGUMENT]: ErrorCode.Validation, // e.g. request too large
  [Status.DEADLINE_EXCEEDED]: ErrorCode.Timeout,
  [Status.NOT_FOUND]: ErrorCode.NotFound, // e.g. lease not found
  [Status.PERMISSION_DENIED]: ErrorCode.Auth,
  [Status.RESOURCE_EXHAUSTED]: ErrorCode.Unavailable, // too many requests
  [Status.FAILED_PRECONDITION]: ErrorCode.Conflict,
  [Status.ABORTED]: ErrorCode.Conflict,
  [Status.OUT_OF_RANGE]: ErrorCode.NotFound, // e.g. compacted revision
  [Status.INTERNAL]: ErrorCode.Unavailable,
  [Status.UNAVAILABLE]: ErrorCode.Connection,
  [Status.DATA_LOSS]: ErrorCode.Unavailable,
  [Status.UNAUTHENTICATED]: ErrorCode.Auth,
};

interface Identity {
  code: ErrorCode;
  reason?: ErrorReason;
}

/**
 * etcd's own errors whose code or reason the status alone does not give, by identity: the status and
 * the fixed description etcd sends with it (its rpctypes/error.go), matched whole.
 */
const ETCD_ERRORS: ReadonlyMap<string, Identity> = new Map(
  (
    [
      [Status.OUT_OF_RANGE, 'etcdserver: mvcc: required revision has been compacted', { code: ErrorCode.NotFound, reason: ErrorReason.Compacted }],
      [Status.NOT_FOUND, 'etcdserver: requested lease not found', { code: ErrorCode.NotFound, reason: ErrorReason.LeaseNotFound }],
      [Status.FAILED_PRECONDITION, 'etcdserver: user name already exists', { code: ErrorCode.Conflict, reason: ErrorReason.AlreadyExists }],
      [Status.FAILED_PRECONDITION, 'etcdserver: role name already exists', { code: ErrorCode.Conflict, reason: ErrorReason.AlreadyExists }],
      // etcd answered but cannot serve now: not a broken connection.
      [Status.UNAVAILABLE, 'etcdserver: no leader', { code: ErrorCode.Unavailable }],
      [Status.UNAVAILABLE, 'etcdserver: leader changed', { code: ErrorCode.Unavailable }],
      [Status.UNAVAILABLE, 'etcdserver: not capable', { code: ErrorCode.Unavailable }],
      [Status.UNAVAILABLE, 'etcdserver: unhealthy cluster', { code: ErrorCode.Unavailable }],
      [Status.UNAVAILABLE, 'etcdserver: request timed out', { code: ErrorCode.Timeout }],
      [Status.UNAVAILABLE, 'etcdserver: request timed out, possibly due to previous leader failure', { code: ErrorCode.Timeout }],
      [Status.UNAVAILABLE, 'etcdserver: request timed out, possibly due to connection lost', { code: ErrorCode.Timeout }],
      [Status.UNAVAILABLE, 'etcdserver: request timed out, waiting for the applied index took too long', { code: ErrorCode.Timeout }],
      // etcd's users or roles changed while the request was on its way (the client re-authenticates once
      // by itself; this is what is left if they changed again): transient, nothing wrong with the request.
      [Status.INVALID_ARGUMENT, 'etcdserver: revision of auth store is old', { code: ErrorCode.Unavailable }],
      // Credentials etcd refused, under statuses that otherwise mean bad input or a lost race.
      [Status.INVALID_ARGUMENT, 'etcdserver: user name is empty', { code: ErrorCode.Auth }],
      [Status.INVALID_ARGUMENT, 'etcdserver: authentication failed, invalid user ID or password', { code: ErrorCode.Auth }],
      [Status.FAILED_PRECONDITION, 'etcdserver: authentication is not enabled', { code: ErrorCode.Auth }],
    ] as const
  ).map(([status, details, identity]): [string, Identity] => [identityKey(status, details), identity]),
);

function identityKey(status: number, details: string): string {
  return `${status} ${details}`;
}

// Message text, for errors that carry no gRPC status at all (a watch's plain cancel reason, a socket error).
const BY_MESSAGE: Array<[RegExp, ErrorCode]> = [
  [/authentication failed|invalid auth token|permission denied|user name not found|user name is empty|authentication is not enabled/i, ErrorCode.Auth],
  [/etcdserver: request timed out|deadline exceeded/i, ErrorCode.Timeout],
  [/etcdserver: (no leader|leader changed|too many requests|not capable|unhealthy cluster)/i, ErrorCode.Unavailable],
  [/required revision has been compacted|requested lease not found/i, ErrorCode.NotFound],
  [/request is too large|value size|too many operations/i, ErrorCode.Validation],
  [/ECONNREFUSED|ECONNRESET|EHOSTUNREACH|No connection established|connection|socket|closed/i, ErrorCode.Connection],
];

/**
 * Code and reason of a failed call from its gRPC status and the server's description (`details` of
 * our GrpcError, or of grpc-js's errors); undefined for an error without a status we know.
 */
function byStatus(err: Error): Identity | undefined {
  const { code: status, details } = err as { code?: unknown; details?: unknown };
  if (typeof status !== 'number') return undefined;
  // Only a user's role denies a permission: the status says it all, whatever the description.
  if (status === Status.PERMISSION_DENIED) return { code: ErrorCode.Auth, reason: ErrorReason.PermissionDenied };
  const known = typeof details === 'string' ? ETCD_ERRORS.get(identityKey(status, details)) : undefined;
  if (known) return known;
  const code = BY_STATUS[status];
  return code === undefined ? undefined : { code };
}

/** Code and reason of any error: ours as they are, bugs as INTERNAL, then by status, and message text last. */
function identify(err: unknown): Identity {
  if (err instanceof CoordinationError) return err.reason === undefined ? { code: err.code } : { code: err.code, reason: err.reason };
  if (isProgrammingError(err)) return { code: ErrorCode.Internal };
  if (err instanceof Error) {
    const known = byStatus(err);
    if (known) return known;
    if (err.name === 'AbortError') return { code: ErrorCode.Cancelled };
    if (err.name === 'TimeoutError') return { code: ErrorCode.Timeout };
    for (const [re, code] of BY_MESSAGE) if (re.test(err.message ?? '')) return { code };
  }
  return { code: ErrorCode.Unavailable };
}

/** Finds the code for a gRPC/etcd error: by its status and etcd's error identity, message text only without a status. */
export function classify(err: unknown): ErrorCode {
  return identify(err).code;
}

/** The reason of an error: a CoordinationError's own, or the one toCoordinationError() would give it. */
export function reasonOf(err: unknown): ErrorReason | undefined {
  return identify(err).reason;
}

/** etcd said the lease does not exist (expired or revoked). */
export function isLeaseNotFound(err: unknown): boolean {
  return reasonOf(err) === ErrorReason.LeaseNotFound;
}

/** etcd compacted the revision a read or watch asked for. */
export function isCompacted(err: unknown): boolean {
  return reasonOf(err) === ErrorReason.Compacted;
}

/**
 * True when etcd refused a request for a permission the user's role lacks (gRPC PERMISSION_DENIED;
 * the user and password were accepted), also once wrapped in a CoordinationError.
 */
export function isPermissionDenied(err: unknown): boolean {
  return reasonOf(err) === ErrorReason.PermissionDenied;
}

/** etcd's answer to adding a user or role that exists (its error identity: FAILED_PRECONDITION and this text). */
export function isAlreadyExists(err: unknown): boolean {
  return reasonOf(err) === ErrorReason.AlreadyExists;
}

/**
 * Wraps any error from gRPC/etcd (or elsewhere) as a CoordinationError with its code and reason,
 * keeping the original as `cause` and its message text. `what` names the operation, e.g.
 * `config.set app.name`. A permission etcd denied reads `<what>: permission denied (needs readwrite
 * on /gochat/config/app.name)`: the key ranges the refused request needed (GrpcError.needs,
 * src/client/key-needs.ts).
 */
export function toCoordinationError(err: unknown, what: string): CoordinationError {
  if (err instanceof CoordinationError) return err;
  const { code, reason } = identify(err);
  if (reason === ErrorReason.PermissionDenied) {
    const needs = err instanceof GrpcError && err.needs ? ` (needs ${err.needs})` : '';
    return new CoordinationError(code, `${what}: permission denied${needs}`, { cause: err, reason });
  }
  const detail = err instanceof Error ? err.message : String(err);
  return new CoordinationError(code, `${what}: ${detail}`, { cause: err, reason });
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
