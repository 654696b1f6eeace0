// LeaderElection on etcd: campaign (campaign.ts), the leadership it yields (leadership.ts), the
// current leader (one range, Go's Election.Leader), observation (observe.ts) and listing.
import type { EtcdClient } from '../client/etcd-client.js';
import { abortError } from '../errors.js';
import { campaign } from './campaign.js';
import type { SignalOptions } from '../shared/vocabulary.js';
import type { CampaignOptions, ElectionInfo, LeaderElection, LeaderInfo, LeaderObservation, Leadership } from './interface.js';
import { electionPrefix, firstCreated } from './keys.js';
import { listElections } from './listing.js';
import { LeaderObserver } from './observe.js';
import { validateElectionName, validateTtlMs, validateValue } from './validate.js';

export class EtcdLeaderElection implements LeaderElection {
  /** Campaigns in progress: close() lets them finish (they abort on `closing`) and clean up. */
  private readonly inflight = new Set<Promise<unknown>>();

  constructor(private readonly client: EtcdClient) {
    client.own({ close: () => this.close() });
  }

  async campaign(name: string, value: string, opts: CampaignOptions = {}): Promise<Leadership> {
    validateElectionName(name);
    validateValue(value);
    const ttlMs = validateTtlMs(opts.ttlMs);
    const what = `election.campaign ${name}`;
    this.client.assertOpen(what);
    if (opts.signal?.aborted) throw abortError(opts.signal, what);
    const p = campaign({ client: this.client, name, value, ttlMs, signal: opts.signal });
    this.inflight.add(p);
    const done = (): void => void this.inflight.delete(p);
    p.then(done, done);
    return p;
  }

  async leader(name: string, opts: SignalOptions = {}): Promise<LeaderInfo | undefined> {
    validateElectionName(name);
    const res = await this.client.call('election.leader', name, (o) => this.client.rpc.kv.range(firstCreated(electionPrefix(this.client, name)), o), {
      signal: opts.signal,
      idempotent: true,
      level: 'debug',
    });
    const kv = res.kvs[0];
    return kv && { name, value: kv.value.toString(), key: kv.key.toString(), fencingToken: kv.create_revision };
  }

  observe(name: string, opts: SignalOptions = {}): LeaderObservation {
    validateElectionName(name);
    this.client.assertOpen(`election.observe ${name}`);
    return new LeaderObserver(this.client, name, opts.signal);
  }

  list(prefix = '', opts: SignalOptions = {}): Promise<ElectionInfo[]> {
    return listElections(this.client, prefix, opts.signal);
  }

  private async close(): Promise<void> {
    await Promise.allSettled([...this.inflight]);
  }
}
