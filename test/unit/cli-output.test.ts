// coordctl's pure parts: table layout, colour decision, JSON of bigints, value parsing, the import
// diff, the key → file mapping, and which error gives which exit code.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Writable } from 'node:stream';
import { Output, colorWanted, cut, duration, toJson, visibleLength } from '../../src/cli/output.js';
import { parseValueArg } from '../../src/cli/config.js';
import { diffConfig, fileForKey } from '../../src/cli/config-files.js';
import { CliError, ExitCode, exitCodeOf } from '../../src/cli/exit-codes.js';
import { coordinatorOptions, positiveInt, revision, scrub } from '../../src/cli/connection.js';
import { run } from '../../src/cli/program.js';
import { CoordinationError, ErrorCode } from '../../src/errors.js';

function sink(): { stream: Writable & { isTTY?: boolean }; text: () => string } {
  let text = '';
  const stream = new Writable({
    write(chunk: Buffer, _enc, done) {
      text += chunk.toString();
      done();
    },
  });
  return { stream, text: () => text };
}

function output(color: boolean) {
  const out = sink();
  const err = sink();
  return { o: new Output({ stdout: out.stream, stderr: err.stream, env: {} }, false, color), out, err };
}

test('table pads every column to its widest cell and right-aligns numbers', () => {
  const { o, out } = output(false);
  o.table([{ header: 'KEY' }, { header: 'REV', right: true }, { header: 'VALUE' }], [
    ['a', '7', 'x'],
    ['longer.key', '12345', ''],
  ]);
  assert.equal(out.text(), 'KEY           REV  VALUE\na               7  x\nlonger.key  12345\n');
});

test('table with colour: escape codes do not count towards the width', () => {
  const { o, out } = output(true);
  o.table([{ header: 'A' }, { header: 'B' }], [[o.style('green', 'PUT'), 'x']]);
  const [header, row] = out.text().split('\n');
  assert.equal(header, '\x1b[1mA    B\x1b[22m');
  assert.equal(visibleLength(row!), 'PUT  x'.length);
});

test('an empty table prints its note on stderr, nothing on stdout', () => {
  const { o, out, err } = output(false);
  o.table([{ header: 'A' }], [], '(nothing)');
  assert.equal(out.text(), '');
  assert.equal(err.text(), '(nothing)\n');
});

test('colour: terminal yes, pipe no, NO_COLOR off, FORCE_COLOR on, --no-color off', () => {
  assert.equal(colorWanted({ isTTY: true }, {}), true);
  assert.equal(colorWanted({}, {}), false);
  assert.equal(colorWanted({ isTTY: true }, { NO_COLOR: '1' }), false);
  assert.equal(colorWanted({ isTTY: true }, { NO_COLOR: '' }), true);
  assert.equal(colorWanted({}, { FORCE_COLOR: '1' }), true);
  assert.equal(colorWanted({}, { FORCE_COLOR: '0' }), false);
  assert.equal(colorWanted({}, { FORCE_COLOR: '1', NO_COLOR: '1' }), false);
  assert.equal(colorWanted({ isTTY: true }, {}, false), false);
});

test('toJson writes bigints as numbers when safe, as strings beyond 2^53', () => {
  assert.equal(toJson({ r: 42n }), '{"r":42}');
  assert.equal(toJson({ r: 2n ** 60n }), `{"r":"${2n ** 60n}"}`);
});

test('cut and duration', () => {
  assert.equal(cut('abcdef', 4), 'abc…');
  assert.equal(cut('abc', 4), 'abc');
  assert.equal(duration(undefined), '-');
  assert.equal(duration(250), '250ms');
  assert.equal(duration(9000), '9s');
  assert.equal(duration(61_000), '1m1s');
  assert.equal(duration(3_600_000), '1h');
});

