// Moving config written by @gochat/coordination ≤ 0.1 (keys without the leading slash:
// `<namespace>/config/<key>`, or `config/<key>` with no namespace) to gochat's Go layout
// (`/<namespace>/config/<key>`, `/config/<key>`), for `coordctl migrate-layout`. Only config is
// moved: locks, registrations and instance IDs live on leases and go away with the old processes.
import type { EtcdClient } from '../client/etcd-client.js';
import type { RequestOp, TxnRequest } from '../client/grpc/messages.js';
import { prefixEnd } from '../client/prefix-end.js';
import { isCleanPath } from '../layout.js';
import { absent } from '../shared/guard.js';

export type MoveAction = 'copy' | 'same' | 'conflict' | 'skip';

export interface PlannedMove {
  /** Config key (relative to the config prefix), as both layouts name it. */
  key: string;
  from: string;
  to: string;
  /** copy: absent in the new layout; same: there with equal bytes; conflict: there with other bytes; skip: not a path Go could name. */
  action: MoveAction;
}

export interface MigrationPlan {
  moves: PlannedMove[];
  /** Leased keys (locks, services, ids) still under the old layout: held by processes of the old version. */
  leased: number;
  legacyRoot: string;
}

/** The old root of this coordinator's keys: its namespace without the leading slash ('' for none). */
export function legacyRoot(client: EtcdClient): string {
  return client.namespace ? `${client.namespace.slice(1)}/` : '';
}

/** Whole keys (values and leases: a keys-only read has neither on etcd 3.7). */
async function read(client: EtcdClient, prefix: string, signal?: AbortSignal) {
  const key = Buffer.from(prefix);
  return (await client.rangeAll('config.migrate.read', prefix, { key, range_end: prefixEnd(key) }, { signal, level: 'debug' })).kvs;
}

/** What would move, compared byte for byte with what the new layout already holds. */
export async function planMigration(client: EtcdClient, signal?: AbortSignal): Promise<MigrationPlan> {
  const root = legacyRoot(client);
  const dirs = client.dirs;
  const from = `${root}config/`;
  const to = client.key(dirs.config);
  const [old, current] = await Promise.all([read(client, from, signal), read(client, to, signal)]);
  const now = new Map(current.map((kv) => [kv.key.toString(), kv.value]));
  const moves = old.map((kv): PlannedMove => {
    const key = kv.key.toString().slice(from.length);
    const target = to + key;
    const there = now.get(target);
    const action = !isCleanPath(key) ? 'skip' : there === undefined ? 'copy' : there.equals(kv.value) ? 'same' : 'conflict';
    return { key, from: kv.key.toString(), to: target, action };
  });
  const leasedDirs = ['locks/', 'services/', 'ids/'].map((d) => read(client, root + d, signal));
  const leased = (await Promise.all(leasedDirs)).reduce((n, kvs) => n + kvs.filter((kv) => kv.lease !== '0').length, 0);
  return { moves, leased, legacyRoot: root };
}

/**
 * Carries out `plan`: each copy is a create-if-absent put of the old value (a concurrent writer of the
 * new key wins); with `deleteOld`, each old key that was copied or already the same is deleted if it
 * did not change since it was read. Returns how many keys were copied and deleted.
 */
export async function applyMigration(
  client: EtcdClient,
  plan: MigrationPlan,
  { deleteOld = false, signal }: { deleteOld?: boolean; signal?: AbortSignal } = {},
): Promise<{ copied: number; deleted: number }> {
  let copied = 0;
  let deleted = 0;
  const txn = <const S extends readonly RequestOp[] = [], const F extends readonly RequestOp[] = []>(key: string, request: TxnRequest<S, F>, idempotent: boolean) =>
    client.call('config.migrate', key, (o) => client.rpc.kv.txn(request, o), { signal, idempotent, level: 'debug' });
  for (const move of plan.moves) {
    if (move.action !== 'copy' && move.action !== 'same') continue;
    const [from, to] = [Buffer.from(move.from), Buffer.from(move.to)];
    const [source] = await read(client, move.from, signal).then((kvs) => kvs.filter((kv) => kv.key.equals(from)));
    if (!source) continue; // deleted meanwhile
    const unchanged = { key: from, target: 'MOD' as const, result: 'EQUAL' as const, mod_revision: source.mod_revision };
    // Copy the value as it is now, unless the new key exists (a new writer wins) or the old one moved.
    const res = await txn(
      move.key,
      { compare: [absent(to), unchanged], success: [{ request_put: { key: to, value: source.value } }], failure: [{ request_range: { key: to } }] },
      false,
    );
    if (res.succeeded) copied++;
    else if (!res.responses[0]?.response_range!.kvs[0]?.value.equals(source.value)) continue; // keep the old key
    if (deleteOld && (await txn(move.key, { compare: [unchanged], success: [{ request_delete_range: { key: from } }] }, true)).succeeded) deleted++;
  }
  return { copied, deleted };
}
