// Revoking a lease by its ID, for owners that must be able to try again: KeptLease.revoke() counts
// itself done before its RPC (a second call returns at once, even after a failure), and a lease
// lost locally (unconfirmable) may still live in etcd with our key. Absent in etcd counts as revoked.
import type { EtcdClient } from './client/etcd-client.js';
import type { KeptLease } from './client/lease.js';
import { ErrorCode, toCoordinationError } from './errors.js';

export async function revokeById(client: EtcdClient, lease: KeptLease, signal?: AbortSignal): Promise<void> {
  await client
    .call('lease.revoke', lease.hexId, (o) => client.rpc.lease.revoke({ ID: lease.id }, o), {
      idempotent: true,
      level: 'debug',
      duringClose: true,
      ...(signal && { signal }),
    })
    .catch((err: unknown) => {
      if (toCoordinationError(err, 'revoke').code !== ErrorCode.NotFound) throw err;
    });
}
