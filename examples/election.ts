// Three replicas of a scheduler: exactly one runs the schedule at a time, the others know who.
// Run: npm run demo -- election
import { createCoordinator, type Coordinator, type Leadership } from '../src/index.js';

const endpoints = (process.env['ETCD_ENDPOINTS'] ?? 'http://127.0.0.1:2379').split(',');
const replicas: Coordinator[] = await Promise.all([1, 2, 3].map(() => createCoordinator({ endpoints, namespace: 'gochat-demo' })));

// Anyone can follow the election: the leader now, then every change.
const view = replicas[0]!.election.observe('scheduler');
const following = (async () => {
  for await (const { leader, revision } of view) console.log(`observer: leader is ${leader ? `${leader.value} (fencing token ${leader.fencingToken})` : 'nobody'} at revision ${revision}`);
})();
await view.ready;

// Every replica campaigns; campaign() resolves only for the one that leads.
type Elected = { replica: number; lead: Leadership };
const waiting: Array<(e: Elected) => void> = [];
const nextLeader = (): Promise<Elected> => new Promise((resolve) => waiting.push(resolve));
let next = nextLeader();
replicas.forEach((c, replica) => {
  c.election.campaign('scheduler', `scheduler-${replica + 1}:9000`, { ttlMs: 5000 }).then(
    (lead) => waiting.shift()?.({ replica, lead }),
    (err: Error) => console.log(`scheduler-${replica + 1}: campaign ended: ${err.message}`),
  );
});
const first = await next;
console.log(`scheduler-${first.replica + 1}: leading (token ${first.lead.fencingToken}); losing it would abort lead.signal`);
await first.lead.proclaim(`scheduler-${first.replica + 1}:9000 (busy)`); // followers see the new value

// A clean hand-over: resign() and the next candidate leads at once.
next = nextLeader();
await first.lead.resign();
const second = await next;
console.log(`hand-over: scheduler-${second.replica + 1} leads (token ${second.lead.fencingToken})`);

// The leader goes away: close() stands in for a stopped process (a killed one frees the lead after ttlMs).
next = nextLeader();
await replicas[second.replica]!.close();
const third = await next;
console.log(`scheduler-${third.replica + 1} leads after scheduler-${second.replica + 1} went away`);

await third.lead.resign();
await view.close();
await following;
await Promise.all(replicas.map((c) => c.close()));
console.log('all replicas stopped');
