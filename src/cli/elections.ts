// `coordctl elections …`: the elections under `<namespace>/elections/` — run by our LeaderElection
// or by Go services' concurrency.Election, which share the layout `elections/<name>/<lease ID in hex>`.
import type { Command } from 'commander';
import type { LeaderInfo } from '../election/interface.js';
import { follow } from './follow.js';
import { cell, duration, noneStarting } from './output.js';
import type { CliContext } from './context.js';
import { countOption } from './connection.js';

export function registerElectionCommands(program: Command, ctx: CliContext): void {
  const elections = program.command('elections').description('leader elections (keys under <namespace>/elections/)');

  elections
    .command('ls [prefix]')
    .description('each election whose name starts with prefix: leader value, key, fencing token, TTL left, candidates')
    .action(async (prefix: string | undefined, _opts: unknown, cmd: Command) => {
      const out = ctx.output(cmd);
      const entries = await ctx.withCoordinator(cmd, (c) => c.election.list(prefix ?? '', { signal: ctx.signal }));
      out.list(
        entries,
        [
          { header: 'ELECTION' },
          { header: 'LEADER' },
          { header: 'LEADER KEY' },
          { header: 'TOKEN', right: true },
          { header: 'TTL LEFT', right: true },
          { header: 'CANDIDATES', right: true },
        ],
        (e) => [e.name, cell(e.leader.value), e.leader.key, String(e.leader.fencingToken), duration(e.remainingMs), String(e.candidates)],
        noneStarting('elections', prefix),
      );
    });

  elections
    .command('observe <name>')
    .description('print the leader of <name>, then a line per change (new leader, new value, none), until Ctrl-C')
    .option('--count <n>', 'stop after n lines')
    .action(async (name: string, opts: { count?: string }, cmd: Command) => {
      const out = ctx.output(cmd);
      const count = countOption(opts.count);
      await ctx.withCoordinator(cmd, async (c) => {
        const line = (l: LeaderInfo | undefined): string =>
          l ? `${out.style('green', 'LEADER')} ${cell(l.value)} key=${l.key} token=${l.fencingToken}` : `${out.style('red', 'NONE  ')} (no leader)`;
        const observation = c.election.observe(name, { signal: ctx.signal });
        await follow(ctx, {
          items: observation[Symbol.asyncIterator](),
          started: async () => {
            await observation.ready;
            out.note(`observing election ${name} (Ctrl-C to stop)`);
          },
          count,
          print: (ev) => {
            if (out.json) out.data({ election: name, type: ev.type, leader: ev.leader ?? null, revision: ev.revision }, { compact: true });
            else out.line(line(ev.leader));
          },
        });
      });
    });
}
