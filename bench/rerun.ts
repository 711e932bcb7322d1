import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { sql } from 'kysely';
import type { FetchReport } from '../src/activities/fetch.js';
import type { Db } from '../src/db/connect.js';
import { DEFAULT_LOOKBACK_DAYS } from '../src/fetchers/site-settings.js';
import { documentPath, renderIndexPage } from '../src/samples/sample-site.js';
import { serveDirectory } from '../src/samples/static-server.js';
import { saveSite } from '../src/sites/repository.js';
import { fetchReportOf } from '../src/temporal/histories.js';
import type { BenchOutcome, Log } from './run.js';
import { startBenchStack, type BenchStack } from './support/bench-stack.js';
import { cachedCorpus, coveredMs, removeAtExit, runSite, shapeOfPages, withCleanup, type Corpus, type CorpusDocument, type CorpusShape, type SiteRun } from './support/corpus.js';
import { round } from './support/metrics.js';

const SUBDOMAIN = 'rerun-bench.example';
const PAGES_PER_TEXT_DOCUMENT = 10;
/** The scanned part stays small whatever --pages says: OCR is what the first run pays for, not what this measures. */
const SCANNED_SHAPE: CorpusShape = { documents: 2, pagesPerDocument: 3 };
const TARGET_RATIO = 0.05;

/** The activities that read or publish the site (a re-run fetches in its listing check); the rest (enterStage, keepArchiveIfCurrent, finishRun...) are bookkeeping. */
const WORK_ACTIVITIES = ['fetchSiteIfNothingToDownload', 'fetchSite', 'readTextLayer', 'ocrPage', 'extractEntities', 'compileArchive', 'deployArchive'];

/**
 * Incremental re-run (issue 17, item 3). A mixed site (text-layer documents and a few scanned
 * ones) is run once, then enqueued again unchanged. Ratio: the re-run's wall time over the first
 * run's, both enqueue to the site workflow's result. The re-run should read nothing: its OCR and
 * text-layer calls are counted from its own job_tracking rows, and the time of every activity it
 * still ran is reported, so a reader sees where a re-run's time goes.
 */
