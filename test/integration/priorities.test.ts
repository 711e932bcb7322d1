import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { JobStatus } from '../../src/db/schema.js';
import { saveSite } from '../../src/sites/repository.js';
import { serveDirectory, type StaticServer } from '../../src/samples/static-server.js';
import { enqueueSite, type Priority } from '../../src/temporal/site-runs.js';
import { collectHistories } from '../../src/temporal/histories.js';
import type { siteWorkflow } from '../../src/workflows/site.js';
import { taskQueuesWithPrefix, type SiteStatus } from '../../src/workflows/types.js';
import { createHarness, type Harness } from '../support/harness.js';
import { waitFor } from '../support/ocr-run.js';
import { writeScannedSite } from '../support/scanned-site.js';

const LOW = 'backlog.ca';
const HIGH = 'urgent.ca';
const LOW_SHAPE = { documents: 2, pagesPerDocument: 4 };
const HIGH_SHAPE = { documents: 1, pagesPerDocument: 2 };
/** `clerk worker ocr --concurrency 1` takes one engine's task plus one that renders its page meanwhile. */
const OCR_SLOTS = 2;

interface OcrJob {
  subdomain: string;
  jobType: string;
  key: string;
  startedAt: Date;
}

/**
 * Priorities on a real dev server (the new matcher, one partition per task queue): a low-priority
 * site leaves OCR pages waiting on the ocr queue with no OCR worker running; a high-priority site
 * enqueued after it must have its pages dispatched first once an OCR worker starts.
 */
