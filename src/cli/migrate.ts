// `coordctl migrate-layout`: moves config written by @gochat/coordination ≤ 0.1 (keys without the
// leading slash) to gochat's Go layout. Dry run unless --yes; never overwrites a key that differs.
import type { Command } from 'commander';
import { clientOf } from '../coordinator.js';
import { applyMigration, planMigration } from '../config/legacy-layout.js';
import { ExitCode } from './exit-codes.js';
import type { CliContext } from './context.js';

export function registerMigrateCommand(program: Command, ctx: CliContext): void {
  program
    .command('migrate-layout')
    .description('copy config from the ≤ 0.1 layout (<namespace>/config/…, no leading "/") to gochat\'s (/<namespace>/config/…)')
    .option('--yes', 'write (without it: only show what would move)')
    .option('--delete-old', 'with --yes: delete each old key once the new one holds the same value')
    .action(async (opts: { yes?: boolean; deleteOld?: boolean }, cmd: Command) => {
      const out = ctx.output(cmd);
      await ctx.withCoordinator(cmd, async (c) => {
        const client = clientOf(c);
        const plan = await planMigration(client, ctx.signal);
        const result = opts.yes ? await applyMigration(client, plan, { deleteOld: opts.deleteOld === true, signal: ctx.signal }) : undefined;
        const conflicts = plan.moves.filter((m) => m.action === 'conflict').length;
        if (out.json) out.data({ ...plan, ...(result && { result }) });
        else {
          out.table(
            [{ header: 'KEY' }, { header: 'FROM' }, { header: 'TO' }, { header: 'ACTION' }],
            plan.moves.map((m) => [m.key, m.from, m.to, m.action]),
            `(no config under '${plan.legacyRoot}config/')`,
          );
          if (plan.leased > 0) out.line(`${plan.leased} leased keys (locks, services, ids) remain under '${plan.legacyRoot}': they go away when the processes of the old version stop`);
          if (result) out.line(`copied ${result.copied}, deleted ${result.deleted}`);
          else if (plan.moves.length > 0) out.line('dry run: add --yes to copy (and --delete-old to remove the old keys)');
        }
        // A key that holds other bytes in both layouts needs a person: exit 3 (CONFLICT).
        if (conflicts > 0) ctx.exit(ExitCode.Conflict);
      });
    });
}
