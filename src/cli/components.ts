// The components coordctl drives, taken from a Coordinator. Until every component has its field on
// the Coordinator interface (src/coordinator.ts), this reads them by name and fails clearly.
import type { Coordinator } from '../coordinator.js';
import type { ConfigCenter } from '../config/interface.js';
import type { ServiceRegistry } from '../registry/interface.js';
import type { DistributedLock } from '../lock/interface.js';
import { CoordinationError, ErrorCode } from '../errors.js';

interface Components {
  config: ConfigCenter;
  registry: ServiceRegistry;
  lock: DistributedLock;
}

function component<K extends keyof Components>(coordinator: Coordinator, name: K): Components[K] {
  const value = (coordinator as Coordinator & Partial<Components>)[name];
  if (value === undefined) throw new CoordinationError(ErrorCode.Unavailable, `this build has no coordinator.${name} yet`);
  return value as Components[K];
}

export const configOf = (c: Coordinator): ConfigCenter => component(c, 'config');
export const registryOf = (c: Coordinator): ServiceRegistry => component(c, 'registry');
export const lockOf = (c: Coordinator): DistributedLock => component(c, 'lock');
