// The loop of coordctl's live commands (config watch, services watch, elections observe): wait
// until the view is synced and say so, print a line per item, stop after --count or at Ctrl-C.
import type { CliContext } from './context.js';

export interface FollowOptions<T> {
  /** The view's items; its return() ends the view. */
  items: AsyncIterator<T>;
  /** Waits until every later change will be seen, then says so (the "watching …" note). */
  started: () => Promise<void>;
  /** Stop after this many items (Infinity: until the view ends or Ctrl-C). */
  count: number;
  print: (item: T) => void;
  /** Also ends the view's source, after return(). */
  close?: () => Promise<void>;
}

/** Ctrl-C is how a live command ends: an error after it reads as a plain end (exit 0). */
export async function follow<T>(ctx: Pick<CliContext, 'signal'>, o: FollowOptions<T>): Promise<void> {
  let seen = 0;
  try {
    await o.started();
    for (let next = await o.items.next(); !next.done; next = await o.items.next()) {
      o.print(next.value);
      if (++seen >= o.count) break;
    }
  } catch (err) {
    if (!ctx.signal.aborted) throw err;
  } finally {
    await o.items.return?.();
    await o.close?.();
  }
}
