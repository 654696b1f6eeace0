// The setup every live stream we hand out shares (the gap-free watch, the leader observer): it is
// registered with the client, so the coordinator's close() ends it; the caller's signal closes it;
// a start that fails ends it with that error. A leaf: it speaks to the client only through `own`.

/** What can be owned: something with an idempotent close(). */
export interface Closable {
  close(): Promise<void>;
}

/** The client's side of ownership (EtcdClient.own): registers a resource, returns "forget it". */
export interface Owner {
  own(resource: Closable): () => void;
}

/**
 * Ownership of one stream: made first in its constructor (registers it and listens for the abort;
 * throws CANCELLED if the coordinator is already closed), then `start()` runs its start-up; its
 * close() calls `release()`.
 */
export class Ownership {
  private readonly unown: () => void;
  private readonly onAbort = (): void => void this.resource.close();

  constructor(
    owner: Owner,
    private readonly resource: Closable,
    private readonly signal: AbortSignal | undefined,
  ) {
    this.unown = owner.own(resource);
    signal?.addEventListener('abort', this.onAbort, { once: true });
  }

  /**
   * Runs the start-up now and returns its promise (the stream's `ready`); a rejection becomes
   * `fail(error)`. A signal that had already aborted closes the stream at once (after the start began).
   */
  start<T>(startUp: () => Promise<T>, fail: (err: unknown) => void): Promise<T> {
    const ready = startUp();
    ready.catch(fail);
    if (this.signal?.aborted) void this.resource.close();
    return ready;
  }

  /** Forgets the stream: no longer closed by the coordinator or the signal. For its close(). */
  release(): void {
    this.unown();
    this.signal?.removeEventListener('abort', this.onAbort);
  }
}
