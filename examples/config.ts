// Config center: two admins edit rate limits with compare-and-swap, a service hot-reloads them
// through a typed live view that refuses a bad push, a watch prints every change, and the
// history lets us roll a change back. Run: npm run demo -- config
import { z } from 'zod';
import { createCoordinator, isConflict, type ConfigEvent } from '../src/index.js';
import { demoLogger } from './log.js';

const endpoints = (process.env['ETCD_ENDPOINTS'] ?? 'http://127.0.0.1:2379').split(',');
const Limits = z.object({ rps: z.number().int().positive(), burst: z.number().int().positive() });

await using admin = await createCoordinator({ endpoints, namespace: 'gochat-demo', logger: demoLogger });
await using service = await createCoordinator({ endpoints, namespace: 'gochat-demo', logger: demoLogger });
await admin.config.delete('chat/limits');

// 1. Initial value; stored as JSON at /gochat-demo/config/chat/limits (gochat's Go layout under the namespace).
const created = await admin.config.set('chat/limits', { rps: 100, burst: 200 }, { ifRevision: 0n });
console.log(`admin wrote chat/limits at revision ${created.revision}`);

// 2. The service follows it: value is always the latest *valid* one.
await using limits = await service.config.live('chat/limits', { schema: Limits });
console.log(`service starts with rps=${limits.value.rps} (revision ${limits.revision})`);
limits.on('change', (now, before) => console.log(`  service reloaded: rps ${before.rps} -> ${now.rps}`));
let refused = false;
limits.on('invalid', (err) => {
  refused = true;
  console.log(`  service refused a push and kept rps=${limits.value.rps}: ${err.message}`);
});

// 3. A watch on the whole chat/ prefix, printing every change in revision order.
const watch = admin.config.watch('chat/', { prefix: true });
await watch.ready;
const printed = (async () => {
  for await (const ev of watch as AsyncIterable<ConfigEvent>) console.log(`  watch: ${ev.type} ${ev.key} @${ev.revision}`);
})();

// 4. Two admins read the same revision; the second write loses instead of silently overwriting.
const seen = created.revision;
const first = await admin.config.set('chat/limits', { rps: 150, burst: 300 }, { ifRevision: seen });
console.log(`admin A raised rps to 150 (revision ${first.revision})`);
try {
  await admin.config.set('chat/limits', { rps: 120, burst: 240 }, { ifRevision: seen });
} catch (err) {
  if (!isConflict(err)) throw err;
  console.log(`admin B got CONFLICT: ${err.message}`);
}

// 5. A bad push (rps must be positive): stored, but the service keeps its last good value.
await until(() => limits.revision === first.revision);
await admin.config.set('chat/limits', { rps: -1, burst: 0 });
await until(() => refused);

// 6. History, then roll back to the first version.
const history = await admin.config.history('chat/limits');
console.log(`history (newest first): ${history.map((v) => `#${v.version}@${v.revision}`).join(', ')}`);
const back = await admin.config.rollback('chat/limits', created.revision);
console.log(`rolled back to the revision-${created.revision} value as new revision ${back.revision}`);
await until(() => limits.revision === back.revision);
console.log(`service now runs with rps=${limits.value.rps}`);

await watch.close();
await printed;

/** Waits (bounded) for a condition the events above make true. */
async function until(cond: () => boolean, ms = 5000): Promise<void> {
  const end = Date.now() + ms;
  while (!cond() && Date.now() < end) await new Promise((r) => setTimeout(r, 20));
}
