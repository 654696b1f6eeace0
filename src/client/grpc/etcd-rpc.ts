// etcd v3's RPCs on our gRPC channel: KV, Lease, Watch, Maintenance.Status, Auth.Authenticate (and
// the Auth admin calls coordctl roles --apply uses),
// with etcd's auth: one Authenticate, the token sent as `token` metadata on every call, fetched
// again once when etcd calls it invalid (simple tokens expire after 5 idle minutes). The token and
// password never appear in an error message or a log line.
import { GrpcChannel, type BidiStream, type ChannelOptions, type Metadata } from './channel.js';
import { Auth, KV, Lease, Maintenance, Watch, type Method } from './codec.js';
import type * as M from './messages.js';
import { GrpcError, Status } from './status.js';
import { describeRefused } from '../key-needs.js';
import { hasKeysOnlyRange, keysOnlyAnswers } from './kv-codec.js';

export interface RpcOptions {
  /** Deadline of the call in ms (connect included). */
  timeoutMs: number;
  signal?: AbortSignal | undefined;
}

export interface EtcdRpcOptions extends ChannelOptions {
  username?: string | undefined;
  password?: string | undefined;
}

export interface StreamCallbacks<Res> {
  onMessage(message: Res): void;
  /** Once: undefined when etcd ended the stream with OK, else why it ended. */
  onEnd(error: GrpcError | undefined): void;
}

export interface RpcStream<Req> {
  write(request: Req): boolean;
  end(): void;
  cancel(): void;
  readonly endpoint: string;
}

/** The calls whose PERMISSION_DENIED names the key ranges the request needed (never an Auth call). */
const KEYED: ReadonlySet<string> = new Set([KV.range.path, KV.put.path, KV.deleteRange.path, KV.txn.path, Lease.revoke.path, Lease.timeToLive.path]);

function refusal(err: unknown, path: string, request: unknown): unknown {
  if (err instanceof GrpcError && err.code === Status.PERMISSION_DENIED) err.needs = describeRefused(path, request);
  return err;
}

/**
 * etcd's refusals of a token that a fresh one cures: one it does not know (expired, or issued before a
 * restart), and one issued under an older auth store (a user or role changed since: every JWT token,
 * or a simple token whose request raced the change). Neither request was applied, so it can be resent.
 * Go's client refreshes its token on the same two (clientv3 `shouldRefreshToken`).
 */
export const isStaleToken = (details: string): boolean => /invalid auth token|revision of auth store is old/i.test(details);

export class EtcdRpc {
  readonly channel: GrpcChannel;
  private readonly username: string | undefined;
  private readonly password: string;
  private token: string | undefined;
  private fetching: Promise<string> | undefined;

  readonly kv = {
    /** A range; a keys-only one gives keys without value and lease, as etcd 3.7 does (messages.ts KeyRevision). */
    range: <const R extends M.RangeRequest>(req: R, o: RpcOptions): Promise<M.RangeResponse<M.KvOf<R>>> =>
      (req.keys_only ? this.unary(KV.rangeKeysOnly, req, o) : this.unary(KV.range, req, o)) as Promise<M.RangeResponse<M.KvOf<R>>>,
    put: (req: M.PutRequest, o: RpcOptions) => this.unary(KV.put, req, o),
    deleteRange: (req: M.DeleteRangeRequest, o: RpcOptions) => this.unary(KV.deleteRange, req, o),
    /** A txn, its answers typed by its ops (a keys-only range's keys as above). */
    txn: <const S extends readonly M.RequestOp[] = [], const F extends readonly M.RequestOp[] = []>(
      req: M.TxnRequest<S, F>,
      o: RpcOptions,
    ): Promise<M.TxnResult<S, F>> => {
      const method = hasKeysOnlyRange(req) ? { ...KV.txn, decode: (b: Buffer) => keysOnlyAnswers(KV.txn.decode(b), req) } : KV.txn;
      return this.unary<M.TxnRequest, M.TxnResponse>(method, req, o) as Promise<M.TxnResult<S, F>>;
    },
    compact: (req: M.CompactionRequest, o: RpcOptions) => this.unary(KV.compact, req, o),
  };

  readonly lease = {
    grant: (req: M.LeaseGrantRequest, o: RpcOptions) => this.unary(Lease.grant, req, o),
    revoke: (req: M.LeaseRevokeRequest, o: RpcOptions) => this.unary(Lease.revoke, req, o),
    timeToLive: (req: M.LeaseTimeToLiveRequest, o: RpcOptions) => this.unary(Lease.timeToLive, req, o),
  };

