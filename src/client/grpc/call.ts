// One gRPC call: a unary call, or a bidirectional stream's state. It collects what the server sends
// (status, messages), runs the deadline and the caller's abort, and settles exactly once.
//  - Every call has a deadline: `grpc-timeout` tells etcd, a local timer enforces it. Abort and
//    deadline close the HTTP/2 stream with RST_STREAM(CANCEL) — a real cancel on the wire — and the
//    caller learns at once.
//  - A unary call settles on the server's trailers (the common case), else when its stream closes.
import { constants, type ClientHttp2Stream } from 'node:http2';
import { abortError, CoordinationError, ErrorCode } from '../../errors.js';
import type { Connection } from './connection.js';
import type { Deadline, Deadlines } from './deadlines.js';
import { MessageReader } from './framing.js';
import { GrpcError, Status, statusFromHttp } from './status.js';

export interface StreamHandlers {
  onMessage(message: Buffer): void;
  /** Called once: with undefined for an OK end, else with the error that ended the stream. */
  onEnd(error: GrpcError | undefined): void;
}

const { NGHTTP2_CANCEL } = constants;

function rst(stream: ClientHttp2Stream): void {
  if (!stream.closed && !stream.destroyed && !stream.session?.destroyed) stream.close(NGHTTP2_CANCEL);
}

/** An in-flight call; its HTTP/2 stream's event handlers (stream-handlers.ts) find it on the stream. */
export class Call {
  status = -1;
  statusMessage = '';
  httpStatus = 0;
  message: Buffer | undefined;
  messages = 0;
  error: Error | undefined;
  settled = false;
  private deadline: Deadline | undefined;
  private deadlines: Deadlines | undefined;
  private reader: MessageReader | undefined;
  signal: AbortSignal | undefined;
  onAbort: (() => void) | undefined;
  stream: ClientHttp2Stream | undefined;
  conn: Connection | undefined;
  /** Turns the response into what the caller's promise resolves with (decoded once, here). */
  decode: ((message: Buffer) => unknown) | undefined;
  /** The RPC (:path), to name it when its answer cannot be decoded. */
  private path = '';
  /** When the call started, and the channel it waits on for a connection (slow path only). */
  startedAt = 0;
  connecting: { abandonConnect(since: number): void } | undefined;
  /** conn.activity when the request was sent. */
  activityAtStart = 0;

  constructor(
    readonly resolve: (message: Buffer) => void,
    readonly reject: (err: unknown) => void,
    private readonly maxBytes: number,
    /** Streams: every message and the end go here instead of resolve/reject. */
    readonly handlers?: StreamHandlers,
  ) {
  }

  /**
   * Starts the clock: the caller's abort and the deadline timer. False (and the call settled) when
   * the signal was already aborted.
   */
  arm(path: string, timeoutMs: number, signal: AbortSignal | undefined, deadlines: Deadlines): boolean {
    this.path = path;
    if (signal) {
      if (signal.aborted) {
        this.settle(abortError(signal, path));
        return false;
      }
      this.signal = signal;
      this.onAbort = () => {
        if (isTimeout(signal.reason)) this.suspect();
        this.cancel(abortError(signal, path));
      };
      signal.addEventListener('abort', this.onAbort, { once: true });
    }
    this.startedAt = performance.now();
    this.deadlines = deadlines;
    this.deadline = deadlines.start(this, timeoutMs);
    return true;
  }

  /** The deadline passed. */
  expire(): void {
    this.suspect(); // before the cancel: a probe needs a stream open to be allowed
    this.cancel(new GrpcError(Status.DEADLINE_EXCEEDED, `deadline of ${this.deadline!.ms} ms exceeded`));
  }

  /** DATA from the server; the reader is made on first use. */
  data(chunk: Buffer): void {
    (this.reader ??= new MessageReader(this.maxBytes)).push(chunk, this);
  }