test('set value: JSON when it parses, text otherwise, broken JSON is a usage error', () => {
  assert.equal(parseValueArg('8080', false), 8080);
  assert.equal(parseValueArg('8080', true), '8080');
  assert.equal(parseValueArg('"8080"', false), '8080');
  assert.equal(parseValueArg('hello world', false), 'hello world');
  assert.deepEqual(parseValueArg('{"a":[1]}', false), { a: [1] });
  assert.throws(() => parseValueArg('{"a":', false), (e: CliError) => e.exitCode === ExitCode.Usage && /--string/.test(e.hint ?? ''));
  assert.throws(() => parseValueArg('[1,', false), CliError);
});

test('import diff: added, changed (JSON-equal ignores key order), removed only with prune', () => {
  const current = new Map<string, unknown>([
    ['p/a', { x: 1, y: 2 }],
    ['p/b', 1],
    ['p/gone', true],
  ]);
  const wanted = new Map<string, unknown>([
    ['p/a', { y: 2, x: 1 }],
    ['p/b', 2],
    ['p/new', 'n'],
  ]);
  assert.deepEqual(diffConfig(current, wanted, true), { added: ['p/new'], changed: ['p/b'], removed: ['p/gone'], unchanged: 1 });
  assert.deepEqual(diffConfig(current, wanted, false).removed, []);
});

test('export file names: <dir>/<key minus prefix>.json; unsafe segments refused', () => {
  assert.equal(fileForKey('/out', 'prod', 'prod/global/app'), '/out/global/app.json');
  assert.equal(fileForKey('/out', '', 'x/y'), '/out/x/y.json');
  assert.throws(() => fileForKey('/out', 'prod', 'prod/../etc'), CliError);
  assert.throws(() => fileForKey('/out', 'prod', 'prod/a//b'), CliError);
});

test('exit codes by error code', () => {
  const e = (code: ErrorCode) => new CoordinationError(code, 'x');
  assert.equal(exitCodeOf(e(ErrorCode.NotFound)), 2);
  assert.equal(exitCodeOf(e(ErrorCode.Conflict)), 3);
  assert.equal(exitCodeOf(e(ErrorCode.Connection)), 4);
  assert.equal(exitCodeOf(e(ErrorCode.Timeout)), 4);
  assert.equal(exitCodeOf(e(ErrorCode.Unavailable)), 4);
  assert.equal(exitCodeOf(e(ErrorCode.Auth)), 5);
  assert.equal(exitCodeOf(e(ErrorCode.Validation)), 1);
  assert.equal(exitCodeOf(e(ErrorCode.Cancelled)), 130);
  assert.equal(exitCodeOf(new CliError('x', ExitCode.NotFound)), 2);
  assert.equal(exitCodeOf(new Error('bug')), 1);
});

test('flag parsing: positive integers and revisions', () => {
  assert.equal(positiveInt('250', '--timeout'), 250);
  assert.throws(() => positiveInt('0', '--timeout'), CliError);
  assert.throws(() => positiveInt('1.5', '--timeout'), CliError);
  assert.equal(revision('0', 'r'), 0n);
  assert.throws(() => revision('-1', 'r'), CliError);
});

test('connection options: endpoints split, credentials mapped, password scrubbed from text', () => {
  const err = sink();
  const opts = coordinatorOptions({ endpoints: 'a:1, b:2', timeout: '700', color: true, user: 'u', password: 'pw', namespace: 'gochat' }, err.stream);
  assert.deepEqual(opts.endpoints, ['a:1', 'b:2']);
  assert.equal(opts.timeoutMs, 700);
  assert.equal(opts.username, 'u');
  assert.equal(opts.namespace, 'gochat');
  assert.throws(() => coordinatorOptions({ endpoints: ',', timeout: '1', color: true }, err.stream), CliError);
  assert.throws(() => coordinatorOptions({ endpoints: 'a:1', timeout: '1', color: true, password: 'pw' }, err.stream), /without --user/);
  assert.equal(scrub('auth failed for pw!', { password: 'pw' }), 'auth failed for ***!');
});

test('run() without arguments prints help and returns 1; --help returns 0', async () => {
  const out = sink();
  const err = sink();
  const io = { stdout: out.stream, stderr: err.stream, env: {} };
  assert.equal(await run([], io), 1);
  assert.match(out.text(), /Usage: coordctl/);
  assert.equal(await run(['--help'], io), 0);
});
