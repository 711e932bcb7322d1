import type { Db } from '../src/db/connect.js';
import { collectHistories } from '../src/temporal/histories.js';
import { defaultFanOutLimits, type SiteStatus } from '../src/workflows/types.js';
import type { BenchOutcome, Log } from './run.js';
import { startBenchStack, trackPeakRss } from './support/bench-stack.js';
import { cachedCorpus, removeAtExit, runSite, serveCorpusSite, withCleanup, type CorpusShape } from './support/corpus.js';
import { pipelineStageMetrics, round } from './support/metrics.js';

const SUBDOMAIN = 'scale-bench.example';
/** Temporal warns at this many events in one history (and fails a workflow at 51,200). */
const HISTORY_WARN_EVENTS = 10_240;

/** 50 pages a document (20,000 -> 400 x 50, 2,000 -> 40 x 50): few files, so generation is fast. */
export function scaleShape(pages: number): CorpusShape {
  const perDocument = Math.min(50, pages);
  return { documents: Math.ceil(pages / perDocument), pagesPerDocument: perDocument };
}

/**
 * (c) Scale. One text-layer site of (by default) 20,000 pages through the whole pipeline with the
 * default FanOutLimits. Reports the largest history of any run (site runs, continued-as-new runs,
 * document and page-batch children), how many runs there were, the bench process's peak RSS (it
 * hosts every worker) and the wall time; then checks the accounting: every page done in the pages
 * table, and site_progress and the workflow's status agreeing with it.
 */
export async function scale(options: { pages: number; log: Log }): Promise<BenchOutcome> {
  const { log } = options;
  const shape = scaleShape(options.pages);
  const corpus = await cachedCorpus('text', shape, log);
  log(`scale: ${corpus.totalPages} text-layer pages (${shape.documents} x ${shape.pagesPerDocument})${corpus.cached ? ', cached corpus' : `, generated in ${corpus.generatedSeconds.toFixed(1)} s`}`);

  return withCleanup(async (defer) => {
    const rss = trackPeakRss();
    const rssBefore = process.memoryUsage().rss;
    // Default FanOutLimits (no `limits` passed to enqueue) and default OCR concurrency.
    const stack = await startBenchStack();
    removeAtExit(stack.root);
    defer(() => stack.close());
    const site = await serveCorpusSite(stack, corpus, SUBDOMAIN);
    defer(() => site.server.close());

    log('scale: pipeline');
    const run = await runSite(stack, SUBDOMAIN);
    const peakRss = rss.stop();
    log(`scale: pipeline ${run.wallSeconds.toFixed(1)} s; collecting histories`);

    const histories = await collectHistories(stack.client, run.workflowId, run.runId);
    const runsByType: Record<string, number> = {};
    let largest = { events: 0, workflowId: '', workflowType: '' };
    for (const h of histories) {
      runsByType[h.workflowType] = (runsByType[h.workflowType] ?? 0) + 1;
      const events = h.history.events?.length ?? 0;
      if (events > largest.events) largest = { events, workflowId: h.workflowId, workflowType: h.workflowType };
    }

    const problems = await verifyAccounting(stack.db, corpus.totalPages, corpus.documents.length, run.status);

    return {
      benchmark: 'scale',
      sizes: { pages: corpus.totalPages, documents: shape.documents, pagesPerDocument: shape.pagesPerDocument },
      metrics: {
        wallSeconds: round(run.wallSeconds),
        pagesPerSecond: round(corpus.totalPages / run.wallSeconds),
        maxHistoryEvents: largest.events,
        maxHistoryWorkflow: `${largest.workflowType} ${largest.workflowId}`,
        workflowRuns: histories.length,
        siteWorkflowRuns: runsByType.siteWorkflow ?? 0,
        documentWorkflowRuns: runsByType.documentWorkflow ?? 0,
        pageBatchWorkflowRuns: runsByType.pageBatchWorkflow ?? 0,
        peakRssMiB: round(peakRss / 2 ** 20, 0),
        rssBeforeStackMiB: round(rssBefore / 2 ** 20, 0),
        ...(await pipelineStageMetrics(stack.db, SUBDOMAIN, run.wallSeconds)),
        accountingVerified: problems.length === 0,
      },
      ok: problems.length === 0,
      notes: [
        `default FanOutLimits: ${JSON.stringify(defaultFanOutLimits)}`,
        `largest history ${largest.events} events (${round((100 * largest.events) / HISTORY_WARN_EVENTS, 0)}% of Temporal's ${HISTORY_WARN_EVENTS}-event warning)`,
        ...problems.map((p) => `ACCOUNTING: ${p}`),
      ],
    };
  });
}

/** Every page done, and site_progress and the workflow's status matching the pages table. */
async function verifyAccounting(db: Db, totalPages: number, totalDocuments: number, status: SiteStatus): Promise<string[]> {
  const problems: string[] = [];
  const byStatus = await db
    .selectFrom('pages')
    .select(['status', (eb) => eb.fn.countAll<number>().as('count')])
    .where('subdomain', '=', SUBDOMAIN)
    .groupBy('status')
    .execute();
  const pages = { total: 0, done: 0, failed: 0 };
  for (const row of byStatus) {
    const n = Number(row.count);
    pages.total += n;
    if (row.status === 'done') pages.done += n;
    if (row.status === 'failed') pages.failed += n;
  }
  if (pages.total !== totalPages || pages.done !== totalPages) problems.push(`pages table has ${JSON.stringify(pages)}, expected all ${totalPages} done`);
  const documents = await db
    .selectFrom('documents')
    .select(['status', (eb) => eb.fn.countAll<number>().as('count')])
    .where('subdomain', '=', SUBDOMAIN)
    .groupBy('status')
    .execute();
  const documentsDone = Number(documents.find((d) => d.status === 'done')?.count ?? 0);
  if (documentsDone !== totalDocuments) problems.push(`documents done ${documentsDone}, expected ${totalDocuments}`);

  const progress = await db.selectFrom('site_progress').selectAll().where('subdomain', '=', SUBDOMAIN).executeTakeFirst();
  if (!progress) problems.push('no site_progress row');
  else {
    const recorded = { total: progress.pages_total, done: progress.pages_done, failed: progress.pages_failed };
    if (JSON.stringify(recorded) !== JSON.stringify(pages)) problems.push(`site_progress pages ${JSON.stringify(recorded)} != pages table ${JSON.stringify(pages)}`);
    if (progress.documents_done !== documentsDone || progress.documents_total !== totalDocuments) {
      problems.push(`site_progress documents ${progress.documents_done}/${progress.documents_total}, expected ${totalDocuments}`);
    }
    if (progress.current_stage !== 'completed') problems.push(`site_progress stage is ${progress.current_stage}`);
  }
  if (JSON.stringify(status.pages) !== JSON.stringify(pages)) problems.push(`workflow status pages ${JSON.stringify(status.pages)} != pages table ${JSON.stringify(pages)}`);
  if (status.stage !== 'completed' || status.deployed !== 'full') problems.push(`workflow ended ${status.stage}, deployed ${status.deployed}`);
  return problems;
}

