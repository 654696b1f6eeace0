// Reads a whole key range in pages, all at one revision: a single response is capped by gRPC's
// 4 MiB receive limit, so a big prefix (many keys, or large values) must not be read in one go.
// EtcdClient.rangeAll() is how the library reads one: through call(), with the caller's signal.
import type { KeyRevision, KeyValue, KvOf, RangeRequest, RangeResponse } from './grpc/messages.js';
import { GrpcError, Status } from './grpc/status.js';

/** Keys per page. */
export const PAGE_SIZE = 500;

export interface PagedRange<K extends KeyRevision = KeyValue> {
  kvs: K[];
  /** The revision every page was read at. */
  revision: bigint;
}

/** A paged read: a RangeRequest whose revision, if given, is a bigint like every other revision. */
export type PagedRangeRequest = Omit<RangeRequest, 'revision'> & { revision?: bigint | undefined };

export interface PageOptions {
  /** Keys per page at most (fewer when a page's values are too big for one response). @default PAGE_SIZE */
  pageSize?: number | undefined;
}

/**
 * All keys of `request` (key + range_end) at `request.revision`, or at the head revision of the
 * first page. `send` performs one RPC (wrap it in retries/deadlines as the caller needs).
 */
export async function pagedRange<R extends PagedRangeRequest>(
  request: R,
  send: (req: R & RangeRequest) => Promise<RangeResponse<KvOf<R>>>,
  { pageSize = PAGE_SIZE }: PageOptions = {},
): Promise<PagedRange<KvOf<R>>> {
  const kvs: KvOf<R>[] = [];
  let revision = request.revision;
  let key = request.key;
  let limit = pageSize;
  for (;;) {
    let res: RangeResponse<KvOf<R>>;
    try {
      res = await send({ ...request, key, limit, ...(revision !== undefined && { revision }) });
    } catch (err) {
      // PAGE_SIZE keys of big values (up to etcd's 1.5 MiB each) can still be over 4 MiB: fewer per page.
      if (limit > 1 && tooLarge(err)) {
        limit = await smallerLimit(err as GrpcError, limit, { ...request, key, ...(revision !== undefined && { revision }) }, send);
        continue;
      }
      throw err;
    }
    // Pin every later page to the first page's revision, so the pages form one snapshot.
    revision ??= res.header.revision;
    kvs.push(...res.kvs);
    if (!res.more || res.kvs.length === 0) break;
    key = Buffer.concat([res.kvs.at(-1)!.key, Buffer.from([0])]); // the next key after the last one
  }
  return { kvs, revision };
}

/**
 * The limit for the next try of a page our client refused as too large. Halving until it fits costs
 * one refused response per try, each a transfer of up to the receive limit cut off mid-flight (and
 * Deno 2.9's HTTP/2 client destroys its whole session after a handful of those). Instead: how many
 * keys that page held (a count-only read, a few bytes) and the size etcd was sending give the bytes
 * per key; the next page takes what fits in 3/4 of the limit. Halving when either is unknown.
 */
async function smallerLimit<R extends RangeRequest>(err: GrpcError, limit: number, page: R, send: (req: R) => Promise<RangeResponse<KeyRevision>>): Promise<number> {
  const halved = Math.max(1, Math.floor(limit / 2));
  const size = /larger than max \((\d+) vs\. (\d+)\)/i.exec(err.details);
  if (!size) return halved;
  let keys: number;
  try {
    keys = Math.min(limit, Number((await send({ ...page, limit: undefined, count_only: true })).count));
  } catch {
    return halved;
  }
  if (!(keys > 0)) return halved;
  const fits = Math.floor((Number(size[2]) * 0.75) / (Number(size[1]) / keys));
  return Math.max(1, Math.min(limit - 1, fits));
}

/** Our client refused a response over its receive limit (RESOURCE_EXHAUSTED, "Received message larger than max"). */
function tooLarge(err: unknown): boolean {
  return err instanceof GrpcError && err.code === Status.RESOURCE_EXHAUSTED && /larger than max/i.test(err.details);
}
