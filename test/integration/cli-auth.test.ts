// coordctl on an auth-enabled etcd: credentials from COORD_USER/COORD_PASSWORD work, a wrong
// password exits 5 (auth), and the password appears nowhere in what coordctl prints.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { ROOT_PASSWORD, startAuthEtcd } from '../helpers/auth-etcd.js';
import { coordctl } from '../helpers/cli.js';
import { uniqueNamespace } from '../helpers/etcd.js';
import type { EtcdCluster } from '../../scripts/lib/etcd.mjs';

let etcd: EtcdCluster;
before(async () => {
  etcd = await startAuthEtcd();
});
after(async () => {
  await etcd?.stop();
});

const env = (password: string) => ({
  COORD_ENDPOINTS: etcd.endpoints.join(','),
  COORD_NAMESPACE: uniqueNamespace('cli-auth'),
  COORD_USER: 'root',
  COORD_PASSWORD: password,
});

test('COORD_USER / COORD_PASSWORD authenticate; the password is not printed', async () => {
  const e = env(ROOT_PASSWORD);
  const set = await coordctl(['--verbose', 'config', 'set', 'k', '1'], e);
  assert.equal(set.code, 0, set.stderr);
  const get = await coordctl(['config', 'get', 'k'], e);
  assert.equal(get.stdout, '1\n');
  for (const r of [set, get]) assert.ok(!(r.stdout + r.stderr).includes(ROOT_PASSWORD));
});

test('a wrong password exits 5 in one line that does not contain it', async () => {
  const wrong = 'Wr0ng-pa55-word-xyz';
  const r = await coordctl(['config', 'ls'], env(wrong));
  assert.equal(r.code, 5);
  const lines = r.stderr.split('\n').filter((l) => l !== '');
  assert.equal(lines.length, 1, r.stderr);
  assert.match(lines[0]!, /AUTH_ERROR/);
  assert.ok(!(r.stdout + r.stderr).includes(wrong));
});

test('--password on the command line works the same and is not echoed', async () => {
  const e = env('');
  delete (e as Partial<typeof e>).COORD_PASSWORD;
  const r = await coordctl(['--password', ROOT_PASSWORD, 'config', 'ls'], e);
  assert.equal(r.code, 0, r.stderr);
  assert.ok(!(r.stdout + r.stderr).includes(ROOT_PASSWORD));
});
