// Protocol-buffers wire format (https://protobuf.dev/programming-guides/encoding/), just the parts
// etcd's KV messages use: varints, 64-bit integers (as decimal strings, or as bigints where our
// messages want them: revisions), bools, bytes and nested messages. Used by kv-codec.ts for the
// calls on every hot path; protobufjs (codec.ts) stays the codec of everything else and the
// reference the tests hold this one to.
//
// Why not protobufjs here: its int64 goes through Long objects both ways (Long.fromString on encode,
// Long.toString on decode, ~1 µs each, a dozen per transaction) and its decode makes a message
// object that toObject() then copies; this writes into one reused buffer and reads straight into
// the plain objects we hand out.

/** int64 as our messages carry it: a decimal string, or a safe integer (or a bigint). */
export type Int64Input = string | number | bigint;

const TWO_32 = 4294967296;
/** Bytes of a varint below which its value is a safe integer (7 × 7 = 49 bits). */
const SAFE_VARINT_BYTES = 7;
/** The longest varint there is: 64 bits, 7 per byte. */
const MAX_VARINT_BYTES = 10;
/** Digits below which a decimal string is a safe integer (10^15 < 2^53). */
const SAFE_DIGITS = 15;
const INT64_MIN = -(2n ** 63n);
const INT64_MAX = 2n ** 63n - 1n;
const SAFE_BIGINT = BigInt(Number.MAX_SAFE_INTEGER);

export const WIRE_VARINT = 0;
export const WIRE_FIXED64 = 1;
export const WIRE_BYTES = 2;
export const WIRE_FIXED32 = 5;

/**
 * Writes one message at a time into a buffer reused across messages (encoding is synchronous, so
 * nothing else can write in between). A nested message gets a one-byte length slot, widened after
 * the fact in the rare case it is 128 bytes or more.
 */
const START_BYTES = 4096;
const KEEP_BYTES = 64 * 1024;

export class Writer {
  private buf = Buffer.allocUnsafe(START_BYTES);
  private pos = 0;

  /** Starts a new message. */
  reset(): this {
    this.pos = 0;
    return this;
  }

  /** A copy of what was written since reset(). */
  finish(): Buffer {
    const out = Buffer.allocUnsafe(this.pos);
    this.buf.copy(out, 0, 0, this.pos);
    // One big value (a config blob) must not pin a big buffer for the life of the process.
    if (this.buf.length > KEEP_BYTES) this.buf = Buffer.allocUnsafe(START_BYTES);
    return out;
  }

  private room(n: number): void {
    if (this.pos + n <= this.buf.length) return;
    const bigger = Buffer.allocUnsafe(Math.max(this.buf.length * 2, this.pos + n));
    this.buf.copy(bigger, 0, 0, this.pos);
    this.buf = bigger;
  }

  /** A non-negative integer up to 2^53 as a varint. */
  varint(n: number): void {
    this.room(10);
    const buf = this.buf;
    while (n > 0x7f) {
      buf[this.pos++] = (n % 128) | 0x80;
      n = Math.floor(n / 128);
    }
    buf[this.pos++] = n;
  }

  tag(field: number, wireType: number): void {
    this.varint(field * 8 + wireType);
  }

  /**
   * An int64 field; negative values as 64-bit two's complement (ten bytes), as protobuf does.
   * Anything an int64 cannot hold exactly (`'1e3'`, `' 12'`, `''`, 1.5, 2^63) is a TypeError or
   * RangeError: user input is validated before it gets here, so this is a bug of ours.
   */
  int64(field: number, value: Int64Input): void {
    this.tag(field, WIRE_VARINT);
    // Hot path: revisions and counts, short digit strings, small numbers or bigints, parsed in place.
    const n =
      typeof value === 'number' ? value
      : typeof value === 'string' ? smallDecimal(value)
      : typeof value === 'bigint' && value >= 0n && value <= SAFE_BIGINT ? Number(value)
      : -1;
    if (n >= 0 && Number.isSafeInteger(n)) return this.varint(n);
    const key = typeof value === 'string' ? value : String(value);
    // Only ever holds values that passed toInt64. Not for numbers: 2 ** 53 is no exact int64, though
    // its text '9007199254740992' (a string or bigint sent before) is one.
    let bytes = typeof value === 'number' ? undefined : bigVarints.get(key);
    if (!bytes) {
      bytes = bigVarint(toInt64(value));
      if (bigVarints.size >= MAX_CACHED) bigVarints.clear();
      bigVarints.set(key, bytes);
    }
    this.room(bytes.length);
    this.buf.set(bytes, this.pos);
    this.pos += bytes.length;
  }

  bool(field: number, value: boolean): void {
    this.tag(field, WIRE_VARINT);
    this.varint(value ? 1 : 0);
  }

