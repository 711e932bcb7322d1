import fs from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { NativeConnection, Worker } from '@temporalio/worker';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createExtractionActivities } from '../../src/activities/extraction.js';
import { searchArchive } from '../../src/archive/compile.js';
import { ExtractionThreads } from '../../src/extract/threads.js';
import { writeSampleSite, type SampleSiteManifest } from '../../src/samples/sample-site.js';
import { serveDirectory } from '../../src/samples/static-server.js';
import { saveSite } from '../../src/sites/repository.js';
import { enqueueSite, querySiteStatus } from '../../src/temporal/site-runs.js';
import type { siteWorkflow } from '../../src/workflows/site.js';
import { taskQueuesWithPrefix, type SiteStatus } from '../../src/workflows/types.js';
import { createHarness, type Harness } from '../support/harness.js';

const SITE = 'alameda.ca';

/** A deploy webhook whose answer the test decides per request: 200, or 500 for some variants. */
function startWebhook() {
  const received: { variant: string; version: number; event: string }[] = [];
  let failVariants = new Set<string>();
  const server = http.createServer((req, res) => {
    let body = '';
    req.on('data', (chunk) => (body += chunk));
    req.on('end', () => {
      const payload = JSON.parse(body) as { variant: string; version: number; event: string };
      received.push(payload);
      res.statusCode = failVariants.has(payload.variant) ? 500 : 200;
      res.end(res.statusCode === 200 ? 'ok' : 'the remote target is down');
    });
  });
  return {
    received,
    failFor(variants: string[]) {
      failVariants = new Set(variants);
    },
    async listen(): Promise<string> {
      await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
      return `http://127.0.0.1:${(server.address() as AddressInfo).port}/hook`;
    },
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

describe('the fast path publishes early, and the full path replaces it', () => {
  let harness: Harness;
  let manifest: SampleSiteManifest;
  let site: { url: string; close(): Promise<void> };
  const webhook = startWebhook();
  let extractionWorker: { worker: Worker; running: Promise<void>; connection: NativeConnection; threads: ExtractionThreads };
  let releaseEntityExtraction: () => void = () => {};
  let statusWhileExtracting: SiteStatus;
  let finalStatus: SiteStatus;

  beforeAll(async () => {
    harness = await createHarness('early-publish');
    const siteDir = path.join(harness.dataDir, 'sample-site');
    manifest = await writeSampleSite(siteDir);
    site = await serveDirectory(siteDir);
    await saveSite(harness.db, { subdomain: SITE, name: 'Alameda (sample)', fetcher: 'http-index', sourceUrl: `${site.url}/index.html` });
    const hookUrl = await webhook.listen();
    await harness.startWorkers(['workflows', 'fetch', 'ocr', 'deploy'], { CLERK_DEPLOY_WEBHOOK_URL: hookUrl, CLERK_DEPLOY_HOOK_ATTEMPTS: '1' });

    // The extraction worker is the real one, except that entity extraction waits for the test:
    // the full path is held open while the test looks at what the fast path published.
    let entityExtractionGate = new Promise<void>((resolve) => (releaseEntityExtraction = resolve));
    const threads = new ExtractionThreads(1);
    const activities = createExtractionActivities({ db: harness.db, store: harness.store, config: harness.config, extractionThreads: threads });
    const connection = await NativeConnection.connect({ address: harness.config.temporal.address });
    const worker = await Worker.create({
      connection,
      namespace: harness.config.temporal.namespace,
      taskQueue: taskQueuesWithPrefix(harness.config.temporal.taskQueuePrefix).extraction,
      activities: {
        ...activities,
        extractEntities: async (input: { subdomain: string }) => {
          await entityExtractionGate;
          return activities.extractEntities(input);
        },
      },
    });
    extractionWorker = { worker, running: worker.run(), connection, threads };

    const run = await enqueueSite(harness.client, harness.config, SITE);
    for (;;) {
      const status = await querySiteStatus(harness.client, SITE);
      if (status?.publications?.fast) {
        statusWhileExtracting = structuredClone(status);
        break;
      }
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    releaseEntityExtraction();
    finalStatus = await harness.client.workflow.getHandle<typeof siteWorkflow>(run.workflowId, run.runId).result();
    // Later runs are not held.
    entityExtractionGate = Promise.resolve();
  });

  afterAll(async () => {
    releaseEntityExtraction();
    if (extractionWorker) {
      extractionWorker.worker.shutdown();
      await extractionWorker.running.catch(() => {});
      await extractionWorker.threads.close();
      await extractionWorker.connection.close();
    }
    await webhook.close();
    await site?.close();
    await harness?.close();
  });

  it('makes the site searchable while entity extraction is still running', () => {
    expect(statusWhileExtracting.stage).toBe('extraction');
    expect(statusWhileExtracting.branches).toEqual({ fast: 'done', full: 'running' });
    expect(statusWhileExtracting.deployed).toBe('fast');
    expect(statusWhileExtracting.publications).toMatchObject({ fast: { state: 'published', version: 1 }, full: null });
    // The searchable archive was live before the full path ended: the fast publication's pages
    // include the word only OCR of the scanned page can read.
    expect(statusWhileExtracting.publications!.fast).toMatchObject({ pages: manifest.totalPages, entities: 0, votes: 0 });
  });

  it('replaces the early archive with the full one, and both publications are recorded', async () => {
    expect(finalStatus.stage).toBe('completed');
    expect(finalStatus.deployed).toBe('full');
    expect(finalStatus.publications).toMatchObject({
      fast: { state: 'published', version: 1 },
      full: { state: 'published', version: 2, pages: manifest.totalPages },
    });
    const full = finalStatus.publications!.full as { entities: number; votes: number };
    expect(full.entities).toBeGreaterThan(0);
    expect(full.votes).toBeGreaterThan(0);

    const rows = await harness.db.selectFrom('deployments').selectAll().where('subdomain', '=', SITE).orderBy('version').execute();
    expect(rows.map((r) => [r.version, r.variant, r.hook_status])).toEqual([
      [1, 'fast', 'ok'],
      [2, 'full', 'ok'],
    ]);
    expect(rows[0]!.published_at.getTime()).toBeLessThanOrEqual(rows[1]!.published_at.getTime());
    expect(webhook.received.map((r) => [r.event, r.variant, r.version])).toEqual([
      ['publish', 'fast', 1],
      ['publish', 'full', 2],
    ]);

    const live = path.join(harness.config.deployDir, SITE, 'meetings.db');
    expect(fs.realpathSync(live)).toBe(fs.realpathSync(path.join(harness.config.deployDir, SITE, 'versions', '2', 'meetings.db')));
    expect(searchArchive(live, manifest.ocrOnlyWord).length).toBeGreaterThan(0);
  });

  it('records a failed early publication and still completes with the full archive', async () => {
    webhook.failFor(['fast']);
    // --full: the site is unchanged, and an unchanged site would keep its live archive.
    const run = await enqueueSite(harness.client, harness.config, SITE, { full: true });
    const status = await harness.client.workflow.getHandle<typeof siteWorkflow>(run.workflowId, run.runId).result();
    expect(status.stage).toBe('completed');
    expect(status.publications!.fast).toMatchObject({ state: 'failed' });
    expect((status.publications!.fast as { error: string }).error).toMatch(/500/);
    expect(status.error).toMatch(/^fast path publication: /);
    expect(status.publications!.full).toMatchObject({ state: 'published', version: 4 });
    const fastRow = await harness.db.selectFrom('deployments').selectAll().where('subdomain', '=', SITE).where('version', '=', 3).executeTakeFirstOrThrow();
    expect(fastRow).toMatchObject({ variant: 'fast', hook_status: 'failed' });
  });

  it('fails the run visibly when the final publication cannot reach its remote target', async () => {
    webhook.failFor(['fast', 'full']);
    const run = await enqueueSite(harness.client, harness.config, SITE, { full: true });
    const handle = harness.client.workflow.getHandle<typeof siteWorkflow>(run.workflowId, run.runId);
    await expect(handle.result()).rejects.toThrow();
    const status = await querySiteStatus(harness.client, SITE);
    expect(status).toMatchObject({ stage: 'failed', publications: { full: { state: 'failed' } } });
    const progress = await harness.db.selectFrom('site_progress').selectAll().where('subdomain', '=', SITE).executeTakeFirstOrThrow();
    expect(progress.current_stage).toBe('failed');
    const siteRow = await harness.db.selectFrom('sites').selectAll().where('subdomain', '=', SITE).executeTakeFirstOrThrow();
    expect(siteRow.last_error_stage).toBe('deploy');
    expect(siteRow.last_error_message).toMatch(/hook|webhook/i);
  });
});
