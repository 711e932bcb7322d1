/**
 * Where documents and page texts live. Keys are relative POSIX paths such as
 * `alameda.ca/pdfs/CityCouncil/2026-01-05.pdf`. Today a local folder; an S3-compatible store
 * later, so workers on several machines share documents.
 */
export interface DocumentStore {
  /**
   * True when the objects live off this machine (S3-compatible): workers on several hosts share
   * them, and deployed archives are mirrored into the store (`deploy/...`) for `clerk serve` and
   * `clerk search` on other hosts. False for the local folder.
   */
  readonly remote: boolean;
  /** Writes atomically: readers see the old object or the new one, never half of it. */
  put(key: string, data: Uint8Array | string): Promise<void>;
  /** Moves a finished local file (a download) into the store, atomically, without reading it into memory. */
  putFile(key: string, sourcePath: string): Promise<void>;
  get(key: string): Promise<Buffer>;
  getText(key: string): Promise<string>;
  exists(key: string): Promise<boolean>;
  /**
   * A path on this machine holding the object, for tools that read files (pdftoppm, tesseract).
   * A remote store downloads to a cache first.
   */
  localPath(key: string): Promise<string>;
  /** Human-readable location for logs and CLI output. */
  describe(key: string): string;
  /** Every key under a folder-like prefix (`alameda.ca` holds `alameda.ca/...`), sorted. */
  keysUnder(prefix: string): Promise<string[]>;
  /** Deletes every object under the prefix (`clerk purge --files`); returns how many were deleted. */
  removeUnder(prefix: string): Promise<number>;
}

export class InvalidStorageKeyError extends Error {
  override name = 'InvalidStorageKeyError';
}

/** Keys come from validated parts, but a traversal here would write outside the store: check anyway. */
export function assertSafeKey(key: string): void {
  const parts = key.split('/');
  if (key.length === 0 || key.startsWith('/') || parts.some((p) => p === '' || p === '.' || p === '..') || key.includes('\0')) {
    throw new InvalidStorageKeyError(`unsafe storage key "${key}"`);
  }
}