  bytes(field: number, value: Uint8Array): void {
    this.tag(field, WIRE_BYTES);
    this.varint(value.length);
    this.room(value.length);
    this.buf.set(value, this.pos);
    this.pos += value.length;
  }

  /** A nested message: `body` writes its fields; the length in front is filled in afterwards. */
  message<T>(field: number, value: T, body: (w: Writer, value: T) => void): void {
    this.tag(field, WIRE_BYTES);
    this.room(1);
    const slot = this.pos++;
    body(this, value);
    const length = this.pos - slot - 1;
    if (length < 0x80) {
      this.buf[slot] = length;
      return;
    }
    // Rare: the length needs more than one byte, so move the body up to make room.
    const extra = varintBytes(length) - 1;
    this.room(extra);
    this.buf.copy(this.buf, slot + 1 + extra, slot + 1, this.pos);
    this.pos += extra;
    const end = this.pos;
    this.pos = slot;
    this.varint(length);
    this.pos = end;
  }
}

/** An int64 field left out or at its default, in any form: proto3 need not send it. */
export function isZero(v: Int64Input | undefined): boolean {
  return v === undefined || v === 0 || v === '0' || v === 0n;
}

/** Lease IDs are 63-bit and sent again and again: their varints, by decimal text. */
const bigVarints = new Map<string, Uint8Array>();
const MAX_CACHED = 256;

/** A string of 1 to 15 decimal digits as its value, anything else -1 (for the slow path to judge). */
function smallDecimal(s: string): number {
  const length = s.length;
  if (length === 0 || length > SAFE_DIGITS) return -1;
  let n = 0;
  for (let i = 0; i < length; i++) {
    const digit = s.charCodeAt(i) - 48;
    if (digit < 0 || digit > 9) return -1;
    n = n * 10 + digit;
  }
  return n;
}

/** The slow path's check: exactly the values an int64 field holds, in the forms our messages use. */
function toInt64(value: Int64Input): bigint {
  let v: bigint;
  if (typeof value === 'bigint') v = value;
  else if (typeof value === 'number') {
    if (!Number.isInteger(value)) throw new TypeError(`protobuf: int64 value ${value} is not an integer`);
    if (!Number.isSafeInteger(value)) throw new RangeError(`protobuf: int64 value ${value} is not a safe integer: pass it as a decimal string`);
    v = BigInt(value);
  } else if (typeof value === 'string') {
    // BigInt() alone would take '', ' 12', '0x10' and '0b1': decimal digits with an optional '-' only.
    if (!isDecimal(value)) throw new TypeError(`protobuf: int64 value ${JSON.stringify(value)} is not a decimal integer`);
    v = BigInt(value);
  } else throw new TypeError(`protobuf: int64 value of type ${typeof value}`);
  if (v < INT64_MIN || v > INT64_MAX) throw new RangeError(`protobuf: int64 value ${String(value)} is out of range`);
  return v;
}

function isDecimal(s: string): boolean {
  const start = s.charCodeAt(0) === 45 ? 1 : 0; // '-'
  if (s.length === start) return false;
  for (let i = start; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c < 48 || c > 57) return false;
  }
  return true;
}

function bigVarint(value: bigint): Uint8Array {
  let v = BigInt.asUintN(64, value);
  const out: number[] = [];
  while (v > 0x7fn) {
    out.push(Number(v & 0x7fn) | 0x80);
    v >>= 7n;
  }
  out.push(Number(v));
  return Uint8Array.from(out);
}

/** The other way: cluster and member IDs come in every response header (several per txn). */
interface BigText {
  bytes: Uint8Array;
  signed: boolean;
  text: string;
}
const bigTexts: BigText[] = [];
const MAX_BIG_TEXTS = 8;

/** `bytes` equals `buf[start, start + length)`. */
function sameBytes(bytes: Uint8Array, buf: Uint8Array, start: number, length: number): boolean {
  if (bytes.length !== length) return false;
  for (let i = 0; i < length; i++) if (bytes[i] !== buf[start + i]) return false;
  return true;
}

/** The low 64 bits of a whole varint (at most ten bytes), unsigned. */
function uint64Of(bytes: Uint8Array): bigint {
  let v = 0n;
  for (let i = 0; i < bytes.length; i++) v |= BigInt(bytes[i]! & 0x7f) << BigInt(7 * i);
  return BigInt.asUintN(64, v);
}

function varintBytes(n: number): number {
  let bytes = 1;
  while (n > 0x7f) {
    n = Math.floor(n / 128);
    bytes++;
  }
  return bytes;
}

/** Reads one message; `end` bounds a nested message inside the same buffer. */
export class Reader {
  pos: number;

  constructor(
    readonly buf: Buffer,
    pos = 0,
    public end = buf.length,
  ) {
    this.pos = pos;
  }

  get done(): boolean {
    return this.pos >= this.end;
  }

