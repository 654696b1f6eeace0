// A TCP proxy between our client and one etcd member, to cut, pause and delay connections in
// tests (tc netem and toxiproxy are not available here). Loopback only.
//   pass      forward bytes both ways
//   blackhole keep sockets open but drop every byte (keep-alive streams look alive)
// A connection that dropped bytes (blackhole, oneway) is reset when the mode changes to one that
// forwards them again: TCP never resumes a stream with a hole in it (the retransmissions would have
// come first, or the connection would have died), and HTTP/2 over a stream with whole frames
// missing would lose them silently (seen as watch events that never arrived).
//   rst       reset every open connection and every new one
//   refuse    stop listening: new connections are refused; open ones are reset
//   delay     forward after `delayMs`
//   oneway    forward what the client sends, drop what etcd answers (a request lands, its answer is lost)
import { createServer, connect, type Server, type Socket } from 'node:net';

export type ProxyMode = 'pass' | 'blackhole' | 'rst' | 'refuse' | 'delay' | 'oneway';

export class TcpProxy {
  private server: Server | undefined;
  private readonly pairs = new Set<[Socket, Socket]>();
  /** Pairs that have not forwarded a single byte yet (e.g. a handshake sent into a blackhole). */
  private readonly silent = new Set<[Socket, Socket]>();
  /** Pairs that dropped bytes: reset once the mode forwards again. */
  private readonly holed = new Set<[Socket, Socket]>();

  /** Connections that dropped bytes since the mode last forwarded (they are reset when it does). */
  get droppedConnections(): number {
    return this.holed.size;
  }
  private modeNow: ProxyMode = 'pass';
  delayMs = 0;
  port = 0;

  constructor(
    readonly targetHost: string,
    readonly targetPort: number,
  ) {}

  /** Proxy for an etcd client URL such as `http://127.0.0.1:2379`. */
  static forUrl(url: string): TcpProxy {
    const u = new URL(url);
    return new TcpProxy(u.hostname, Number(u.port));
  }

  get url(): string {
    return `http://127.0.0.1:${this.port}`;
  }

  get mode(): ProxyMode {
    return this.modeNow;
  }

  get connections(): number {
    return this.pairs.size;
  }

  async start(port = this.port): Promise<this> {
    const server = createServer((client) => this.accept(client));
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(port, '127.0.0.1', () => resolve());
    });
    this.server = server;
    this.port = (server.address() as { port: number }).port;
    return this;
  }

  private accept(client: Socket): void {
    if (this.modeNow === 'rst') {
      client.resetAndDestroy();
      return;
    }
    const upstream = connect(this.targetPort, this.targetHost);
    const pair: [Socket, Socket] = [client, upstream];
    this.pairs.add(pair);
    this.silent.add(pair);
    // A slow link stays a link: bytes leave in the order they came, also when the mode changes from
    // `delay` to `pass` while delayed chunks are still on their way (a later chunk written first
    // would reorder the HTTP/2 frames of the connection).
    const forward = (from: Socket, to: Socket) => {
      const queue: Array<{ at: number; chunk: Buffer }> = [];
      let timer: NodeJS.Timeout | undefined;
      const pump = (): void => {
        timer = undefined;
        const now = Date.now();
        while (queue.length > 0 && queue[0]!.at <= now) {
          const { chunk } = queue.shift()!;
          if (to.writable) to.write(chunk);
        }
        if (queue.length > 0) timer = setTimeout(pump, queue[0]!.at - now);
      };
      from.on('close', () => clearTimeout(timer));
      from.on('data', (chunk: Buffer) => {
        if (this.modeNow === 'blackhole' || (this.modeNow === 'oneway' && from === upstream)) {
          this.holed.add(pair);
          return;
        }
        this.silent.delete(pair);
        const delay = this.modeNow === 'delay' ? this.delayMs : 0;
        if (delay <= 0 && queue.length === 0) {
          if (to.writable) to.write(chunk);
          return;
        }
        queue.push({ at: Math.max(Date.now() + delay, queue.at(-1)?.at ?? 0), chunk });
        timer ??= setTimeout(pump, Math.max(0, queue[0]!.at - Date.now()));
      });
    };
    forward(client, upstream);
    forward(upstream, client);
    const close = () => {
      this.pairs.delete(pair);
      this.silent.delete(pair);
      this.holed.delete(pair);
      client.destroy();
      upstream.destroy();
    };
    client.on('error', close).on('close', close);
    upstream.on('error', close).on('close', close);
  }

  /** Switches mode; `rst` and `refuse` also reset every open connection. */
  async setMode(mode: ProxyMode, delayMs = this.delayMs): Promise<void> {
    this.modeNow = mode;
    this.delayMs = delayMs;
    if (mode !== 'blackhole') {
      for (const pair of this.holed) {
        this.pairs.delete(pair);
        this.silent.delete(pair);
        reset(pair[0]);
        reset(pair[1]);
      }
      this.holed.clear();
    }
    if (mode === 'rst' || mode === 'refuse') this.resetAll();
    if (mode === 'refuse' && this.server) {
      const server = this.server;
      this.server = undefined;
      await new Promise<void>((r) => server.close(() => r()));
    }
    if (mode !== 'refuse' && !this.server) await this.start(this.port);
  }

  /** Resets (RST) every open connection once; new connections are accepted per the mode. */
  resetAll(): void {
    for (const [a, b] of this.pairs) {
      reset(a);
      reset(b);
    }
    this.pairs.clear();
    this.silent.clear();
    this.holed.clear();
  }

  /** Resets the connections that never forwarded a byte; returns how many there were. */
  resetSilent(): number {
    const n = this.silent.size;
    for (const pair of [...this.silent]) {
      this.pairs.delete(pair);
      this.silent.delete(pair);
      this.holed.delete(pair);
      reset(pair[0]);
      reset(pair[1]);
    }
    return n;
  }

  async stop(): Promise<void> {
    this.resetAll();
    const server = this.server;
    this.server = undefined;
    if (server) await new Promise<void>((r) => server.close(() => r()));
  }
}

/**
 * RST a connection. One still connecting is destroyed instead: node's resetAndDestroy() waits for
 * 'connect' first, so an upstream whose connect never completes would stay open for good. So is one
 * already shutting down (its peer's FIN came, or it ended): libuv refuses to reset such a handle
 * (EINVAL), and node then never closes it — the process spins at exit in its handle cleanup.
 */
function reset(socket: Socket): void {
  if (socket.connecting || socket.readableEnded || socket.writableEnded) socket.destroy();
  else socket.resetAndDestroy();
}
