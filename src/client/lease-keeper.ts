// One LeaseKeepAlive stream per coordinator, shared by every lease it keeps alive (as Go's
// clientv3 lessor does): a thousand registrations cost a thousand small messages per interval on
// one stream, not a thousand streams. The stream is (re)opened on demand after any failure; a
// stream that stays silent moves the client on to the next member, so a keep-alive re-sent after a
// timeout does not land on the same hung member again.
// A stream's error is never a lease's loss (etcd answers a lost lease with TTL 0), and one error ends
// the stream for every lease on it: etcd 3.5.13+ ends it with "not a primary lessor" (Unknown) during
// a leader change, 3.5.3+ with Unavailable while it waits for its applied index, and an expired token
// ends it too. So a keep-alive in flight is sent once more, on a new stream (on the next member when
// etcd said why), before its caller hears of the failure.
import type { EtcdClient } from './etcd-client.js';
import type { RpcStream } from './grpc/etcd-rpc.js';
import type { LeaseKeepAliveRequest } from './grpc/messages.js';
import { GrpcError, Status } from './grpc/status.js';

type Stream = RpcStream<LeaseKeepAliveRequest>;

interface Waiter {
  ok(ttlSeconds: number): void;
  fail(err: unknown): void;
  /** Sent again on a new stream after the first broke under it (once). */
  resent?: boolean;
}

export class LeaseKeeper {
  private stream: Promise<Stream> | undefined;
  /** Callers waiting for the next answer about a lease ID, in send order. */
  private readonly waiting = new Map<string, Waiter[]>();
  private closed = false;

  constructor(private readonly client: EtcdClient) {
    client.own(this);
  }

  /**
   * Sends one keep-alive for `id` and resolves with the TTL etcd granted (0 = the lease is gone).
   * Rejects when the stream fails or no answer comes within `timeoutMs` (default: the client's timeout).
   */
  keepAlive(id: string, signal?: AbortSignal, timeoutMs: number = this.client.timeout): Promise<number> {
    return new Promise<number>((resolve, reject) => {
      if (this.closed) return reject(new Error('lease keeper closed'));
      let settled = false;
      const waiter: Waiter = { ok: (ttl) => finish(() => resolve(ttl)), fail: (err) => finish(() => reject(err)) };
      const finish = (fn: () => void): void => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        signal?.removeEventListener('abort', onAbort);
        const list = this.waiting.get(id);
        const i = list?.indexOf(waiter) ?? -1;
        if (list && i >= 0) list.splice(i, 1);
        if (list?.length === 0) this.waiting.delete(id);
        fn();
      };
      const onAbort = (): void => finish(() => reject(signal!.reason));
      const timer = setTimeout(() => {
        // A stream that stays silent may sit on a dead or hung member: start afresh on the next one.
        this.reset();
        finish(() => reject(new Error('keep-alive: no answer within timeout')));
      }, timeoutMs);
      timer.unref();
      signal?.addEventListener('abort', onAbort, { once: true });
      const list = this.waiting.get(id) ?? [];
      list.push(waiter);
      this.waiting.set(id, list);
      this.send(id, waiter);
    });
  }

  /** Writes the keep-alive of `waiter` (waiting for lease `id`) on the current stream, opening one if need be. */
  private send(id: string, waiter: Waiter): void {
    this.open().then(
      (stream) => {
        if (this.waiting.get(id)?.includes(waiter)) stream.write({ ID: id });
      },
      (err: unknown) => waiter.fail(err),
    );
  }

  private open(): Promise<Stream> {
    if (this.stream) return this.stream;
    let opening: Promise<Stream>;
    let current: Stream | undefined;
    const broken = (err: unknown): void => {
      if (this.stream === opening) this.stream = undefined;
      // etcd ended the stream with a reason: the next one goes to another member.
      if (current && err instanceof GrpcError && (err.code === Status.UNKNOWN || err.code === Status.UNAVAILABLE)) {
        this.client.rpc.channel.rotate(current.endpoint);
      }
      // Each keep-alive on this stream is sent once more on a new one; whoever waits on a second
      // failure learns now instead of at its timeout.
      for (const [id, list] of this.waiting) {
        for (const w of [...list]) {
          if (w.resent || this.closed) w.fail(err);
          else {
            w.resent = true;
            this.send(id, w);
          }
        }
      }
    };
    opening = this.client.rpc.leaseKeepAlive(
      {
        onMessage: (res) => {
          const list = this.waiting.get(res.ID);
          const first = list?.shift();
          if (list?.length === 0) this.waiting.delete(res.ID);
          first?.ok(Number(res.TTL));
        },
        onEnd: (err) => broken(err ?? new Error('keep-alive stream ended')),
      },
      this.client.timeout,
    );
    this.stream = opening;
    opening.then(
      (s) => {
        current = s;
        if (this.closed) s.cancel();
      },
      () => {
        if (this.stream === opening) this.stream = undefined;
      },
    );
    return opening;
  }

  private reset(): void {
    const stream = this.stream;
    this.stream = undefined;
    void stream
      ?.then((s) => {
        this.client.rpc.channel.rotate(s.endpoint);
        s.cancel();
      })
      .catch(() => undefined);
  }

  async close(): Promise<void> {
    this.closed = true;
    const stream = this.stream;
    this.stream = undefined;
    if (stream) {
      const s = await stream.catch(() => undefined);
      s?.cancel();
    }
  }
}
