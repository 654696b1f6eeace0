// grpc-js lets a subchannel outlive its channel when the channel closes during a failed connection
// attempt: dropping the last reference moves only CONNECTING and READY subchannels to IDLE, so one
// in TRANSIENT_FAILURE keeps its backoff timer, dials again when it fires, and holds a connection
// nobody owns until the server drops it. etcd3 closes a host's channels after every connection
// error, so any outage could leave such a connection open past close(). Here each channel etcd3
// creates gets a close() that afterwards stops those orphans: backoff off, state IDLE, no socket.
// The grpc-js internals used are shape-checked; where they differ, nothing is changed.
import { connectivityState } from '@grpc/grpc-js';
import type { Etcd3 } from 'etcd3';

interface SubchannelInternals {
  refcount: number;
  connectivityState: number;
  stopBackoff(): void;
  transitionToState(from: number[], to: number): boolean;
}

interface ChannelInternals {
  close(): void;
  internalChannel?: { subchannelPool?: { pool?: Record<string, Array<{ subchannel?: unknown }>> } };
}

interface HostInternals {
  getServiceClient(name: string): { getChannel(): ChannelInternals };
}

/** Wraps the channel factory of each of etcd3's hosts (its internal ConnectionPool). */
export function stopRedialsOfClosedChannels(etcd: Etcd3): void {
  const hosts = (etcd as unknown as { pool?: { hosts?: unknown } }).pool?.hosts;
  if (!Array.isArray(hosts)) return;
  for (const host of hosts as Partial<HostInternals>[]) {
    if (typeof host?.getServiceClient !== 'function') continue;
    const getServiceClient = host.getServiceClient.bind(host);
    const wrapped = new WeakSet<ChannelInternals>();
    host.getServiceClient = (name) => {
      const service = getServiceClient(name);
      const channel = service.getChannel();
      if (!wrapped.has(channel)) {
        wrapped.add(channel);
        wrapClose(channel);
      }
      return service;
    };
  }
}

function wrapClose(channel: ChannelInternals): void {
  if (typeof channel.close !== 'function' || typeof channel.internalChannel?.subchannelPool?.pool !== 'object') return;
  const close = channel.close.bind(channel);
  channel.close = () => {
    // Closing empties the channel's pool: take its subchannels first.
    const pool = channel.internalChannel?.subchannelPool?.pool ?? {};
    const subchannels = Object.values(pool)
      .flat()
      .map((entry) => entry.subchannel)
      .filter(isSubchannel);
    close();
    // The last references go during close(); the next tick covers any dropped asynchronously.
    stopOrphans(subchannels);
    process.nextTick(() => stopOrphans(subchannels));
  };
}

function stopOrphans(subchannels: SubchannelInternals[]): void {
  for (const subchannel of subchannels) {
    if (subchannel.refcount !== 0 || subchannel.connectivityState !== connectivityState.TRANSIENT_FAILURE) continue;
    subchannel.stopBackoff();
    subchannel.transitionToState([connectivityState.TRANSIENT_FAILURE], connectivityState.IDLE);
  }
}

function isSubchannel(s: unknown): s is SubchannelInternals {
  const sub = s as Partial<SubchannelInternals> | undefined;
  return typeof sub?.refcount === 'number' && typeof sub.stopBackoff === 'function' && typeof sub.transitionToState === 'function';
}
