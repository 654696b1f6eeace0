// `coordctl locks …`: the locks held under `<namespace>/locks/` — by our DistributedLock or by Go
// services' concurrency.Mutex (`/locks/<name>/<lease ID in hex>`) or gochat's TryAcquire (`/locks/<name>`).
import type { Command } from 'commander';
import { duration, noneStarting } from './output.js';
import type { CliContext } from './context.js';

export function registerLockCommands(program: Command, ctx: CliContext): void {
  const locks = program.command('locks').description('distributed locks (keys under <namespace>/locks/)');

  locks
    .command('ls [prefix]')
    .description('each lock whose name starts with prefix: holder key, fencing token, TTL left, waiters')
    .action(async (prefix: string | undefined, _opts: unknown, cmd: Command) => {
      const out = ctx.output(cmd);
      const entries = await ctx.withCoordinator(cmd, (c) => c.lock.list(prefix ?? '', { signal: ctx.signal }));
      out.list(
        entries,
        [{ header: 'LOCK' }, { header: 'HOLDER KEY' }, { header: 'TOKEN', right: true }, { header: 'TTL LEFT', right: true }, { header: 'WAITERS', right: true }],
        (l) => [l.name, l.holderKey, String(l.fencingToken), duration(l.remainingMs), String(l.waiters)],
        noneStarting('locks', prefix),
      );
    });
}
