import { test } from 'node:test';
import assert from 'node:assert/strict';
import { GrpcError, Status } from '../../src/client/grpc/status.js';
import {
  CoordinationError,
  ErrorCode,
  classify,
  toCoordinationError,
  isConflict,
  isNotFound,
  isTransient,
  isValidationError,
  abortError,
  isCompacted,
  isLeaseNotFound,
} from '../../src/errors.js';

test('CoordinationError carries code, name, cause', () => {
  const cause = new Error('root');
  const e = new CoordinationError(ErrorCode.Conflict, 'held', { cause });
  assert.equal(e.name, 'CoordinationError');
  assert.equal(e.code, 'CONFLICT');
  assert.equal(e.cause, cause);
  assert.ok(e instanceof Error);
  assert.equal(String(e), 'CoordinationError [CONFLICT]: held');
  assert.ok(isConflict(e));
  assert.ok(!isNotFound(e));
});

test('status code is used first', () => {
  const grpc = Object.assign(new Error('4 DEADLINE_EXCEEDED: Deadline exceeded'), { code: 4 });
  assert.equal(classify(grpc), ErrorCode.Timeout);
  assert.equal(classify(Object.assign(new Error('x'), { code: 14 })), ErrorCode.Connection);
  assert.equal(classify(Object.assign(new Error('x'), { code: 16 })), ErrorCode.Auth);
});

test("etcd's errors (as our gRPC client reports them) map to codes", () => {
  assert.equal(classify(new GrpcError(Status.DEADLINE_EXCEEDED, 'd')), ErrorCode.Timeout);
  assert.equal(classify(new GrpcError(Status.UNAVAILABLE, 'u')), ErrorCode.Connection);
  assert.equal(classify(new GrpcError(Status.INVALID_ARGUMENT, 'etcdserver: authentication failed, invalid user ID or password')), ErrorCode.Auth);
  assert.equal(classify(new GrpcError(Status.PERMISSION_DENIED, 'etcdserver: permission denied')), ErrorCode.Auth);
  assert.equal(classify(new GrpcError(Status.FAILED_PRECONDITION, 'etcdserver: authentication is not enabled')), ErrorCode.Auth);
  assert.equal(classify(new GrpcError(Status.NOT_FOUND, 'etcdserver: requested lease not found')), ErrorCode.NotFound);
  assert.equal(classify(new GrpcError(Status.INVALID_ARGUMENT, 'etcdserver: request is too large')), ErrorCode.Validation);
});

test('etcd server conditions under a generic status are told apart by message', () => {
  assert.equal(classify(new GrpcError(Status.UNAVAILABLE, 'etcdserver: no leader')), ErrorCode.Unavailable);
  assert.equal(classify(new GrpcError(Status.UNAVAILABLE, 'etcdserver: request timed out')), ErrorCode.Timeout);
  assert.equal(classify(new Error('etcdserver: mvcc: required revision has been compacted')), ErrorCode.NotFound);
  assert.equal(classify(new Error('connect ECONNREFUSED 127.0.0.1:1')), ErrorCode.Connection);
  assert.equal(classify('weird'), ErrorCode.Unavailable);
});

test('toCoordinationError keeps the cause and message and passes ours through', () => {
  const cause = new GrpcError(Status.UNAVAILABLE, 'No connection established');
  const e = toCoordinationError(cause, 'config.get a');
  assert.equal(e.code, ErrorCode.Connection);
  assert.equal(e.cause, cause);
  assert.match(e.message, /config.get a: UNAVAILABLE: No connection established/);
  assert.ok(isTransient(e));
  const ours = new CoordinationError(ErrorCode.Validation, 'bad');
  assert.equal(toCoordinationError(ours, 'x'), ours);
  assert.ok(isValidationError(ours));
  assert.ok(!isTransient(ours));
});

test('abortError: TIMEOUT_ERROR for timeouts, CANCELLED otherwise, reason as cause', async () => {
  const ac = new AbortController();
  const reason = new Error('stop');
  ac.abort(reason);
  const e = abortError(ac.signal, 'lock.acquire k');
  assert.equal(e.code, ErrorCode.Cancelled);
  assert.equal(e.cause, reason);
  const t = AbortSignal.timeout(1);
  await new Promise((r) => setTimeout(r, 20));
  assert.equal(abortError(t, 'x').code, ErrorCode.Timeout);
  const coded = new CoordinationError(ErrorCode.NotFound, 'lost');
  assert.equal(abortError(AbortSignal.abort(coded), 'x'), coded);
});

test('a bug is INTERNAL_ERROR, not an etcd outage: TypeError, RangeError, failed assertion — even when the text says "closed"', () => {
  const bugs: unknown[] = [new TypeError("Cannot read properties of undefined (reading 'closed')"), new RangeError('socket connection'), new ReferenceError('x')];
  try {
    assert.ok(false, 'connection closed');
  } catch (err) {
    bugs.push(err);
  }
  for (const bug of bugs) {
    assert.equal(classify(bug), ErrorCode.Internal, String(bug));
    const wrapped = toCoordinationError(bug, 'op');
    assert.equal(wrapped.code, ErrorCode.Internal);
    assert.equal(wrapped.cause, bug);
    assert.equal(isTransient(wrapped), false);
  }
  // A network failure with the same words is still one.
  assert.equal(classify(new Error('connection closed')), ErrorCode.Connection);
});

test('message tests for specific etcd conditions live in errors.ts: lease not found, compacted', () => {
  assert.ok(isLeaseNotFound(new Error('5 NOT_FOUND: etcdserver: requested lease not found')));
  assert.ok(!isLeaseNotFound(new Error('etcdserver: key not found')));
  assert.ok(isCompacted(new Error('11 OUT_OF_RANGE: etcdserver: mvcc: required revision has been compacted')));
  assert.ok(!isCompacted(undefined));
});
