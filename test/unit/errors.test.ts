import { test } from 'node:test';
import assert from 'node:assert/strict';
import { GrpcError, Status } from '../../src/client/grpc/status.js';
import { CoordinationError, ErrorCode, isConflict, isNotFound, isTransient, isValidationError, abortError, ErrorReason } from '../../src/errors.js';
import { classify, toCoordinationError, isCompacted, isLeaseNotFound, reasonOf } from '../../src/client/errors.js';

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
  // Auth changed while the request was on its way: transient, not bad input.
  assert.equal(classify(new GrpcError(Status.INVALID_ARGUMENT, 'etcdserver: revision of auth store is old')), ErrorCode.Unavailable);
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

test('specific etcd conditions are told by etcd\'s error identity: lease not found, compacted', () => {
  assert.ok(isLeaseNotFound(new GrpcError(Status.NOT_FOUND, 'etcdserver: requested lease not found')));
  assert.ok(!isLeaseNotFound(new GrpcError(Status.INVALID_ARGUMENT, 'etcdserver: key not found')));
  assert.ok(isCompacted(new GrpcError(Status.OUT_OF_RANGE, 'etcdserver: mvcc: required revision has been compacted')));
  assert.ok(!isCompacted(undefined));
});

test('the reason comes from the status and etcd\'s description, set by toCoordinationError', () => {
  const compacted = toCoordinationError(new GrpcError(Status.OUT_OF_RANGE, 'etcdserver: mvcc: required revision has been compacted'), 'config.history a');
  assert.equal(compacted.code, ErrorCode.NotFound);
  assert.equal(compacted.reason, ErrorReason.Compacted);
  assert.ok(isCompacted(compacted));
  const lease = toCoordinationError(new GrpcError(Status.NOT_FOUND, 'etcdserver: requested lease not found'), 'lock.acquire jobs');
  assert.equal(lease.code, ErrorCode.NotFound);
  assert.equal(lease.reason, ErrorReason.LeaseNotFound);
  assert.ok(isLeaseNotFound(lease) && !isCompacted(lease));
  // The same text under another status is not etcd's error; another OUT_OF_RANGE is not a compaction.
  assert.equal(reasonOf(new GrpcError(Status.UNKNOWN, 'etcdserver: mvcc: required revision has been compacted')), undefined);
  assert.equal(reasonOf(new GrpcError(Status.OUT_OF_RANGE, 'etcdserver: mvcc: required revision is a future revision')), undefined);
  // Errors of ours, and failures without a specific cause, have none.
  assert.equal(new CoordinationError(ErrorCode.NotFound, 'config key a not found').reason, undefined);
  assert.equal(toCoordinationError(new GrpcError(Status.DEADLINE_EXCEEDED, 'deadline of 5 ms exceeded'), 'op').reason, undefined);
});

test('"compacted" or "lease not found" in a key or any message text sets no reason', () => {
  // A failed read of a key named like a condition: the operation and key are in the message.
  const read = toCoordinationError(new GrpcError(Status.UNAVAILABLE, 'connection reset'), 'config.history jobs.compacted');
  assert.match(read.message, /compacted/);
  assert.equal(read.reason, undefined);
  assert.ok(!isCompacted(read));
  const lock = toCoordinationError(new GrpcError(Status.NOT_FOUND, 'etcdserver: key not found'), 'lock.acquire requested lease not found');
  assert.equal(lock.code, ErrorCode.NotFound);
  assert.ok(!isLeaseNotFound(lock));
  // Text with no status at all (a plain Error, one of ours) names no reason, whatever it says.
  for (const text of ['etcdserver: mvcc: required revision has been compacted', 'etcdserver: requested lease not found']) {
    assert.equal(reasonOf(new Error(text)), undefined, text);
    assert.equal(toCoordinationError(new Error(text), 'op').reason, undefined, text);
    assert.equal(reasonOf(new CoordinationError(ErrorCode.NotFound, `op: ${text}`)), undefined, text);
  }
  // etcd's description matches whole: a longer text that contains it is not etcd's error.
  assert.equal(reasonOf(new GrpcError(Status.NOT_FOUND, 'etcdserver: requested lease not found for key x')), undefined);
});
