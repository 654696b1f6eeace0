// etcd3 fetches each auth token on a gRPC client of its own that it never closes: one idle
// connection per endpoint stays open after close() (until grpc's 30-minute idle timeout). Here the
// token is fetched through the host's own Auth service instead — same channel options, and closed
// with the rest of the host's channels by close() or after a connection error. etcd3's internals
// used are shape-checked; where they differ, etcd3's own way is kept.
import { Metadata, type CallOptions, type ServiceError } from '@grpc/grpc-js';
import { castGrpcError, type Etcd3 } from 'etcd3';

interface AuthService {
  authenticate(
    req: { name: string; password: string },
    metadata: Metadata,
    options: CallOptions,
    callback: (err: ServiceError | null, res?: { token: string }) => void,
  ): void;
}

interface HostInternals {
  host: string;
  getServiceClient(name: 'Auth'): AuthService;
}

type GetCredentials = (address: string, name: string, password: string, callOptions: CallOptions | undefined, credentials: unknown) => Promise<string>;

export function authenticateOnHostChannels(etcd: Etcd3): void {
  const pool = (etcd as unknown as { pool?: { hosts?: unknown; authenticator?: { getCredentialsFromHost?: unknown } } }).pool;
  const authenticator = pool?.authenticator;
  const hosts = pool?.hosts;
  if (!authenticator || typeof authenticator.getCredentialsFromHost !== 'function' || !Array.isArray(hosts) || !hosts.every(isHost)) return;
  const original = (authenticator.getCredentialsFromHost as GetCredentials).bind(authenticator);
  const fetchToken: GetCredentials = (address, name, password, callOptions, credentials) => {
    const host = hosts.find((h) => h.host === address);
    if (!host) return original(address, name, password, callOptions, credentials);
    return new Promise((resolve, reject) => {
      // Throws once the host is closed: the promise rejects with that, as etcd3's call would.
      host.getServiceClient('Auth').authenticate({ name, password }, new Metadata(), callOptions ?? {}, (err, res) =>
        err || !res ? reject(castGrpcError(err ?? new Error('authenticate: empty response'))) : resolve(res.token),
      );
    });
  };
  authenticator.getCredentialsFromHost = fetchToken;
}

function isHost(h: unknown): h is HostInternals {
  const host = h as Partial<HostInternals> | undefined;
  return typeof host?.host === 'string' && typeof host.getServiceClient === 'function';
}
