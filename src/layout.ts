// Where every component keeps its keys: gochat's Go layout, byte for byte. The Go module builds each
// key with `path.Join(prefix, …)` on an absolute prefix (`/locks`, `/services`, `/config`); we do the
// same, with our namespace joined in front the way `path.Join("/", namespace, prefix)` would.
//
//   lock      <ns>/locks/<key>/<lease hex>   (etcd's concurrency.Mutex; gochat's TryAcquire: <ns>/locks/<key>)
//   registry  <ns>/services/<name>/<id>
//   config    <ns>/config/<key>
//   ids       <ns>/ids/<pool>/<id>           (no Go counterpart; same root convention)
//   election  <ns>/elections/<name>/<lease hex> (etcd's concurrency.Election)
//   semaphore <ns>/semaphores/<name>/<lease hex> (no Go counterpart; the value is the name's permits)
//   rwlock    <ns>/rwlocks/<name>/read/<id>, <ns>/rwlocks/<name>/write/<id> (etcd's recipe.RWMutex on prefix <ns>/rwlocks/<name>)
import { posix } from 'node:path';
import { validationError } from './errors.js';

/** Each component's key prefix under the namespace, like the `prefix` argument of gochat's Go constructors. */
export interface KeyPrefixes {
  /** @default '/locks' */
  lock?: string;
  /** @default '/services' */
  registry?: string;
  /** @default '/config' */
  config?: string;
  /** @default '/ids' */
  ids?: string;
  /** @default '/elections' */
  election?: string;
  /** @default '/semaphores' */
  semaphore?: string;
  /** @default '/rwlocks' */
  rwlock?: string;
}

export type Component = keyof KeyPrefixes;

/** gochat's Go defaults (`NewEtcdDistributedLock(c, "")` → `/locks`, and so on). */
export const DEFAULT_PREFIXES: Readonly<Required<KeyPrefixes>> = Object.freeze({
  lock: '/locks',
  registry: '/services',
  config: '/config',
  ids: '/ids',
  election: '/elections',
  semaphore: '/semaphores',
  rwlock: '/rwlocks',
});

export interface Layout {
  /** `path.Join("/", namespace)` without the trailing slash: '' for none, else e.g. '/gochat'. */
  namespace: string;
  /** What every key of ours starts with: `namespace + '/'`. */
  root: string;
  /** Each component's directory relative to `root`, ending with '/' (e.g. 'locks/'). */
  dirs: Readonly<Record<Component, string>>;
}

/** True when `path.Join` would leave `path` as it is: no empty, '.' or '..' segments. */
export function isCleanPath(path: string): boolean {
  return path.split('/').every((s) => s !== '' && s !== '.' && s !== '..');
}

const MAX_NAME_BYTES = 1024;

/**
 * A name Go joins under a component's root with `path.Join` (a lock key, an election name): a
 * non-empty clean path of at most 1 KiB — only names path.Join leaves as they are meet Go's keys.
 * `what` names it in the error ("lock key"), `example` shows a good one. Bad input: VALIDATION_ERROR.
 */
export function checkPathName(name: unknown, what: string, example: string): asserts name is string {
  if (typeof name !== 'string') throw validationError(`${what} must be a string, got ${typeof name}`);
  if (name.length === 0) throw validationError(`${what} must not be empty`);
  if (name.startsWith('/') || name.endsWith('/')) throw validationError(`${what} must not start or end with "/"`);
  if (name.includes('\0')) throw validationError(`${what} must not contain NUL`);
  if (!isCleanPath(name)) throw validationError(`${what} must be a clean path like "${example}" (no "//", "." or ".." segments)`);
  if (Buffer.byteLength(name) > MAX_NAME_BYTES) throw validationError(`${what} must be at most ${MAX_NAME_BYTES} bytes`);
}

/** Resolves namespace and prefixes as Go's `path.Join` would; VALIDATION_ERROR for a prefix that escapes the namespace. */
export function resolveLayout(namespace: string, prefixes: KeyPrefixes = {}): Layout {
  if (namespace.split('/').some((s) => s === '.' || s === '..')) throw validationError('invalid coordinator option namespace: must not contain "." or ".." segments');
  const ns = posix.join('/', namespace).replace(/\/$/, '');
  const root = `${ns}/`;
  const dirs = {} as Record<Component, string>;
  for (const component of Object.keys(DEFAULT_PREFIXES) as Component[]) {
    const given = prefixes[component] ?? DEFAULT_PREFIXES[component];
    const trimmed = given.replace(/^\/+|\/+$/g, '');
    if (trimmed === '' || !isCleanPath(trimmed)) {
      throw validationError(`invalid coordinator option prefixes.${component}: must be a path like "/locks" (no empty, "." or ".." segments)`);
    }
    dirs[component] = `${trimmed}/`;
  }
  return { namespace: ns, root, dirs: Object.freeze(dirs) };
}
