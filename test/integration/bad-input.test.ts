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
    expect(status.pages).toEqual({ total: manifest.okPages, done: manifest.okPages - manifest.failedPages, failed: manifest.failedPages });
  });

  it('fails just the page too big to render, with its reason, and completes the rest of its document', async () => {
    const expected = manifest.documents.find((d) => d.defect === 'giant-page')!;
    const doc = await harness.db
      .selectFrom('documents')
      .selectAll()
      .where('subdomain', '=', SITE)
      .where('kind', '=', expected.kind)
      .where('meeting_slug', '=', meetingSlug(expected.meeting))
      .where('meeting_date', '=', expected.date)
      .executeTakeFirstOrThrow();
    const pages = await harness.db.selectFrom('pages').selectAll().where('document_id', '=', doc.id).orderBy('page_number').execute();

    expect(doc.status).toBe('done');
    expect(pages.map((p) => [p.page_number, p.status, p.source, p.failure_reason, p.width_pt, p.height_pt])).toEqual([
      [1, 'done', 'text-layer', null, 612, 792],
      [2, 'failed', null, 'too-large', 14_400, 14_400],
      [3, 'done', 'text-layer', null, 612, 792],
    ]);
    expect(pages[1]!.error).toMatch(/page 2 is 200\.0 x 200\.0 in.*megapixel render limit/);
    // Refused before rendering: one OCR attempt, not a retry loop over a 1.6 GB image.
    const attempts = await harness.db
      .selectFrom('job_tracking')
      .select('status')
      .where('job_type', '=', 'ocrPage')
      .where('workflow_id', '=', `site/${SITE}/doc/${doc.id}`)
      .execute();
    expect(attempts.map((a) => a.status)).toEqual(['failed']);
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

  it('keeps both listings of a duplicated document, with the same text, and OCRs no page twice', async () => {
    const duplicates = manifest.documents.filter((d) => d.defect === 'duplicate');
    const rows = await harness.db
      .selectFrom('documents')
      .innerJoin('pages', 'pages.document_id', 'documents.id')
      .select(['documents.id', 'documents.status', 'documents.content_sha256', 'pages.text_sha256'])
      .where('documents.subdomain', '=', SITE)
      .where('documents.meeting_slug', 'in', duplicates.map((d) => meetingSlug(d.meeting)))
      .execute();
    expect(new Set(rows.map((r) => r.id)).size).toBe(2);
    expect(rows.every((r) => r.status === 'done')).toBe(true);
    expect(new Set(rows.map((r) => r.content_sha256)).size).toBe(1);
    expect(new Set(rows.map((r) => r.text_sha256)).size).toBe(1);

    const ocrSuccesses = await harness.db
      .selectFrom('job_tracking')
      .select('id')
      .where('subdomain', '=', SITE)
      .where('job_type', '=', 'ocrPage')
      .where('status', '=', 'succeeded')
      .execute();
    const ocrPages = await harness.db.selectFrom('pages').select('page_number').where('subdomain', '=', SITE).where('source', '=', 'ocr').execute();
    expect(ocrSuccesses.length).toBeLessThanOrEqual(ocrPages.length);
  });

  it('keeps every count in exact agreement with the pages table', async () => {
    await expectExactAccounting(harness.db, harness.client, SITE, status, runId);
  });
});
