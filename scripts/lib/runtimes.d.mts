// Types of runtimes.mjs for the TypeScript tests that run a fixture on another runtime.
export interface Runtime {
  name: string;
  kind: 'node' | 'bun' | 'deno';
  version: string;
  bin: string;
}
export const RUNTIMES_DIR: string;
export const RUNTIMES: Readonly<Record<string, { kind: 'node' | 'bun' | 'deno'; version?: string; major?: number; pkg?: string; path?: string }>>;
export function ensureRuntime(name: string, options?: { quiet?: boolean }): Runtime;
