// Deadline timers of a channel's calls, reused. A call settles long before its deadline, so its
// timer is handed to the next call with the same timeout and re-armed in place (`refresh()`)
// instead of cleared: clearing the only timer of a duration makes node drop that duration's timer
// list, and the next call's setTimeout build it again — one call at a time, every call. A timer
// between calls stays armed for the old deadline and fires with no call to expire.

/** Told when its deadline passes. */
export interface Expiring {
  expire(): void;
}

/** One reusable deadline timer. */
export class Deadline {
  /** The call it times, while there is one. */
  call: Expiring | undefined;
  readonly timer: NodeJS.Timeout;

  constructor(readonly ms: number) {
    this.timer = setTimeout(fire, ms, this);
  }
}

function fire(d: Deadline): void {
  const call = d.call;
  d.call = undefined;
  call?.expire();
}

/** Free timers kept at most (more only with many distinct timeouts or calls in flight at once). */
const MAX_FREE = 64;

/** Free deadline timers by timeout; close() clears them all. */
export class Deadlines {
  private readonly free = new Map<number, Deadline[]>();
  private readonly all = new Set<Deadline>();
  private freeCount = 0;
  private closed = false;

  /** A timer for `call`, due `ms` from now. */
  start(call: Expiring, ms: number): Deadline {
    const d = this.free.get(ms)?.pop();
    if (d) {
      this.freeCount--;
      d.call = call;
      d.timer.refresh().ref();
      return d;
    }
    const fresh = new Deadline(ms);
    fresh.call = call;
    this.all.add(fresh);
    return fresh;
  }

  /** The call settled: the timer waits, still armed, for the next call of that timeout. */
  release(d: Deadline): void {
    d.call = undefined;
    if (this.closed || this.freeCount >= MAX_FREE) {
      clearTimeout(d.timer);
      this.all.delete(d);
      return;
    }
    // A call in flight keeps the process alive, as a setTimeout of its own would; a timer waiting for reuse must not.
    d.timer.unref();
    this.freeCount++;
    const list = this.free.get(d.ms);
    if (list) list.push(d);
    else this.free.set(d.ms, [d]);
  }

  /** Clears every timer; a call started after this gets a timer cleared when it settles. */
  close(): void {
    this.closed = true;
    for (const d of this.all) clearTimeout(d.timer);
    this.all.clear();
    this.free.clear();
    this.freeCount = 0;
  }
}
