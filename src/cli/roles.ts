// `coordctl roles <service>`: the etcd role a service needs, from what it uses (least privilege):
// printed as etcdctl commands (role add, role grant-permission, user add, user grant-role), as JSON
// with --json, or created at once with --apply through etcd's Auth API as the admin the global
// --user/--password name (with --prune, what else the role holds is revoked). The grants come from
// src/permissions.ts (docs/PERMISSIONS.md). The service user's password is only ever read from an
// environment variable, and never printed.
import { Option, type Command } from 'commander';
import { clientOf } from '../coordinator.js';
import type { CallOptions, EtcdClient } from '../client/etcd-client.js';
import type { AuthPermission } from '../client/grpc/messages.js';
import { validateElectionName } from '../election/validate.js';
import { CoordinationError, ErrorCode } from '../errors.js';
import { isAlreadyExists, isPermissionDenied } from '../client/errors.js';
import { validatePool } from '../ids/validate.js';
import { checkKey } from '../config/codec.js';
import { resolveLayout } from '../layout.js';
import { validateLockKey } from '../lock/validate.js';
import { DEFAULT_OPTIONS } from '../options.js';
import { grantRange, grantsFor, LEASE_RULES, type Capabilities, type Grant } from '../permissions.js';
import { validName } from '../registry/validation.js';
import { validateSemaphoreName } from '../semaphore/validate.js';
import { validateRwLockName } from '../rwlock/validate.js';
import type { GlobalOptions } from './connection.js';
import { CliError, ExitCode } from './exit-codes.js';
import type { CliContext } from './context.js';

export const DEFAULT_PASSWORD_ENV = 'COORD_SERVICE_PASSWORD';

interface RolesOptions {
  register?: string[] | '*';
  discover?: string[] | '*';
  configRead?: string[] | '*';
  configWrite?: string[] | '*';
  locks?: string[] | '*';
  elections?: string[] | '*';
  observe?: string[] | '*';
  ids?: string[] | '*';
  semaphores?: string[] | '*';
  rwlocks?: string[] | '*';
  role?: string;
  /** The user's name; false with --no-service-user. */
  serviceUser?: string | false;
  passwordEnv: string;
  apply?: boolean;
  prune?: boolean;
}

/** Comma-separated and repeatable; `*` (or the flag without a value) = every name. */
function names(value: string, previous: string[] | '*' | undefined): string[] | '*' {
  const given = value
    .split(',')
    .map((v) => v.trim())
    .filter((v) => v !== '');
  if (previous === '*' || given.includes('*')) return '*';
  return [...(previous ?? []), ...given];
}

const all = (flags: string, description: string): Option => new Option(flags, description).argParser(names).preset('*');

