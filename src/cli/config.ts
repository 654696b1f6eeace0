// `coordctl config …`: the config center (coordinator.config) from the shell, plus import/export of
// gochat's layered config directories (config-files.ts has the key ⇄ file mapping).
import { Option, type Command } from 'commander';
import { checkKey, encodeValue } from '../config/codec.js';
import type { Coordinator } from '../coordinator.js';
import { countOption, optionalRevision, positiveInt, revision } from './connection.js';
import { applyImport, diffConfig, readConfigDir, writeConfigDir, type ConfigDiff } from './config-files.js';
import { CliError, ExitCode } from './exit-codes.js';
import { follow } from './follow.js';
import { cell, noneStarting, toJson, type Output } from './output.js';
import type { CliContext } from './context.js';

/**
 * The value argument of `config set`: JSON if it parses (`8080` is a number, `'"8080"'` a string),
 * otherwise the text as a string — unless it looks like JSON (starts with `{ [ "`), then it is a
 * typo and a usage error. `--string` always stores the text as is.
 */
export function parseValueArg(text: string, asString: boolean): unknown {
  if (asString) return text;
  try {
    return JSON.parse(text) as unknown;
  } catch (err) {
    if (/^\s*[[{"]/.test(text)) {
      throw new CliError(`value is not valid JSON: ${(err as Error).message}`, ExitCode.Usage, 'fix the JSON, or add --string to store the text as is');
    }
    return text;
  }
}

const pretty = (value: unknown): string => JSON.stringify(value, null, 2);

export function registerConfigCommands(program: Command, ctx: CliContext): void {
  const config = program.command('config').description('read and change config (keys under <namespace>/config/)');
  for (const register of [getCommand, setCommand, rmCommand, lsCommand, watchCommand, historyCommand, rollbackCommand, importCommand, exportCommand]) {
    register(config, ctx);
  }
}

/** `config get`: one value, printed so a script can read it (--raw for plain strings). */
function getCommand(config: Command, ctx: CliContext): void {
  config
    .command('get <key>')
    .description('print the value as pretty JSON (exit 2 if absent)')
    .option('--raw', 'print a string value without JSON quotes (for shell scripts)')
    .action(async (key: string, opts: { raw?: boolean }, cmd: Command) => {
      const out = ctx.output(cmd);
      const value = await ctx.withCoordinator(cmd, (c) => c.config.get(key, { signal: ctx.signal }));
      if (out.json) out.data({ key, value });
      else out.line(opts.raw && typeof value === 'string' ? value : pretty(value));
    });
}

/** `config set`: a write, optionally guarded by the revision the operator last saw. */
function setCommand(config: Command, ctx: CliContext): void {
  config
    .command('set <key> <value>')
    .description('write a value: JSON if it parses, else the text as a string')
    .option('--if-revision <n>', 'only if the key is still at this mod revision (0 = must not exist); else exit 3')
    .option('--string', 'store <value> as a string even if it parses as JSON')
    .action(async (key: string, text: string, opts: { ifRevision?: string; string?: boolean }, cmd: Command) => {
      const out = ctx.output(cmd);
      const value = parseValueArg(text, opts.string === true);
      const ifRevision = optionalRevision(opts.ifRevision, '--if-revision');
      const res = await ctx.withCoordinator(cmd, (c) =>
        c.config.set(key, value, { signal: ctx.signal, ...(ifRevision !== undefined && { ifRevision }) }),
      );
      if (out.json) out.data({ key, revision: res.revision });
      else out.line(`${out.style('green', 'set')} ${key} at revision ${res.revision}`);
    });
}

/** `config rm`: a delete; an absent key is exit 2, already explained in the output. */
function rmCommand(config: Command, ctx: CliContext): void {
  config
    .command('rm <key>')
    .description('delete a key (exit 2 if absent)')
    .option('--if-revision <n>', 'only if the key is still at this mod revision; else exit 3')
    .action(async (key: string, opts: { ifRevision?: string }, cmd: Command) => {
      const out = ctx.output(cmd);
      const ifRevision = optionalRevision(opts.ifRevision, '--if-revision');
      const deleted = await ctx.withCoordinator(cmd, (c) =>
        c.config.delete(key, { signal: ctx.signal, ...(ifRevision !== undefined && { ifRevision }) }),
      );
      if (out.json) out.data({ key, deleted });
      else if (deleted) out.line(`${out.style('red', 'deleted')} ${key}`);
      if (!deleted) {
        if (!out.json) out.note(`coordctl: config key ${key} not found`);
        ctx.exit(ExitCode.NotFound);
      }
    });
}

/** `config ls`: what is stored under a prefix, with the revisions a guarded write needs. */
function lsCommand(config: Command, ctx: CliContext): void {
  config
    .command('ls [prefix]')
    .description('keys starting with prefix (plain string prefix), with mod revision and value')
    .action(async (prefix: string | undefined, _opts: unknown, cmd: Command) => {
      const out = ctx.output(cmd);
      checkKey(prefix ?? '', 'prefix', true);
      const { entries } = await ctx.withCoordinator(cmd, (c) => c.config.entries(prefix ?? '', { signal: ctx.signal }));
      out.list(
        entries,
        [{ header: 'KEY' }, { header: 'REVISION', right: true }, { header: 'VALUE' }],
        (e) => [e.key, String(e.revision), cell(toJson(e.value))],
        noneStarting('config keys', prefix),
      );
    });
}

/** `config watch`: a live line per change, until --count or Ctrl-C (a plain end). */
function watchCommand(config: Command, ctx: CliContext): void {
  config
    .command('watch <key>')
    .description('print PUT/DELETE lines as the key (or prefix) changes, until Ctrl-C')
    .option('--prefix', 'watch every key starting with <key>')
    .option('--from-revision <n>', 'replay changes from this revision on (until compaction)')
    .option('--count <n>', 'stop after n events')
    .action(async (key: string, opts: { prefix?: boolean; fromRevision?: string; count?: string }, cmd: Command) => {
      const out = ctx.output(cmd);
      const count = countOption(opts.count);
      const fromRevision = optionalRevision(opts.fromRevision, '--from-revision');
      await ctx.withCoordinator(cmd, async (c) => {
        const watch = c.config.watch(key, {
          prefix: opts.prefix === true,
          signal: ctx.signal,
          ...(fromRevision !== undefined && { fromRevision }),
        });
        await follow(ctx, {
          items: watch[Symbol.asyncIterator](),
          started: async () => {
            const from = await watch.ready;
            out.note(`watching ${opts.prefix ? 'prefix ' : ''}${key} from revision ${from} (Ctrl-C to stop)`);
          },
          count,
          print: (e) => {
            if (out.json) out.data({ type: e.type, key: e.key, value: e.value, revision: e.revision, reconciled: e.reconciled }, { compact: true });
            else out.line(`${out.style(e.type === 'PUT' ? 'green' : 'red', e.type.padEnd(6))} ${e.key} rev=${e.revision} ${e.type === 'PUT' ? cell(toJson(e.value), 200) : ''}`.trimEnd());
          },
          close: () => watch.close(),
        });
      });
    });
}

/** `config history`: earlier values, to pick a rollback target. */
function historyCommand(config: Command, ctx: CliContext): void {
  config
    .command('history <key>')
    .description('earlier versions from etcd\'s MVCC history, newest first (back to the last compaction)')
    .option('--limit <n>', 'at most n versions')
    .action(async (key: string, opts: { limit?: string }, cmd: Command) => {
      const out = ctx.output(cmd);
      const limit = opts.limit === undefined ? undefined : positiveInt(opts.limit, '--limit');
      const versions = await ctx.withCoordinator(cmd, (c) => c.config.history(key, { signal: ctx.signal, ...(limit !== undefined && { limit }) }));
      if (versions.length === 0) throw new CliError(`config key ${key} has no history (absent, or compacted)`, ExitCode.NotFound);
      out.list(
        versions,
        [{ header: 'REVISION', right: true }, { header: 'VERSION', right: true }, { header: 'VALUE' }],
        (v) => [String(v.revision), String(v.version), cell(toJson(v.value))],
      );
    });
}

/** `config rollback`: an earlier value written back as a new revision (history stays intact). */
function rollbackCommand(config: Command, ctx: CliContext): void {
  config
    .command('rollback <key> <revision>')
    .description('write the value the key had at <revision> back as a new revision')
    .option('--if-revision <n>', 'only if the key is still at this mod revision; else exit 3')
    .action(async (key: string, rev: string, opts: { ifRevision?: string }, cmd: Command) => {
      const out = ctx.output(cmd);
      const to = revision(rev, '<revision>');
      const ifRevision = optionalRevision(opts.ifRevision, '--if-revision');
      const res = await ctx.withCoordinator(cmd, (c) =>
        c.config.rollback(key, to, { signal: ctx.signal, ...(ifRevision !== undefined && { ifRevision }) }),
      );
      if (out.json) out.data({ key, from: to, revision: res.revision });
      else out.line(`${out.style('green', 'rolled back')} ${key} to its value at revision ${to}, now revision ${res.revision}`);
    });
}

interface ImportFlags {
  env: string;
  yes?: boolean;
  prune: boolean;
}

/** `config import`: a directory made the truth of one environment; a diff unless --yes. */
function importCommand(config: Command, ctx: CliContext): void {
  config
    .command('import <dir>')
    .description('push a layered config directory (global/*.json, <service>/*.json) to <env>/…; diff only, unless --yes')
    .addOption(new Option('--env <env>', 'environment: file <dir>/<path>.json → key <env>/<path>').makeOptionMandatory())
    .option('--yes', 'write the changes (without it: print the diff, write nothing)')
    .option('--no-prune', 'keep keys under <env>/ that have no file (default: delete them)')
    .action(async (dir: string, opts: ImportFlags, cmd: Command) => {
      const out = ctx.output(cmd);
      const env = checkEnv(opts.env);
      const wanted = await readImport(out, dir, env);
      await ctx.withCoordinator(cmd, (c) => applyDiff({ ctx, out, coordinator: c, env, wanted, opts }));
    });
}

/** The directory's values, each checked storable before anything is written; skipped files noted. */
async function readImport(out: Output, dir: string, env: string): Promise<Map<string, unknown>> {
  const { values: wanted, skipped } = await readConfigDir(dir, env);
  // An empty (or wrong) directory would otherwise plan to delete the whole environment.
  if (wanted.size === 0) throw new CliError(`no .json files in ${dir}`, ExitCode.Usage, 'point at the config directory (global/*.json, <service>/*.json)');
  for (const [key, value] of wanted) encodeValue(key, value); // every value must be storable before any is written
  for (const file of skipped) out.note(`skipped ${file} (not a .json file)`);
  return wanted;
}

interface ApplyDiffOptions {
  ctx: CliContext;
  out: Output;
  coordinator: Coordinator;
  env: string;
  wanted: Map<string, unknown>;
  opts: ImportFlags;
}

/** Diffs against what `<env>/` holds now; writes only with --yes, guarded by the revisions read. */
async function applyDiff({ ctx, out, coordinator: c, env, wanted, opts }: ApplyDiffOptions): Promise<void> {
  const { entries, revision: readAt } = await c.config.entries(`${env}/`, { signal: ctx.signal });
  const current = new Map(entries.map((e) => [e.key, e.value]));
  const diff = diffConfig(current, wanted, opts.prune);
  const apply = opts.yes === true && diff.added.length + diff.changed.length + diff.removed.length > 0;
  if (!out.json) printDiff(out, diff);
  if (apply) await applyImport(c.config, diff, wanted, new Map(entries.map((e) => [e.key, e.revision])), ctx.signal);
  if (out.json) out.data({ env, ...diff, applied: apply, readRevision: readAt });
  else if (apply) out.line(out.style('green', 'applied'));
  else if (opts.yes !== true && !isEmpty(diff)) out.note('dry run: nothing written; add --yes to apply');
}

/** `config export`: the reverse of import, one file per key, all read at one revision. */
function exportCommand(config: Command, ctx: CliContext): void {
  config
    .command('export <prefix> <dir>')
    .description('write every key under <prefix>/ as <dir>/<rest of key>.json (the reverse of import)')
    .action(async (prefix: string, dir: string, _opts: unknown, cmd: Command) => {
      const out = ctx.output(cmd);
      const root = prefix.replace(/\/+$/, '');
      checkKey(root, 'prefix', true);
      const { entries, revision: readAt } = await ctx.withCoordinator(cmd, (c) => c.config.entries(root === '' ? '' : `${root}/`, { signal: ctx.signal }));
      if (entries.length === 0) throw new CliError(`no config keys under '${root}/'`, ExitCode.NotFound);
      const files = await writeConfigDir(dir, root, entries);
      if (out.json) out.data({ prefix: root, dir, revision: readAt, files });
      else out.line(`exported ${files.length} key${files.length === 1 ? '' : 's'} under '${root}/' at revision ${readAt} to ${dir}`);
    });
}

function checkEnv(env: string): string {
  if (env === '' || env.includes('/') || env.includes('\0') || env === '.' || env === '..') {
    throw new CliError(`--env must be a single path segment like 'prod', got '${env}'`, ExitCode.Usage);
  }
  return env;
}

const isEmpty = (d: ConfigDiff): boolean => d.added.length + d.changed.length + d.removed.length === 0;

function printDiff(out: Output, diff: ConfigDiff): void {
  for (const key of diff.added) out.line(out.style('green', `+ ${key}`));
  for (const key of diff.changed) out.line(out.style('yellow', `~ ${key}`));
  for (const key of diff.removed) out.line(out.style('red', `- ${key}`));
  out.line(`${diff.added.length} added, ${diff.changed.length} changed, ${diff.removed.length} removed, ${diff.unchanged} unchanged`);
}
