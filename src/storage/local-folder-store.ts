import { randomUUID } from 'node:crypto';
import fs from 'node:fs/promises';
import path from 'node:path';
import { assertSafeKey, type DocumentStore } from './document-store.js';

export class LocalFolderStore implements DocumentStore {
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

  private pathOf(key: string): string {
    assertSafeKey(key);
    return path.join(this.root, ...key.split('/'));
  }
}
