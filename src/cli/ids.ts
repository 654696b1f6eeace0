// `coordctl ids …`: the instance IDs taken in a pool (coordinator.ids.list), with holder and TTL left.
import type { Command } from 'commander';
import { duration } from './output.js';
import type { CliContext } from './context.js';

export function registerIdCommands(program: Command, ctx: CliContext): void {
  const ids = program.command('ids').description('instance IDs taken per pool (coordinator.ids)');

  ids
    .command('ls <pool>')
    .description('taken IDs of <pool>, ascending: holder (host:pid) and lease TTL left')
    .action(async (pool: string, _opts: unknown, cmd: Command) => {
      const out = ctx.output(cmd);
      const entries = await ctx.withCoordinator(cmd, (c) => c.ids.list(pool, { signal: ctx.signal }));
      // A key without lease shows remainingMs null (JSON drops undefined).
      if (out.json) out.data(entries.map((e) => ({ ...e, remainingMs: e.remainingMs ?? null })));
      else
        out.table(
          [{ header: 'ID', right: true }, { header: 'OWNER' }, { header: 'TTL LEFT', right: true }],
          entries.map((e) => [String(e.id), e.owner || '-', duration(e.remainingMs)]),
          `(no IDs taken in pool ${pool})`,
        );
    });
}
