import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { enqueueSite } from '../../src/temporal/site-runs.js';
import type { siteWorkflow } from '../../src/workflows/site.js';
import type { SiteStatus } from '../../src/workflows/types.js';
import { expectExactAccounting } from '../support/accounting.js';
import { createHarness, type Harness } from '../support/harness.js';
import { serveScannedSite } from '../support/scanned-site.js';
import { startWorkerProcess, type WorkerProcess } from '../support/worker-process.js';

const SITE = 'draining.ca';

describe('an OCR worker process stopped with SIGTERM mid-run', () => {
  let harness: Harness;
  let ocrWorker: WorkerProcess;
  let site: { close(): Promise<void> };
  let inFlightAtSigterm: string[];
  let exit: Awaited<ReturnType<WorkerProcess['stop']>>;
  let outputAtExit: string;
  let status: SiteStatus;
  let runId: string;

  beforeAll(async () => {
    harness = await createHarness('drain');
    site = await serveScannedSite(harness, SITE, { documents: 2, pagesPerDocument: 3 });
    await harness.startWorkers(['workflows', 'fetch', 'extraction', 'deploy']);
    ocrWorker = await startWorkerProcess('ocr', { ...harness.env, CLERK_OCR_CONCURRENCY: '2' });

    const run = await enqueueSite(harness.client, harness.config, SITE);
    runId = run.runId;
    inFlightAtSigterm = await waitForRunningOcrJobs(harness);
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

/** The job ids of the OCR page attempts running once OCR is under way. */
async function waitForRunningOcrJobs(harness: Harness): Promise<string[]> {
  for (let polls = 0; polls < 2_400; polls++) {
    const running = await harness.db
      .selectFrom('job_tracking')
      .select('job_id')
      .where('subdomain', '=', SITE)
      .where('job_type', '=', 'ocrPage')
      .where('status', '=', 'running')
      .execute();
    if (running.length > 0) return running.map((r) => r.job_id);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  throw new Error('OCR never started');
}
