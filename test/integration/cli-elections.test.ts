// `coordctl elections ls` and `coordctl elections observe` against elections run by real
// coordinators, as an operator would inspect them.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { cliEnv, coordctl, startCoordctl } from '../helpers/cli.js';
import { eventually, rawClient, testCoordinator, uniqueNamespace } from '../helpers/etcd.js';

async function setup() {
  const namespace = uniqueNamespace('cli');
  return { namespace, env: await cliEnv(namespace), coord: await testCoordinator({ namespace }) };
}

test('elections ls shows leader value, key, fencing token, TTL left and candidates (table and --json)', async () => {
  const { namespace, env, coord } = await setup();
  const other = await testCoordinator({ namespace });
  const lead = await coord.election.campaign('sched/eu', 'host-a:9000', { ttlMs: 30_000 });
  const waiting = new AbortController();
  const follower = other.election.campaign('sched/eu', 'host-b:9000', { signal: waiting.signal }).catch(() => undefined);
  const etcd = await rawClient();
  await eventually(async () => (await etcd.getAll().prefix(`${namespace}/elections/sched/eu/`).keys()).length === 2, { what: 'the follower queued' });
  const r = await coordctl(['--json', 'elections', 'ls'], env);
  assert.equal(r.code, 0, r.stderr);
  const list = JSON.parse(r.stdout) as Array<{ name: string; leader: { value: string; key: string; fencingToken: number }; remainingMs: number; candidates: number }>;
  assert.equal(list.length, 1);
  assert.equal(list[0]!.name, 'sched/eu');
  assert.deepEqual([list[0]!.leader.value, list[0]!.leader.key, BigInt(list[0]!.leader.fencingToken)], ['host-a:9000', lead.key, lead.fencingToken]);
  assert.equal(list[0]!.candidates, 1);
  assert.ok(list[0]!.remainingMs > 20_000 && list[0]!.remainingMs <= 30_000, `remainingMs ${list[0]!.remainingMs}`);
  const table = await coordctl(['elections', 'ls', 'sched/'], env);
  assert.equal(table.code, 0, table.stderr);
  const lines = table.stdout.trimEnd().split('\n');
  assert.match(lines[0]!, /^ELECTION +LEADER +LEADER KEY +TOKEN +TTL LEFT +CANDIDATES$/);
  assert.match(lines[1]!, new RegExp(`^sched/eu +host-a:9000 +${lead.key} +${lead.fencingToken} +[0-9]+s +1$`));
  const none = await coordctl(['elections', 'ls', 'nothing/'], env);
  assert.match(none.stderr + none.stdout, /no elections starting with 'nothing\/'/);
  waiting.abort();
  await follower;
  await lead.resign();
});

test('elections observe prints the leader, each change, and "no leader" when the last candidate resigns', async () => {
  const { env, coord } = await setup();
  const watch = startCoordctl(['elections', 'observe', 'cron', '--count', '4'], env);
  await watch.waitForStderr('observing election cron');
  const lead = await coord.election.campaign('cron', 'a:1');
  await watch.waitForLines(2);
  await lead.proclaim('a:2');
  await watch.waitForLines(3);
  await lead.resign();
  assert.equal(await watch.exited, 0, watch.stderr());
  const lines = watch.stdout().trimEnd().split('\n');
  assert.match(lines[0]!, /^NONE +\(no leader\)$/);
  assert.match(lines[1]!, new RegExp(`^LEADER a:1 key=${lead.key} token=${lead.fencingToken}$`));
  assert.match(lines[2]!, /^LEADER a:2 /);
  assert.match(lines[3]!, /^NONE /);
});

test('elections observe --json prints one parseable line per change until Ctrl-C, then exits 0', async () => {
  const { env, coord } = await setup();
  const lead = await coord.election.campaign('cron', 'a:1');
  const watch = startCoordctl(['--json', 'elections', 'observe', 'cron'], env);
  await watch.waitForStderr('observing election cron');
  const [line] = await watch.waitForLines(1);
  const first = JSON.parse(line!) as { election: string; type: string; leader: { value: string; key: string; fencingToken: number }; revision: number };
  assert.deepEqual([first.election, first.type, first.leader.value, first.leader.key, BigInt(first.leader.fencingToken)], ['cron', 'PUT', 'a:1', lead.key, lead.fencingToken]);
  await lead.resign();
  const lines = await watch.waitForLines(2);
  const gone = JSON.parse(lines[1]!) as { election: string; type: string; leader: null; revision: number };
  assert.deepEqual([gone.election, gone.type, gone.leader], ['cron', 'DELETE', null]);
  assert.ok(BigInt(gone.revision) > BigInt(first.revision), 'the revision of each change, rising');
  watch.child.kill('SIGINT');
  assert.equal(await watch.exited, 0, watch.stderr());
});