  onMessage(message: Buffer): void {
    if (this.handlers) {
      this.handlers.onMessage(message);
      return;
    }
    this.messages++;
    this.message = message;
  }

  /**
   * The call ran out of time. If nothing at all came back on its session meanwhile, the session is
   * dead (e.g. cut off in a black hole): drop it now, so the next call connects afresh. Otherwise
   * the peer is alive but slow; a PING checks it.
   */
  suspect(): void {
    if (this.settled) return;
    const conn = this.conn;
    if (!conn) {
      // Still waiting for a connection: one that has been connecting for this whole call is stuck.
      this.connecting?.abandonConnect(this.startedAt);
      return;
    }
    if (conn.activity === this.activityAtStart) conn.kill(new Error('no answer on the connection for a whole call'), 'disconnected');
    else conn.probe();
  }

  /** Ends the call with `err` now and cancels the stream on the wire. */
  cancel(err: Error): void {
    if (this.settled) return;
    const stream = this.stream;
    this.settle(err);
    // The RST_STREAM goes out on the next turn of the event loop, never from inside a timer or event
    // handler that runs while node's http2 session is busy: submitted synchronously right after a
    // long SIGSTOP, Node 20's native rstStream was seen spinning in SendPendingData (a busy hang).
    if (stream && !stream.closed && !stream.destroyed) setImmediate(rst, stream);
  }

  settle(err: Error | undefined): void {
    if (this.settled) return;
    this.settled = true;
    if (this.deadline) this.deadlines!.release(this.deadline);
    if (this.onAbort) this.signal!.removeEventListener('abort', this.onAbort);
    if (this.handlers) {
      this.handlers.onEnd(err as GrpcError | undefined);
      return;
    }
    if (err) this.reject(err);
    else if (!this.decode) this.resolve(this.message!);
    else {
      let decoded: unknown;
      try {
        decoded = this.decode(this.message!);
      } catch (e) {
        // Our bug (or a server we cannot read), not an outage: INTERNAL_ERROR, never retried.
        this.reject(new CoordinationError(ErrorCode.Internal, `undecodable ${this.path} response: ${(e as Error).message}`, { cause: e }));
        return;
      }
      this.resolve(decoded as Buffer);
    }
  }

  /**
   * The server sent its status. A unary call's outcome is known now: settling here rather than at
   * the stream's 'close' lets the caller's next request go out before node tears this stream down
   * (that work then overlaps with etcd's). Anything unusual waits for 'close' and `finish`.
   */
  statusIn(): void {
    if (this.settled || this.handlers) return;
    if (this.status !== Status.OK) this.settle(new GrpcError(this.status, this.statusMessage));
    else if (this.messages === 1 && !this.reader?.partial) this.settle(undefined);
  }

  /** The stream closed: decide the outcome from the status we got (or did not get). */
  finish(rstCode: number): void {
    if (this.settled) return;
    if (this.status < 0) {
      if (this.httpStatus !== 0 && this.httpStatus !== 200) {
        return this.settle(new GrpcError(statusFromHttp(this.httpStatus), `HTTP status ${this.httpStatus}`));
      }
      const why = this.error?.message ?? (rstCode ? `stream reset (HTTP/2 code ${rstCode})` : 'stream closed without a status');
      return this.settle(new GrpcError(Status.UNAVAILABLE, why, this.error ? { cause: this.error } : undefined));
    }
    if (this.status !== Status.OK) return this.settle(new GrpcError(this.status, this.statusMessage));
    if (this.handlers) return this.settle(undefined);
    if (this.messages !== 1) return this.settle(new GrpcError(Status.INTERNAL, `unary call got ${this.messages} messages`));
    this.settle(undefined);
  }
}

/** The caller's AbortSignal.timeout() fired: the call ran out of time, as at its own deadline. */
function isTimeout(reason: unknown): boolean {
  return reason instanceof Error && reason.name === 'TimeoutError';
}