  /** etcd's user and role administration (root only), for coordctl roles --apply. */
  readonly auth = {
    userAdd: (req: M.AuthUserAddRequest, o: RpcOptions) => this.unary(Auth.userAdd, req, o),
    userGet: (req: M.AuthUserGetRequest, o: RpcOptions) => this.unary(Auth.userGet, req, o),
    userGrantRole: (req: M.AuthUserGrantRoleRequest, o: RpcOptions) => this.unary(Auth.userGrantRole, req, o),
    roleAdd: (req: M.AuthRoleAddRequest, o: RpcOptions) => this.unary(Auth.roleAdd, req, o),
    roleGet: (req: M.AuthRoleGetRequest, o: RpcOptions) => this.unary(Auth.roleGet, req, o),
    roleGrantPermission: (req: M.AuthRoleGrantPermissionRequest, o: RpcOptions) => this.unary(Auth.roleGrantPermission, req, o),
    roleRevokePermission: (req: M.AuthRoleRevokePermissionRequest, o: RpcOptions) => this.unary(Auth.roleRevokePermission, req, o),
  };

  constructor(options: EtcdRpcOptions) {
    this.channel = new GrpcChannel(options);
    this.username = options.username;
    this.password = options.password ?? '';
  }

  /** Member status (answers without credentials: not a check of them). */
  status(o: RpcOptions): Promise<M.StatusResponse> {
    return this.unary(Maintenance.status, {}, o);
  }

  /** Opens a Watch stream (one per client; watches are multiplexed on it). */
  watch(callbacks: StreamCallbacks<M.WatchResponse>, openTimeoutMs: number): Promise<RpcStream<M.WatchRequest>> {
    return this.stream(Watch.watch, callbacks, openTimeoutMs);
  }

  /** Opens a LeaseKeepAlive stream. */
  leaseKeepAlive(callbacks: StreamCallbacks<M.LeaseKeepAliveResponse>, openTimeoutMs: number): Promise<RpcStream<M.LeaseKeepAliveRequest>> {
    return this.stream(Lease.keepAlive, callbacks, openTimeoutMs);
  }

  /** Drops the token (etcd called it invalid somewhere we cannot see, e.g. a watch create): the next call authenticates again. */
  forgetToken(): void {
    this.token = undefined;
  }

  close(): void {
    this.channel.close();
  }

  private unary<Req, Res>(method: Method<Req, Res>, request: Req, o: RpcOptions): Promise<Res> {
    const body = method.encode(request);
    if (this.username === undefined) return this.channel.unary(method, body, o);
    const sent = this.withToken(o, (metadata) => this.channel.unary(method, body, { timeoutMs: o.timeoutMs, signal: o.signal, metadata }));
    // Only a user's role denies a permission: the error names the key ranges the request needed
    // (client/errors.ts puts them in the message).
    return KEYED.has(method.path) ? sent.catch((err: unknown) => Promise.reject(refusal(err, method.path, request))) : sent;
  }

  private async stream<Req, Res>(method: Method<Req, Res>, callbacks: StreamCallbacks<Res>, openTimeoutMs: number): Promise<RpcStream<Req>> {
    let metadata: Metadata | undefined;
    if (this.username !== undefined) metadata = { token: await this.tokenFor({ timeoutMs: openTimeoutMs }) };
    const sentToken = metadata?.['token'];
    let undecodable: GrpcError | undefined;
    const raw: BidiStream = this.channel.stream(
      method.path,
      {
        onMessage: (bytes) => {
          let message: Res;
          try {
            message = method.decode(bytes);
          } catch (err) {
            // The cancel ends the stream through onEnd below, which reports this instead of CANCELLED.
            undecodable = new GrpcError(13, `undecodable ${method.path} message: ${(err as Error).message}`, { cause: err });
            raw.cancel();
            return;
          }
          callbacks.onMessage(message);
        },
        onEnd: (err) => {
          // The next stream fetches a fresh token if etcd no longer knows this one.
          if (err && isStaleToken(err.details) && this.token === sentToken) this.token = undefined;
          callbacks.onEnd(undecodable ?? err);
        },
      },
      openTimeoutMs,
      metadata,
    );
    return {
      write: (request) => raw.write(method.encode(request)),
      end: () => raw.end(),
      cancel: () => raw.cancel(),
      get endpoint() {
        return raw.endpoint;
      },
    };
  }

  private async withToken<T>(o: RpcOptions, send: (metadata: Metadata) => Promise<T>): Promise<T> {
    const token = this.token ?? (await this.tokenFor(o));
    try {
      return await send({ token });
    } catch (err) {
      if (!(err instanceof GrpcError && isStaleToken(err.details))) throw err;
      // Once: etcd forgot the token (expiry, restart) or auth changed since; a second refusal is real.
      if (this.token === token) this.token = undefined;
      return send({ token: await this.tokenFor(o) });
    }
  }

  /** The current token, authenticating (once for all concurrent callers) when there is none. */
  private tokenFor(o: RpcOptions): Promise<string> {
    if (this.token !== undefined) return Promise.resolve(this.token);
    this.fetching ??= this.channel
      .unary({ path: Auth.authenticate.path }, Auth.authenticate.encode({ name: this.username!, password: this.password }), { timeoutMs: o.timeoutMs })
      .then((bytes) => {
        const token = Auth.authenticate.decode(bytes).token;
        this.token = token;
        return token;
      })
      .finally(() => (this.fetching = undefined));
    return this.fetching;
  }
}
