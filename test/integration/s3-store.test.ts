import { createHash, randomBytes } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { HeadObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig, type S3StorageConfig } from '../../src/config/index.js';
import { LocalCache } from '../../src/storage/local-cache.js';
import { openDocumentStore } from '../../src/storage/open.js';
import { ObjectNotFoundError, S3DocumentStore } from '../../src/storage/s3-document-store.js';
import { s3StorageEnv, startTestMinio, type RunningMinio } from '../support/minio.js';

/** Runs `task` over `items`, `limit` at a time. */
async function eachLimited<T>(items: readonly T[], limit: number, task: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  await Promise.all(
    Array.from({ length: limit }, async () => {
      while (next < items.length) await task(items[next++]!);
    }),
  );
}

function sha256(data: Buffer): string {
  return createHash('sha256').update(data).digest('hex');
}

describe('S3DocumentStore against a real MinIO server', () => {
  let minio: RunningMinio;
  let work: string;
  let settings: S3StorageConfig;
  let store: S3DocumentStore;
  let raw: S3Client;

  beforeAll(async () => {
    minio = await startTestMinio();
    work = fs.mkdtempSync(path.join(os.tmpdir(), 'clerk-s3-store-'));
    const config = loadConfig({ CLERK_DATA_DIR: work, ...s3StorageEnv(minio, 'store-test') }, work);
    settings = config.storage.s3!;
    const opened = openDocumentStore(config);
    expect(opened).toBeInstanceOf(S3DocumentStore);
    store = opened as S3DocumentStore;
    raw = new S3Client({
      endpoint: minio.endpoint,
      region: 'us-east-1',
      forcePathStyle: true,
      credentials: { accessKeyId: minio.accessKeyId, secretAccessKey: minio.secretAccessKey },
    });
  });

  afterAll(async () => {
    store?.close();
    raw?.destroy();
    await minio?.stop();
    if (work) fs.rmSync(work, { recursive: true, force: true });
  });

  const head = (key: string) => raw.send(new HeadObjectCommand({ Bucket: minio.bucket, Key: `store-test/${key}` }));

  it('is remote, and puts, gets and tells missing objects apart under its prefix', async () => {
    expect(store.remote).toBe(true);
    await store.put('a.ca/texts/doc/1.txt', 'page one ✓');
    await store.put('a.ca/bytes.bin', new Uint8Array([1, 2, 3]));
    expect(await store.getText('a.ca/texts/doc/1.txt')).toBe('page one ✓');
    expect([...(await store.get('a.ca/bytes.bin'))]).toEqual([1, 2, 3]);
    expect(await store.exists('a.ca/texts/doc/1.txt')).toBe(true);
    expect(await store.exists('a.ca/texts/doc/2.txt')).toBe(false);
    await expect(store.get('a.ca/texts/doc/2.txt')).rejects.toBeInstanceOf(ObjectNotFoundError);
    await expect(store.localPath('a.ca/texts/doc/2.txt')).rejects.toMatchObject({ code: 'ENOENT' });
    expect(store.describe('a.ca/bytes.bin')).toBe(`s3://${minio.bucket}/store-test/a.ca/bytes.bin`);
    expect((await head('a.ca/texts/doc/1.txt')).ContentType).toBe('text/plain; charset=utf-8');
    expect(() => store.describe('../escape')).toThrow(/unsafe storage key/);
  });

  it('streams a large file up in parts, keeps it in the cache, and skips re-uploading the same bytes', async () => {
    const bytes = randomBytes(19 * 1024 * 1024);
    const source = path.join(work, 'big.pdf');
    fs.writeFileSync(source, bytes);
    await store.putFile('a.ca/pdfs/big.pdf', source);
    expect(fs.existsSync(source)).toBe(false);

    const first = await head('a.ca/pdfs/big.pdf');
    // A multipart upload's ETag ends in -<parts>: 19 MiB in 8 MiB parts is three.
    expect(first.ETag).toMatch(/-3"$/);
    expect(first.ContentLength).toBe(bytes.length);
    expect(first.ContentType).toBe('application/pdf');

    // The uploader's copy went into the cache: handed out without a download, byte for byte.
    const cached = await store.localPath('a.ca/pdfs/big.pdf');
    expect(cached.startsWith(path.join(work, 'cache'))).toBe(true);
    expect(sha256(fs.readFileSync(cached))).toBe(sha256(bytes));

    // A retry elsewhere writes the same bytes again: nothing is uploaded, nothing changes.
    await new Promise((resolve) => setTimeout(resolve, 1_100));
    fs.writeFileSync(source, bytes);
    await store.putFile('a.ca/pdfs/big.pdf', source);
    const second = await head('a.ca/pdfs/big.pdf');
    expect(second.ETag).toBe(first.ETag);
    expect(second.LastModified).toEqual(first.LastModified);
    expect(sha256(await store.get('a.ca/pdfs/big.pdf'))).toBe(sha256(bytes));
  });

  it('downloads to the cache for tools that read files, and never serves an overwritten object stale', async () => {
    await store.put('b.ca/pdfs/doc.pdf', 'version one');
    const first = await store.localPath('b.ca/pdfs/doc.pdf');
    expect(path.basename(first)).toBe('doc.pdf');
    expect(fs.readFileSync(first, 'utf8')).toBe('version one');
    expect(await store.localPath('b.ca/pdfs/doc.pdf')).toBe(first);

    await store.put('b.ca/pdfs/doc.pdf', 'version two');
    const second = await store.localPath('b.ca/pdfs/doc.pdf');
    expect(fs.readFileSync(second, 'utf8')).toBe('version two');

    // Concurrent callers share one download.
    await store.put('b.ca/pdfs/shared.pdf', randomBytes(256 * 1024));
    const paths = await Promise.all([1, 2, 3, 4, 5].map(() => store.localPath('b.ca/pdfs/shared.pdf')));
    expect(new Set(paths).size).toBe(1);
  });

  it('lists more than 1000 keys across pages and removes them in batches', async () => {
    const keys = Array.from({ length: 1_005 }, (_, i) => `many.ca/texts/${String(i).padStart(4, '0')}.txt`);
    await eachLimited(keys, 32, (key) => store.put(key, key));
    await store.put('many.ca2/other.txt', 'a neighbour with a longer name');

    expect(await store.keysUnder('many.ca')).toEqual([...keys].sort());
    expect(await store.keysUnder('nothing.ca')).toEqual([]);
    expect(await store.removeUnder('many.ca')).toBe(1_005);
    expect(await store.keysUnder('many.ca')).toEqual([]);
    expect(await store.keysUnder('many.ca2')).toEqual(['many.ca2/other.txt']);
  });

  it('keeps its cache within budget, least recently used out first', async () => {
    const cacheDir = path.join(work, 'tiny-cache');
    // Nothing counts as in use, so the budget is exact; 2.5 objects' worth.
    const small = new S3DocumentStore(settings, new LocalCache(cacheDir, 2.5 * 1024 * 1024, { inUseMs: 0 }));
    const keys = ['c.ca/pdfs/1.pdf', 'c.ca/pdfs/2.pdf', 'c.ca/pdfs/3.pdf', 'c.ca/pdfs/4.pdf'];
    for (const key of keys) await store.put(key, randomBytes(1024 * 1024));
    const paths: string[] = [];
    for (const key of keys) {
      paths.push(await small.localPath(key));
      // Distinct last-use times, coarser than any file system's timestamps.
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
    expect(paths.map((p) => fs.existsSync(p))).toEqual([false, false, true, true]);
    const cache = new LocalCache(cacheDir, 0);
    expect(await cache.size()).toBe(2 * 1024 * 1024);
    small.close();
  });

  it('passes the health probe, and fails it for a bucket that does not exist', async () => {
    await store.probe();
    const missing = new S3DocumentStore({ ...settings, bucket: 'no-such-bucket' }, new LocalCache(path.join(work, 'unused'), 1));
    await expect(missing.probe()).rejects.toThrow(/bucket does not exist/i);
    await expect(missing.get('a.ca/x')).rejects.toMatchObject({ name: 'NoSuchBucket' });
    missing.close();
  });
});
