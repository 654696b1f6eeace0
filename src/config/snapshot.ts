// The snapshot file behind "start when etcd is down": live views record their last good values
// here; a live() that cannot reach etcd serves them (stale) until etcd answers again.
// Written atomically (temp file with mode 0600, fsync, rename), merged with what other
// coordinators of this process wrote, one write at a time per path, bursts coalesced.
import { open, readFile, rename, unlink } from 'node:fs/promises';
import { errorText, type Logger } from '../logger.js';

interface Entry {
  /** Stored bytes, base64 (values need not be UTF-8). */
  value: string;
  revision: string;
}
interface FileShape {
  version: 1;
  entries: Record<string, Entry>;
}

// One write chain per path in this process, so coordinators sharing a file don't interleave.
const chains = new Map<string, Promise<void>>();

export class SnapshotFile {
  private loaded: Promise<Record<string, Entry>> | undefined;
  private readonly dirty = new Map<string, Entry>();
  private writing: Promise<void> | undefined;

  constructor(
    readonly path: string,
    private readonly logger: Logger,
  ) {}

  /** The stored bytes and revision of a full etcd key, if the file has them. */
  async get(fullKey: string): Promise<{ raw: Buffer; revision: bigint } | undefined> {
    const entry = (await this.read())[fullKey];
    return entry ? { raw: Buffer.from(entry.value, 'base64'), revision: BigInt(entry.revision) } : undefined;
  }

  /** Records a last good value; the file is rewritten soon after (coalescing bursts). */
  put(fullKey: string, raw: Buffer, revision: bigint): void {
    this.dirty.set(fullKey, { value: raw.toString('base64'), revision: String(revision) });
    this.kick();
  }

  private kick(): void {
    this.writing ??= this.drain().finally(() => {
      this.writing = undefined;
      if (this.dirty.size > 0) this.kick(); // put() landed after the last batch was taken
    });
  }

  /** Resolves when everything recorded so far is on disk. */
  async flush(): Promise<void> {
    while (this.writing) await this.writing;
  }

  private read(): Promise<Record<string, Entry>> {
    this.loaded ??= readEntries(this.path, this.logger);
    return this.loaded;
  }

  private async drain(): Promise<void> {
    await Promise.resolve(); // let a burst of put()s land first
    while (this.dirty.size > 0) {
      const batch = new Map(this.dirty);
      this.dirty.clear();
      const previous = chains.get(this.path) ?? Promise.resolve();
      const mine = previous.then(() => this.write(batch));
      chains.set(this.path, mine);
      await mine;
      if (chains.get(this.path) === mine) chains.delete(this.path);
    }
  }

  private async write(batch: Map<string, Entry>): Promise<void> {
    const started = performance.now();
    const entries = { ...(await readEntries(this.path, this.logger)), ...Object.fromEntries(batch) };
    const data: FileShape = { version: 1, entries };
    const tmp = `${this.path}.${process.pid}.${Math.random().toString(36).slice(2)}.tmp`;
    try {
      const file = await open(tmp, 'wx', 0o600);
      try {
        await file.writeFile(JSON.stringify(data));
        await file.sync();
      } finally {
        await file.close();
      }
      await rename(tmp, this.path);
      this.loaded = Promise.resolve(entries);
      this.logger.debug(
        { operation: 'config.snapshot', key: this.path, durationMs: Math.round(performance.now() - started), entries: batch.size },
        'snapshot written',
      );
    } catch (err) {
      await unlink(tmp).catch(() => undefined);
      this.logger.warn({ operation: 'config.snapshot', key: this.path, error: errorText(err) }, 'snapshot write failed');
    }
  }
}

async function readEntries(path: string, logger: Logger): Promise<Record<string, Entry>> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') {
      logger.warn({ operation: 'config.snapshot', key: path, error: errorText(err) }, 'snapshot unreadable; ignored');
    }
    return {};
  }
  try {
    const data = JSON.parse(text) as Partial<FileShape>;
    if (data.version === 1 && data.entries && typeof data.entries === 'object') return data.entries;
  } catch {
    /* fall through */
  }
  logger.warn({ operation: 'config.snapshot', key: path }, 'snapshot is not a snapshot file; ignored');
  return {};
}
