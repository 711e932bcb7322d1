import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { writeSampleSite, type SampleSiteManifest } from '../../src/samples/sample-site.js';
import { serveDirectory } from '../../src/samples/static-server.js';
import { saveSite } from '../../src/sites/repository.js';
import { collectHistories, type WorkflowHistory } from '../../src/temporal/histories.js';
import { enqueueSite } from '../../src/temporal/site-runs.js';
import type { siteWorkflow } from '../../src/workflows/site.js';
import type { SiteStatus } from '../../src/workflows/types.js';
import { expectExactAccounting } from '../support/accounting.js';
import { createHarness, type Harness } from '../support/harness.js';

const SITE = 'tiny-limits.ca';
const limits = { continueAsNewAfterEvents: 25, documentsInFlight: 2, pagesInFlight: 1, pagesPerBatch: 1 };

/**
 * The bounds that keep a 20,000-page site's histories small, shrunk so a sample site hits them:
 * the site workflow continues as new, long documents split into page-batch children, and no
 * window ever holds more than its limit.
 */
describe('fan-out under tight limits', () => {
  let harness: Harness;
  let manifest: SampleSiteManifest;
  let server: { url: string; close(): Promise<void> };
  let status: SiteStatus;
  let runId: string;
  let histories: WorkflowHistory[];

  beforeAll(async () => {
    harness = await createHarness('limits');
    const siteDir = path.join(harness.dataDir, 'site');
    manifest = await writeSampleSite(siteDir, { subdomain: SITE });
    server = await serveDirectory(siteDir);
    await saveSite(harness.db, { subdomain: SITE, name: 'Tiny limits', fetcher: 'http-index', sourceUrl: `${server.url}/index.html` });
    await harness.startWorkers();
    const run = await enqueueSite(harness.client, harness.config, SITE, { limits });
    runId = run.runId;
    status = await harness.client.workflow.getHandle<typeof siteWorkflow>(run.workflowId).result();
    histories = await collectHistories(harness.client, run.workflowId, run.runId);
  });

  afterAll(async () => {
    await server?.close();
    await harness?.close();
  });

  it('continues the site workflow as new and still completes with exact counts', async () => {
    const siteRuns = histories.filter((h) => h.workflowType === 'siteWorkflow');
    expect(siteRuns.length).toBeGreaterThanOrEqual(2);
    expect(status.stage).toBe('completed');
    expect(status.pages).toEqual({ total: manifest.totalPages, done: manifest.totalPages, failed: 0 });
    await expectExactAccounting(harness.db, harness.client, SITE, status, runId);
  });

  it('splits a document with more OCR pages than a batch into page-batch children', () => {
    const batches = histories.filter((h) => h.workflowType === 'pageBatchWorkflow');
    expect(batches).toHaveLength(manifest.scannedPages);
  });

  it('never has more children or page activities in flight than the windows allow', () => {
    for (const h of histories) {
      const limit = h.workflowType === 'siteWorkflow' ? limits.documentsInFlight : h.workflowType === 'documentWorkflow' ? 2 : limits.pagesInFlight;
      expect(maxChildrenInFlight(h), `${h.workflowId}`).toBeLessThanOrEqual(limit);
      expect(maxOcrPagesInFlight(h), `${h.workflowId}`).toBeLessThanOrEqual(limits.pagesInFlight);
    }
  });
});

function maxChildrenInFlight(h: WorkflowHistory): number {
  let inFlight = 0;
  let max = 0;
  for (const e of h.history.events ?? []) {
    if (e.startChildWorkflowExecutionInitiatedEventAttributes) max = Math.max(max, ++inFlight);
    if (e.childWorkflowExecutionCompletedEventAttributes || e.childWorkflowExecutionFailedEventAttributes || e.startChildWorkflowExecutionFailedEventAttributes) inFlight--;
  }
  return max;
}

function maxOcrPagesInFlight(h: WorkflowHistory): number {
  const scheduled = new Map<number, string>();
  let inFlight = 0;
  let max = 0;
  for (const e of h.history.events ?? []) {
    const attributes = e.activityTaskScheduledEventAttributes;
    if (attributes) scheduled.set(Number(e.eventId), attributes.activityType?.name ?? '');
    if (attributes?.activityType?.name === 'ocrPage') max = Math.max(max, ++inFlight);
    const closed = e.activityTaskCompletedEventAttributes ?? e.activityTaskFailedEventAttributes ?? e.activityTaskTimedOutEventAttributes;
    if (closed && scheduled.get(Number(closed.scheduledEventId)) === 'ocrPage') inFlight--;
  }
  return max;
}
