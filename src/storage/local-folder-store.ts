import { randomUUID } from 'node:crypto';
import fs from 'node:fs/promises';
import path from 'node:path';
import { assertSafeKey, type DocumentStore } from './document-store.js';

export class LocalFolderStore implements DocumentStore {
  readonly remote = false;

  constructor(private readonly root: string) {}

  async put(key: string, data: Uint8Array | string): Promise<void> {
    const target = this.pathOf(key);
    await fs.mkdir(path.dirname(target), { recursive: true });
    const temporary = `${target}.${randomUUID()}.tmp`;
    await fs.writeFile(temporary, data);
    await fs.rename(temporary, target);
  }

  async putFile(key: string, sourcePath: string): Promise<void> {
    const target = this.pathOf(key);
    await fs.mkdir(path.dirname(target), { recursive: true });
    const temporary = `${target}.${randomUUID()}.tmp`;
    try {
      await fs.rename(sourcePath, temporary);
    } catch (error) {
      // Another file system: copy, then drop the source.
      if ((error as NodeJS.ErrnoException).code !== 'EXDEV') throw error;
      await fs.copyFile(sourcePath, temporary);
      await fs.rm(sourcePath, { force: true });
    }
    await fs.rename(temporary, target);
  }

  async get(key: string): Promise<Buffer> {
    return fs.readFile(this.pathOf(key));
  }

  async getText(key: string): Promise<string> {
    return fs.readFile(this.pathOf(key), 'utf8');
  }

  async exists(key: string): Promise<boolean> {
    return fs.access(this.pathOf(key)).then(
      () => true,
      () => false,
    );
  }

  async localPath(key: string): Promise<string> {
    return this.pathOf(key);
  }

  describe(key: string): string {
    return this.pathOf(key);
  }

  async keysUnder(prefix: string): Promise<string[]> {
    const folder = this.pathOf(prefix);
    const entries = await fs.readdir(folder, { recursive: true, withFileTypes: true }).catch((error: NodeJS.ErrnoException) => {
      if (error.code === 'ENOENT') return [];
      throw error;
    });
    return entries
      .filter((entry) => !entry.isDirectory())
      .map((entry) => [prefix, ...path.relative(folder, path.join(entry.parentPath, entry.name)).split(path.sep)].join('/'))
      .sort();
  }

  async removeUnder(prefix: string): Promise<number> {
    const count = (await this.keysUnder(prefix)).length;
    // Renamed away first, so no reader finds half of the folder under its own name.
    const folder = this.pathOf(prefix);
    const doomed = path.join(this.root, `.removing-${randomUUID()}`);
    try {
      await fs.rename(folder, doomed);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return 0;
      throw error;
    }
    await fs.rm(doomed, { recursive: true, force: true });
    return count;
  }

  private pathOf(key: string): string {
    assertSafeKey(key);
    return path.join(this.root, ...key.split('/'));
  }
}
