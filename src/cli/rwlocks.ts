// `coordctl rwlocks …`: the read-write locks under `<namespace>/rwlocks/` — ours and Go RWMutex's
// (`<name>/read/<id>`, `<name>/write/<id>`): mode, holders (tokens, TTL left), waiters.
import type { Command } from 'commander';
import { duration, noneStarting } from './output.js';
import type { CliContext } from './context.js';

export function registerRwLockCommands(program: Command, ctx: CliContext): void {
  const rwlocks = program.command('rwlocks').description('read-write locks (keys under <namespace>/rwlocks/)');

  rwlocks
    .command('ls [prefix]')
    .description('each read-write lock whose name starts with prefix: mode, holders (tokens, TTL left), waiters')
    .action(async (prefix: string | undefined, _opts: unknown, cmd: Command) => {
      const out = ctx.output(cmd);
      const entries = await ctx.withCoordinator(cmd, (c) => c.rwlock.list(prefix ?? '', { signal: ctx.signal }));
      out.list(
        entries,
        [{ header: 'RWLOCK' }, { header: 'MODE' }, { header: 'HELD', right: true }, { header: 'TOKENS' }, { header: 'TTL LEFT' }, { header: 'WAITERS', right: true }],
        (l) => [
          l.name,
          l.mode,
          String(l.holders.length),
          l.holders.map((h) => String(h.fencingToken)).join(','),
          l.holders.map((h) => duration(h.remainingMs)).join(','),
          String(l.waiters),
        ],
        noneStarting('read-write locks', prefix),
      );
    });
}
