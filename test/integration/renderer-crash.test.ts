import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { enqueueSite } from '../../src/temporal/site-runs.js';
import type { siteWorkflow } from '../../src/workflows/site.js';
import type { SiteStatus } from '../../src/workflows/types.js';
import { expectExactAccounting } from '../support/accounting.js';
import { createHarness, type Harness } from '../support/harness.js';
import { serveScannedSite } from '../support/scanned-site.js';
import { startWorkersWithOcrProcess } from '../support/ocr-run.js';
import type { WorkerProcess } from '../support/worker-process.js';

const SITE = 'segfaulting.ca';
/** The second document of the scanned site: the one whose pages crash the renderer. */
const CRASHING_DATE = '2025-02-01';
const realPdftoppm = spawnSync('sh', ['-c', 'command -v pdftoppm'], { encoding: 'utf8' }).stdout.trim();

/**
 * No known PDF crashes poppler 22, so the renderer is made to crash for real: a `pdftoppm` ahead of
 * the real one on the OCR worker's PATH dies of SIGSEGV when handed one document's file, and runs
 * the real pdftoppm for every other.
 */
describe.skipIf(!realPdftoppm)('a renderer that segfaults on one document, inside a real OCR worker process', () => {
  let harness: Harness;
  let ocrWorker: WorkerProcess;
  let ocrWorkerPid: number | undefined;
  let site: { close(): Promise<void> };
  let status: SiteStatus;
  let runId: string;

  beforeAll(async () => {
    harness = await createHarness('rendercrash');
    site = await serveScannedSite(harness, SITE, { documents: 3, pagesPerDocument: 2 });

    const binDir = path.join(harness.dataDir, 'crashing-bin');
    fs.mkdirSync(binDir);
    fs.writeFileSync(
      path.join(binDir, 'pdftoppm'),
      `#!/bin/sh\ncase "$*" in *${CRASHING_DATE}.pdf*) kill -SEGV $$ ;; esac\nexec ${realPdftoppm} "$@"\n`,
      { mode: 0o755 },
    );
    ocrWorker = await startWorkersWithOcrProcess(harness, { PATH: `${binDir}:${process.env.PATH ?? ''}`, CLERK_PDF_RENDERER: 'pdftoppm' });
    ocrWorkerPid = ocrWorker.pid;

    const run = await enqueueSite(harness.client, harness.config, SITE);
    runId = run.runId;
    status = await harness.client.workflow.getHandle<typeof siteWorkflow>(run.workflowId, run.runId).result();
  });

  afterAll(async () => {
    await ocrWorker?.stop();
    await site?.close();
    await harness?.close();
  });

  it('fails the crashing pages with renderer-crashed after one attempt each, and reads every other page', async () => {
    const pages = await harness.db
      .selectFrom('pages')
      .innerJoin('documents', 'documents.id', 'pages.document_id')
      .select(['documents.meeting_date', 'pages.page_number', 'pages.status', 'pages.failure_reason', 'pages.error'])
      .where('pages.subdomain', '=', SITE)
      .orderBy('documents.meeting_date')
      .orderBy('pages.page_number')
      .execute();
    expect(pages.map((p) => [p.meeting_date, p.page_number, p.status, p.failure_reason])).toEqual([
      ['2025-01-01', 1, 'done', null],
      ['2025-01-01', 2, 'done', null],
      [CRASHING_DATE, 1, 'failed', 'renderer-crashed'],
      [CRASHING_DATE, 2, 'failed', 'renderer-crashed'],
      ['2025-03-01', 1, 'done', null],
      ['2025-03-01', 2, 'done', null],
    ]);
    for (const page of pages.filter((p) => p.status === 'failed')) expect(page.error).toContain('SIGSEGV');

    const crashedAttempts = await harness.db
      .selectFrom('job_tracking')
      .select('status')
      .where('subdomain', '=', SITE)
      .where('job_type', '=', 'ocrPage')
      .where('status', '=', 'failed')
      .execute();
    expect(crashedAttempts).toHaveLength(2);
  });

  it('keeps the same OCR worker process running throughout', () => {
    expect(ocrWorker.running).toBe(true);
    expect(ocrWorker.pid).toBe(ocrWorkerPid);
    expect(ocrWorker.kills).toBe(0);
  });

  it('finishes the site with the failed pages counted, and every count exact', async () => {
    expect(status.stage).toBe('completed');
    expect(status.pages).toEqual({ total: 6, done: 4, failed: 2 });
    await expectExactAccounting(harness.db, harness.client, SITE, status, runId);
  });
});
