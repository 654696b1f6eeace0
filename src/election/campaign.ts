// Campaigning — etcd's Go Election.Campaign, with its holes closed: one transaction puts our key
// (on our own lease) and reads who is just ahead of us; we wait, with the lock's quiet waiter, for
// that candidate alone to go; then we lead. Unlike Go, the last wake-up re-reads our own key, so
// a candidacy lost while waiting rejects instead of "winning" without a key, and every way out
// short of leading revokes our lease, so no candidate key is left behind (etcd#21128).
import type { TxnRequest } from '../client/grpc/messages.js';
import type { EtcdClient } from '../client/etcd-client.js';
import { KeptLease } from '../shared/kept-lease.js';
import { CoordinationError } from '../errors.js';
import { toCoordinationError } from '../client/errors.js';
import { errorText } from '../logger.js';
import { aheadOf, newestTwo, waitForTurn, type Contender } from '../shared/fair-queue.js';
import { linkSignals } from '../shared/signals.js';
import { candidateKey, electionPrefix } from './keys.js';
import { HeldLeadership } from './leadership.js';
import { absent } from '../shared/guard.js';

export interface CampaignRequest {
  client: EtcdClient;
  name: string;
  value: string;
  ttlMs: number;
  signal: AbortSignal | undefined;
}

export async function campaign(r: CampaignRequest): Promise<HeldLeadership> {
  const { client, name, value, signal } = r;
  const prefix = electionPrefix(client, name);
  // Our own lease, like Go's session: it keeps our candidacy alive while we wait and while we lead.
  const lease = await KeptLease.grant(client, r.ttlMs, { signal, keepAlive: true });
  const myKey = candidateKey(prefix, lease.hexId);
  try {
    const mine = Buffer.from(myKey);
    const txn: TxnRequest = {
      // Join if absent and read the newest two candidates: ours, and who is just ahead of us.
      compare: [absent(mine)],
      success: [{ request_put: { key: mine, value: Buffer.from(value), lease: lease.id } }, { request_range: newestTwo(prefix) }],
      failure: [{ request_range: { key: mine, keys_only: true } }],
    };
    // Safe to resend: a second attempt finds our key (a fresh lease's key is only ever ours).
    const res = await client.call('election.campaign', name, (o) => client.rpc.kv.txn(txn, o), { signal, idempotent: true, level: 'debug' });
    const contender = (myRev: bigint, s: AbortSignal): Contender => ({ client, key: name, prefix, myKey, myRev, signal: s, noun: 'election' });
    let myRev = res.header.revision;
    let ahead: string | undefined;
    if (res.succeeded) {
      ahead = res.responses[1]?.response_range!.kvs[1]?.key.toString();
    } else {
      // A resent join: our place comes from our key's create revision.
      myRev = res.responses[0]!.response_range!.kvs[0]!.create_revision;
      ahead = await aheadOf(contender(myRev, signal ?? client.closing));
    }
    if (ahead !== undefined) {
      // The wait ends early if the caller gives up, the coordinator closes, or our lease is lost.
      const linked = linkSignals(signal, client.closing, lease.signal);
      try {
        await waitForTurn(contender(myRev, linked.signal), ahead);
      } finally {
        linked.dispose();
      }
    }
    // waitForTurn's last read saw our key first in line; a lease lost since means no leadership.
    if (lease.isLost) throw lease.signal.reason as CoordinationError;
    return new HeldLeadership(client, name, myKey, myRev, lease);
  } catch (err) {
    const error = toCoordinationError(err, `election.campaign ${name}`);
    // Leave nothing behind: revoking our lease deletes our key (bounded: the lease expires anyway).
    await lease.revoke(AbortSignal.timeout(client.timeout)).catch((e: unknown) => {
      client.logger.warn({ operation: 'election.campaign', key: name, error: errorText(e) }, 'revoke after failed campaign failed; the key expires with its lease');
    });
    throw error;
  }
}
