// etcd's WatchResponse (proto/rpc.proto, events from proto/kv.proto) decoded by hand on wire.ts:
// every config and registry change arrives as one. Requests on the Watch stream stay with protobufjs
// (codec.ts): few, and not on a hot path. The result is what protobufjs's toObject() gives
// (test/unit/kv-codec.test.ts checks it).
import type * as M from './messages.js';
import { readHeader, readKeyValue } from './kv-codec.js';
import { decoder, type Reader, WIRE_BYTES, WIRE_VARINT } from './wire.js';

const EVENT_TYPES: ReadonlyArray<M.Event['type']> = ['PUT', 'DELETE'];

function readEvent(r: Reader): M.Event {
  const e: M.Event = { type: 'PUT', kv: null as unknown as M.KeyValue, prev_kv: null };
  while (!r.done) {
    const tag = r.uint32();
    if (tag === ((1 << 3) | WIRE_VARINT)) {
      const n = r.uint32();
      // An enum value this version does not know stays a number, as protobufjs leaves it.
      e.type = EVENT_TYPES[n] ?? (n as unknown as M.Event['type']);
    } else if (tag === ((2 << 3) | WIRE_BYTES)) e.kv = readKeyValue(r.nested());
    else if (tag === ((3 << 3) | WIRE_BYTES)) e.prev_kv = readKeyValue(r.nested());
    else r.skip(tag & 7);
  }
  return e;
}

export const decodeWatchResponse = decoder((r): M.WatchResponse => {
  const m: M.WatchResponse = {
    events: [],
    header: null as unknown as M.ResponseHeader,
    watch_id: '0',
    created: false,
    canceled: false,
    compact_revision: '0',
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
        m.compact_revision = r.int64(true);
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
  return m;
});
