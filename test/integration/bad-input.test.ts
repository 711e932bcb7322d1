import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { meetingSlug } from '../../src/fetchers/meeting.js';
import { writeBadCorpusSite, type BadCorpusManifest } from '../../src/samples/bad-corpus.js';
import { serveDirectory } from '../../src/samples/static-server.js';
import { saveSite } from '../../src/sites/repository.js';
import { enqueueSite } from '../../src/temporal/site-runs.js';
import type { siteWorkflow } from '../../src/workflows/site.js';
import type { SiteStatus } from '../../src/workflows/types.js';
import { expectExactAccounting } from '../support/accounting.js';
import { createHarness, type Harness } from '../support/harness.js';

const SITE = 'badcorpus.ca';

describe('a site whose documents include corrupt, encrypted, empty and odd PDFs', () => {
  let harness: Harness;
  let manifest: BadCorpusManifest;
  let server: { url: string; close(): Promise<void> };
  let status: SiteStatus;
  let runId: string;

  beforeAll(async () => {
    harness = await createHarness('badinput');
    const siteDir = path.join(harness.dataDir, 'site');
    manifest = await writeBadCorpusSite(siteDir, { subdomain: SITE, largePageCount: 120 });
    server = await serveDirectory(siteDir);
    await saveSite(harness.db, { subdomain: SITE, name: 'Bad corpus', fetcher: 'http-index', sourceUrl: `${server.url}/index.html` });
    await harness.startWorkers();
    const run = await enqueueSite(harness.client, harness.config, SITE);
    runId = run.runId;
    status = await harness.client.workflow.getHandle<typeof siteWorkflow>(run.workflowId, run.runId).result();
  });

  afterAll(async () => {
    await server?.close();
    await harness?.close();
  });

  it('finishes the site, counting the bad documents as failed', () => {
    expect(status.stage).toBe('completed');
    expect(status.documents).toEqual({ total: manifest.documents.length, done: manifest.okDocuments, failed: manifest.failedDocuments });
    expect(status.pages).toMatchObject({ done: manifest.okPages, failed: 0 });
  });

  it('records each bad document with the reason it failed, and completes every good one', async () => {
    const rows = await harness.db.selectFrom('documents').selectAll().where('subdomain', '=', SITE).execute();
    for (const expected of manifest.documents) {
      const row = rows.find((r) => r.kind === expected.kind && r.meeting_slug === meetingSlug(expected.meeting) && r.meeting_date === expected.date);
      expect(row, expected.description).toBeDefined();
      if (expected.expected === 'failed') {
        expect({ doc: expected.description, status: row!.status, reason: row!.failure_reason }).toEqual({
          doc: expected.description,
          status: 'failed',
          reason: expected.expectedReason,
        });
        expect(row!.error).toContain(`${expected.date}.pdf`);
      } else {
        expect({ doc: expected.description, status: row!.status, pages: row!.page_count }).toEqual({
          doc: expected.description,
          status: 'done',
          pages: expected.pageCount,
        });
      }
    }
  });

  it('reads the duplicate document once and reuses its text for the copy', async () => {
    const duplicates = manifest.documents.filter((d) => d.defect === 'duplicate');
    expect(duplicates.length).toBeGreaterThanOrEqual(1);
    const jobs = await harness.db.selectFrom('job_tracking').select('job_type').where('subdomain', '=', SITE).where('job_type', '=', 'ocrPage').execute();
    const ocrPages = await harness.db.selectFrom('pages').select('source').where('subdomain', '=', SITE).where('source', '=', 'ocr').execute();
    // Every OCR'd page was OCR'd once at most: copies reuse text instead of running OCR again.
    expect(jobs.length).toBeLessThanOrEqual(ocrPages.length);
  });

  it('keeps every count in exact agreement with the pages table', async () => {
    await expectExactAccounting(harness.db, harness.client, SITE, status, runId);
  });
});
