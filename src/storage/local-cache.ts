import { createHash, randomUUID } from 'node:crypto';
import fs from 'node:fs/promises';
import path from 'node:path';

export interface LocalCacheOptions {
  /**
   * A file handed out (or filled) this recently is in use by a tool that may not have opened it yet,
   * so eviction leaves it alone. Every hand-out touches the file's mtime, which is how other processes
   * sharing the folder see it too.
   */
  inUseMs?: number;
}

/**
 * A bounded folder of local copies of remote objects, for tools that read files (pdftoppm,
 * tesseract, SQLite). Least recently used files go first once the folder holds more than its budget;
 * files in use are never evicted, so the folder may run over its budget while they are.
 *
 * Entries are named by a caller-chosen identity (a key plus the object's version), so a changed
 * object is a new entry and an old copy is never mistaken for it. Several workers on one host may
 * share the folder: files appear by atomic rename, and a concurrent eviction at worst costs a download.
 */
export class LocalCache {
  private readonly inUseMs: number;
  /** One download per entry at a time within this process. */
  private readonly filling = new Map<string, Promise<string>>();
  /** Evictions run one at a time; a request while one runs asks for one more pass afterwards. */
  private eviction: Promise<void> | undefined;
  private evictAgain = false;

  constructor(
    readonly dir: string,
    readonly maxBytes: number,
    options: LocalCacheOptions = {},
  ) {
    this.inUseMs = options.inUseMs ?? 15 * 60_000;
  }

  /**
   * The local path of the entry, filled by `fill(temporaryPath)` when it is not cached. `fileName`
   * keeps the original name (and extension) for tools that look at it.
   */
  async path(identity: string, fileName: string, fill: (temporaryPath: string) => Promise<void>): Promise<string> {
    const target = this.entryPath(identity, fileName);
    if (await touch(target)) return target;
    const pending = this.filling.get(target);
    if (pending) return pending;
    const filled = this.fill(target, fill).finally(() => this.filling.delete(target));
    this.filling.set(target, filled);
    return filled;
  }

  /** Moves a finished local file into the cache (after an upload of it), instead of downloading it again later. */
  async adopt(identity: string, fileName: string, sourcePath: string): Promise<string> {
    const target = this.entryPath(identity, fileName);
    await fs.mkdir(path.dirname(target), { recursive: true });
    try {
      await fs.rename(sourcePath, target);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EXDEV') throw error;
      // Another file system: copy under a temporary name, then rename, so readers never see half of it.
      const temporary = await this.temporaryPath();
      await fs.copyFile(sourcePath, temporary);
      await fs.rename(temporary, target);
      await fs.rm(sourcePath, { force: true });
    }
    await touch(target);
    await this.evict();
    return target;
  }

  /** Total bytes of the cached entries (not counting downloads in progress). */
  async size(): Promise<number> {
    return (await this.entries()).reduce((sum, entry) => sum + entry.size, 0);
  }

  /** Removes least recently used entries, not in use, until the cache fits its budget. */
  async evict(): Promise<void> {
    if (this.eviction) {
      this.evictAgain = true;
      return this.eviction;
    }
    this.eviction = (async () => {
      do {
        this.evictAgain = false;
        await this.evictOnce();
      } while (this.evictAgain);
    })().finally(() => {
      this.eviction = undefined;
    });
    return this.eviction;
  }

  private async fill(target: string, fill: (temporaryPath: string) => Promise<void>): Promise<string> {
    const temporary = await this.temporaryPath();
    try {
      await fill(temporary);
      await fs.mkdir(path.dirname(target), { recursive: true });
      await fs.rename(temporary, target);
    } catch (error) {
      await fs.rm(temporary, { force: true });
      throw error;
    }
    await touch(target);
    await this.evict();
    return target;
  }

  private async evictOnce(): Promise<void> {
    await this.removeAbandonedDownloads();
    const entries = await this.entries();
    let total = entries.reduce((sum, entry) => sum + entry.size, 0);
    if (total <= this.maxBytes) return;
    const inUseSince = Date.now() - this.inUseMs;
    const candidates = entries.filter((entry) => entry.lastUsed < inUseSince).sort((a, b) => a.lastUsed - b.lastUsed);
    for (const entry of candidates) {
      if (total <= this.maxBytes) break;
      // Removing the entry's folder, not only the file; a reader that already opened it keeps reading.
      await fs.rm(path.dirname(entry.path), { recursive: true, force: true });
      total -= entry.size;
    }
  }

  /** Partial downloads of processes that died mid-download would otherwise fill the disk unseen. */
  private async removeAbandonedDownloads(): Promise<void> {
    const folder = path.join(this.dir, TEMPORARY_FOLDER);
    const abandonedBefore = Date.now() - ABANDONED_DOWNLOAD_MS;
    for (const name of await fs.readdir(folder).catch(() => [])) {
      const stat = await fs.stat(path.join(folder, name)).catch(() => undefined);
      if (stat && stat.mtimeMs < abandonedBefore) await fs.rm(path.join(folder, name), { force: true });
    }
  }

  private async entries(): Promise<Array<{ path: string; size: number; lastUsed: number }>> {
    const folders = await fs.readdir(this.dir, { withFileTypes: true }).catch((error: NodeJS.ErrnoException) => {
      if (error.code === 'ENOENT') return [];
      throw error;
    });
    const entries: Array<{ path: string; size: number; lastUsed: number }> = [];
    for (const folder of folders) {
      if (!folder.isDirectory() || folder.name === TEMPORARY_FOLDER) continue;
      const folderPath = path.join(this.dir, folder.name);
      for (const name of await fs.readdir(folderPath).catch(() => [])) {
        const filePath = path.join(folderPath, name);
        // Another process may evict it between the listing and the stat.
        const stat = await fs.stat(filePath).catch(() => undefined);
        if (stat?.isFile()) entries.push({ path: filePath, size: stat.size, lastUsed: stat.mtimeMs });
      }
    }
    return entries;
  }

  private entryPath(identity: string, fileName: string): string {
    const digest = createHash('sha256').update(identity).digest('hex').slice(0, 32);
    const safeName = fileName.replace(/[^A-Za-z0-9._-]/g, '_').replace(/^\.+/, '_') || 'object';
    return path.join(this.dir, digest, safeName);
  }

  private async temporaryPath(): Promise<string> {
    const folder = path.join(this.dir, TEMPORARY_FOLDER);
    await fs.mkdir(folder, { recursive: true });
    return path.join(folder, randomUUID());
  }
}

/** Downloads in progress live here, outside the entries that eviction counts. */
const TEMPORARY_FOLDER = '.incoming';
/** A download untouched this long belongs to a process that died (a live download writes continuously). */
const ABANDONED_DOWNLOAD_MS = 60 * 60_000;

/** Marks the file as just used (the LRU clock); false when it is not there. */
async function touch(filePath: string): Promise<boolean> {
  const now = new Date();
  return fs.utimes(filePath, now, now).then(
    () => true,
    () => false,
  );
}
