import type { ClerkConfig } from '../config/index.js';
import type { DocumentStore } from './document-store.js';
import { LocalCache } from './local-cache.js';
import { LocalFolderStore } from './local-folder-store.js';
import { S3DocumentStore } from './s3-document-store.js';

/**
 * The DocumentStore the configuration names: the local folder (the default) or an S3-compatible
 * store (CLERK_STORAGE_URL=s3://bucket/prefix) with a bounded local cache for tools that read files.
 */
export function openDocumentStore(config: ClerkConfig): DocumentStore {
  const { s3, cacheDir, cacheMaxBytes } = config.storage;
  if (!s3) return new LocalFolderStore(config.storageDir);
  return new S3DocumentStore(s3, new LocalCache(cacheDir, cacheMaxBytes));
}
