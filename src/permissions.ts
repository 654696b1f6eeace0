// Which etcd key permissions each capability needs (least privilege): the grants `coordctl roles`
// prints and applies, worked out from the key layout (layout.ts) and each component's own key
// functions. The table of calls → permissions is docs/PERMISSIONS.md; test/integration/
// least-privilege.test.ts holds a service user with exactly these grants to every call it lists.
// What etcd checks for each kind of request (and what a refused one needed): src/client/key-needs.ts.
import { covers, union, type KeyNeed, type Permission } from './client/key-needs.js';
import { prefixEnd } from './client/prefix-end.js';
import type { Layout } from './layout.js';
import { bareKey, lockPrefix } from './lock/keys.js';
import { poolPrefix } from './ids/keys.js';
import { servicePrefix } from './registry/codec.js';

export type { Permission } from './client/key-needs.js';

/** What a service does, as `coordctl roles` flags say; `'*'` = every name of that component. */
export interface Capabilities {
  /** Services it registers instances of: readwrite `<ns>/services/<name>/`. */
  register?: readonly string[];
  /** Services it discovers, watches or resolves over gRPC: read `<ns>/services/<name>/`. */
  discover?: readonly string[] | '*';
  /** Config keys it reads (get, watch, live, history; a key ending in `/` is a prefix for list/entries/prefix watches). */
  configRead?: readonly string[] | '*';
  /** Config keys it writes (set, delete, rollback, CAS): readwrite. */
  configWrite?: readonly string[] | '*';
  /** Locks it takes: readwrite on each lock's prefix and on gochat's bare TryAcquire key. */
  locks?: readonly string[] | '*';
  /** Elections it campaigns in (campaign, proclaim, resign; leader and observe too): readwrite. */
  elections?: readonly string[] | '*';
  /** Elections it only follows (leader, observe): read. */
  observe?: readonly string[] | '*';
  /** Instance-ID pools it allocates from (allocate, list): readwrite. */
  ids?: readonly string[] | '*';
  /** Semaphores it takes permits of (acquire, tryAcquire, withPermit, list): readwrite `<ns>/semaphores/<name>/`. */
  semaphores?: readonly string[] | '*';
  /** Read-write locks it takes, read or write (and lists): readwrite `<ns>/rwlocks/<name>/`. */
  rwlocks?: readonly string[] | '*';
}

/**
 * What etcd asks of lease calls, beyond a role's key grants (etcd 3.4.42, 3.5.28 and 3.6.9 on: the
 * fixes of CVE-2026-33413; CVE-2023-32082 for time-to-live). The grants above meet them: our leases
 * hold only keys the same capability may write. `coordctl roles` prints them with the grants.
 */
export const LEASE_RULES: readonly string[] = [
  'every lease call (grant, keep-alive, time-to-live, revoke) needs a valid token',
  'keep-alive and revoke need write on every key attached to the lease',
  'time-to-live needs read on every key attached to the lease',
  'none of our calls needs root: no Status, Compact, MemberList, Alarm or LeaseLeases',
];

/** One permission of a role: `key` alone, or every key starting with it (`prefix`). */
export interface Grant {
  permission: Permission;
  key: string;
  prefix: boolean;
  /** The capabilities that need it, e.g. `register chat`, `lock jobs`. */
  for: string[];
}

/**
 * The grants for `capabilities` under `layout` (the namespace and component directories): one
 * per key range, a readwrite replacing a read of the same range, and a range already covered by a
 * wider grant with at least its permission left out.
 */
export function grantsFor(layout: Pick<Layout, 'root' | 'dirs'>, capabilities: Capabilities): Grant[] {
  const { root, dirs } = layout;
  const grants: Grant[] = [];
  const add = (permission: Permission, key: string, prefix: boolean, why: string): void => {
    const same = grants.find((g) => g.key === key && g.prefix === prefix);
    if (same) {
      same.permission = union(same.permission, permission);
      if (!same.for.includes(why)) same.for.push(why);
    } else grants.push({ permission, key, prefix, for: [why] });
  };
  const each = (names: readonly string[] | '*' | undefined, all: (why: string) => void, one: (name: string) => void, label: string): void => {
    if (names === '*') all(`${label} *`);
    else for (const name of names ?? []) one(name);
  };
  const c = capabilities;
  for (const name of c.register ?? []) add('readwrite', root + servicePrefix(dirs.registry, name), true, `register ${name}`);
  each(c.discover, (why) => add('read', root + dirs.registry, true, why), (name) => add('read', root + servicePrefix(dirs.registry, name), true, `discover ${name}`), 'discover');
  const config = (permission: Permission, label: string) => (key: string) => add(permission, root + dirs.config + key, key.endsWith('/'), `${label} ${key}`);
  each(c.configRead, (why) => add('read', root + dirs.config, true, why), config('read', 'config-read'), 'config-read');
  each(c.configWrite, (why) => add('readwrite', root + dirs.config, true, why), config('readwrite', 'config-write'), 'config-write');
  each(
    c.locks,
    (why) => add('readwrite', root + dirs.lock, true, why),
    (name) => {
      const prefix = lockPrefix(root + dirs.lock, name);
      add('readwrite', prefix, true, `lock ${name}`);
      add('readwrite', bareKey(prefix), false, `lock ${name}`);
    },
    'lock',
  );
  each(c.elections, (why) => add('readwrite', root + dirs.election, true, why), (name) => add('readwrite', `${root}${dirs.election}${name}/`, true, `election ${name}`), 'election');
  each(c.observe, (why) => add('read', root + dirs.election, true, why), (name) => add('read', `${root}${dirs.election}${name}/`, true, `observe ${name}`), 'observe');
  each(c.ids, (why) => add('readwrite', root + dirs.ids, true, why), (name) => add('readwrite', root + poolPrefix(dirs.ids, name), true, `ids ${name}`), 'ids');
  each(c.semaphores, (why) => add('readwrite', root + dirs.semaphore, true, why), (name) => add('readwrite', `${root}${dirs.semaphore}${name}/`, true, `semaphore ${name}`), 'semaphore');
  each(c.rwlocks, (why) => add('readwrite', root + dirs.rwlock, true, why), (name) => add('readwrite', `${root}${dirs.rwlock}${name}/`, true, `rwlock ${name}`), 'rwlock');
  // A grant inside a wider one that already allows it adds nothing (covering is transitive, so a
  // grant that is left out always has a kept one around it).
  const need = (g: Grant): KeyNeed => {
    const { key, range_end } = grantRange(g);
    return range_end ? { permission: g.permission, key, rangeEnd: range_end } : { permission: g.permission, key };
  };
  const allows = (outer: Permission, inner: Permission): boolean => outer === 'readwrite' || outer === inner;
  const around = (g: Grant, among: Grant[]): Grant | undefined => among.find((o) => o !== g && covers(need(o), need(g)) && allows(o.permission, g.permission));
  const kept = grants.filter((g) => around(g, grants) === undefined);
  for (const g of grants) {
    if (kept.includes(g)) continue;
    const wider = around(g, kept)!;
    for (const why of g.for) if (!wider.for.includes(why)) wider.for.push(why);
  }
  return kept;
}

/** The `[key, range_end)` etcd stores for a grant (range_end absent for one key). */
export function grantRange(g: Pick<Grant, 'key' | 'prefix'>): { key: Buffer; range_end?: Buffer } {
  const key = Buffer.from(g.key);
  return g.prefix ? { key, range_end: prefixEnd(key) } : { key };
}
