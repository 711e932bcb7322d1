import type { WorkflowExecutionInfo } from '@temporalio/client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { enqueueSite } from '../../src/temporal/site-runs.js';
import { kindSearchAttribute, siteSearchAttribute, stageSearchAttribute } from '../../src/workflows/search-attributes.js';
import { statusQuery, type siteWorkflow } from '../../src/workflows/site.js';
import type { Counts, SiteStatus } from '../../src/workflows/types.js';
import { expectExactAccounting } from '../support/accounting.js';
import { createHarness, type Harness } from '../support/harness.js';
import { waitFor } from '../support/ocr-run.js';
import { serveScannedSite } from '../support/scanned-site.js';

const SITE = 'live-progress.ca';
const SHAPE = { documents: 3, pagesPerDocument: 8 };
/**
 * Small windows and small progress batches, so OCR takes many reports: every document splits into
 * two page-batch children of 4 pages, each OCRing one page at a time and reporting every 2 pages.
 */
const limits = { documentsInFlight: 2, pagesInFlight: 1, pagesPerBatch: 4, progressBatchPages: 2 };
const PAGE_BATCHES = SHAPE.documents * Math.ceil(SHAPE.pagesPerDocument / limits.pagesPerBatch);
/** documentWorkflow runs at most two page-batch children at once. */
const OCR_WINDOWS_IN_FLIGHT = limits.documentsInFlight * 2;
/**
 * How far the query may trail Postgres in pages settled: per OCR window in flight, one batch not
 * yet reported, plus the pages whose result or report is on its way to the workflow.
 */
const MAX_LAG = OCR_WINDOWS_IN_FLIGHT * (limits.progressBatchPages + limits.pagesInFlight);

interface Sample {
  /** site_progress read just before the query, and just after it. */
  before: Counts;
  query: SiteStatus;
  after: Counts;
}

/**
 * The `status` query during OCR: document children report each document's page count as soon as
 * it is read and its pages as they are OCRed, so the query follows Postgres's site_progress
 * instead of showing "0 of 0" until a document ends. Every workflow of the run carries the site's
 * search attributes and its kind, so the Web UI's `ClerkSite = "<site>"` lists the whole tree.
 */