describe('priorities: a high-priority site overtakes a low-priority OCR backlog', () => {
  let harness: Harness;
  const servers: StaticServer[] = [];
  let ocrQueue: string;
  let lowBacklogStats: Record<string, number>;
  let bothWaitingStats: Record<string, number>;
  let startedBeforeHigh: Set<string>;
  let jobs: OcrJob[];
  let lowStatus: SiteStatus;
  let highStatus: SiteStatus;
  let runs: Record<string, { workflowId: string; runId: string }>;

  beforeAll(async () => {
    // The shared test server runs as the dev stack does: new matcher, one partition per task queue
    // (priority orders tasks within a partition; src/dev/temporal-server.ts).
    harness = await createHarness('priorities');
    ocrQueue = taskQueuesWithPrefix(harness.config.temporal.taskQueuePrefix).ocr;
    for (const [subdomain, shape] of [
      [LOW, LOW_SHAPE],
      [HIGH, HIGH_SHAPE],
    ] as const) {
      const siteDir = path.join(harness.dataDir, subdomain);
      await writeScannedSite(siteDir, shape);
      const server = await serveDirectory(siteDir);
      servers.push(server);
      await saveSite(harness.db, { subdomain, name: subdomain, fetcher: 'http-index', sourceUrl: `${server.url}/index.html` });
    }
    await harness.startWorkers(['workflows', 'fetch', 'extraction', 'deploy']);

    // 1. The low-priority site reads its text layers (on the ocr queue too), which schedules all of
    //    its OCR pages; the OCR worker is then stopped, leaving those pages waiting.
    const firstOcrWorker = await harness.startWorkers(['ocr'], { CLERK_OCR_CONCURRENCY: '1' });
    const low = await enqueue(LOW, 'low');
    await waitFor(async () => (await countJobs(LOW, 'readTextLayer', 'succeeded')) === LOW_SHAPE.documents, 'low site text layers read');
    await firstOcrWorker.stop();
    startedBeforeHigh = new Set((await ocrJobs()).map((job) => job.key));
    const lowPagesWaiting = LOW_SHAPE.documents * LOW_SHAPE.pagesPerDocument - (await countJobs(LOW, 'ocrPage'));
    await waitFor(async () => (lowBacklogStats = await backlogByPriorityKey())['5'] === lowPagesWaiting, 'low pages waiting on the ocr queue');

    // 2. The high-priority site is enqueued behind that backlog: its text-layer read waits too.
    const high = await enqueue(HIGH, 'high');
    await waitFor(async () => (bothWaitingStats = await backlogByPriorityKey())['1'] === HIGH_SHAPE.documents, 'high site waiting on the ocr queue');

    // 3. One OCR worker with one engine drains the queue; the order it took tasks in is recorded.
    await harness.startWorkers(['ocr'], { CLERK_OCR_CONCURRENCY: '1' });
    runs = { [LOW]: low, [HIGH]: high };
    const result = (run: { workflowId: string; runId: string }) => harness.client.workflow.getHandle<typeof siteWorkflow>(run.workflowId, run.runId).result();
    [lowStatus, highStatus] = await Promise.all([result(low), result(high)]);
    jobs = await ocrJobs();
  });

  afterAll(async () => {
    for (const server of servers) await server.close();
    await harness?.close();
  });

  it('leaves a backlog of low-priority OCR pages, all carrying the site priority key 5', () => {
    expect(lowBacklogStats['5']).toBeGreaterThanOrEqual(OCR_SLOTS + 3);
    expect(Object.keys(lowBacklogStats)).toEqual(['5']);
  });

  it('queues the later high-priority site at priority key 1 beside that backlog', () => {
    expect(bothWaitingStats).toEqual({ '1': HIGH_SHAPE.documents, '5': lowBacklogStats['5'] });
  });

  it('starts the document children with their site priority, and sets none of its own on any activity', async () => {
    for (const [subdomain, key] of [
      [LOW, 5],
      [HIGH, 1],
    ] as const) {
      const site = await harness.client.workflow.getHandle(runs[subdomain]!.workflowId, runs[subdomain]!.runId).describe();
      expect(site.priority?.priorityKey).toBe(key);
      const histories = await collectHistories(harness.client, runs[subdomain]!.workflowId, runs[subdomain]!.runId);
      const children = histories.filter((h) => h.workflowType === 'documentWorkflow');
      expect(children).toHaveLength(subdomain === LOW ? LOW_SHAPE.documents : HIGH_SHAPE.documents);
      for (const child of children) {
        const description = await harness.client.workflow.getHandle(child.workflowId, child.runId).describe();
        expect(description.priority?.priorityKey).toBe(key);
        expect(child.history.events?.[0]?.workflowExecutionStartedEventAttributes?.priority?.priorityKey).toBe(key);
      }
      // ActivityTaskScheduled records only an activity's own override; the server merges the
      // workflow's priority in when it hands the task to matching, as the queue stats above show.
      const scheduled = histories.flatMap((h) => (h.history.events ?? []).flatMap((e) => (e.activityTaskScheduledEventAttributes ? [e.activityTaskScheduledEventAttributes] : [])));
      expect(scheduled.length).toBeGreaterThan(0);
      expect(scheduled.filter((a) => a.priority?.priorityKey)).toEqual([]);
    }
  });

  it('dispatches every high-priority page before the low-priority backlog enqueued ahead of it', () => {
    const afterRestart = jobs.filter((job) => !startedBeforeHigh.has(job.key));
    const highPages = afterRestart.filter((job) => job.subdomain === HIGH && job.jobType === 'ocrPage');
    const lowPages = afterRestart.filter((job) => job.subdomain === LOW && job.jobType === 'ocrPage');
    expect(highPages).toHaveLength(HIGH_SHAPE.documents * HIGH_SHAPE.pagesPerDocument);
    expect(lowPages).toHaveLength(lowBacklogStats['5']!);
    const lastHighStart = Math.max(...highPages.map((job) => job.startedAt.getTime()));
    // Only a slot that found nothing of the high site waiting (its text layer being read, its pages
    // not yet scheduled) may take a low page first: at most one per OCR slot.
    const lowAheadOfHigh = lowPages.filter((job) => job.startedAt.getTime() < lastHighStart);
    expect(lowAheadOfHigh.length).toBeLessThanOrEqual(OCR_SLOTS);
    expect(lowPages.length - lowAheadOfHigh.length).toBeGreaterThanOrEqual(3);
    // The high site's text-layer read, enqueued last, is among the first tasks the worker took.
    const firstTaken = afterRestart.slice(0, OCR_SLOTS);
    expect(firstTaken.some((job) => job.subdomain === HIGH && job.jobType === 'readTextLayer')).toBe(true);
  });

  it('finishes both sites with every page read', () => {
    const pages = (shape: { documents: number; pagesPerDocument: number }) => shape.documents * shape.pagesPerDocument;
    expect(lowStatus).toMatchObject({ stage: 'completed', pages: { total: pages(LOW_SHAPE), done: pages(LOW_SHAPE), failed: 0 } });
    expect(highStatus).toMatchObject({ stage: 'completed', pages: { total: pages(HIGH_SHAPE), done: pages(HIGH_SHAPE), failed: 0 } });
  });

  async function enqueue(subdomain: string, priority: Priority): Promise<{ workflowId: string; runId: string }> {
    return enqueueSite(harness.client, harness.config, subdomain, { priority });
  }

  /** The ocr queue's waiting activity tasks per priority key, across all its partitions. */
  async function backlogByPriorityKey(): Promise<Record<string, number>> {
    const response = await harness.client.workflowService.describeTaskQueue({
      namespace: harness.config.temporal.namespace,
      taskQueue: { name: ocrQueue },
      taskQueueType: 2, // TASK_QUEUE_TYPE_ACTIVITY
      reportStats: true,
    });
    const byKey: Record<string, number> = {};
    for (const [key, stats] of Object.entries(response.statsByPriorityKey ?? {})) {
      const backlog = Number(stats.approximateBacklogCount ?? 0);
      if (backlog > 0) byKey[key] = backlog;
    }
    return byKey;
  }

  async function countJobs(subdomain: string, jobType: string, status?: JobStatus): Promise<number> {
    let query = harness.db
      .selectFrom('job_tracking')
      .select((eb) => eb.fn.countAll<number>().as('n'))
      .where('subdomain', '=', subdomain)
      .where('job_type', '=', jobType);
    if (status) query = query.where('status', '=', status);
    return Number((await query.executeTakeFirstOrThrow()).n);
  }

  /** Every attempt of an ocr-queue activity, in the order the worker started them. */
  async function ocrJobs(): Promise<OcrJob[]> {
    const rows = await harness.db
      .selectFrom('job_tracking')
      .select(['subdomain', 'job_type', 'workflow_id', 'activity_id', 'attempt', 'started_at'])
      .where('task_queue', '=', ocrQueue)
      .orderBy('started_at')
      .orderBy('id')
      .execute();
    return rows.map((row) => ({
      subdomain: row.subdomain,
      jobType: row.job_type,
      key: `${row.workflow_id}|${row.activity_id}#${row.attempt}`,
      startedAt: new Date(row.started_at),
    }));
  }
});
