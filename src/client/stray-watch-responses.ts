// etcd3's WatchManager throws "Failed to find watcher for IWatchResponse" from inside the watch
// stream's 'data' handler when a response arrives for a watch it has already forgotten (a watcher
// detached while its cancel or create was in flight, e.g. around a connection cut). The throw
// escapes as an unhandled rejection — seen in the fault suite's dead-waiter scenario, where lock
// waiters cancel their watches during a blackhole. Such a response has nobody to go to: drop it.
import type { Namespace } from 'etcd3';
import type { Logger } from '../logger.js';

interface WatchManagerInternals {
  watchers: Array<{ id: string | null }>;
  handleResponse(res: { watch_id: string }): void;
}

export function ignoreStrayWatchResponses(ns: Namespace, logger: Logger): void {
  const manager = (ns as unknown as { watchManager?: Partial<WatchManagerInternals> }).watchManager;
  if (!manager || !Array.isArray(manager.watchers) || typeof manager.handleResponse !== 'function') return;
  const handle = manager.handleResponse.bind(manager);
  manager.handleResponse = (res) => {
    if (!manager.watchers!.some((w) => w.id === res.watch_id)) {
      logger.debug({ operation: 'watch', key: String(res.watch_id) }, 'response for a forgotten watch dropped');
      return;
    }
    handle(res);
  };
}
