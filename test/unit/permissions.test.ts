// Least privilege without etcd: the key ranges (and permissions) a refused request needed, as the
// AUTH_ERROR names them; a watch's cancel reason classified by its gRPC status; and the grants a
// service's capabilities need under a layout. etcd itself holds a user to these grants in
// test/integration/least-privilege.test.ts.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { GrpcError, Status } from '../../src/client/grpc/status.js';
import { describeRefused, describeRange, requestNeeds } from '../../src/client/key-needs.js';
import { prefixEnd } from '../../src/client/prefix-end.js';
import { CoordinationError, ErrorCode } from '../../src/errors.js';
import { classify, isAlreadyExists, isPermissionDenied, toCoordinationError, watchCancelError } from '../../src/client/errors.js';
import { resolveLayout } from '../../src/layout.js';
import { grantsFor } from '../../src/permissions.js';

const b = (s: string): Buffer => Buffer.from(s);
const prefix = (s: string) => ({ key: b(s), range_end: prefixEnd(b(s)) });

test('each kind of request needs read on what it reads or compares, write on what it puts or deletes', () => {
  assert.equal(describeRefused('/etcdserverpb.KV/Range', { key: b('/ns/config/a') }), 'read on /ns/config/a');
  assert.equal(describeRefused('/etcdserverpb.KV/Range', prefix('/ns/config/')), 'read on prefix /ns/config/');
  assert.equal(describeRefused('/etcdserverpb.KV/Range', { key: b('/a'), range_end: Buffer.from([0]) }), 'read on keys from /a');
  assert.equal(describeRefused('/etcdserverpb.KV/Range', { key: b('/a'), range_end: b('/c') }), 'read on [/a, /c)');
  assert.equal(describeRefused('/etcdserverpb.KV/Put', { key: b('/ns/config/a'), value: b('secret value') }), 'write on /ns/config/a');
  assert.equal(describeRefused('/etcdserverpb.KV/Put', { key: b('/k'), value: b(''), prev_kv: true }), 'readwrite on /k');
  assert.equal(describeRefused('/etcdserverpb.KV/DeleteRange', { key: b('/k') }), 'write on /k');
  assert.equal(describeRefused('/etcdserverpb.Watch/Watch', prefix('/ns/services/chat/')), 'read on prefix /ns/services/chat/');
  assert.equal(describeRefused('/etcdserverpb.Lease/LeaseRevoke', { ID: '1' }), 'write on every key attached to the lease');
  assert.equal(describeRefused('/etcdserverpb.Auth/UserAdd', { name: 'u', password: 'p' }), undefined);
});

test("a txn needs its comparisons' and both branches' ranges; a key inside a range widens that range's permission", () => {
  // The lock's first txn: nobody in the queue, no bare key → put our contender key and the bare key.
  const needs = requestNeeds('/etcdserverpb.KV/Txn', {
    compare: [prefix('/ns/locks/jobs/'), { key: b('/ns/locks/jobs') }],
    success: [{ request_put: { key: b('/ns/locks/jobs/694d'), value: b('') } }, { request_put: { key: b('/ns/locks/jobs'), value: b('') } }],
    failure: [{ request_range: { key: b('/ns/other') } }],
  });
  assert.deepEqual(
    needs?.map((n) => `${n.permission} ${describeRange(n.key, n.rangeEnd)}`),
    ['readwrite prefix /ns/locks/jobs/', 'readwrite /ns/locks/jobs', 'read /ns/other'],
  );
});

test('a permission denial reads "<call>: permission denied (needs …)" with the GrpcError as cause; nothing else changes', () => {
  const denial = new GrpcError(Status.PERMISSION_DENIED, 'etcdserver: permission denied');
  denial.needs = 'write on /ns/config/a';
  const e = toCoordinationError(denial, 'config.set a');
  assert.equal(e.code, ErrorCode.Auth);
  assert.equal(e.message, 'config.set a: permission denied (needs write on /ns/config/a)');
  assert.equal(e.cause, denial);
  assert.ok(isPermissionDenied(e) && isPermissionDenied(denial));
  assert.equal(toCoordinationError(new GrpcError(Status.PERMISSION_DENIED, 'x'), 'op').message, 'op: permission denied');
  // Credentials etcd refused are AUTH_ERROR too, but not a permission denial.
  const badPassword = new GrpcError(Status.INVALID_ARGUMENT, 'etcdserver: authentication failed, invalid user ID or password');
  assert.equal(toCoordinationError(badPassword, 'connect').code, ErrorCode.Auth);
  assert.ok(!isPermissionDenied(badPassword) && !isPermissionDenied(new CoordinationError(ErrorCode.Auth, 'x')));
});

