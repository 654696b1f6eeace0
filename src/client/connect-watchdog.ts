// grpc-js never times out a connection attempt (grpc-node#2785): a connection whose HTTP/2
// handshake went into a black hole (a middlebox that accepts and drops, a half-dead path) stays
// CONNECTING for good, and every call or stream on that channel waits on it. Unary calls recover
// because etcd3 re-creates a host's channels after an error; a watch stream re-dialled during the
// cut does not. This watchdog resets the channels of a host when one of them has stayed CONNECTING,
// without a single state change, for a whole interval, so the next call or stream dials afresh.
import { connectivityState } from '@grpc/grpc-js';
import type { Etcd3 } from 'etcd3';
import type { Logger } from '../logger.js';

interface ChannelInternals {
  getConnectivityState(tryToConnect: boolean): number;
  watchConnectivityState(current: number, deadline: Date | number, callback: (error?: Error) => void): void;
}

/** The parts of etcd3's (internal) Host that the watchdog reads; the shape is checked before use. */
interface HostInternals {
  host: string;
  cachedServices: Record<string, { getChannel(): ChannelInternals } | undefined>;
  resetAllServices(): void;
}

/** Checks every `intervalMs` until `signal` aborts; the timer never keeps the process alive. */
export function startConnectWatchdog(etcd: Etcd3, intervalMs: number, logger: Logger, signal: AbortSignal): void {
  const hosts = (etcd as unknown as { pool?: { hosts?: unknown } }).pool?.hosts;
  if (!Array.isArray(hosts) || !hosts.every(isHost)) return;
  const watched = new WeakSet<ChannelInternals>();
  const timer = setInterval(() => {
    for (const host of hosts) {
      for (const service of Object.values(host.cachedServices)) {
        const channel = service?.getChannel();
        if (!channel || watched.has(channel) || channel.getConnectivityState(false) !== connectivityState.CONNECTING) continue;
        watched.add(channel);
        try {
          // The callback gets an error only if the state did not change at all before the deadline.
          channel.watchConnectivityState(connectivityState.CONNECTING, Date.now() + intervalMs, (error) => {
            watched.delete(channel);
            if (!error || signal.aborted || host.cachedServices[serviceName(host, service)]?.getChannel() !== channel) return;
            logger.warn({ operation: 'connect', key: host.host, durationMs: intervalMs }, 'connection attempt stuck; re-dialling');
            host.resetAllServices();
          });
        } catch {
          watched.delete(channel); // shut down meanwhile: nothing to watch
        }
      }
    }
  }, intervalMs);
  timer.unref();
  signal.addEventListener('abort', () => clearInterval(timer), { once: true });
}

function serviceName(host: HostInternals, service: unknown): string {
  return Object.keys(host.cachedServices).find((k) => host.cachedServices[k] === service) ?? '';
}

function isHost(h: unknown): h is HostInternals {
  const host = h as Partial<HostInternals>;
  return typeof host?.resetAllServices === 'function' && typeof host.cachedServices === 'object' && host.cachedServices !== null;
}
