// Observing an election — etcd's Go Election.Observe, made gap-free: read every candidate (key,
// create revision, value) at one revision, then follow the prefix with the gap-free watch from
// the next revision. The leader is the oldest candidate; each change of who leads or of what the
// leader proclaims is delivered once, in revision order, as a PUT (a DELETE when nobody is left).
import type { EtcdClient } from '../client/etcd-client.js';
import { prefixEnd } from '../client/prefix-end.js';
import { openWatch, type WatchEvent, type WatchStream } from '../shared/watch-stream.js';
import { CoordinationError, ErrorCode } from '../errors.js';
import { toCoordinationError } from '../client/errors.js';
import { EventQueue } from '../shared/event-queue.js';
import { Ownership } from '../shared/ownership.js';
import { oldest } from '../shared/queue-listing.js';
import type { LeaderEvent, LeaderInfo, LeaderObservation } from './interface.js';

interface Candidate {
  create: bigint;
  mod: bigint;
  value: string;
}

export class LeaderObserver implements LeaderObservation {
  readonly ready: Promise<bigint>;
  private readonly rel: string; // the election's prefix, relative to the namespace
  private candidates = new Map<string, Candidate>(); // relative key → candidate
  private last: LeaderInfo | undefined | null = null; // null: nothing delivered yet
  private readonly queue = new EventQueue<LeaderEvent>({ onReturn: () => this.close() });
  private ended = false;
  private watch: WatchStream | undefined;
  private readonly stop = new AbortController();
  private readonly ownership: Ownership;

  constructor(
    private readonly client: EtcdClient,
    private readonly name: string,
    signal: AbortSignal | undefined,
  ) {
    this.rel = `${client.dirs.election}${name}/`;
    this.ownership = new Ownership(client, this, signal);
    this.ready = this.ownership.start(() => this.start(), (err) => this.fail(err));
  }

  private async start(): Promise<bigint> {
    const revision = await this.readAll();
    if (this.ended) return revision;
    this.deliver(revision, false);
    const known = new Map([...this.candidates].map(([k, c]) => [k, c.mod]));
    this.watch = openWatch(this.client, {
      key: this.rel,
      prefix: true,
      fromRevision: revision + 1n,
      known,
      signal: this.stop.signal,
      operation: 'election.observe',
    });
    void this.follow(this.watch);
    return revision;
  }

  /** Every candidate with its create revision and value, at one revision. */
  private async readAll(): Promise<bigint> {
    const key = Buffer.from(this.client.key(this.rel));
    const res = await this.client.rangeAll('election.observe', this.name, { key, range_end: prefixEnd(key) }, { signal: this.stop.signal, level: 'debug' });
    this.candidates = new Map(res.kvs.map((kv) => [this.client.relative(kv.key.toString()), { create: kv.create_revision, mod: kv.mod_revision, value: kv.value.toString() }]));
    return res.revision;
  }

  private async follow(watch: WatchStream): Promise<void> {
    try {
      for await (const ev of watch) {
        if (ev.reconciled) await this.readAll(); // after a compaction: create revisions come from a fresh read
        else this.apply(ev);
        this.deliver(ev.revision, ev.reconciled);
      }
    } catch (err) {
      this.fail(err);
    }
  }

  private apply(ev: WatchEvent): void {
    if (ev.type === 'DELETE') this.candidates.delete(ev.key);
    else {
      // A PUT of a key we know is a proclaim: same candidate, same create revision, new value.
      const create = this.candidates.get(ev.key)?.create ?? ev.revision;
      this.candidates.set(ev.key, { create, mod: ev.revision, value: ev.value?.toString() ?? '' });
    }
  }

  /** Queues the leader as of `revision` if it differs from the last one delivered. */
  private deliver(revision: bigint, reconciled: boolean): void {
    const leader = oldest(this.candidates, ([, c]) => c.create);
    const info = leader && { name: this.name, value: leader[1].value, key: this.client.key(leader[0]), fencingToken: leader[1].create };
    const last = this.last;
    if (last !== null && last?.key === info?.key && last?.fencingToken === info?.fencingToken && last?.value === info?.value) return;
    this.last = info;
    this.queue.push({ type: info ? 'PUT' : 'DELETE', leader: info, revision, timestamp: new Date(), reconciled });
  }

  /** Ends the observation with an error: pending changes are still read, then it is thrown. */
  private fail(err: unknown): void {
    if (this.ended) return;
    this.queue.end(toCoordinationError(err, `election.observe ${this.name}`));
    void this.close();
  }

  async close(): Promise<void> {
    if (this.ended) return;
    this.ended = true;
    this.stop.abort(new CoordinationError(ErrorCode.Cancelled, `election.observe ${this.name}: closed`));
    this.ownership.release();
    this.queue.close(); // closed: pending changes are dropped, like the watch's
    await this.watch?.close();
  }

  [Symbol.asyncDispose](): Promise<void> {
    return this.close();
  }

  [Symbol.asyncIterator](): AsyncIterator<LeaderEvent> {
    return this.queue[Symbol.asyncIterator]();
  }
}
