// gRPC status codes and the error a failed call rejects with. Mapping to our error codes (and
// reasons) is done once, in src/client/errors.ts, from `code` and etcd's description in `details`.

/** gRPC status codes (https://grpc.github.io/grpc/core/md_doc_statuscodes.html). */
export const Status = {
  OK: 0,
  CANCELLED: 1,
  UNKNOWN: 2,
  INVALID_ARGUMENT: 3,
  DEADLINE_EXCEEDED: 4,
  NOT_FOUND: 5,
  ALREADY_EXISTS: 6,
  PERMISSION_DENIED: 7,
  RESOURCE_EXHAUSTED: 8,
  FAILED_PRECONDITION: 9,
  ABORTED: 10,
  OUT_OF_RANGE: 11,
  UNIMPLEMENTED: 12,
  INTERNAL: 13,
  UNAVAILABLE: 14,
  DATA_LOSS: 15,
  UNAUTHENTICATED: 16,
} as const;
export type Status = (typeof Status)[keyof typeof Status];

/** A call that ended with a non-OK status (from etcd, or locally: deadline, lost connection). */
export class GrpcError extends Error {
  override readonly name = 'GrpcError';
  /**
   * What a request etcd refused with PERMISSION_DENIED needed, e.g. `write on /gochat/config/a`
   * (set by EtcdRpc and the watch hub; src/client/key-needs.ts): key ranges only, never a value.
   */
  declare needs?: string;

  constructor(
    readonly code: number,
    /** grpc-message as sent (percent-decoded), or our own description for local failures. */
    readonly details: string,
    options?: { cause?: unknown },
  ) {
    super(`${statusName(code)}: ${details}`, options);
  }
}

export function statusName(code: number): string {
  for (const [name, value] of Object.entries(Status)) if (value === code) return name;
  return `STATUS_${code}`;
}

/** grpc-message is percent-encoded (gRPC over HTTP/2 spec). */
export function decodeGrpcMessage(raw: string | string[] | undefined): string {
  if (raw === undefined) return '';
  const text = Array.isArray(raw) ? raw.join(',') : raw;
  try {
    return decodeURIComponent(text);
  } catch {
    return text;
  }
}

/** The status for an HTTP response that carries no grpc-status (a proxy or a non-gRPC server). */
export function statusFromHttp(httpStatus: number): number {
  switch (httpStatus) {
    case 400:
      return Status.INTERNAL;
    case 401:
      return Status.UNAUTHENTICATED;
    case 403:
      return Status.PERMISSION_DENIED;
    case 404:
      return Status.UNIMPLEMENTED;
    case 429:
    case 502:
    case 503:
    case 504:
      return Status.UNAVAILABLE;
    default:
      return Status.UNKNOWN;
  }
}
