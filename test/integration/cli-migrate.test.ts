// `coordctl migrate-layout`: config written by ≤ 0.1 (`<namespace>/config/…`, no leading slash)
// moves to gochat's layout (`/<namespace>/config/…`): a dry run writes nothing, --yes copies without
// overwriting a key that differs, --delete-old removes what was carried over.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { cliEnv, coordctl } from '../helpers/cli.js';
import { rawClient, testCoordinator, uniqueNamespace } from '../helpers/etcd.js';

test('migrate-layout: dry run, then copy (a differing new key is a conflict, exit 3), then delete the old keys', async () => {
  const namespace = uniqueNamespace('mig'); // '/test-mig-…'
  const old = `${namespace.slice(1)}/config/`;
  const raw = await rawClient();
  await raw.put(`${old}app/db`).value('{"host":"db"}');
  await raw.put(`${old}app/name`).value('"chat"');
  await raw.put(`${old}app/mode`).value('"old"');
  const c = await testCoordinator({ namespace });
  await c.config.set('app/mode', 'new'); // written in the new layout meanwhile: must not be overwritten
  const env = await cliEnv(namespace);

  const dry = await coordctl(['migrate-layout', '--json'], env);
  assert.equal(dry.code, 3, dry.stderr);
  const plan = JSON.parse(dry.stdout) as { moves: Array<{ key: string; action: string }> };
  assert.deepEqual(Object.fromEntries(plan.moves.map((m) => [m.key, m.action])), { 'app/db': 'copy', 'app/mode': 'conflict', 'app/name': 'copy' });
  assert.equal(await raw.get(`${namespace}/config/app/db`).string(), null, 'a dry run writes nothing');

  const run = await coordctl(['migrate-layout', '--yes', '--delete-old'], env);
  assert.equal(run.code, 3, run.stderr);
  assert.match(run.stdout, /copied 2, deleted 2/);
  assert.deepEqual(await c.config.get('app/db'), { host: 'db' });
  assert.equal(await c.config.get('app/name'), 'chat');
  assert.equal(await c.config.get('app/mode'), 'new');
  assert.deepEqual(await raw.getAll().prefix(old).keys(), [`${old}app/mode`], 'only the conflicting old key is left');
});
