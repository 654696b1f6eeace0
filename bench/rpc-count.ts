// Counts the etcd requests a coordinator sends — unary calls, and messages written on its streams
// (a keep-alive, a watch create) — by RPC, so a benchmark can say how many round trips one
// operation costs, measured rather than read off the code. Bench-only: it wraps our own channel.
import { clientOf } from '../src/coordinator.js';
import type { Coordinator } from '../src/index.js';

export interface RpcCounter {
  /** Requests counted since the last take(), by RPC name (`Txn`, `LeaseKeepAlive`, …), and resets. */
  take(): Map<string, number>;
}

export function countRpcs(coordinator: Coordinator): RpcCounter {
  const channel = clientOf(coordinator).rpc.channel;
  let counts = new Map<string, number>();
  const count = (path: string): void => {
    const name = path.slice(path.lastIndexOf('/') + 1);
    counts.set(name, (counts.get(name) ?? 0) + 1);
  };
  const unary = channel.unary.bind(channel) as (...args: unknown[]) => Promise<unknown>;
  (channel as { unary: unknown }).unary = (method: { path: string }, ...rest: unknown[]) => {
    count(method.path);
    return unary(method, ...rest);
  };
  const stream = channel.stream.bind(channel);
  channel.stream = (path, ...rest) => {
    const s = stream(path, ...rest);
    const write = s.write.bind(s);
    s.write = (data) => {
      count(path);
      return write(data);
    };
    return s;
  };
  return {
    take() {
      const taken = counts;
      counts = new Map();
      return taken;
    },
  };
}

/** `counts` per operation, e.g. `Txn 2, Range 1` for `ops` operations (fractions to one decimal). */
export function perOperation(counts: Map<string, number>, ops: number): string {
  const total = [...counts.values()].reduce((a, b) => a + b, 0);
  const each = [...counts]
    .sort((a, b) => b[1] - a[1])
    .map(([name, n]) => `${name} ${+(n / ops).toFixed(1)}`)
    .join(', ');
  return `${+(total / ops).toFixed(1)} (${each})`;
}
