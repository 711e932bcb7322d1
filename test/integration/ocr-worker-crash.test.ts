import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { enqueueSite } from '../../src/temporal/site-runs.js';
import type { siteWorkflow } from '../../src/workflows/site.js';
import type { SiteStatus } from '../../src/workflows/types.js';
import { expectExactAccounting } from '../support/accounting.js';
import { createHarness, type Harness } from '../support/harness.js';
import { serveScannedSite } from '../support/scanned-site.js';
import { runningOcrJobIds, startWorkersWithOcrProcess, waitFor } from '../support/ocr-run.js';
import type { WorkerProcess } from '../support/worker-process.js';

const SITE = 'scanville.ca';
const KILLS = 2;

describe('an OCR worker process killed with SIGKILL mid-run, then restarted', () => {
  let harness: Harness;
  let ocrWorker: WorkerProcess;
  let site: { totalPages: number; close(): Promise<void> };
  let status: SiteStatus;
  let runId: string;

  beforeAll(async () => {
    harness = await createHarness('ocrcrash');
    site = await serveScannedSite(harness, SITE, { documents: 4, pagesPerDocument: 3 });
    ocrWorker = await startWorkersWithOcrProcess(harness);

    const run = await enqueueSite(harness.client, harness.config, SITE);
    runId = run.runId;
    for (let kill = 0; kill < KILLS; kill++) {
      // Kill once OCR is under way: some pages are done and others are in flight.
      await waitFor(async () => (await countPages(harness, 'done')) >= 1 + kill * 3 && (await runningOcrJobIds(harness)).length > 0, 'OCR under way');
      await ocrWorker.kill();
      await ocrWorker.restart();
    }
    status = await harness.client.workflow.getHandle<typeof siteWorkflow>(run.workflowId, run.runId).result();
  });

  afterAll(async () => {
    await ocrWorker?.stop();
    await site?.close();
    await harness?.close();
  });

  it('still completes the site with every page done', async () => {
    expect(ocrWorker.kills).toBe(KILLS);
    expect(status.stage).toBe('completed');
    expect(status.pages).toEqual({ total: site.totalPages, done: site.totalPages, failed: 0 });
  });

  it('keeps the pages table, site_progress, the status query and job_tracking in exact agreement', async () => {
    await expectExactAccounting(harness.db, harness.client, SITE, status, runId);
  });

  it('marks the attempts that died with the worker as lost, and retried them', async () => {
    const lost = await harness.db.selectFrom('job_tracking').selectAll().where('subdomain', '=', SITE).where('status', '=', 'lost').execute();
    expect(lost.length).toBeGreaterThanOrEqual(1);
    for (const job of lost) {
      const retried = await harness.db
        .selectFrom('job_tracking')
        .select('status')
        .where('workflow_id', '=', job.workflow_id)
        .where('activity_id', '=', job.activity_id)
        .where('attempt', '>', job.attempt)
        .execute();
      expect(retried.map((r) => r.status)).toContain('succeeded');
    }
  });
});

async function countPages(harness: Harness, status: 'done' | 'failed'): Promise<number> {
  const row = await harness.db.selectFrom('pages').select((eb) => eb.fn.countAll<number>().as('n')).where('status', '=', status).executeTakeFirstOrThrow();
  return Number(row.n);
}
