import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { decodeService, encodeService, serviceKey, servicePrefix } from '../../src/registry/codec.js';
import type { ServiceInfo } from '../../src/index.js';

const info: ServiceInfo = {
  id: 'chat-1',
  name: 'chat',
  address: '10.0.0.1',
  port: 8080,
  metadata: { version: '1.0.0', region: 'us-west', note: 'a<b & c>d' },
  ttlMs: 30_000,
};

test('keys follow services/<name>/<id>; the prefix ends in / so chat does not match chat2', () => {
  assert.equal(serviceKey('services/', 'chat', 'chat-1'), 'services/chat/chat-1');
  assert.equal(servicePrefix('services/', 'chat'), 'services/chat/');
});

test('encode writes Go field names in declaration order, ttl in ns, sorted metadata', () => {
  const json = encodeService(info);
  assert.ok(json.startsWith('{"id":"chat-1","name":"chat","address":"10.0.0.1","port":8080,"metadata":{"note":'));
  assert.ok(json.endsWith(',"ttl":30000000000}'));
  const { ttlMs: _ttlMs, ...rest } = info;
  assert.deepEqual(JSON.parse(json), { ...rest, ttl: 30_000_000_000 });
});

test('decode reads a Go value as-is: ns → ms, null or missing metadata → {}', () => {
  const go = '{"id":"go-1","name":"chat","address":"10.0.0.7","port":9090,"metadata":null,"ttl":1500000000}';
  assert.deepEqual(decodeService(go, 'services/chat/go-1'), { id: 'go-1', name: 'chat', address: '10.0.0.7', port: 9090, metadata: {}, ttlMs: 1500 });
  assert.deepEqual(decodeService('{"address":"h","port":1}', 'services/chat/x')?.metadata, {});
  assert.equal(decodeService('{"address":"h","port":1}', 'services/chat/x')?.id, 'x', 'id falls back to the key');
  assert.equal(decodeService('not json', 'services/chat/x'), undefined);
  assert.equal(decodeService('[1]', 'services/chat/x'), undefined);
  assert.deepEqual(decodeService(encodeService(info), 'services/chat/chat-1'), info);
});

// The same struct as gochat's Go registry (seed §2.3), encoded and decoded by encoding/json.
const GO_PROGRAM = `package main

import (
	"encoding/json"
	"fmt"
	"io"
	"os"
	"time"
)

type ServiceInfo struct {
	ID       string            \`json:"id"\`
	Name     string            \`json:"name"\`
	Address  string            \`json:"address"\`
	Port     int               \`json:"port"\`
	Metadata map[string]string \`json:"metadata"\`
	TTL      time.Duration     \`json:"ttl"\`
}

func main() {
	ours, _ := io.ReadAll(os.Stdin)
	var s ServiceInfo
	if err := json.Unmarshal(ours, &s); err != nil {
		fmt.Println("ERR", err)
		os.Exit(1)
	}
	fmt.Printf("%s|%s|%s|%d|%s|%s\\n", s.ID, s.Name, s.Address, s.Port, s.Metadata["note"], s.TTL)
	b, _ := json.Marshal(ServiceInfo{ID: "chat-1", Name: "chat", Address: "10.0.0.1", Port: 8080,
		Metadata: map[string]string{"version": "1.0.0", "region": "us-west", "note": "a<b & c>d"}, TTL: 30 * time.Second})
	fmt.Println(string(b))
}
`;

const hasGo = spawnSync('go', ['version']).status === 0;

test('Go decodes our value and Go encodes the same bytes we do', { skip: hasGo ? false : 'go is not installed' }, () => {
  const dir = mkdtempSync(join(tmpdir(), 'registry-go-'));
  try {
    mkdirSync(join(dir, 'src', 'regcheck'), { recursive: true });
    writeFileSync(join(dir, 'src', 'regcheck', 'main.go'), GO_PROGRAM);
    const out = execFileSync('go', ['run', 'regcheck'], {
      cwd: join(dir, 'src', 'regcheck'),
      input: encodeService(info),
      env: { ...process.env, GO111MODULE: 'off', GOPATH: `${dir}:/usr/share/gocode`, GOCACHE: join(dir, 'cache'), GOFLAGS: '' },
      encoding: 'utf8',
      timeout: 60_000,
    });
    const [decoded, encoded] = out.trim().split('\n');
    assert.equal(decoded, 'chat-1|chat|10.0.0.1|8080|a<b & c>d|30s');
    assert.equal(encoded, encodeService(info), 'byte-identical to encoding/json');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
