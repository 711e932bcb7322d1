import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { searchArchive } from '../../src/archive/compile.js';
import { writeSampleSite, type SampleSiteManifest } from '../../src/samples/sample-site.js';
import { serveDirectory } from '../../src/samples/static-server.js';
import { saveSite } from '../../src/sites/repository.js';
import { enqueueSite } from '../../src/temporal/site-runs.js';
import type { siteWorkflow } from '../../src/workflows/site.js';
import type { SiteStatus } from '../../src/workflows/types.js';
import { createHarness, type Harness } from '../support/harness.js';

const SITE = 'npm-only.ca';

/** A user's fresh machine may have neither tesseract nor poppler: npm packages alone must do. */
describe('the sample site with only npm tools: pdf.js rendering and tesseract.js OCR', () => {
  let harness: Harness;
  let manifest: SampleSiteManifest;
  let server: { url: string; close(): Promise<void> };
  let status: SiteStatus;

  beforeAll(async () => {
    harness = await createHarness('npmonly', { CLERK_OCR_ENGINE: 'tesseract.js', CLERK_PDF_RENDERER: 'pdfjs' });
    const siteDir = path.join(harness.dataDir, 'site');
    manifest = await writeSampleSite(siteDir, { subdomain: SITE });
    server = await serveDirectory(siteDir);
    await saveSite(harness.db, { subdomain: SITE, name: 'npm only', fetcher: 'http-index', sourceUrl: `${server.url}/index.html` });
    await harness.startWorkers();
    const run = await enqueueSite(harness.client, harness.config, SITE);
    status = await harness.client.workflow.getHandle<typeof siteWorkflow>(run.workflowId, run.runId).result();
  });

  afterAll(async () => {
    await server?.close();
    await harness?.close();
  });

  it('OCRs the scanned pages with tesseract.js and finds the OCR-only word in the deployed archive', async () => {
    expect(status.stage).toBe('completed');
    expect(status.pages).toEqual({ total: manifest.totalPages, done: manifest.totalPages, failed: 0 });
    const engines = await harness.db.selectFrom('pages').select('ocr_engine').where('subdomain', '=', SITE).where('source', '=', 'ocr').execute();
    expect(engines.map((e) => e.ocr_engine)).toEqual(Array(manifest.scannedPages).fill('tesseract.js'));
    const deployment = await harness.db.selectFrom('deployments').select('path').where('subdomain', '=', SITE).executeTakeFirstOrThrow();
    expect(searchArchive(deployment.path, manifest.ocrOnlyWord).length).toBeGreaterThan(0);
  });
});
