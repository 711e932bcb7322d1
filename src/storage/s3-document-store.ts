import { createHash, randomBytes } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { S3Client } from '@aws-sdk/client-s3';
import type { S3StorageConfig } from '../config/index.js';
import { assertSafeKey, type DocumentStore } from './document-store.js';
import type { LocalCache } from './local-cache.js';

/** Like the local folder's ENOENT, so callers can tell a missing object from a failing store. */
export class ObjectNotFoundError extends Error {
  override name = 'ObjectNotFoundError';
  readonly code = 'ENOENT';
}

/** S3 deletes at most this many keys per DeleteObjects request. */
const DELETE_BATCH = 1_000;
/** Multipart part size for large files: S3's minimum is 5 MiB; fewer, larger parts mean fewer requests. */
const PART_SIZE = 8 * 1024 * 1024;
/** Parts uploaded at once per file: bounds the memory of one upload to about PART_SIZE times this. */
const PARTS_IN_FLIGHT = 4;
/** User metadata holding the SHA-256 of the body, so a retried upload of the same bytes is skipped. */
const SHA256_METADATA = 'sha256';

const contentTypes: Record<string, string> = {
  '.pdf': 'application/pdf',
  '.txt': 'text/plain; charset=utf-8',
  '.json': 'application/json',
  '.db': 'application/vnd.sqlite3',
};

/**
 * Documents in an S3-compatible bucket (AWS S3, MinIO), under an optional key prefix, so workers on
 * several hosts share them. Files stream in and out; tools that need a local file get one from a
 * bounded local cache. Writes overwrite whole objects, so writing the same bytes twice (a retried
 * activity on another host) is harmless.
 *
 * The AWS SDK is imported on first use, so CLI commands of a local-folder setup do not load it.
 */
export class S3DocumentStore implements DocumentStore {
  readonly remote = true;
  private clientPromise: Promise<S3Client> | undefined;

  constructor(
    private readonly settings: S3StorageConfig,
    private readonly cache: LocalCache,
  ) {}

  async put(key: string, data: Uint8Array | string): Promise<void> {
    const { PutObjectCommand } = await import('@aws-sdk/client-s3');
    const body = typeof data === 'string' ? Buffer.from(data, 'utf8') : data;
    await (await this.client()).send(
      new PutObjectCommand({
        Bucket: this.settings.bucket,
        Key: this.objectKey(key),
        Body: body,
        ContentType: contentTypeOf(key),
        Metadata: { [SHA256_METADATA]: createHash('sha256').update(body).digest('hex') },
      }),
    );
  }

  /**
   * Streams the file up (multipart when large) and moves it into the local cache: the worker that
   * fetched a PDF usually OCRs it next. The upload is skipped when the object already holds these
   * bytes (a retry after a lost acknowledgement).
   */
  async putFile(key: string, sourcePath: string): Promise<void> {
    const objectKey = this.objectKey(key);
    const { size } = await fs.promises.stat(sourcePath);
    const sha256 = await sha256OfFile(sourcePath);
    const existing = await this.head(objectKey);
    let etag = existing && existing.size === size && existing.sha256 === sha256 ? existing.etag : undefined;
    if (etag === undefined) {
      const { Upload } = await import('@aws-sdk/lib-storage');
      const upload = new Upload({
        client: await this.client(),
        params: {
          Bucket: this.settings.bucket,
          Key: objectKey,
          Body: fs.createReadStream(sourcePath),
          ContentType: contentTypeOf(key),
          Metadata: { [SHA256_METADATA]: sha256 },
        },
        partSize: PART_SIZE,
        queueSize: PARTS_IN_FLIGHT,
        // A failed multipart upload must not leave parts behind that the bucket keeps billing for.
        leavePartsOnError: false,
      });
      const result = await upload.done();
      etag = result.ETag ?? (await this.head(objectKey))?.etag;
    }
    if (etag) {
      await this.cache.adopt(this.cacheIdentity(objectKey, etag), path.posix.basename(key), sourcePath);
    } else {
      await fs.promises.rm(sourcePath, { force: true });
    }
  }

  async get(key: string): Promise<Buffer> {
    const body = await this.openBody(this.objectKey(key));
    return Buffer.from(await body.transformToByteArray());
  }

  async getText(key: string): Promise<string> {
    const body = await this.openBody(this.objectKey(key));
    return body.transformToString('utf8');
  }

  async exists(key: string): Promise<boolean> {
    return (await this.head(this.objectKey(key))) !== undefined;
  }

  /**
   * Downloads into the local cache unless the cache holds this version of the object already (its
   * ETag names the cache entry, so an overwritten object is never served stale).
   */
  async localPath(key: string): Promise<string> {
    const objectKey = this.objectKey(key);
    const head = await this.head(objectKey);
    if (!head) throw new ObjectNotFoundError(`no object ${this.describe(key)}`);
    return this.cache.path(this.cacheIdentity(objectKey, head.etag), path.posix.basename(key), async (temporaryPath) => {
      const { GetObjectCommand } = await import('@aws-sdk/client-s3');
      const response = await (await this.client()).send(new GetObjectCommand({ Bucket: this.settings.bucket, Key: objectKey, IfMatch: head.etag }));
      await pipeline(response.Body as Readable, fs.createWriteStream(temporaryPath));
    });
  }

  describe(key: string): string {
    return `s3://${this.settings.bucket}/${this.objectKey(key)}`;
  }

