import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { workerTypes } from '../../src/activities/index.js';
import { describeRun, enqueueSite } from '../../src/temporal/site-runs.js';
import type { siteWorkflow } from '../../src/workflows/site.js';
import type { SiteStatus } from '../../src/workflows/types.js';
import { expectExactAccounting } from '../support/accounting.js';
import { chaosSize, randomBetween, serveChaosSite } from '../support/chaos.js';
import { createHarness, type Harness } from '../support/harness.js';
import { runningOcrJobIds, waitFor } from '../support/ocr-run.js';
import { startWorkerProcess, type WorkerProcess } from '../support/worker-process.js';

const SITE = 'killed-workers.ca';

describe('every worker type killed with SIGKILL at random moments, several times, then restarted', () => {
  let harness: Harness;
  let site: { totalPages: number; close(): Promise<void> };
  let workers: WorkerProcess[];
  let status: SiteStatus;
  let runId: string;
  const killLog: string[] = [];

  beforeAll(async () => {
    harness = await createHarness('kills');
    site = await serveChaosSite(harness, SITE);
    workers = await Promise.all(workerTypes.map((type) => startWorkerProcess(type, { ...harness.env, CLERK_OCR_CONCURRENCY: '2' })));
    const run = await enqueueSite(harness.client, harness.config, SITE);
    runId = run.runId;

    // OCR first, once pages are in flight: its retries take a heartbeat timeout, which leaves the
    // run long enough for every other type to be killed too, in a random order; then random types.
    await waitFor(async () => (await runningOcrJobIds(harness)).length > 0, 'OCR under way');
    const others = workers.filter((w) => w.type !== 'ocr').sort(() => Math.random() - 0.5);
    const order = [workers.find((w) => w.type === 'ocr')!, ...others];
    for (let kill = 0; kill < chaosSize().workerKills; kill++) {
      if ((await describeRun(harness.client, run.workflowId))?.status !== 'RUNNING') break;
      const victim = order[kill] ?? workers[Math.floor(Math.random() * workers.length)]!;
      await victim.kill();
      killLog.push(victim.type);
      await victim.restart();
      // Every type is killed within a few seconds of the first kill, while OCR is still in flight,
      // so a run that goes faster (counters by delta) still meets all of them; then longer gaps.
      await (kill < workerTypes.length ? randomBetween(200, 1_000) : randomBetween(300, 3_000));
    }
    status = await harness.client.workflow.getHandle<typeof siteWorkflow>(run.workflowId, run.runId).result();
  });

  afterAll(async () => {
    await Promise.all((workers ?? []).map((w) => w.stop()));
    await site?.close();
    await harness?.close();
    console.log(`worker kills injected: ${killLog.length} (${killLog.join(', ')})`);
  });

  it('completes the site with every page done', () => {
    expect(new Set(killLog)).toEqual(new Set(workerTypes));
    expect(status.stage).toBe('completed');
    expect(status.pages).toEqual({ total: site.totalPages, done: site.totalPages, failed: 0 });
  });

  it('keeps pages, site_progress, job_tracking and the status query in exact agreement, with no duplicates', async () => {
    await expectExactAccounting(harness.db, harness.client, SITE, status, runId);
  });
});