export function registerRolesCommand(program: Command, ctx: CliContext): void {
  program
    .command('roles <service>')
    .description('the etcd role (and user) a service needs, from what it uses: etcdctl commands, --json, or --apply')
    .addOption(new Option('--register <names>', 'services it registers instances of: readwrite <ns>/services/<name>/').argParser(names))
    .addOption(new Option('--discover <names>', "services it discovers, watches or resolves over gRPC ('*': all): read <ns>/services/<name>/").argParser(names))
    .addOption(all('--config-read [keys]', "config keys it reads: get, watch, live (a key ending in '/' is a prefix; '*': all config)"))
    .addOption(all('--config-write [keys]', "config keys it sets, deletes or rolls back: readwrite ('*': all config)"))
    .addOption(all('--locks [names]', "locks it takes: readwrite <ns>/locks/<name>/ and gochat's bare <ns>/locks/<name> ('*': every lock)"))
    .addOption(all('--elections [names]', "elections it campaigns in: readwrite <ns>/elections/<name>/ ('*': every election)"))
    .addOption(all('--observe [names]', "elections it only follows (leader, observe): read ('*': every election)"))
    .addOption(all('--ids [pools]', "instance-ID pools it allocates from: readwrite <ns>/ids/<pool>/ ('*': every pool)"))
    .addOption(all('--semaphores [names]', "semaphores it takes permits of: readwrite <ns>/semaphores/<name>/ ('*': every semaphore)"))
    .addOption(all('--rwlocks [names]', "read-write locks it takes (read or write): readwrite <ns>/rwlocks/<name>/ ('*': every one)"))
    .addOption(new Option('--role <name>', 'role name (default: the service name)'))
    .addOption(new Option('--service-user <name>', 'etcd user to create and grant the role (default: the service name)'))
    .addOption(new Option('--no-service-user', 'the role alone: no user added or granted'))
    .addOption(new Option('--password-env <var>', "environment variable holding the service user's password (never a flag)").default(DEFAULT_PASSWORD_ENV))
    .addOption(new Option('--apply', 'create the role, its permissions and the user now (etcd Auth API), as the admin of --user/--password'))
    .addOption(new Option('--prune', 'with --apply: then revoke every permission of the role that is not in the plan'))
    .addHelpText(
      'after',
      `
Example (the namespace is --namespace / COORD_NAMESPACE; none by default, as for the library):
  coordctl --namespace gochat roles chat --register chat --discover user,push --config-read --locks --elections --ids
Run the printed commands as an etcd admin (ETCDCTL_ENDPOINTS, ETCDCTL_USER set); the user's password
is piped from $${DEFAULT_PASSWORD_ENV} (or --password-env). Which call needs what: docs/PERMISSIONS.md.`,
    )
    .action(async (service: string, opts: RolesOptions, cmd: Command) => {
      // Before anything else: a dry run that looked like it pruned would mislead.
      if (opts.prune && !opts.apply) throw new CliError('--prune only acts with --apply', ExitCode.Usage, 'add --apply to revoke what the role holds beyond the plan, or drop --prune');
      const out = ctx.output(cmd);
      const plan = planRole(service, opts, cmd.optsWithGlobals<GlobalOptions>().namespace);
      let applied: Applied | undefined;
      if (opts.apply) {
        // Checked before connecting: a user cannot be added without its password.
        const password = plan.user === undefined ? undefined : process.env[plan.passwordEnv];
        if (plan.user !== undefined && !password) {
          throw new CliError(`--apply adds user ${plan.user}: set its password in $${plan.passwordEnv}`, ExitCode.Usage, 'or name another variable with --password-env, or pass --no-service-user for the role alone');
        }
        applied = await ctx.withCoordinator(cmd, (c) => applyRole(clientOf(c), plan, password, ctx.signal, opts.prune));
      }
      if (out.json) {
        const { grants, ...rest } = plan;
        out.data({ ...rest, user: plan.user ?? null, permissions: grants.map(grantJson), leaseRules: LEASE_RULES, commands: commands(plan), ...(applied && { applied }) });
        return;
      }
      if (applied) {
        out.line(`role ${plan.role}: ${applied.role}`);
        for (const g of plan.grants) out.line(`  granted ${g.permission.padEnd(9)} ${g.prefix ? 'prefix ' : ''}${g.key}  (${g.for.join(', ')})`);
        if (applied.revoked !== undefined) out.line(`  revoked ${applied.revoked} permission${applied.revoked === 1 ? '' : 's'} not in the plan`);
        if (plan.user) out.line(`user ${plan.user}: ${applied.user === 'exists' ? 'exists (password unchanged)' : 'created'}, granted role ${plan.role}`);
        return;
      }
      out.line(`# role ${plan.role}: what service ${service} needs in namespace ${plan.namespace || '(none)'}, and no more`);
      out.line(`# run as an etcd admin (ETCDCTL_ENDPOINTS and ETCDCTL_USER set)${plan.user ? `; the password of user ${plan.user} comes from $${plan.passwordEnv}` : ''}`);
      // etcd's lease rules (CVE-2026-33413): met by these grants, said so that an admin can tell.
      for (const rule of LEASE_RULES) out.line(`# leases: ${rule}`);
      const lines = commands(plan);
      const width = Math.max(...lines.map((l) => l.length));
      lines.forEach((line, i) => {
        const grant = i > 0 && i <= plan.grants.length ? plan.grants[i - 1] : undefined;
        out.line(grant ? `${line.padEnd(width)}  # ${grant.for.join(', ')}` : line);
      });
    });
}

export interface RolePlan {
  service: string;
  namespace: string;
  role: string;
  /** The user to add and grant the role to; undefined with --no-service-user. */
  user: string | undefined;
  passwordEnv: string;
  grants: Grant[];
}

