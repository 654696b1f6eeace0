// One LeaseKeepAlive stream per coordinator, shared by every lease it keeps alive (as Go's
// clientv3 lessor does): a thousand registrations cost a thousand small messages per interval on
// one stream, not a thousand streams. The stream is (re)opened on demand after any failure.
import type { IDuplexStream, ILeaseKeepAliveRequest, ILeaseKeepAliveResponse } from 'etcd3';
import type { EtcdClient } from './etcd-client.js';

type Stream = IDuplexStream<ILeaseKeepAliveRequest, ILeaseKeepAliveResponse>;

/** The parts of etcd3's (internal) ConnectionPool used to choose the member a stream opens on. */
interface PoolInternals {
  hosts: unknown[];
  withConnection(
    service: 'Lease',
    fn: (c: { client: { leaseKeepAlive(metadata: unknown, options: object): Stream }; metadata: unknown }) => Stream,
    hosts: Iterator<unknown>,
  ): Promise<Stream>;
}
interface Waiter {
  ok(ttlSeconds: number): void;
  fail(err: unknown): void;
}

export class LeaseKeeper {
  private stream: Promise<Stream> | undefined;
  /** Callers waiting for the next answer about a lease ID, in send order. */
  private readonly waiting = new Map<string, Waiter[]>();
  private closed = false;
  /** Index of the member the next stream is opened on (randomised, then advanced after each failure). */
  private nextHost = Math.floor(Math.random() * 1024);

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
        // A stream that stays silent may sit on a dead connection: start a fresh one next time.
        this.reset();
        finish(() => reject(new Error('keep-alive: no answer within timeout')));
      }, timeoutMs);
      timer.unref();
      signal?.addEventListener('abort', onAbort, { once: true });
      const list = this.waiting.get(id) ?? [];
      list.push(waiter);
      this.waiting.set(id, list);
      this.open().then(
        (stream) => {
          if (!settled) stream.write({ ID: id });
        },
        (err: unknown) => finish(() => reject(err)),
      );
    });
  }

  private open(): Promise<Stream> {
    if (this.stream) return this.stream;
    const opening = this.dial().then((stream) => {
      const broken = (err: unknown): void => {
        if (this.stream === opening) {
          this.stream = undefined;
          this.nextHost++; // a stream that failed on one member is re-opened on the next one
        }
        // Whoever waits on this stream learns now instead of at its timeout.
        const waiters = [...this.waiting.values()].flat();
        this.waiting.clear();
        for (const w of waiters) w.fail(err);
      };
      stream.on('data', (res) => {
        const list = this.waiting.get(res.ID);
        const first = list?.shift();
        if (list?.length === 0) this.waiting.delete(res.ID);
        first?.ok(Number(res.TTL));
      });
      stream.on('error', broken);
      stream.on('end', () => broken(new Error('keep-alive stream ended')));
      if (this.closed) stream.cancel();
      return stream;
    });
    this.stream = opening;
    opening.catch(() => {
      if (this.stream === opening) this.stream = undefined;
    });
    return opening;
  }

  /**
   * Opens the stream on the member after the one that last failed us. etcd3 picks a random member
   * per call, so a stream re-opened after a timeout could land on the same stopped member again
   * (and again) until a lease runs out; walking the members in turn reaches a live one at the
   * next attempt. Falls back to etcd3's own choice if its (internal) pool is not as expected.
   */
  private dial(): Promise<Stream> {
    const pool = (this.client.etcd as unknown as { pool?: Partial<PoolInternals> }).pool;
    if (!pool || !Array.isArray(pool.hosts) || pool.hosts.length < 2 || typeof pool.withConnection !== 'function') {
      return this.client.etcd.leaseClient.leaseKeepAlive();
    }
    const hosts = pool.hosts;
    const start = this.nextHost % hosts.length;
    function* inTurn(): Generator<unknown> {
      for (let i = 0; ; i++) yield hosts[(start + i) % hosts.length];
    }
    return pool.withConnection('Lease', ({ client, metadata }) => client.leaseKeepAlive(metadata, {}), inTurn());
  }

  private reset(): void {
    this.nextHost++;
    const stream = this.stream;
    this.stream = undefined;
    void stream?.then((s) => s.cancel()).catch(() => undefined);
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
