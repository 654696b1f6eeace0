// Key layout shared with etcd's Go concurrency.Election: election `name` lives under
// `<ns>/elections/<name>/`, each candidate's key is that prefix + its lease ID in lowercase hex,
// the leader is the candidate with the lowest create revision.
import type { FullRangeRequest } from '../client/grpc/messages.js';
import type { EtcdClient } from '../client/etcd-client.js';
import { prefixEnd } from '../client/prefix-end.js';

/** Full etcd prefix of election `name`: what Go's `NewElection(session, path.Join("/elections", name))` uses. */
export function electionPrefix(client: EtcdClient, name: string): string {
  return client.key(`${client.dirs.election}${name}/`);
}

/** A candidate's key: prefix + lease ID in lowercase hex, like Go's `%x` of the session lease. */
export function candidateKey(prefix: string, leaseHexId: string): string {
  return prefix + leaseHexId;
}

/** The oldest candidate of an election (Go's `WithFirstCreate`): its leader. */
export function firstCreated(prefix: string): FullRangeRequest {
  const key = Buffer.from(prefix);
  return { key, range_end: prefixEnd(key), sort_target: 'CREATE', sort_order: 'ASCEND', limit: 1 };
}