/** Validates the flags (CliError or VALIDATION_ERROR, exit 1) and works out the grants. */
export function planRole(service: string, opts: RolesOptions, namespace: string | undefined): RolePlan {
  const layout = resolveLayout(namespace ?? DEFAULT_OPTIONS.namespace);
  const role = opts.role ?? service;
  const user = opts.serviceUser === false ? undefined : (opts.serviceUser ?? service);
  for (const [what, name] of [['role', role], ['user', user]] as const) {
    // eslint-disable-next-line no-control-regex
    if (name !== undefined && (name === '' || /[\s\x00-\x1f\x7f]/.test(name))) throw new CliError(`${what} name must be non-empty, without spaces or control characters`, ExitCode.Usage);
  }
  if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(opts.passwordEnv)) throw new CliError(`--password-env must name an environment variable, got '${opts.passwordEnv}'`, ExitCode.Usage);
  const each = (list: string[] | '*' | undefined, check: (name: string) => void): void => {
    if (Array.isArray(list)) for (const name of list) check(name);
  };
  if (opts.register === '*') throw new CliError('--register needs the names of the services it registers, not *', ExitCode.Usage);
  each(opts.register, (n) => validName(n));
  each(opts.discover, (n) => validName(n));
  for (const keys of [opts.configRead, opts.configWrite]) each(keys, (k) => checkKey(k, 'key', k.endsWith('/')));
  each(opts.locks, (n) => validateLockKey(n));
  for (const list of [opts.elections, opts.observe]) each(list, (n) => validateElectionName(n));
  each(opts.ids, (n) => validatePool(n, '--ids'));
  each(opts.semaphores, (n) => validateSemaphoreName(n));
  each(opts.rwlocks, (n) => validateRwLockName(n));
  const capabilities: Capabilities = {
    ...(Array.isArray(opts.register) && { register: opts.register }),
    ...(opts.discover && { discover: opts.discover }),
    ...(opts.configRead && { configRead: opts.configRead }),
    ...(opts.configWrite && { configWrite: opts.configWrite }),
    ...(opts.locks && { locks: opts.locks }),
    ...(opts.elections && { elections: opts.elections }),
    ...(opts.observe && { observe: opts.observe }),
    ...(opts.ids && { ids: opts.ids }),
    ...(opts.semaphores && { semaphores: opts.semaphores }),
    ...(opts.rwlocks && { rwlocks: opts.rwlocks }),
  };
  const grants = grantsFor(layout, capabilities);
  if (grants.length === 0) {
    throw new CliError('nothing to grant', ExitCode.Usage, 'say what the service uses: --register, --discover, --config-read, --config-write, --locks, --elections, --observe, --ids, --semaphores, --rwlocks');
  }
  return { service, namespace: layout.namespace, role, user, passwordEnv: opts.passwordEnv, grants };
}

