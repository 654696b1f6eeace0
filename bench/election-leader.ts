// Child of the election benchmark: campaigns for `name` with `ttlMs`, prints "leading", then
// idles until the parent SIGKILLs it (the new-leader-after-kill measurement).
import { createCoordinator, silentLogger } from '../src/index.js';

const [endpoints, namespace, name, ttlMs] = process.argv.slice(2);
const c = await createCoordinator({ endpoints: endpoints!.split(','), namespace: namespace!, logger: silentLogger });
await c.election.campaign(name!, `pid-${process.pid}`, { ttlMs: Number(ttlMs) });
process.stdout.write('leading\n');
setInterval(() => undefined, 60_000);
