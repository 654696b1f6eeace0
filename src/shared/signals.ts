// One AbortSignal that aborts when any of several does, with the reason of the first. Unlike
// AbortSignal.any(), it detaches from its sources on dispose(), so linking to long-lived signals
// (the coordinator's `closing`) on every acquire leaves nothing behind.
export interface LinkedSignal {
  readonly signal: AbortSignal;
  dispose(): void;
}

export function linkSignals(...sources: Array<AbortSignal | undefined>): LinkedSignal {
  const controller = new AbortController();
  const live = sources.filter((s): s is AbortSignal => s !== undefined);
  const already = live.find((s) => s.aborted);
  if (already) {
    controller.abort(already.reason);
    return { signal: controller.signal, dispose: () => undefined };
  }
  const onAbort = function (this: AbortSignal): void {
    dispose();
    controller.abort(this.reason);
  };
  const dispose = (): void => {
    for (const s of live) s.removeEventListener('abort', onAbort);
  };
  for (const s of live) s.addEventListener('abort', onAbort, { once: true });
  return { signal: controller.signal, dispose };
}
