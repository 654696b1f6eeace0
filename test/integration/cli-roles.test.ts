// `coordctl roles`: the etcdctl commands (text) and the grants (--json) for what a service uses,
// worked out from the key layout; usage errors exit 1; --apply against an auth-enabled etcd is
// idempotent, needs an admin (exit 5 otherwise) and never prints a password; --apply --prune
// revokes what the role holds beyond the plan. What the grants let a service do (and not do) is
// test/integration/least-privilege.test.ts.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { etcdctl, ROOT_PASSWORD, startAuthEtcd } from '../helpers/auth-etcd.js';
import { coordctl } from '../helpers/cli.js';
import { uniqueNamespace } from '../helpers/etcd.js';
import type { EtcdCluster } from '../../scripts/lib/etcd.mjs';

const SERVICE_PASSWORD = 'Svc-pa55-never-printed';
/** No etcd is needed to print; the service password is in the environment and must not show. */
const PRINT_ENV = { COORD_ENDPOINTS: '127.0.0.1:9', COORD_SERVICE_PASSWORD: SERVICE_PASSWORD, NO_COLOR: '1' };
const README_FLAGS = ['roles', 'chat', '--register', 'chat', '--discover', 'user,push', '--config-read', '--locks', '--elections', '--ids'];

/** The shell commands of the text output, without the trailing `# why` comments and the header. */
const commandsOf = (stdout: string): string[] =>
  stdout
    .split('\n')
    .filter((l) => l !== '' && !l.startsWith('#'))
    .map((l) => l.replace(/\s+# [^']*$/, ''));

test('text: the etcdctl commands for the README example, one grant per key range, each saying why', async () => {
  const r = await coordctl(['--namespace', 'gochat', ...README_FLAGS], PRINT_ENV);
  assert.equal(r.code, 0, r.stderr);
  assert.deepEqual(commandsOf(r.stdout), [
    'etcdctl role add chat',
    'etcdctl role grant-permission --prefix=true chat readwrite /gochat/services/chat/',
    'etcdctl role grant-permission --prefix=true chat read /gochat/services/user/',
    'etcdctl role grant-permission --prefix=true chat read /gochat/services/push/',
    'etcdctl role grant-permission --prefix=true chat read /gochat/config/',
    'etcdctl role grant-permission --prefix=true chat readwrite /gochat/locks/',
    'etcdctl role grant-permission --prefix=true chat readwrite /gochat/elections/',
    'etcdctl role grant-permission --prefix=true chat readwrite /gochat/ids/',
    `printf '%s\\n' "$COORD_SERVICE_PASSWORD" | etcdctl user add chat --interactive=false`,
    'etcdctl user grant-role chat chat',
  ]);
  assert.match(r.stdout, /readwrite \/gochat\/services\/chat\/\s+# register chat\n/);
  assert.match(r.stdout, /^# role chat: what service chat needs in namespace \/gochat/m);
  // etcd's lease rules (CVE-2026-33413) are named, as comments the shell skips.
  assert.match(r.stdout, /^# leases: keep-alive and revoke need write on every key attached to the lease$/m);
  assert.match(r.stdout, /^# leases: none of our calls needs root: no Status, Compact, MemberList/m);
  assert.ok(!(r.stdout + r.stderr).includes(SERVICE_PASSWORD), 'the password is never printed');
});

test('--json: namespace, role, user, each permission with its range end and reason, and the same commands', async () => {
  const text = await coordctl(['--namespace', 'gochat', ...README_FLAGS], PRINT_ENV);
  const r = await coordctl(['--json', '--namespace', 'gochat', ...README_FLAGS], PRINT_ENV);
  assert.equal(r.code, 0, r.stderr);
  const doc = JSON.parse(r.stdout) as {
    service: string;
    namespace: string;
    role: string;
    user: string | null;
    passwordEnv: string;
    permissions: Array<{ permission: string; key: string; rangeEnd?: string; prefix: boolean; for: string[] }>;
    leaseRules: string[];
    commands: string[];
  };
  assert.ok(doc.leaseRules.some((rule) => rule.includes('keep-alive and revoke need write')), 'the lease rules are in the JSON too');
  assert.deepEqual(
    { service: doc.service, namespace: doc.namespace, role: doc.role, user: doc.user, passwordEnv: doc.passwordEnv },
    { service: 'chat', namespace: '/gochat', role: 'chat', user: 'chat', passwordEnv: 'COORD_SERVICE_PASSWORD' },
  );
  assert.deepEqual(doc.permissions[0], { permission: 'readwrite', key: '/gochat/services/chat/', rangeEnd: '/gochat/services/chat0', prefix: true, for: ['register chat'] });
  assert.deepEqual(
    doc.permissions.map((p) => `${p.permission} ${p.key}`),
    ['readwrite /gochat/services/chat/', 'read /gochat/services/user/', 'read /gochat/services/push/', 'read /gochat/config/', 'readwrite /gochat/locks/', 'readwrite /gochat/elections/', 'readwrite /gochat/ids/'],
  );
  assert.deepEqual(doc.commands, commandsOf(text.stdout));
  assert.ok(!r.stdout.includes(SERVICE_PASSWORD));
});

test("named locks grant each lock's prefix and gochat's bare TryAcquire key; exact config keys are not prefixes", async () => {
  const r = await coordctl(['--json', '--namespace', '/app', 'roles', 'worker', '--locks', 'jobs,orders/42', '--config-read', 'app.name,chat/', '--config-write', 'chat/limits', '--observe', 'leader', '--no-service-user'], PRINT_ENV);
  assert.equal(r.code, 0, r.stderr);
  const doc = JSON.parse(r.stdout) as { user: string | null; permissions: Array<{ permission: string; key: string; prefix: boolean }>; commands: string[] };
  assert.equal(doc.user, null);
  assert.deepEqual(
    doc.permissions.map((p) => `${p.permission} ${p.prefix ? 'prefix ' : ''}${p.key}`),
    [
      'read /app/config/app.name',
      'read prefix /app/config/chat/',
      'readwrite /app/config/chat/limits',
      'readwrite prefix /app/locks/jobs/',
      'readwrite /app/locks/jobs',
      'readwrite prefix /app/locks/orders/42/',
      'readwrite /app/locks/orders/42',
      'read prefix /app/elections/leader/',
    ],
  );
  assert.ok(!doc.commands.some((c) => c.includes('user')), 'no user commands with --no-service-user');
});

test('without --namespace the keys are those of the library default (no namespace)', async () => {
  const r = await coordctl(['--json', 'roles', 'chat', '--register', 'chat', '--role', 'chat-rw', '--service-user', 'chat-svc'], PRINT_ENV);
  assert.equal(r.code, 0, r.stderr);
  const doc = JSON.parse(r.stdout) as { namespace: string; role: string; user: string; permissions: Array<{ key: string }>; commands: string[] };
  assert.deepEqual([doc.namespace, doc.role, doc.user, doc.permissions[0]!.key], ['', 'chat-rw', 'chat-svc', '/services/chat/']);
  assert.ok(doc.commands.includes('etcdctl user grant-role chat-svc chat-rw'));
});

test('usage errors exit 1: nothing to grant, a bad name, a bad --password-env', async () => {
  const none = await coordctl(['roles', 'chat'], PRINT_ENV);
  assert.equal(none.code, 1);
  assert.match(none.stderr, /nothing to grant/);
  const bad = await coordctl(['roles', 'chat', '--locks', 'a/../b'], PRINT_ENV);
  assert.equal(bad.code, 1);
  assert.match(bad.stderr, /lock key must be a clean path/);
  const env = await coordctl(['roles', 'chat', '--locks', '--password-env', 'not a var'], PRINT_ENV);
  assert.equal(env.code, 1);
  assert.match(env.stderr, /--password-env/);
});

// ── --apply on an auth-enabled etcd ─────────────────────────────────────────────────────────────

let etcd: EtcdCluster;
before(async () => {
  etcd = await startAuthEtcd();
});
after(async () => {
  await etcd?.stop();
});

const adminEnv = (user: string, password: string, extra: Record<string, string> = {}) => ({
  COORD_ENDPOINTS: etcd.endpoints.join(','),
  COORD_NAMESPACE: uniqueNamespace('cli-roles'),
  COORD_USER: user,
  COORD_PASSWORD: password,
  NO_COLOR: '1',
  ...extra,
});

test('--apply creates role, grants and user; run again it keeps them (exists) and adds nothing twice', async () => {
  const name = `svc-${randomBytes(3).toString('hex')}`;
  const env = adminEnv('root', ROOT_PASSWORD, { COORD_SERVICE_PASSWORD: SERVICE_PASSWORD });
  const args = ['roles', name, '--locks', 'jobs', '--config-read', '--apply'];
  const first = await coordctl(args, env);
  assert.equal(first.code, 0, first.stderr);
  assert.match(first.stdout, new RegExp(`^role ${name}: created$`, 'm'));
  assert.match(first.stdout, new RegExp(`^user ${name}: created, granted role ${name}$`, 'm'));
  const again = await coordctl(['--json', ...args], env);
  assert.equal(again.code, 0, again.stderr);
  assert.deepEqual((JSON.parse(again.stdout) as { applied: unknown }).applied, { role: 'exists', grants: 3, user: 'exists' });
  const role = etcdctl(etcd.endpoints, ['role', 'get', name], `root:${ROOT_PASSWORD}`);
  const jobs = role.split('\n').filter((l) => l.trim() === `${env.COORD_NAMESPACE}/locks/jobs`);
  assert.equal(jobs.length, 2, `once under KV Read, once under KV Write:\n${role}`);
  assert.equal(etcdctl(etcd.endpoints, ['user', 'get', name], `root:${ROOT_PASSWORD}`).match(new RegExp(`Roles: ${name}`))?.length, 1);
  for (const r of [first, again]) assert.ok(!(r.stdout + r.stderr).includes(SERVICE_PASSWORD) && !(r.stdout + r.stderr).includes(ROOT_PASSWORD));
});

test('--apply as a user without the root role exits 5 saying so; without the password variable it exits 1 before connecting', async () => {
  const name = `svc-${randomBytes(3).toString('hex')}`;
  const env = adminEnv('root', ROOT_PASSWORD, { COORD_SERVICE_PASSWORD: SERVICE_PASSWORD });
  assert.equal((await coordctl(['roles', name, '--config-read', '--apply'], env)).code, 0);
  // The service user itself is no admin.
  const denied = await coordctl(['roles', 'other', '--config-read', '--apply'], adminEnv(name, SERVICE_PASSWORD, { COORD_SERVICE_PASSWORD: 'x' }));
  assert.equal(denied.code, 5, denied.stderr);
  assert.match(denied.stderr, /permission denied \(needs etcd's root role/);
  assert.ok(!denied.stderr.includes(SERVICE_PASSWORD));
  // An endpoint nobody listens on: exit 1, not 4, shows nothing was dialled.
  const noPassword = await coordctl(['roles', 'other', '--config-read', '--apply', '--password-env', 'LP_UNSET_PASSWORD_VAR'], { ...env, COORD_ENDPOINTS: '127.0.0.1:9' });
  assert.equal(noPassword.code, 1, noPassword.stderr);
  assert.match(noPassword.stderr, /set its password in \$LP_UNSET_PASSWORD_VAR/);
});

// ── --apply --prune: the role converges to the plan ─────────────────────────────────────────────

const asRoot = (args: string[]): string => etcdctl(etcd.endpoints, args, `root:${ROOT_PASSWORD}`);

/** The role's permissions as etcd holds them (etcdctl's JSON, not our client), sorted: `READ [key, end)` or `READ key`. */
function held(role: string): string[] {
  const { perm = [] } = JSON.parse(asRoot(['role', 'get', role, '-w', 'json'])) as { perm?: Array<{ permType?: number; key: string; range_end?: string }> };
  const text = (b64: string): string => Buffer.from(b64, 'base64').toString();
  return perm.map((p) => `${['READ', 'WRITE', 'READWRITE'][p.permType ?? 0]} ${p.range_end ? `[${text(p.key)}, ${text(p.range_end)})` : text(p.key)}`).sort();
}

test('--apply --prune revokes a permission outside the plan and keeps the planned ones; run again it revokes 0', async () => {
  const name = `svc-${randomBytes(3).toString('hex')}`;
  const env = adminEnv('root', ROOT_PASSWORD);
  const ns = env.COORD_NAMESPACE;
  asRoot(['role', 'add', name]);
  asRoot(['role', 'grant-permission', '--prefix=true', name, 'readwrite', `${ns}/other/`]);
  const args = ['roles', name, '--locks', 'jobs', '--config-read', '--no-service-user', '--apply', '--prune'];
  const first = await coordctl(args, env);
  assert.equal(first.code, 0, first.stderr);
  assert.match(first.stdout, /^ {2}revoked 1 permission not in the plan$/m);
  assert.deepEqual(held(name), [`READ [${ns}/config/, ${ns}/config0)`, `READWRITE ${ns}/locks/jobs`, `READWRITE [${ns}/locks/jobs/, ${ns}/locks/jobs0)`]);
  const again = await coordctl(['--json', ...args], env);
  assert.equal(again.code, 0, again.stderr);
  assert.deepEqual((JSON.parse(again.stdout) as { applied: unknown }).applied, { role: 'exists', grants: 3, revoked: 0 });
  assert.equal(held(name).length, 3);
});

test('--apply without --prune keeps a permission outside the plan (grants are only added)', async () => {
  const name = `svc-${randomBytes(3).toString('hex')}`;
  const env = adminEnv('root', ROOT_PASSWORD);
  const ns = env.COORD_NAMESPACE;
  asRoot(['role', 'add', name]);
  asRoot(['role', 'grant-permission', '--prefix=true', name, 'readwrite', `${ns}/other/`]);
  const r = await coordctl(['--json', 'roles', name, '--config-read', '--no-service-user', '--apply'], env);
  assert.equal(r.code, 0, r.stderr);
  assert.deepEqual((JSON.parse(r.stdout) as { applied: unknown }).applied, { role: 'exists', grants: 1 }, 'no revoked count without --prune');
  assert.deepEqual(held(name), [`READ [${ns}/config/, ${ns}/config0)`, `READWRITE [${ns}/other/, ${ns}/other0)`]);
});

test('--prune without --apply is a usage error (exit 1) and writes nothing', async () => {
  const name = `svc-${randomBytes(3).toString('hex')}`;
  const env = adminEnv('root', ROOT_PASSWORD, { COORD_SERVICE_PASSWORD: SERVICE_PASSWORD });
  for (const args of [['roles', name, '--config-read', '--prune'], ['--json', 'roles', name, '--config-read', '--prune']]) {
    const r = await coordctl(args, env);
    assert.equal(r.code, 1, r.stderr);
    assert.match(r.stderr, /--prune only acts with --apply/);
    assert.equal(r.stdout, '', 'no commands printed that look like a prune');
  }
  assert.ok(!asRoot(['role', 'list']).split('\n').includes(name), 'no role added');
  assert.ok(!asRoot(['user', 'list']).split('\n').includes(name), 'no user added');
});

test('--prune leaves a planned range etcd holds twice (a grant appends when another permission shares the key) as one permission of the planned type', async () => {
  const name = `svc-${randomBytes(3).toString('hex')}`;
  const env = adminEnv('root', ROOT_PASSWORD);
  const ns = env.COORD_NAMESPACE;
  asRoot(['role', 'add', name]);
  // The exact key first: etcd's grant of the prefix below then finds it, not the prefix, and appends.
  asRoot(['role', 'grant-permission', name, 'readwrite', `${ns}/config/`]);
  asRoot(['role', 'grant-permission', '--prefix=true', name, 'readwrite', `${ns}/config/`]);
  const r = await coordctl(['--json', 'roles', name, '--config-read', '--no-service-user', '--apply', '--prune'], env);
  assert.equal(r.code, 0, r.stderr);
  // The exact key, and the readwrite copy of the prefix next to the read one the grant appended.
  assert.deepEqual((JSON.parse(r.stdout) as { applied: unknown }).applied, { role: 'exists', grants: 1, revoked: 2 });
  assert.deepEqual(held(name), [`READ [${ns}/config/, ${ns}/config0)`]);
});
