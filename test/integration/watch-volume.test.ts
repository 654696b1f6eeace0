// Volume through one watch stream: every watch of a client shares one HTTP/2 stream, so that stream
// must keep getting flow-control credit for as long as it lives. Bun 1.4.5 replenishes a stream's
// window only once the session has taken in half the session window; with a stream window under
// half of it (4 MiB of 16 MiB) the watch stream froze after 4 MiB of events, silently. Run on every
// runtime (scripts/lib/foreign-tests.mjs lists it for Bun and Deno).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { ConfigEvent } from '../../src/index.js';
import { testCoordinator } from '../helpers/etcd.js';

test('a watch carries more than the session and stream windows (24 MB of events), none held back', async () => {
  const reader = await testCoordinator();
  const writer = await testCoordinator({ namespace: reader.namespace });
  const watch = reader.config.watch('big');
  await watch.ready;
  const events = watch[Symbol.asyncIterator]();
  const blob = 'x'.repeat(400_000);
  for (let i = 0; i < 60; i++) {
    await writer.config.set('big', { i, blob });
    let timer: NodeJS.Timeout | undefined;
    const next = await Promise.race([
      events.next(),
      new Promise<'stalled'>((resolve) => (timer = setTimeout(() => resolve('stalled'), 10_000))),
    ]);
    clearTimeout(timer);
    if (next === 'stalled') assert.fail(`the watch stopped delivering after ${i} events (${(i * 0.4).toFixed(1)} MB)`);
    assert.equal(((next.value as ConfigEvent).value as { i: number }).i, i);
  }
  await watch.close();
});
