import fs from 'node:fs';
import path from 'node:path';
import { ListObjectsV2Command, S3Client } from '@aws-sdk/client-s3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { searchArchive } from '../../src/archive/compile.js';
import { saveSite } from '../../src/sites/repository.js';
import { writeSampleSite, type SampleSiteManifest } from '../../src/samples/sample-site.js';
import { serveDirectory } from '../../src/samples/static-server.js';
import { enqueueSite } from '../../src/temporal/site-runs.js';
import type { siteWorkflow } from '../../src/workflows/site.js';
import type { SiteStatus } from '../../src/workflows/types.js';
import { runClerk } from '../support/cli.js';
import { createHarness, type Harness } from '../support/harness.js';
import { s3StorageEnv, startTestMinio, type RunningMinio } from '../support/minio.js';

const SITE = 'alameda.ca';
const PREFIX = 'pipeline';

describe('the sample site run end to end with its documents in MinIO (CLERK_STORAGE_URL=s3://...)', () => {
  let minio: RunningMinio;
  let harness: Harness;
  let manifest: SampleSiteManifest;
  let server: { url: string; close(): Promise<void> };
  let status: SiteStatus;
  let objectKeys: string[];

  beforeAll(async () => {
    minio = await startTestMinio();
    harness = await createHarness('s3-pipeline', s3StorageEnv(minio, PREFIX));
    const siteDir = path.join(harness.dataDir, 'sample-site');
    manifest = await writeSampleSite(siteDir);
    server = await serveDirectory(siteDir);
    await saveSite(harness.db, { subdomain: SITE, name: 'Alameda (sample)', fetcher: 'http-index', sourceUrl: `${server.url}/index.html` });
    await harness.startWorkers();
    const run = await enqueueSite(harness.client, harness.config, SITE);
    status = await harness.client.workflow.getHandle<typeof siteWorkflow>(run.workflowId, run.runId).result();

    const client = new S3Client({
      endpoint: minio.endpoint,
      region: 'us-east-1',
      forcePathStyle: true,
      credentials: { accessKeyId: minio.accessKeyId, secretAccessKey: minio.secretAccessKey },
    });
    const listed = await client.send(new ListObjectsV2Command({ Bucket: minio.bucket, Prefix: `${PREFIX}/` }));
    objectKeys = (listed.Contents ?? []).map((object) => object.Key!.slice(PREFIX.length + 1));
    client.destroy();
  });

  afterAll(async () => {
    await server?.close();
    await harness?.close();
    await minio?.stop();
  });

  it('uses the S3 store', () => {
    expect(harness.store.remote).toBe(true);
    expect(harness.config.storage.s3).toMatchObject({ bucket: minio.bucket, prefix: PREFIX, endpoint: minio.endpoint });
  });

  it('completes with every page done', () => {
    expect(status.stage).toBe('completed');
    expect(status.pages).toEqual({ total: manifest.totalPages, done: manifest.totalPages, failed: 0 });
    expect(status.documents).toEqual({ total: manifest.documents.length, done: manifest.documents.length, failed: 0 });
  });

  it('keeps every PDF and page text as an object in the bucket', async () => {
    const documents = await harness.db.selectFrom('documents').select('storage_key').where('subdomain', '=', SITE).execute();
    const pages = await harness.db.selectFrom('pages').select(['text_key', 'char_count']).where('subdomain', '=', SITE).execute();
    expect(documents).toHaveLength(manifest.documents.length);
    for (const document of documents) expect(objectKeys).toContain(document.storage_key);
    for (const page of pages) {
      expect(objectKeys).toContain(page.text_key);
      expect(await harness.store.getText(page.text_key!)).toHaveLength(page.char_count!);
    }
  });

  it('writes nothing to the local storage folder: this host keeps only its cache', () => {
    const stored = fs.existsSync(harness.config.storageDir) ? fs.readdirSync(harness.config.storageDir, { recursive: true }) : [];
    expect(stored).toEqual([]);
    const cached = fs.readdirSync(harness.config.storage.cacheDir, { recursive: true, withFileTypes: true }).filter((entry) => entry.isFile());
    expect(cached.length).toBeGreaterThan(0);
  });

  it('checks the bucket in `clerk health`, and the cache folder instead of the storage folder', async () => {
    const healthy = await runClerk(['health', '--json'], harness.env);
    const checks = (JSON.parse(healthy.stdout) as { checks: { name: string; status: string; message: string }[] }).checks;
    expect(checks.find((check) => check.name === 'store:storage')).toMatchObject({ status: 'ok', message: expect.stringContaining(`s3://${minio.bucket}/${PREFIX}`) });
    expect(checks.find((check) => check.name === 'folder:cache')).toMatchObject({ status: 'ok' });
    expect(checks.find((check) => check.name === 'folder:storage')).toBeUndefined();

    const wrongBucket = await runClerk(['health', '--json'], { ...harness.env, CLERK_STORAGE_URL: 's3://no-such-bucket/x' });
    expect(wrongBucket.code).toBe(2);
    const down = (JSON.parse(wrongBucket.stdout) as { checks: { name: string; status: string; message: string }[] }).checks.find((check) => check.name === 'store:storage');
    expect(down).toMatchObject({ status: 'down', message: expect.stringMatching(/no-such-bucket.*not writable/) });
  });

  it('finds a word only the scanned page has in the deployed archive', async () => {
    const deployment = await harness.db.selectFrom('deployments').selectAll().where('subdomain', '=', SITE).orderBy('version', 'desc').executeTakeFirstOrThrow();
    expect(searchArchive(deployment.path, manifest.ocrOnlyWord).length).toBeGreaterThan(0);
  });
});