export async function rerun(options: { pages: number; log: Log }): Promise<BenchOutcome> {
  const { log } = options;
  const nproc = os.availableParallelism();
  const textShape = shapeOfPages(options.pages, PAGES_PER_TEXT_DOCUMENT);
  const text = await cachedCorpus('text', textShape, log);
  const scanned = await cachedCorpus('scanned', SCANNED_SHAPE, log);
  const totalPages = text.totalPages + scanned.totalPages;
  log(`rerun: ${text.totalPages} text-layer pages (${textShape.documents} x ${textShape.pagesPerDocument}) and ${scanned.totalPages} scanned (${SCANNED_SHAPE.documents} x ${SCANNED_SHAPE.pagesPerDocument})`);

  return withCleanup(async (defer) => {
    const siteDir = await fs.mkdtemp(path.join(os.tmpdir(), 'clerk-bench-rerun-site-'));
    const forgetSiteDir = removeAtExit(siteDir);
    defer(async () => {
      await fs.rm(siteDir, { recursive: true, force: true });
      forgetSiteDir();
    });
    const oldestDaysBack = await writeMixedSite(siteDir, text, scanned);

    const stack = await startBenchStack({ CLERK_OCR_CONCURRENCY: String(nproc) });
    removeAtExit(stack.root);
    defer(() => stack.close());
    const server = await serveDirectory(siteDir);
    defer(() => server.close());
    // A look-back that reaches the oldest document (and a week more), so the re-run lists them all.
    const settings = { lookback_days: String(Math.max(DEFAULT_LOOKBACK_DAYS, oldestDaysBack + 7)) };
    await saveSite(stack.db, { subdomain: SUBDOMAIN, name: 'Benchmark mixed site', fetcher: 'http-index', sourceUrl: `${server.url}/index.html`, settings });

    log('rerun: first run');
    const first = await runSite(stack, SUBDOMAIN);
    log(`rerun: first run ${first.wallSeconds.toFixed(2)} s (${first.status.stage}); re-run of the unchanged site`);
    const second = await runSite(stack, SUBDOMAIN);
    log(`rerun: re-run ${second.wallSeconds.toFixed(2)} s (${second.status.stage})`);

    const firstJobs = await jobsOfRun(stack.db, first);
    const secondJobs = await jobsOfRun(stack.db, second);
    const calls = (jobs: RunJobs, jobType: string) => jobs.byType.get(jobType)?.calls ?? 0;
    const refetch = await fetchReportOfRun(stack, second);

    const failures: string[] = [];
    for (const [name, run] of [['first run', first], ['re-run', second]] as const) {
      const { stage, pages } = run.status;
      if (stage !== 'completed') failures.push(`the ${name} ended in stage ${stage}: ${run.status.error ?? 'no error recorded'}`);
      if (pages.total !== totalPages || pages.done !== totalPages) failures.push(`the ${name} counted ${pages.done} of ${pages.total} pages done; the corpus has ${totalPages}`);
    }
    if (calls(secondJobs, 'ocrPage') !== 0) failures.push(`the re-run made ${calls(secondJobs, 'ocrPage')} OCR page calls; an unchanged site needs none`);
    // Otherwise the re-run skipped the listing and measured less than a re-run of this site costs.
    const documentCount = text.documents.length + scanned.documents.length;
    if (refetch?.listed !== documentCount) failures.push(`the re-run's fetch listed ${refetch?.listed ?? 'no'} documents; the site has ${documentCount}`);
    if (refetch && refetch.downloaded > 0) failures.push(`the re-run downloaded ${refetch.downloaded} unchanged documents again`);

    const ratio = second.wallSeconds / first.wallSeconds;
    const stagesRun = WORK_ACTIVITIES.filter((jobType) => secondJobs.byType.has(jobType));
    const stageMetrics: Record<string, number> = {};
    for (const [jobType, times] of secondJobs.byType) {
      stageMetrics[`rerun.calls.${jobType}`] = times.calls;
      stageMetrics[`rerun.seconds.${jobType}`] = round(times.busySeconds, 3);
    }

    const notes = [
      'rerun.seconds.X: the durations of the executions of activity X in the re-run added up (job_tracking rows of its workflow run and child workflows); rerun.idleSeconds: re-run wall time with no activity executing',
      'the first run includes the cold start of the text-layer and OCR subprocesses and of the extraction threads; the re-run is on a warm stack',
      ...failures,
    ];
    if (ratio > TARGET_RATIO) {
      const ran = stagesRun.map((jobType) => {
        const times = secondJobs.byType.get(jobType)!;
        return `${jobType} ${times.calls}x ${round(times.busySeconds)} s`;
      });
      notes.push(
        `ratio missed: the unchanged re-run took ${round(second.wallSeconds)} s and still ran ${ran.join(', ') || 'no reading or publishing activity'}; ` +
          `${round(secondJobs.idleSeconds)} s had no activity executing (workflow tasks, bookkeeping round trips)`,
      );
    }

    return {
      benchmark: 'rerun',
      sizes: {
        pages: totalPages,
        textPages: text.totalPages,
        textDocuments: textShape.documents,
        scannedPages: scanned.totalPages,
        scannedDocuments: SCANNED_SHAPE.documents,
        parallelism: nproc,
      },
      metrics: {
        firstRunSeconds: round(first.wallSeconds),
        rerunSeconds: round(second.wallSeconds, 3),
        'first.ocrPageCalls': calls(firstJobs, 'ocrPage'),
        'first.textLayerCalls': calls(firstJobs, 'readTextLayer'),
        'rerun.ocrPageCalls': calls(secondJobs, 'ocrPage'),
        'rerun.textLayerCalls': calls(secondJobs, 'readTextLayer'),
        'rerun.fetch.listed': refetch?.listed ?? null,
        'rerun.fetch.downloaded': refetch?.downloaded ?? null,
        'rerun.fetch.unchanged': refetch?.unchanged ?? null,
        'rerun.stagesRun': stagesRun.join(' ') || 'none',
        ...stageMetrics,
        'rerun.activityCount': secondJobs.activityCount,
        'rerun.idleSeconds': round(secondJobs.idleSeconds, 3),
      },
      ratio: {
        value: round(ratio, 3),
        target: `<= ${TARGET_RATIO}`,
        meets: ratio <= TARGET_RATIO,
        definition: 're-run wall time / first run wall time, each enqueue -> site workflow result, same unchanged site',
      },
      ok: failures.length === 0,
      notes,
    };
  });
}

