// What every command's handler is given by the program (src/cli/program.ts builds it).
import type { Command } from 'commander';
import type { Coordinator } from '../coordinator.js';
import type { ExitCode } from './exit-codes.js';
import type { Output } from './output.js';

export interface CliContext {
  /** Output configured from --json / --no-color / NO_COLOR. */
  output(cmd: Command): Output;
  /** Connects with the global flags, runs `fn`, always closes the coordinator. */
  withCoordinator<T>(cmd: Command, fn: (coordinator: Coordinator) => Promise<T>): Promise<T>;
  /** Aborts on SIGINT/SIGTERM: watches end cleanly (exit 0), other commands stop. */
  readonly signal: AbortSignal;
  /** Sets the exit code without an error message (e.g. NOT_FOUND already explained in the output). */
  exit(code: ExitCode): void;
}
