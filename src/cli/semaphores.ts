// `coordctl semaphores …`: the counting semaphores under `<namespace>/semaphores/` — permits, holders
// (their fencing tokens and TTL left) and waiters.
import type { Command } from 'commander';
import { duration, noneStarting } from './output.js';
import type { CliContext } from './context.js';

export function registerSemaphoreCommands(program: Command, ctx: CliContext): void {
  const semaphores = program.command('semaphores').description('counting semaphores (keys under <namespace>/semaphores/)');

  semaphores
    .command('ls [prefix]')
    .description('each semaphore whose name starts with prefix: permits, holders (tokens, TTL left), waiters')
    .action(async (prefix: string | undefined, _opts: unknown, cmd: Command) => {
      const out = ctx.output(cmd);
      const entries = await ctx.withCoordinator(cmd, (c) => c.semaphore.list(prefix ?? '', { signal: ctx.signal }));
      out.list(
        entries,
        [{ header: 'SEMAPHORE' }, { header: 'PERMITS', right: true }, { header: 'HELD', right: true }, { header: 'TOKENS' }, { header: 'TTL LEFT' }, { header: 'WAITERS', right: true }],
        (s) => [
          s.name,
          String(s.permits),
          String(s.holders.length),
          s.holders.map((h) => String(h.fencingToken)).join(','),
          s.holders.map((h) => duration(h.remainingMs)).join(','),
          String(s.waiters),
        ],
        noneStarting('semaphores', prefix),
      );
    });
}