/** A word for the shell: as it is when safe, else single-quoted. */
function sh(word: string): string {
  return /^[A-Za-z0-9_@%+=:,./-]+$/.test(word) ? word : `'${word.replace(/'/g, `'\\''`)}'`;
}

/** etcdctl (v3 API) commands that make the role, grant its permissions, add the user and grant it the role. */
export function commands(plan: RolePlan): string[] {
  const lines = [`etcdctl role add ${sh(plan.role)}`];
  for (const g of plan.grants) lines.push(`etcdctl role grant-permission ${g.prefix ? '--prefix=true ' : ''}${sh(plan.role)} ${g.permission} ${sh(g.key)}`);
  if (plan.user) {
    // On stdin, not a flag (ps shows flags); etcdctl reads it without a prompt.
    lines.push(`printf '%s\\n' "$${plan.passwordEnv}" | etcdctl user add ${sh(plan.user)} --interactive=false`);
    lines.push(`etcdctl user grant-role ${sh(plan.user)} ${sh(plan.role)}`);
  }
  return lines;
}

function grantJson(g: Grant): { permission: string; key: string; rangeEnd?: string; prefix: boolean; for: string[] } {
  const { range_end } = grantRange(g);
  return { permission: g.permission, key: g.key, ...(range_end && { rangeEnd: range_end.toString() }), prefix: g.prefix, for: g.for };
}

const PERM_TYPE = { read: 'READ', write: 'WRITE', readwrite: 'READWRITE' } as const;

export interface Applied {
  role: 'created' | 'exists';
  grants: number;
  /** With prune: how many permissions the role held beyond the plan, now revoked. */
  revoked?: number;
  user?: 'created' | 'exists';
}

/**
 * Creates what `plan` says through etcd's Auth API (needs the root role): the role (kept if it
 * exists: grants are only added, unless `prune`), each permission, with `prune` the revocation of
 * every other permission the role holds, the user with `password` (kept with its own password if it
 * exists) and its role. Safe to run again.
 */
export async function applyRole(client: EtcdClient, plan: RolePlan, password: string | undefined, signal: AbortSignal, prune = false): Promise<Applied> {
  if (plan.user !== undefined && !password) throw new CliError(`--apply adds user ${plan.user}: its password is missing`, ExitCode.Usage);
  const rpc = client.rpc.auth;
  // Every call as the admin: a denial means the global --user lacks etcd's root role.
  const send = async <T>(what: string, name: string, fn: (o: CallOptions) => Promise<T>): Promise<T> => {
    try {
      return await client.call(what, name, fn, { signal, level: 'debug' });
    } catch (err) {
      if (!isPermissionDenied(err)) throw err;
      throw new CoordinationError(ErrorCode.Auth, `${what} ${name}: permission denied (needs etcd's root role: run --apply as an admin)`, { cause: err });
    }
  };
  const created = (what: string, name: string, add: (o: CallOptions) => Promise<unknown>): Promise<'created' | 'exists'> =>
    send(what, name, add).then(
      () => 'created' as const,
      (err: unknown) => {
        if (isAlreadyExists(err)) return 'exists' as const;
        throw err;
      },
    );
  const role = await created('roles.role-add', plan.role, (o) => rpc.roleAdd({ name: plan.role }, o));
  const grant = (g: Grant): Promise<unknown> =>
    send('roles.grant-permission', `${plan.role} ${g.key}`, (o) => rpc.roleGrantPermission({ name: plan.role, perm: permissionOf(g) }, o));
  for (const g of plan.grants) await grant(g);
  let revoked: number | undefined;
  if (prune) {
    // Read back after granting: what the role holds now, planned grants included.
    const { perm } = await send('roles.role-get', plan.role, (o) => rpc.roleGet({ role: plan.role }, o));
    const revoke = (p: AuthPermission): Promise<unknown> =>
      send('roles.revoke-permission', `${plan.role} ${p.key.toString()}`, (o) =>
        rpc.roleRevokePermission({ role: plan.role, key: p.key, ...(p.range_end?.length && { range_end: p.range_end }) }, o),
      );
    revoked = await revokeBeyond(plan, perm, revoke, grant);
  }
  const applied = { role, grants: plan.grants.length, ...(revoked !== undefined && { revoked }) };
  if (plan.user === undefined) return applied;
  const name = plan.user;
  const user = await created('roles.user-add', name, (o) => rpc.userAdd({ name, password: password! }, o));
  await send('roles.user-grant-role', name, (o) => rpc.userGrantRole({ user: name, role: plan.role }, o));
  return { ...applied, user };
}

/** The etcd permission of a grant: its type and `[key, range_end)`. */
function permissionOf(g: Grant): AuthPermission {
  const { key, range_end } = grantRange(g);
  return { permType: PERM_TYPE[g.permission], key, ...(range_end && { range_end }) };
}

/** Whether two permissions cover the same `[key, range_end)` (RoleGet gives an empty range_end for one key). */
const sameRange = (a: AuthPermission, b: AuthPermission): boolean => a.key.equals(b.key) && (a.range_end ?? EMPTY).equals(b.range_end ?? EMPTY);
const EMPTY = Buffer.alloc(0);

/**
 * Revokes what `held` (the role's permissions, read after granting) has beyond `plan`; returns how
 * many permissions went. etcd revokes by key and range_end, every copy of that range at once. A
 * grant updates the type of a range the role holds, except when another permission shares its key
 * (etcd 3.4 then appends a second copy): a planned range held other than once with its planned type
 * is revoked and granted again.
 */
async function revokeBeyond(plan: RolePlan, held: AuthPermission[], revoke: (p: AuthPermission) => Promise<unknown>, grant: (g: Grant) => Promise<unknown>): Promise<number> {
  let revoked = 0;
  const seen: AuthPermission[] = [];
  for (const p of held) {
    if (seen.some((s) => sameRange(s, p))) continue;
    seen.push(p);
    const copies = held.filter((h) => sameRange(h, p));
    const planned = plan.grants.find((g) => sameRange(permissionOf(g), p));
    const type = planned && PERM_TYPE[planned.permission];
    if (copies.length === 1 && copies[0]!.permType === type) continue;
    await revoke(p);
    if (!planned) {
      revoked += copies.length;
      continue;
    }
    // Granted again at once: the service lacks this range in between.
    await grant(planned);
    revoked += copies.length - (copies.some((c) => c.permType === type) ? 1 : 0);
  }
  return revoked;
}
