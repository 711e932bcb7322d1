import { randomUUID } from 'node:crypto';
import fs from 'node:fs/promises';
import path from 'node:path';
import type { DocumentStore } from '../../src/storage/document-store.js';
import { LocalFolderStore } from '../../src/storage/local-folder-store.js';

/**
 * A test-only stand-in for a shared S3-compatible store: objects in a folder that several "hosts"
 * (RemoteFolderStore instances) share, reporting `remote = true` so the code paths of a real remote
 * store run without MinIO. Like a remote store, localPath() copies the object into this host's own
 * cache folder, so no host reads another's files through it.
 */
export class RemoteFolderStore implements DocumentStore {
  readonly remote = true;
  private readonly objects: LocalFolderStore;

  constructor(
    readonly root: string,
    private readonly cacheDir: string,
  ) {
    this.objects = new LocalFolderStore(root);
  }

  put(key: string, data: Uint8Array | string): Promise<void> {
    return this.objects.put(key, data);
  }

  putFile(key: string, sourcePath: string): Promise<void> {
    return this.objects.putFile(key, sourcePath);
  }

  get(key: string): Promise<Buffer> {
    return this.objects.get(key);
  }

  getText(key: string): Promise<string> {
    return this.objects.getText(key);
  }

  exists(key: string): Promise<boolean> {
    return this.objects.exists(key);
  }

  async localPath(key: string): Promise<string> {
    const cached = path.join(this.cacheDir, ...key.split('/'));
    await fs.mkdir(path.dirname(cached), { recursive: true });
    const temporary = `${cached}.${randomUUID()}.tmp`;
    await fs.copyFile(await this.objects.localPath(key), temporary);
    await fs.rename(temporary, cached);
    return cached;
  }

  describe(key: string): string {
    return `remote-folder://${this.root}/${key}`;
  }

  keysUnder(prefix: string): Promise<string[]> {
    return this.objects.keysUnder(prefix);
  }

  removeUnder(prefix: string): Promise<number> {
    return this.objects.removeUnder(prefix);
  }
}