  async keysUnder(prefix: string): Promise<string[]> {
    const { paginateListObjectsV2 } = await import('@aws-sdk/client-s3');
    const folder = `${this.objectKey(prefix)}/`;
    const strip = this.settings.prefix === '' ? 0 : this.settings.prefix.length + 1;
    const keys: string[] = [];
    for await (const page of paginateListObjectsV2({ client: await this.client() }, { Bucket: this.settings.bucket, Prefix: folder })) {
      for (const object of page.Contents ?? []) if (object.Key) keys.push(object.Key.slice(strip));
    }
    return keys.sort();
  }

  async removeUnder(prefix: string): Promise<number> {
    const { DeleteObjectsCommand } = await import('@aws-sdk/client-s3');
    const client = await this.client();
    const keys = await this.keysUnder(prefix);
    for (let start = 0; start < keys.length; start += DELETE_BATCH) {
      const batch = keys.slice(start, start + DELETE_BATCH);
      const response = await client.send(
        new DeleteObjectsCommand({
          Bucket: this.settings.bucket,
          Delete: { Objects: batch.map((key) => ({ Key: this.objectKey(key) })), Quiet: true },
        }),
      );
      const failed = response.Errors ?? [];
      if (failed.length > 0) {
        throw new Error(`could not delete ${failed.length} object(s) under ${this.describe(prefix)}, e.g. ${failed[0]!.Key}: ${failed[0]!.Code} ${failed[0]!.Message}`);
      }
    }
    return keys.length;
  }

  /**
   * Writes and deletes a probe object: proves the bucket exists and the credentials may write
   * (`clerk health`). Gives up after `timeoutMs`, so an unreachable endpoint is reported, not waited on.
   */
  async probe(timeoutMs = 10_000): Promise<void> {
    const { PutObjectCommand, DeleteObjectCommand } = await import('@aws-sdk/client-s3');
    const client = await this.client();
    const key = this.objectKey(`.clerk-health/${process.pid}-${randomBytes(4).toString('hex')}`);
    const abortSignal = AbortSignal.timeout(timeoutMs);
    await client.send(new PutObjectCommand({ Bucket: this.settings.bucket, Key: key, Body: 'clerk health\n' }), { abortSignal });
    await client.send(new DeleteObjectCommand({ Bucket: this.settings.bucket, Key: key }), { abortSignal });
  }

  /** Where this store lives, for messages: s3://bucket/prefix at the endpoint. */
  location(): string {
    const where = `s3://${this.settings.bucket}${this.settings.prefix ? `/${this.settings.prefix}` : ''}`;
    return this.settings.endpoint ? `${where} at ${this.settings.endpoint}` : where;
  }

  /** Closes the SDK's connections, so a short-lived process exits promptly. */
  close(): void {
    void this.clientPromise?.then((client) => client.destroy());
    this.clientPromise = undefined;
  }

  private async openBody(objectKey: string) {
    const { GetObjectCommand } = await import('@aws-sdk/client-s3');
    try {
      const response = await (await this.client()).send(new GetObjectCommand({ Bucket: this.settings.bucket, Key: objectKey }));
      return response.Body!;
    } catch (error) {
      if (isNotFound(error)) throw new ObjectNotFoundError(`no object s3://${this.settings.bucket}/${objectKey}`);
      throw error;
    }
  }

  private async head(objectKey: string): Promise<{ etag: string; size: number; sha256: string | undefined } | undefined> {
    const { HeadObjectCommand } = await import('@aws-sdk/client-s3');
    try {
      const response = await (await this.client()).send(new HeadObjectCommand({ Bucket: this.settings.bucket, Key: objectKey }));
      return { etag: response.ETag ?? '', size: response.ContentLength ?? -1, sha256: response.Metadata?.[SHA256_METADATA] };
    } catch (error) {
      if (isNotFound(error)) return undefined;
      throw error;
    }
  }

  private objectKey(key: string): string {
    assertSafeKey(key);
    return this.settings.prefix === '' ? key : `${this.settings.prefix}/${key}`;
  }

  private cacheIdentity(objectKey: string, etag: string): string {
    return `${this.settings.endpoint ?? 'aws'}\n${this.settings.bucket}\n${objectKey}\n${etag}`;
  }

  private client(): Promise<S3Client> {
    // The SDK warns on every process start under Node 20 that its releases after January 2027 need
    // Node 22: clerk pins its version in package-lock.json, so the warning only adds noise to every
    // worker's and CLI command's output. An operator who sets the variable keeps their choice.
    process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';
    this.clientPromise ??= import('@aws-sdk/client-s3').then(
      ({ S3Client }) =>
        new S3Client({
          region: this.settings.region,
          forcePathStyle: this.settings.forcePathStyle,
          ...(this.settings.endpoint ? { endpoint: this.settings.endpoint } : {}),
          ...(this.settings.credentials ? { credentials: this.settings.credentials } : {}),
        }),
    );
    return this.clientPromise;
  }
}

function isNotFound(error: unknown): boolean {
  const { name, $metadata } = error as { name?: string; $metadata?: { httpStatusCode?: number } };
  // A missing bucket is a broken configuration, not a missing object.
  if (name === 'NoSuchBucket') return false;
  return name === 'NoSuchKey' || name === 'NotFound' || $metadata?.httpStatusCode === 404;
}

function contentTypeOf(key: string): string {
  return contentTypes[path.posix.extname(key).toLowerCase()] ?? 'application/octet-stream';
}

async function sha256OfFile(filePath: string): Promise<string> {
  const hash = createHash('sha256');
  for await (const chunk of fs.createReadStream(filePath)) hash.update(chunk as Buffer);
  return hash.digest('hex');
}