  /** A varint that fits in 32 bits unsigned (tags, lengths, enums, bools). */
  uint32(): number {
    let n = 0;
    for (let shift = 0; shift < 35; shift += 7) {
      const b = this.byte();
      n += (b & 0x7f) * 2 ** shift;
      if (b < 0x80) return n > 0xffffffff ? n % TWO_32 : n;
    }
    // A longer varint (an int32 enum below zero is sent as ten bytes): keep its low 32 bits.
    this.varintEnd(this.pos - 5);
    return n % TWO_32;
  }

  bool(): boolean {
    return this.uint32() !== 0;
  }

  /** An int64 (`signed`) or uint64 varint as a decimal string, exact beyond 2^53. */
  int64(signed: boolean): string {
    const start = this.pos;
    const n = this.shortVarint();
    if (n >= 0) return String(n);
    // Eight bytes or more (IDs, negative numbers): exact, through BigInt, remembered by their bytes
    // (compared in place: a cluster and a member ID come in every response header).
    this.varintEnd(start);
    const buf = this.buf;
    const length = this.pos - start;
    for (const seen of bigTexts) if (seen.signed === signed && sameBytes(seen.bytes, buf, start, length)) return seen.text;
    const bytes = buf.subarray(start, this.pos);
    const v = uint64Of(bytes);
    const text = (signed ? BigInt.asIntN(64, v) : v).toString();
    if (bigTexts.length >= MAX_BIG_TEXTS) bigTexts.shift();
    bigTexts.push({ bytes: Uint8Array.from(bytes), signed, text });
    return text;
  }

  /** An int64 varint as a bigint (revisions): exact, through a number while that is exact. */
  bigint(): bigint {
    const start = this.pos;
    const n = this.shortVarint();
    if (n >= 0) return BigInt(n);
    // Eight bytes or more (a negative number, a revision past 2^49): the 64-bit path.
    this.varintEnd(start);
    return BigInt.asIntN(64, uint64Of(this.buf.subarray(start, this.pos)));
  }

  /** A varint of up to seven bytes (below 2^49, so a safe integer); -1 if it goes on. */
  private shortVarint(): number {
    let n = 0;
    for (let i = 0; i < SAFE_VARINT_BYTES; i++) {
      const b = this.byte();
      n += (b & 0x7f) * 2 ** (7 * i);
      if (b < 0x80) return n;
    }
    return -1;
  }

  /** Bytes: a view into the buffer we read (no copy), as protobufjs's reader gives. */
  bytes(): Buffer {
    const length = this.uint32();
    const start = this.pos;
    this.pos += length;
    if (this.pos > this.end) throw new RangeError('protobuf: bytes field runs past the end of the message');
    return this.buf.subarray(start, this.pos);
  }

  /** A nested message's bounds: the reader that reads it (same buffer) ends where it does. */
  nested(): Reader {
    const length = this.uint32();
    const start = this.pos;
    this.pos += length;
    if (this.pos > this.end) throw new RangeError('protobuf: nested message runs past the end of the message');
    return new Reader(this.buf, start, this.pos);
  }

  /** Skips a field we do not read (newer etcd versions may add some). */
  skip(wireType: number): void {
    if (wireType === WIRE_VARINT) this.varintEnd(this.pos);
    else if (wireType === WIRE_FIXED64) this.pos += 8;
    else if (wireType === WIRE_BYTES) {
      const length = this.uint32(); // read first: `pos += uint32()` would add to the old pos
      this.pos += length;
    }
    else if (wireType === WIRE_FIXED32) this.pos += 4;
    else throw new RangeError(`protobuf: unsupported wire type ${wireType}`);
    if (this.pos > this.end) throw new RangeError('protobuf: field runs past the end of the message');
  }

  /** Reads on to the last byte of the varint that began at `start`; more than ten is malformed. */
  private varintEnd(start: number): void {
    while (this.byte() >= 0x80) {
      // protobufjs's 64-bit reader throws the same; a longer one would shift the rest of the message.
      if (this.pos - start >= MAX_VARINT_BYTES) throw new RangeError('protobuf: invalid varint encoding (longer than 10 bytes)');
    }
  }

  private byte(): number {
    if (this.pos >= this.end) throw new RangeError('protobuf: varint runs past the end of the message');
    return this.buf[this.pos++]!;
  }
}

/** The one writer every encoder shares: encoding is synchronous, so one message at a time. */
const writer = new Writer();

/** An encoder of whole messages from a function that writes one's fields. */
export function encoder<T>(write: (w: Writer, message: T) => void): (message: T) => Buffer {
  return (message) => {
    write(writer.reset(), message);
    return writer.finish();
  };
}

/** A decoder of whole messages from a function that reads one. */
export function decoder<T>(read: (r: Reader) => T): (bytes: Buffer) => T {
  return (bytes) => read(new Reader(bytes));
}
