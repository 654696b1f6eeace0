// gRPC's message framing on HTTP/2 DATA frames: each message is a 1-byte compressed flag, a 4-byte
// big-endian length and the bytes. A message may be split across DATA frames and one frame may
// carry several messages, so reading keeps whatever is left over for the next chunk.

/** Bytes of the length prefix in front of every gRPC message. */
export const PREFIX_BYTES = 5;

/** Frames `body` as one uncompressed gRPC message (one allocation, one copy). */
export function frame(body: Uint8Array): Buffer {
  const out = Buffer.allocUnsafe(PREFIX_BYTES + body.length);
  out[0] = 0;
  out.writeUInt32BE(body.length, 1);
  out.set(body, PREFIX_BYTES);
  return out;
}

/** Receives whole messages (an object with a method, so a call needs no closure per message). */
export interface MessageSink {
  onMessage(message: Buffer): void;
}

/**
 * Collects DATA chunks and hands out whole messages. Chunks are kept by reference and only
 * concatenated when a message spans them; a message inside one chunk is a zero-copy slice.
 */
export class MessageReader {
  private chunks: Buffer[] = [];
  private buffered = 0;
  /** Length of the message being collected, once its prefix is in; -1 before. */
  private need = -1;

  constructor(private readonly maxMessageBytes: number = 4 * 1024 * 1024) {}

  /** Feeds one chunk; calls `sink.onMessage` for every message it completes. Throws on a bad frame. */
  push(chunk: Buffer, sink: MessageSink): void {
    if (this.buffered === 0 && this.need < 0) {
      // Fast path: whole messages packed in this chunk, nothing left over from before.
      let at = 0;
      while (chunk.length - at >= PREFIX_BYTES) {
        const length = this.lengthAt(chunk, at);
        if (chunk.length - at - PREFIX_BYTES < length) break;
        sink.onMessage(chunk.subarray(at + PREFIX_BYTES, at + PREFIX_BYTES + length));
        at += PREFIX_BYTES + length;
      }
      if (at === chunk.length) return;
      chunk = chunk.subarray(at);
    }
    this.chunks.push(chunk);
    this.buffered += chunk.length;
    for (;;) {
      if (this.need < 0) {
        if (this.buffered < PREFIX_BYTES) return;
        const head = this.take(PREFIX_BYTES);
        this.need = this.lengthAt(head, 0);
      }
      if (this.buffered < this.need) return;
      const message = this.take(this.need);
      this.need = -1;
      sink.onMessage(message);
    }
  }

  /** True when a message was started but not finished (the stream ended mid-message). */
  get partial(): boolean {
    return this.buffered > 0 || this.need >= 0;
  }

  private lengthAt(buf: Buffer, at: number): number {
    if (buf[at] !== 0) throw new Error('compressed gRPC messages are not supported (no grpc-encoding was offered)');
    const length = buf.readUInt32BE(at + 1);
    if (length > this.maxMessageBytes) throw new Error(`Received message larger than max (${length} vs. ${this.maxMessageBytes})`);
    return length;
  }

  /** Removes and returns the next `n` buffered bytes. */
  private take(n: number): Buffer {
    const first = this.chunks[0]!;
    let out: Buffer;
    if (first.length >= n) {
      out = first.subarray(0, n);
      if (first.length === n) this.chunks.shift();
      else this.chunks[0] = first.subarray(n);
    } else {
      out = Buffer.allocUnsafe(n);
      let filled = 0;
      while (filled < n) {
        const c = this.chunks[0]!;
        const part = Math.min(c.length, n - filled);
        c.copy(out, filled, 0, part);
        filled += part;
        if (part === c.length) this.chunks.shift();
        else this.chunks[0] = c.subarray(part);
      }
    }
    this.buffered -= n;
    return out;
  }
}