test("a watch's cancel reason is classified by the gRPC status etcd wrote into it", () => {
  const denied = watchCancelError('rpc error: code = PermissionDenied desc = etcdserver: permission denied', 'read on /ns/config/a');
  assert.ok(denied instanceof GrpcError && denied.code === Status.PERMISSION_DENIED && denied.details === 'etcdserver: permission denied');
  assert.equal(toCoordinationError(denied, 'config.watch a').message, 'config.watch a: permission denied (needs read on /ns/config/a)');
  const token = watchCancelError('rpc error: code = Unauthenticated desc = etcdserver: invalid auth token');
  assert.equal((token as GrpcError).code, Status.UNAUTHENTICATED);
  assert.equal((watchCancelError('rpc error: code = Canceled desc = x') as GrpcError).code, Status.CANCELLED);
  assert.equal(classify(watchCancelError('rpc error: code = InvalidArgument desc = etcdserver: user name is empty')), ErrorCode.Auth);
  const text = watchCancelError('mvcc: required revision has been compacted');
  assert.ok(!(text instanceof GrpcError));
  assert.equal(classify(text), ErrorCode.NotFound);
});

test('"already exists" is told by etcd\'s error identity (status and text), not by a name in it', () => {
  assert.ok(isAlreadyExists(new GrpcError(Status.FAILED_PRECONDITION, 'etcdserver: role name already exists')));
  assert.ok(isAlreadyExists(toCoordinationError(new GrpcError(Status.FAILED_PRECONDITION, 'etcdserver: user name already exists'), 'x')));
  assert.ok(!isAlreadyExists(new GrpcError(Status.INVALID_ARGUMENT, 'etcdserver: role name already exists')));
  assert.ok(!isAlreadyExists(new GrpcError(Status.FAILED_PRECONDITION, 'etcdserver: role name not found')));
});

test('grants: one per range, readwrite over read of the same range, a range inside a wider grant left out', () => {
  const layout = resolveLayout('gochat');
  const grants = grantsFor(layout, { register: ['chat'], discover: ['chat', 'user'], configRead: ['app.name', 'chat/'], configWrite: ['chat/limits'], locks: ['jobs'] });
  assert.deepEqual(
    grants.map((g) => `${g.permission} ${g.prefix ? 'prefix ' : ''}${g.key} (${g.for.join(', ')})`),
    [
      'readwrite prefix /gochat/services/chat/ (register chat, discover chat)',
      'read prefix /gochat/services/user/ (discover user)',
      'read /gochat/config/app.name (config-read app.name)',
      'read prefix /gochat/config/chat/ (config-read chat/)',
      'readwrite /gochat/config/chat/limits (config-write chat/limits)',
      'readwrite prefix /gochat/locks/jobs/ (lock jobs)',
      'readwrite /gochat/locks/jobs (lock jobs)',
    ],
  );
  const wide = grantsFor(layout, { configRead: ['app.name'], configWrite: '*', elections: ['a'], observe: '*' });
  assert.deepEqual(
    wide.map((g) => `${g.permission} ${g.key} (${g.for.join(', ')})`),
    ['readwrite /gochat/config/ (config-write *, config-read app.name)', 'readwrite /gochat/elections/a/ (election a)', 'read /gochat/elections/ (observe *)'],
  );
});

test('grants follow the layout: no namespace, and component prefixes other than the defaults', () => {
  const layout = resolveLayout('', { lock: '/mutex', registry: '/svc' });
  const grants = grantsFor(layout, { locks: ['jobs'], register: ['chat'], ids: '*' });
  assert.deepEqual(
    grants.map((g) => `${g.prefix ? 'prefix ' : ''}${g.key}`),
    ['prefix /svc/chat/', 'prefix /mutex/jobs/', '/mutex/jobs', 'prefix /ids/'],
  );
});
