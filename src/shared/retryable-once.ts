// The release step of a handle (unlock, resign, unregister, release an ID): one run shared by every
// concurrent caller; once it succeeded, every later call resolves at once; after a failure (etcd
// unreachable, the caller's signal) it is forgotten, so the next call sends it again — the holder
// keeps its state meanwhile, and its lease frees what it holds at the TTL if nobody calls again.
import { toCoordinationError } from '../client/errors.js';

export class RetryableOnce {
  private running: Promise<void> | undefined;

  /** True from the first call until a failure is forgotten (and for good after a success). */
  get started(): boolean {
    return this.running !== undefined;
  }

  /**
   * Runs `step` unless a run is under way or succeeded; a failure rejects as a CoordinationError
   * naming `what`, after `onFailure` (which sees the raw error) had its say.
   */
  run(step: () => Promise<void>, what: string, onFailure?: (err: unknown) => void): Promise<void> {
    this.running ??= step().catch((err: unknown) => {
      this.running = undefined;
      onFailure?.(err);
      throw toCoordinationError(err, what);
    });
    return this.running;
  }
}
