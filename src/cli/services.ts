// `coordctl services …`: what the service registry holds (keys `<namespace>/services/<name>/<id>`,
// gochat's Go layout), listed with each instance's lease TTL, and watched live.
import type { Command } from 'commander';
import type { ServiceInfo } from '../registry/interface.js';
import { countOption } from './connection.js';
import { follow } from './follow.js';
import { ExitCode } from './exit-codes.js';
import { cell, duration } from './output.js';
import type { CliContext } from './context.js';

const metadataText = (m: Record<string, string>): string =>
  Object.keys(m)
    .sort()
    .map((k) => `${k}=${m[k]}`)
    .join(',');

export function registerServiceCommands(program: Command, ctx: CliContext): void {
  const services = program.command('services').description('registered service instances (keys under <namespace>/services/)');

  services
    .command('ls [name]')
    .description('instances of one service (exit 2 if none) or of all services, with lease TTL left')
    .action(async (name: string | undefined, _opts: unknown, cmd: Command) => {
      const out = ctx.output(cmd);
      const instances = await ctx.withCoordinator(cmd, (c) => c.registry.list(name, { signal: ctx.signal }));
      out.list(
        instances,
        [{ header: 'NAME' }, { header: 'ID' }, { header: 'ADDRESS' }, { header: 'TTL LEFT', right: true }, { header: 'METADATA' }],
        (s) => [s.name, s.id, `${s.address}:${s.port}`, duration(s.remainingMs), cell(metadataText(s.metadata))],
        name === undefined ? '(no services registered)' : `(no instances of ${name})`,
      );
      if (name !== undefined && instances.length === 0) ctx.exit(ExitCode.NotFound);
    });

  services
    .command('watch <name>')
    .description('print PUT/DELETE lines as instances of <name> come and go, until Ctrl-C')
    .option('--count <n>', 'stop after n events')
    .action(async (name: string, opts: { count?: string }, cmd: Command) => {
      const out = ctx.output(cmd);
      const count = countOption(opts.count);
      await ctx.withCoordinator(cmd, async (c) => {
        const line = (type: string, s: ServiceInfo, revision: bigint): string =>
          `${out.style(type === 'PUT' ? 'green' : 'red', type.padEnd(6))} ${s.name}/${s.id} ${s.address}:${s.port} rev=${revision} ${cell(metadataText(s.metadata))}`.trimEnd();
        // Subscribe first, then wait for the discovery cache to be listed and watching: from the
        // "watching" line on, every change is printed.
        await follow(ctx, {
          items: c.registry.watch(name, { signal: ctx.signal })[Symbol.asyncIterator](),
          started: async () => {
            const now = await c.registry.discover(name, { signal: ctx.signal });
            out.note(`watching service ${name}: ${now.length} instance${now.length === 1 ? '' : 's'} now (Ctrl-C to stop)`);
          },
          count,
          print: (e) => {
            if (out.json) out.data({ type: e.type, service: e.service, revision: e.revision, timestamp: e.timestamp }, { compact: true });
            else out.line(line(e.type, e.service, e.revision));
          },
        });
      });
    });
}