describe('live page progress in the status query, and search attributes on every child', () => {
  let harness: Harness;
  let site: { totalPages: number; close(): Promise<void> };
  let runId: string;
  let samples: Sample[];
  let ocrSamples: Sample[];
  let finalStatus: SiteStatus;

  beforeAll(async () => {
    harness = await createHarness('liveprogress');
    site = await serveScannedSite(harness, SITE, SHAPE);
    await harness.startWorkers();
    const run = await enqueueSite(harness.client, harness.config, SITE, { limits });
    runId = run.runId;
    const handle = harness.client.workflow.getHandle<typeof siteWorkflow>(run.workflowId, run.runId);

    let finished = false;
    const result = handle.result().finally(() => {
      finished = true;
    });
    samples = [];
    while (!finished) {
      const before = await siteProgress(harness, SITE);
      const query = await handle.query(statusQuery);
      const after = await siteProgress(harness, SITE);
      if (before && after) samples.push({ before, query, after });
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    finalStatus = await result;
    ocrSamples = samples.filter((s) => s.query.stage === 'ocr');
  });

  afterAll(async () => {
    await site?.close();
    await harness?.close();
  });

  it('knows the page totals before any document child has completed', () => {
    const early = ocrSamples.filter((s) => s.query.documents.done + s.query.documents.failed === 0 && s.query.pages.total > 0);
    expect(early.length).toBeGreaterThan(0);
  });

  it('counts pages as they are OCRed, not only when a document ends', () => {
    const done = ocrSamples.map((s) => s.query.pages.done);
    expect(done).toEqual([...done].sort((a, b) => a - b));
    const midway = new Set(done.filter((n) => n > 0 && n < site.totalPages));
    // Far more values than documents: the counts moved a batch at a time.
    expect(midway.size).toBeGreaterThan(SHAPE.documents);
    const beforeFirstDocument = ocrSamples.filter((s) => s.query.documents.done + s.query.documents.failed === 0).map((s) => s.query.pages.done);
    expect(Math.max(0, ...beforeFirstDocument)).toBeGreaterThan(0);
  });

  it('agrees with site_progress at every sample: never ahead of it, behind by at most a batch per OCR window in flight', () => {
    expect(ocrSamples.length).toBeGreaterThan(0);
    for (const { before, query, after } of ocrSamples) {
      const label = JSON.stringify({ before, query: query.pages, after });
      expect(query.pages.total, label).toBeLessThanOrEqual(after.total);
      expect(settled(query.pages), label).toBeLessThanOrEqual(settled(after));
      expect(settled(before) - settled(query.pages), label).toBeLessThanOrEqual(MAX_LAG);
    }
  });

  it('ends with exactly the counts of the pages table, in the result and in the query', async () => {
    expect(finalStatus.stage).toBe('completed');
    expect(finalStatus.pages).toEqual({ total: site.totalPages, done: site.totalPages, failed: 0 });
    expect(await harness.client.workflow.getHandle(`site/${SITE}`, runId).query(statusQuery)).toEqual(finalStatus);
    expect(await siteProgress(harness, SITE)).toEqual(finalStatus.pages);
    await expectExactAccounting(harness.db, harness.client, SITE, finalStatus, runId);
  });

  it('tags the site run, every document child and every page-batch child with the site and their kind', async () => {
    const query = `${siteSearchAttribute.name} = '${SITE}'`;
    let listed: WorkflowExecutionInfo[] = [];
    // Visibility is eventually consistent: wait until the whole tree is listed.
    await waitFor(async () => {
      listed = [];
      for await (const info of harness.client.workflow.list({ query })) listed.push(info);
      return listed.length >= 1 + SHAPE.documents + PAGE_BATCHES;
    }, `the workflows with ${query}`);

    const tagged = listed.map((info) => ({
      workflowId: info.workflowId,
      type: info.type,
      site: info.typedSearchAttributes.get(siteSearchAttribute),
      stage: info.typedSearchAttributes.get(stageSearchAttribute),
      kind: info.typedSearchAttributes.get(kindSearchAttribute),
    }));
    const ofType = (type: string) => tagged.filter((t) => t.type === type);
    expect(ofType('siteWorkflow')).toEqual([{ workflowId: `site/${SITE}`, type: 'siteWorkflow', site: SITE, stage: 'completed', kind: 'site' }]);
    expect(ofType('documentWorkflow')).toHaveLength(SHAPE.documents);
    for (const child of ofType('documentWorkflow')) {
      expect(child).toMatchObject({ site: SITE, stage: 'ocr', kind: 'document' });
      expect(child.workflowId).toMatch(new RegExp(`^site/${SITE}/doc/`));
    }
    expect(ofType('pageBatchWorkflow')).toHaveLength(PAGE_BATCHES);
    for (const batch of ofType('pageBatchWorkflow')) {
      expect(batch).toMatchObject({ site: SITE, stage: 'ocr', kind: 'page-batch' });
      expect(batch.workflowId).toMatch(new RegExp(`^site/${SITE}/doc/.+/pages/\\d+$`));
    }
    expect(tagged).toHaveLength(1 + SHAPE.documents + PAGE_BATCHES);
  });
});

function settled(pages: Counts): number {
  return pages.done + pages.failed;
}

async function siteProgress(harness: Harness, subdomain: string): Promise<Counts | undefined> {
  const row = await harness.db
    .selectFrom('site_progress')
    .select(['pages_total', 'pages_done', 'pages_failed'])
    .where('subdomain', '=', subdomain)
    .executeTakeFirst();
  return row && { total: row.pages_total, done: row.pages_done, failed: row.pages_failed };
}
