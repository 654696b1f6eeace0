// The snapshot file: atomic writes with mode 0600, merging, bursts coalesced, junk ignored.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SnapshotFile } from '../../src/config/snapshot.js';
import { captureLogger } from '../helpers/logs.js';

async function tempDir(): Promise<string> {
  return mkdtemp(join(tmpdir(), 'cfg-snapshot-unit-'));
}

test('put + flush writes a 0600 file that a fresh reader gets back byte for byte', async () => {
  const dir = await tempDir();
  try {
    const path = join(dir, 's.json');
    const logs = captureLogger();
    const a = new SnapshotFile(path, logs.logger);
    a.put('ns/config/k', Buffer.from([0, 1, 0xff]), 7n);
    await a.flush();
    assert.equal((await stat(path)).mode & 0o777, 0o600);
    const b = new SnapshotFile(path, logs.logger);
    assert.deepEqual(await b.get('ns/config/k'), { raw: Buffer.from([0, 1, 0xff]), revision: 7n });
    assert.equal(await b.get('ns/config/other'), undefined);
    assert.deepEqual(await readdir(dir), ['s.json'], 'no temp files left behind');
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

test('two writers on one path merge their entries; a burst ends with the last value', async () => {
  const dir = await tempDir();
  try {
    const path = join(dir, 's.json');
    const logs = captureLogger();
    const a = new SnapshotFile(path, logs.logger);
    const b = new SnapshotFile(path, logs.logger);
    for (let i = 0; i < 50; i++) a.put('a', Buffer.from(String(i)), BigInt(i));
    b.put('b', Buffer.from('B'), 1n);
    await Promise.all([a.flush(), b.flush()]);
    const c = new SnapshotFile(path, logs.logger);
    assert.equal((await c.get('a'))!.raw.toString(), '49');
    assert.equal((await c.get('b'))!.raw.toString(), 'B');
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

test('a missing file is empty; a junk file is ignored with a WARN', async () => {
  const dir = await tempDir();
  try {
    const logs = captureLogger();
    assert.equal(await new SnapshotFile(join(dir, 'none.json'), logs.logger).get('k'), undefined);
    assert.equal(logs.lines.length, 0);
    const junk = join(dir, 'junk.json');
    await writeFile(junk, 'not json');
    assert.equal(await new SnapshotFile(junk, logs.logger).get('k'), undefined);
    assert.ok(logs.lines.some((l) => l.level === 'warn'));
    const s = new SnapshotFile(junk, logs.logger);
    s.put('k', Buffer.from('v'), 1n);
    await s.flush();
    assert.match(await readFile(junk, 'utf8'), /"version":1/);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

test('a write into a missing directory fails with a WARN, not an exception', async () => {
  const logs = captureLogger();
  const s = new SnapshotFile('/nonexistent-dir-cfg/s.json', logs.logger);
  s.put('k', Buffer.from('v'), 1n);
  await s.flush();
  assert.ok(logs.lines.some((l) => l.level === 'warn' && /write failed/.test(l.message)));
});
