#!/usr/bin/env node
// Entry point of the `coordctl` bin (package.json → dist/cli/coordctl.js). Wires Ctrl-C to the
// running command, then exits with run()'s code once stdout/stderr are flushed.
import { readFileSync } from 'node:fs';
import { run } from './program.js';

// package.json sits two levels up both from src/cli (tests, tsx) and from dist/cli (npm install).
const version = (JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string }).version;

// Dependency deprecation notices (grpc-js on TLS to an IP address) are noise on an operator's
// terminal and break "one line per error"; --verbose shows them.
process.noDeprecation = !process.argv.includes('--verbose');

// A library bug must not end in a bare stack dump: one line (the stack with --verbose), exit 1.
const crash = (err: unknown): never => {
  const verbose = process.argv.includes('--verbose');
  process.stderr.write(`coordctl: internal error: ${err instanceof Error ? (verbose ? err.stack : err.message) : String(err)}\n`);
  process.exit(1);
};
process.on('unhandledRejection', crash);
process.on('uncaughtException', crash);

const interrupt = new AbortController();
let interrupted = 0;
const onSignal = (): void => {
  // The first Ctrl-C ends the command cleanly; a second one gives up at once.
  if (++interrupted > 1) process.exit(130);
  interrupt.abort();
};
process.on('SIGINT', onSignal);
process.on('SIGTERM', onSignal);
// `coordctl config ls | head -1`: the reader went away, which is not an error worth a stack trace.
for (const stream of [process.stdout, process.stderr]) {
  stream.on('error', (err: NodeJS.ErrnoException) => process.exit(err.code === 'EPIPE' ? 0 : 1));
}

const code = await run(process.argv.slice(2), {
  stdout: process.stdout,
  stderr: process.stderr,
  env: process.env,
  signal: interrupt.signal,
  version,
});
// Exit explicitly (gRPC channels may linger for a moment after close) but only after output is out.
await Promise.all([process.stdout, process.stderr].map((s) => new Promise<void>((resolve) => void s.write('', () => resolve()))));
process.exit(code);