/**
 * One site folder of both corpora, every document re-dated to one of the last days before today
 * (the newest first). The corpora's own dates are in 2012 and repeat between the two; an
 * incremental fetch asks only for meetings inside the site's look-back, so with those dates the
 * re-run would list nothing, and what it costs to check each known document would go unmeasured.
 * Returns the days back the oldest document is, for the site's look-back.
 */
export async function writeMixedSite(dir: string, text: Corpus, scanned: Corpus): Promise<number> {
  const documents: CorpusDocument[] = [];
  const today = new Date();
  const copy = async (corpus: Corpus, document: CorpusDocument) => {
    const date = new Date(Date.UTC(today.getUTCFullYear(), today.getUTCMonth(), today.getUTCDate() - 1 - documents.length));
    const listing = { ...document, date: date.toISOString().slice(0, 10) };
    const withPath = { ...listing, path: documentPath(listing) };
    const target = path.join(dir, ...withPath.path.split('/'));
    await fs.mkdir(path.dirname(target), { recursive: true });
    await fs.copyFile(path.join(corpus.dir, ...document.path.split('/')), target);
    documents.push(withPath);
  };
  for (const document of text.documents) await copy(text, document);
  for (const document of scanned.documents) await copy(scanned, document);
  await fs.writeFile(path.join(dir, 'index.html'), renderIndexPage('City of Benchmark Bay', documents));
  return documents.length;
}

interface JobTypeTimes {
  calls: number;
  /** The executions' durations added up, in seconds (two at once count twice). */
  busySeconds: number;
}

interface RunJobs {
  /** In order of first start. */
  byType: Map<string, JobTypeTimes>;
  activityCount: number;
  /** The run's wall time during which no activity was executing. */
  idleSeconds: number;
}

/**
 * The job_tracking rows of one site run: its own (workflow and run id) and its child workflows'
 * (ids under the site workflow's, started after the run was enqueued; every run of a site reuses
 * the same child ids, and the benchmark's runs never overlap).
 */
async function jobsOfRun(db: Db, run: SiteRun): Promise<RunJobs> {
  const rows = await db
    .selectFrom('job_tracking')
    .select(['job_type', 'started_at', 'finished_at'])
    .where('subdomain', '=', SUBDOMAIN)
    .where((eb) =>
      eb.or([
        eb.and([eb('workflow_id', '=', run.workflowId), eb('run_id', '=', run.runId)]),
        eb.and([sql<boolean>`starts_with(workflow_id, ${`${run.workflowId}/`})`, eb('started_at', '>=', run.startedAt)]),
      ]),
    )
    .orderBy('started_at')
    .orderBy('id')
    .execute();

  const byType = new Map<string, JobTypeTimes>();
  const intervals = rows.map((row) => ({ start: row.started_at.getTime(), end: (row.finished_at ?? run.finishedAt).getTime() }));
  rows.forEach((row, i) => {
    const times = byType.get(row.job_type) ?? { calls: 0, busySeconds: 0 };
    times.calls++;
    times.busySeconds += (intervals[i]!.end - intervals[i]!.start) / 1000;
    byType.set(row.job_type, times);
  });
  const covered = coveredMs(intervals);
  return {
    byType,
    activityCount: rows.length,
    idleSeconds: Math.max(0, run.wallSeconds - covered / 1000),
  };
}

/** What the run's fetch reported (listed, downloaded, unchanged...), read from its workflow history. */
async function fetchReportOfRun(stack: BenchStack, run: SiteRun): Promise<FetchReport | undefined> {
  return fetchReportOf(await stack.client.workflow.getHandle(run.workflowId, run.runId).fetchHistory());
}
