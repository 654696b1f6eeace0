// etcd's WatchResponse (proto/rpc.proto, events from proto/kv.proto) decoded by hand on wire.ts:
// every config and registry change arrives as one. Requests on the Watch stream stay with protobufjs
// (codec.ts): few, and not on a hot path. The result is what protobufjs's toObject() gives
// (test/unit/kv-codec.test.ts checks it), except where that would not be an M.WatchResponse: a
// response without its header, an event without its kv or of a type we do not know all throw.
import type * as M from './messages.js';
import { headed, readHeader, readKeyValue, type Unheaded } from './kv-codec.js';
import { decoder, type Reader, WIRE_BYTES, WIRE_VARINT } from './wire.js';

const EVENT_TYPES: ReadonlyArray<M.Event['type']> = ['PUT', 'DELETE'];

/**
 * One event. protobufjs leaves a type it does not know as a number and an absent kv as null; the
 * watch consumer would take the number for a DELETE and fail on the null, so both are errors here
 * (etcd-rpc.ts ends the stream with INTERNAL naming the cause; the watch hub reopens it).
 */
function readEvent(r: Reader): M.Event {
  const e: Omit<M.Event, 'kv'> & { kv: M.KeyValue | undefined } = { type: 'PUT', kv: undefined, prev_kv: null };
  while (!r.done) {
    const tag = r.uint32();
    if (tag === ((1 << 3) | WIRE_VARINT)) e.type = eventType(r.uint32());
    else if (tag === ((2 << 3) | WIRE_BYTES)) e.kv = readKeyValue(r.nested());
    else if (tag === ((3 << 3) | WIRE_BYTES)) e.prev_kv = readKeyValue(r.nested());
    else r.skip(tag & 7);
  }
  if (e.kv === undefined) throw new RangeError('protobuf: watch event without its kv');
  return e as M.Event; // kv checked just above
}

function eventType(n: number): M.Event['type'] {
  const type = EVENT_TYPES[n];
  // An int32 enum: read as 32 bits unsigned, shown signed (-1 came as ten bytes).
  if (type === undefined) throw new RangeError(`protobuf: watch event of unknown type ${n | 0}`);
  return type;
}

export const decodeWatchResponse = decoder((r): M.WatchResponse => {
  const m: Unheaded<M.WatchResponse> = {
    events: [],
    header: undefined,
    watch_id: '0',
    created: false,
    canceled: false,
    compact_revision: 0n,
    cancel_reason: '',
    fragment: false,
  };
  while (!r.done) {
    const tag = r.uint32();
    switch (tag) {
      case (1 << 3) | WIRE_BYTES:
        m.header = readHeader(r.nested());
        break;
      case (2 << 3) | WIRE_VARINT:
        m.watch_id = r.int64(true);
        break;
      case (3 << 3) | WIRE_VARINT:
        m.created = r.bool();
        break;
      case (4 << 3) | WIRE_VARINT:
        m.canceled = r.bool();
        break;
      case (5 << 3) | WIRE_VARINT:
        m.compact_revision = r.bigint();
        break;
      case (6 << 3) | WIRE_BYTES:
        m.cancel_reason = r.bytes().toString('utf8');
        break;
      case (7 << 3) | WIRE_VARINT:
        m.fragment = r.bool();
        break;
      case (11 << 3) | WIRE_BYTES:
        m.events.push(readEvent(r.nested()));
        break;
      default:
        r.skip(tag & 7);
    }
  }
  return headed(m, 'WatchResponse');
});
