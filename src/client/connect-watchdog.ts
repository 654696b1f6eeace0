// grpc-js never times out a connection attempt (grpc-node#2785): a connection whose HTTP/2
// handshake went into a black hole (a middlebox that accepts and drops, a half-dead path) stays
// CONNECTING for good, and every call or stream on that channel waits on it. Unary calls recover
// because etcd3 re-creates a host's channels after an error; a watch stream re-dialled during the
// cut does not. This watchdog resets the channels of a host that has had a channel CONNECTING at
// two checks in a row, so the next call or stream dials afresh.
import { connectivityState } from '@grpc/grpc-js';
import type { Etcd3 } from 'etcd3';
import type { Logger } from '../logger.js';

/** The parts of etcd3's (internal) Host that the watchdog reads; the shape is checked before use. */
interface HostInternals {
  host: string;
  cachedServices: Record<string, { getChannel(): { getConnectivityState(tryToConnect: boolean): number } } | undefined>;
  resetAllServices(): void;
}

/** Checks every `intervalMs` until `signal` aborts; the timer never keeps the process alive. */
export function startConnectWatchdog(etcd: Etcd3, intervalMs: number, logger: Logger, signal: AbortSignal): void {
  const hosts = (etcd as unknown as { pool?: { hosts?: unknown } }).pool?.hosts;
  if (!Array.isArray(hosts) || !hosts.every(isHost)) return;
  const suspect = new Set<HostInternals>();
  const timer = setInterval(() => {
    for (const host of hosts) {
      const connecting = Object.values(host.cachedServices).some(
        (s) => s?.getChannel().getConnectivityState(false) === connectivityState.CONNECTING,
      );
      if (!connecting) suspect.delete(host);
      else if (!suspect.has(host)) suspect.add(host);
      else {
        // CONNECTING for a whole interval: probably a handshake that will never complete.
        suspect.delete(host);
        logger.warn({ operation: 'connect', key: host.host, durationMs: intervalMs }, 'connection attempt stuck; re-dialling');
        host.resetAllServices();
      }
    }
  }, intervalMs);
  timer.unref();
  signal.addEventListener('abort', () => clearInterval(timer), { once: true });
}

function isHost(h: unknown): h is HostInternals {
  const host = h as Partial<HostInternals>;
  return typeof host?.resetAllServices === 'function' && typeof host.cachedServices === 'object' && host.cachedServices !== null;
}
