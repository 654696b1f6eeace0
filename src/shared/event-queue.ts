// The one event queue behind every AsyncIterable we hand out (watches, leader observations,
// service watches): events wait in memory until read; the owner ends it, with or without an error.
//
// - pushed before the first next(): kept, read in order;
// - end(error?): what is pending is still read, then the end (or `error`, at every later next());
// - close(): ends it and drops what is pending (a closed stream delivers nothing more);
// - pushed after the end: ignored, so nothing piles up behind a finished reader;
// - return() (a `break` out of `for await`): the owner's close, given as `onReturn`.

export interface EventQueueOptions {
  /** What the iterator's return() does (the owner's close). @default close() */
  onReturn?: () => unknown;
  /** Once it has aborted, an end with an error reads as a plain end: the caller stopped listening. */
  quiet?: AbortSignal;
}

export class EventQueue<T> implements AsyncIterable<T> {
  private items: T[] = [];
  private waiting: Array<() => void> = [];
  private ended = false;
  private error: Error | undefined;

  constructor(private readonly options: EventQueueOptions = {}) {}

  /** True once ended (pending events may still be read). */
  get done(): boolean {
    return this.ended;
  }

  push(event: T): void {
    if (this.ended) return;
    this.items.push(event);
    this.wake();
  }

  /** Ends it: pending events are still read, then the end, or `error` thrown. Idempotent. */
  end(error?: Error): void {
    if (this.ended) return;
    this.ended = true;
    this.error = error;
    this.wake();
  }

  /** Ends it without an error and drops pending events. A no-op once ended (an error still drains). */
  close(): void {
    if (this.ended) return;
    this.items = [];
    this.end();
  }

  private wake(): void {
    for (const resolve of this.waiting.splice(0)) resolve();
  }

  [Symbol.asyncIterator](): AsyncIterator<T> {
    return {
      next: async (): Promise<IteratorResult<T>> => {
        for (;;) {
          if (this.items.length > 0) return { done: false, value: this.items.shift()! };
          if (this.ended) {
            if (this.error && !this.options.quiet?.aborted) throw this.error;
            return { done: true, value: undefined };
          }
          await new Promise<void>((resolve) => this.waiting.push(resolve));
        }
      },
      return: async (): Promise<IteratorResult<T>> => {
        await (this.options.onReturn ? this.options.onReturn() : this.close());
        return { done: true, value: undefined };
      },
    };
  }
}
