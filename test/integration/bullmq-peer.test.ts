import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runPeerSites, type PeerRunResult } from '../../bench/peer/bullmq-pipeline.js';
import { startThrowawayRedis, type ThrowawayRedis } from '../../bench/peer/redis.js';
import { writeSampleSite, type SampleSiteManifest } from '../../src/samples/sample-site.js';
import { serveDirectory } from '../../src/samples/static-server.js';
import { saveSite } from '../../src/sites/repository.js';
import { createHarness, type Harness } from '../support/harness.js';

const SITE = 'peer.alameda.ca';

describe('the BullMQ peer runs the sample site through clerk activities on real Redis and Postgres', () => {
  let harness: Harness;
  let redis: ThrowawayRedis;
  let server: { url: string; close(): Promise<void> };
  let manifest: SampleSiteManifest;
  let first: PeerRunResult;
  let rerun: PeerRunResult;

  beforeAll(async () => {
    harness = await createHarness('bullmq-peer', { CLERK_OCR_CONCURRENCY: '2' });
    redis = await startThrowawayRedis();
    const siteDir = path.join(harness.dataDir, 'sample-site');
    manifest = await writeSampleSite(siteDir);
    server = await serveDirectory(siteDir);
    await saveSite(harness.db, { subdomain: SITE, name: 'Alameda (sample, BullMQ peer)', fetcher: 'http-index', sourceUrl: `${server.url}/index.html` });
    const deps = { db: harness.db, store: harness.store, config: harness.config };
    first = await runPeerSites({ deps, redisUrl: redis.url, subdomains: [SITE] });
    rerun = await runPeerSites({ deps, redisUrl: redis.url, subdomains: [SITE] });
  });

  afterAll(async () => {
    await server?.close();
    await redis?.stop();
    await harness?.close();
  });

  it('completes the flow with every document and page counted once, as the parent job returns them', () => {
    expect(first.sites).toHaveLength(1);
    expect(first.sites[0]).toMatchObject({ subdomain: SITE, ok: true });
    expect(first.sites[0]!.status).toMatchObject({
      stage: 'completed',
      documents: { total: manifest.documents.length, done: manifest.documents.length, failed: 0 },
      pages: { total: manifest.totalPages, done: manifest.totalPages, failed: 0 },
      deployed: 'full',
      archiveWasCurrent: false,
    });
  });

  it('leaves the pages table and site_progress exact: every page done once, the counters equal to the table', async () => {
    const pages = await harness.db.selectFrom('pages').select(['document_id', 'page_number', 'status']).where('subdomain', '=', SITE).execute();
    expect(pages).toHaveLength(manifest.totalPages);
    expect(pages.filter((page) => page.status !== 'done')).toEqual([]);
    expect(new Set(pages.map((page) => `${page.document_id}#${page.page_number}`)).size).toBe(manifest.totalPages);
    const progress = await harness.db.selectFrom('site_progress').selectAll().where('subdomain', '=', SITE).executeTakeFirstOrThrow();
    expect(progress).toMatchObject({
      workflow_id: `bullmq/${SITE}`,
      current_stage: 'completed',
      pages_total: manifest.totalPages,
      pages_done: manifest.totalPages,
      pages_failed: 0,
      documents_total: manifest.documents.length,
      documents_done: manifest.documents.length,
      documents_failed: 0,
    });
  });

  it('records every job in job_tracking under the peer\'s own ids, OCRing exactly the scanned pages', async () => {
    const jobs = await harness.db.selectFrom('job_tracking').select(['job_type', 'workflow_id', 'status']).where('subdomain', '=', SITE).execute();
    expect(jobs.filter((job) => job.status !== 'succeeded')).toEqual([]);
    expect(jobs.filter((job) => !job.workflow_id?.startsWith(`bullmq/${SITE}`))).toEqual([]);
    expect(jobs.filter((job) => job.job_type === 'ocrPage')).toHaveLength(manifest.scannedPages);
    // The fast archive published early, then the full one; the unchanged re-run deploys nothing.
    expect(jobs.filter((job) => job.job_type === 'deployArchive')).toHaveLength(2);
  });

  it('says when its flows were added, before any of their jobs started, which the benchmark times its phases against', async () => {
    const jobs = await harness.db.selectFrom('job_tracking').select('started_at').where('subdomain', '=', SITE).orderBy('started_at').execute();
    const firstRunEnd = first.startedAt.getTime() + first.wallSeconds * 1000;
    expect(jobs[0]!.started_at.getTime()).toBeGreaterThanOrEqual(first.startedAt.getTime());
    expect(rerun.startedAt.getTime()).toBeGreaterThanOrEqual(firstRunEnd);
  });

  it('skips extraction and deploy when the site is run again unchanged, as clerk does, counting the settled pages', () => {
    expect(rerun.sites[0]).toMatchObject({
      ok: true,
      status: {
        archiveWasCurrent: true,
        deployed: null,
        documents: { total: manifest.documents.length, done: manifest.documents.length, failed: 0 },
        pages: { total: manifest.totalPages, done: manifest.totalPages, failed: 0 },
      },
    });
  });

  it('reports a site whose flow fails for good as not ok, with its reason, beside the sites that finish', async () => {
    const deps = { db: harness.db, store: harness.store, config: harness.config };
    const run = await runPeerSites({ deps, redisUrl: redis.url, prefix: 'peer-unknown', subdomains: ['never-registered.example', SITE] });
    expect(run.sites).toEqual([
      { subdomain: 'never-registered.example', ok: false, error: expect.stringMatching(/never-registered\.example/) },
      expect.objectContaining({ subdomain: SITE, ok: true }),
    ]);
  });
});
