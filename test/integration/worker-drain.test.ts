import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { enqueueSite } from '../../src/temporal/site-runs.js';
import type { siteWorkflow } from '../../src/workflows/site.js';
import type { SiteStatus } from '../../src/workflows/types.js';
import { expectExactAccounting } from '../support/accounting.js';
import { createHarness, type Harness } from '../support/harness.js';
import { serveScannedSite } from '../support/scanned-site.js';
import { runningOcrJobIds, startWorkersWithOcrProcess, waitFor } from '../support/ocr-run.js';
import type { WorkerProcess } from '../support/worker-process.js';

const SITE = 'draining.ca';

describe('an OCR worker process stopped with SIGTERM mid-run', () => {
  let harness: Harness;
  let ocrWorker: WorkerProcess;
  let site: { close(): Promise<void> };
  let inFlightAtSigterm: string[] = [];
  let exit: Awaited<ReturnType<WorkerProcess['stop']>>;
  let outputAtExit: string;
  let status: SiteStatus;
  let runId: string;

  beforeAll(async () => {
    harness = await createHarness('drain');
    site = await serveScannedSite(harness, SITE, { documents: 2, pagesPerDocument: 3 });
    ocrWorker = await startWorkersWithOcrProcess(harness);

    const run = await enqueueSite(harness.client, harness.config, SITE);
    runId = run.runId;
    await waitFor(async () => {
      inFlightAtSigterm = await runningOcrJobIds(harness);
      return inFlightAtSigterm.length > 0;
    }, 'OCR under way');
    exit = await ocrWorker.stop();
    outputAtExit = ocrWorker.output;
    await ocrWorker.restart();
    status = await harness.client.workflow.getHandle<typeof siteWorkflow>(run.workflowId, run.runId).result();
  });

  afterAll(async () => {
    await ocrWorker?.stop();
    await site?.close();
    await harness?.close();
  });

  it('exits cleanly once its in-flight pages are finished', () => {
    expect(exit).toEqual({ code: 0, signal: null });
    expect(outputAtExit).toContain('worker ocr drained and stopped');
  });

  it('lets every page that was in flight at SIGTERM finish on the stopping worker, so none is lost or run again', async () => {
    expect(inFlightAtSigterm.length).toBeGreaterThan(0);
    const jobs = await harness.db.selectFrom('job_tracking').select(['job_id', 'status', 'activity_id', 'workflow_id']).where('subdomain', '=', SITE).execute();
    for (const jobId of inFlightAtSigterm) expect(jobs.find((j) => j.job_id === jobId)?.status).toBe('succeeded');
    expect(jobs.filter((j) => j.status === 'lost')).toEqual([]);
    const attemptsPerActivity = new Map<string, number>();
    for (const job of jobs) attemptsPerActivity.set(`${job.workflow_id}|${job.activity_id}`, (attemptsPerActivity.get(`${job.workflow_id}|${job.activity_id}`) ?? 0) + 1);
    expect([...attemptsPerActivity.values()].every((n) => n === 1)).toBe(true);
  });

  it('completes the site on the restarted worker with every count exact', async () => {
    expect(status.stage).toBe('completed');
    expect(status.pages).toEqual({ total: 6, done: 6, failed: 0 });
    await expectExactAccounting(harness.db, harness.client, SITE, status, runId);
  });
});
