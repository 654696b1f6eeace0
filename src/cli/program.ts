// coordctl's command tree (commander) and the one place that turns outcomes into exit codes and
// one-line messages. `run()` never throws and never calls process.exit: the entry point does.
import { Command, CommanderError } from 'commander';
import { createCoordinator } from '../coordinator.js';
import { isCoordinationError } from '../errors.js';
import { addGlobalOptions, coordinatorOptions, scrub, type GlobalOptions } from './connection.js';
import { CliError, EXIT_CODES_HELP, ExitCode, exitCodeOf } from './exit-codes.js';
import { Output, colorWanted, type Streams } from './output.js';
import { registerConfigCommands } from './config.js';
import { registerServiceCommands } from './services.js';
import { registerLockCommands } from './locks.js';
import { registerSemaphoreCommands } from './semaphores.js';
import { registerRwLockCommands } from './rwlocks.js';
import { registerIdCommands } from './ids.js';
import { registerMigrateCommand } from './migrate.js';
import { registerElectionCommands } from './elections.js';
import { registerRolesCommand } from './roles.js';
import type { CliContext } from './context.js';

/** What a command's action gets: its output, a coordinator on demand, and Ctrl-C as a signal. */

export interface RunOptions extends Streams {
  /** Aborting stops a running command (the entry point wires SIGINT/SIGTERM to it). */
  signal?: AbortSignal;
  version?: string;
}

/** Parses `args` (without node and script), runs the command, resolves with the exit code. */
export async function run(args: string[], io: RunOptions): Promise<ExitCode> {
  let exitCode: ExitCode = ExitCode.Ok;
  const program = buildProgram(
    io,
    cliContext(io, (code) => {
      exitCode = code;
    }),
  );
  try {
    if (args.length === 0) {
      program.outputHelp();
      return ExitCode.Usage;
    }
    await program.parseAsync(args, { from: 'user' });
    return exitCode;
  } catch (err) {
    return report(err, program, io);
  }
}

/** What every action gets; `exit` records an exit code that run() returns once the action is done. */
function cliContext(io: RunOptions, exit: (code: ExitCode) => void): CliContext {
  return {
    signal: io.signal ?? new AbortController().signal,
    output: (cmd) => {
      const o = cmd.optsWithGlobals<GlobalOptions>();
      return new Output(io, o.json === true, colorWanted(io.stdout, io.env, o.color));
    },
    withCoordinator: async (cmd, fn) => {
      const coordinator = await createCoordinator(coordinatorOptions(cmd.optsWithGlobals<GlobalOptions>(), io.stderr));
      try {
        return await fn(coordinator);
      } finally {
        await coordinator.close();
      }
    },
    exit,
  };
}

/** The whole command tree, writing to `io` and throwing instead of exiting (run() decides the code). */
function buildProgram(io: RunOptions, ctx: CliContext): Command {
  const program = new Command('coordctl');
  configureProgram(program, io);
  addGlobalOptions(program);
  // Registered after the settings above, so every subcommand inherits exit override, output and hints.
  registerConfigCommands(program, ctx);
  registerServiceCommands(program, ctx);
  registerLockCommands(program, ctx);
  registerSemaphoreCommands(program, ctx);
  registerRwLockCommands(program, ctx);
  registerIdCommands(program, ctx);
  registerMigrateCommand(program, ctx);
  registerElectionCommands(program, ctx);
  registerRolesCommand(program, ctx);
  return program;
}

/** commander's settings: our streams, no process.exit, help that names the env vars and exit codes. */
function configureProgram(program: Command, io: RunOptions): void {
  program
    .description('Operate the coordination namespace of gochat: services, config, locks, instance IDs and elections in etcd.')
    .version(io.version ?? '0.0.0', '-V, --version')
    .configureOutput({
      writeOut: (s) => void io.stdout.write(s),
      writeErr: (s) => void io.stderr.write(s),
    })
    .exitOverride()
    .configureHelp({ showGlobalOptions: true })
    .showHelpAfterError('(add --help for usage)')
    .showSuggestionAfterError()
    .addHelpText(
      'after',
      `
Connection: flags win over COORD_ENDPOINTS, COORD_NAMESPACE, COORD_USER, COORD_PASSWORD.
Output: tables (coloured on a terminal unless NO_COLOR is set), --json for scripts.`,
    )
    .addHelpText('afterAll', EXIT_CODES_HELP);
}

/** The one place an outcome becomes an exit code and (unless already said) one line on stderr. */
function report(err: unknown, program: Command, io: RunOptions): ExitCode {
  if (err instanceof CommanderError) {
    // Help and --version are not errors; commander has already printed its message for the rest.
    return err.exitCode === 0 ? ExitCode.Ok : ExitCode.Usage;
  }
  const code = exitCodeOf(err);
  if (code === ExitCode.Interrupted) return code; // Ctrl-C: the operator knows
  const globals = program.opts<Partial<GlobalOptions>>();
  io.stderr.write(`${scrub(globals.json ? describeJson(err, code) : describe(err), globals)}\n`);
  return code;
}

/** With --json, errors are one JSON line on stderr too: `{"error":{"code","message","exitCode","hint"?}}`. */
function describeJson(err: unknown, exitCode: ExitCode): string {
  const byExit: Record<number, string> = { 1: 'USAGE_ERROR', 2: 'NOT_FOUND', 3: 'CONFLICT', 4: 'CONNECTION_ERROR', 5: 'AUTH_ERROR' };
  const code = isCoordinationError(err) ? err.code : err instanceof CliError ? (byExit[exitCode] ?? 'USAGE_ERROR') : 'INTERNAL_ERROR';
  const message = err instanceof Error ? err.message.split('\n')[0] : String(err);
  const hint = err instanceof CliError ? err.hint : undefined;
  return JSON.stringify({ error: { code, message, exitCode, ...(hint && { hint }) } });
}

/** One line: `coordctl: <message> [CODE]`; a second `hint:` line only for usage errors; stacks only for bugs. */
function describe(err: unknown): string {
  if (err instanceof CliError) return `coordctl: ${err.message}${err.hint ? `\nhint: ${err.hint}` : ''}`;
  if (isCoordinationError(err)) return `coordctl: ${err.message.split('\n')[0]} [${err.code}]`;
  const text = err instanceof Error ? (err.stack ?? err.message) : String(err);
  return `coordctl: unexpected error: ${text}`;
}
