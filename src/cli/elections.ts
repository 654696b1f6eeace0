// `coordctl elections …`: the elections under `<namespace>/elections/` — run by our LeaderElection
// or by Go services' concurrency.Election, which share the layout `elections/<name>/<lease ID in hex>`.
import type { Command } from 'commander';
import type { LeaderInfo } from '../election/interface.js';
import { cell, duration } from './output.js';
import type { CliContext } from './program.js';
import { positiveInt } from './connection.js';

export function registerElectionCommands(program: Command, ctx: CliContext): void {
  const elections = program.command('elections').description('leader elections (keys under <namespace>/elections/)');

  elections
    .command('ls [prefix]')
    .description('each election whose name starts with prefix: leader value, key, fencing token, TTL left, candidates')
    .action(async (prefix: string | undefined, _opts: unknown, cmd: Command) => {
      const out = ctx.output(cmd);
      const entries = await ctx.withCoordinator(cmd, (c) => c.election.list(prefix ?? '', { signal: ctx.signal }));
      if (out.json) out.data(entries);
      else
        out.table(
          [
            { header: 'ELECTION' },
            { header: 'LEADER' },
            { header: 'LEADER KEY' },
            { header: 'TOKEN', right: true },
            { header: 'TTL LEFT', right: true },
            { header: 'CANDIDATES', right: true },
          ],
          entries.map((e) => [e.name, cell(e.leader.value), e.leader.key, String(e.leader.revision), duration(e.remainingMs), String(e.candidates)]),
          `(no elections${prefix ? ` starting with '${prefix}'` : ''})`,
        );
    });

  elections
    .command('observe <name>')
    .description('print the leader of <name>, then a line per change (new leader, new value, none), until Ctrl-C')
    .option('--count <n>', 'stop after n lines')
    .action(async (name: string, opts: { count?: string }, cmd: Command) => {
      const out = ctx.output(cmd);
      const count = opts.count === undefined ? Infinity : positiveInt(opts.count, '--count');
      await ctx.withCoordinator(cmd, async (c) => {
        const line = (l: LeaderInfo | undefined): string =>
          l ? `${out.style('green', 'LEADER')} ${cell(l.value)} key=${l.key} rev=${l.revision}` : `${out.style('red', 'NONE  ')} (no leader)`;
        const observation = c.election.observe(name, { signal: ctx.signal });
        const leaders = observation[Symbol.asyncIterator]();
        let seen = 0;
        try {
          await observation.ready;
          out.note(`observing election ${name} (Ctrl-C to stop)`);
          for (let next = await leaders.next(); !next.done; next = await leaders.next()) {
            if (out.json) out.data({ election: name, leader: next.value ?? null }, { compact: true });
            else out.line(line(next.value));
            if (++seen >= count) break;
          }
        } catch (err) {
          if (!ctx.signal.aborted) throw err; // Ctrl-C is how an observation ends
        } finally {
          await leaders.return?.();
        }
      });
    });
}
