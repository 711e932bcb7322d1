import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { NativeConnection } from '@temporalio/worker';
import { sql } from 'kysely';
import type { ClerkConfig } from '../src/config/index.js';
import { loadConfig } from '../src/config/index.js';
import type { Db } from '../src/db/connect.js';
import { DEFAULT_LOOKBACK_DAYS } from '../src/fetchers/site-settings.js';
import { serveDirectory } from '../src/samples/static-server.js';
import { saveSite } from '../src/sites/repository.js';
import { enqueueSite } from '../src/temporal/site-runs.js';
import { createWorkers, runWorkers } from '../src/workers/create.js';
import type { siteWorkflow } from '../src/workflows/site.js';
import { startWorkerProcess } from '../test/support/worker-process.js';
import { runPeerSites, startPeerWorkers } from './peer/bullmq-pipeline.js';
import { startThrowawayRedis } from './peer/redis.js';
import { startPeerWorkerProcess } from './peer/worker-process.js';
import { writeMixedSite } from './rerun.js';
import type { BenchOutcome, Log } from './run.js';
import { startBenchStack, type BenchStack } from './support/bench-stack.js';
import { cachedCorpus, removeAtExit, runSite, shapeOfPages, withCleanup } from './support/corpus.js';
import { mean, round } from './support/metrics.js';

const PAGES_PER_TEXT_DOCUMENT = 10;
const PAGES_PER_SCANNED_DOCUMENT = 4;
/** The text-layer-only corpus is this many times the mixed corpus's text pages (40 -> 200). */
const TEXT_ONLY_FACTOR = 5;
const TARGET_RATIO = 1.0;
/** How long the failure case waits for a run to finish after the kill before calling it stuck. */
const KILLED_RUN_CAP_MS = 5 * 60_000;

type Side = 'clerk' | 'bullmq';

/**
 * (j) Peer: BullMQ (issue 17, item 1). The same sites through clerk (Temporal) and through a
 * BullMQ flow on Redis that calls clerk's own activities (bench/peer/bullmq-pipeline.ts), in the
 * same process, on the same Postgres and document store, with the same concurrency per stage.
 * Two corpora: mixed (`pages` text-layer pages and a fifth as many scanned) and text-layer only
 * (5 x `pages`). After one untimed warm-up run each, each side runs each corpus twice, on fresh
 * sites, in the order clerk, BullMQ, BullMQ, clerk, so drift hits both alike. Wall time: enqueue (flow add) to the site's result
 * (parent job completed). Then the failure case, the same fault in both: the process running the
 * OCR queue is SIGKILLed mid-OCR and restarted; does the run finish, and are the counts exact?
 */
export async function peer(options: { pages: number; log: Log }): Promise<BenchOutcome> {
  const { log } = options;
  const nproc = os.availableParallelism();
  const textShape = shapeOfPages(options.pages, PAGES_PER_TEXT_DOCUMENT);
  const scannedShape = shapeOfPages(Math.max(2, Math.ceil(options.pages / 5)), PAGES_PER_SCANNED_DOCUMENT);
  const textOnlyShape = shapeOfPages(options.pages * TEXT_ONLY_FACTOR, PAGES_PER_TEXT_DOCUMENT);
  const mixedText = await cachedCorpus('text', textShape, log);
  const mixedScanned = await cachedCorpus('scanned', scannedShape, log);
  const textOnly = await cachedCorpus('text', textOnlyShape, log);
  const mixedPages = mixedText.totalPages + mixedScanned.totalPages;
  log(`peer: mixed ${mixedText.totalPages} text + ${mixedScanned.totalPages} scanned pages; text-only ${textOnly.totalPages} pages; parallelism ${nproc}`);

  return withCleanup(async (defer) => {
    const mixedDir = await fs.mkdtemp(path.join(os.tmpdir(), 'clerk-bench-peer-site-'));
    const forgetMixedDir = removeAtExit(mixedDir);
    defer(async () => {
      await fs.rm(mixedDir, { recursive: true, force: true });
      forgetMixedDir();
    });
    const oldestDaysBack = await writeMixedSite(mixedDir, mixedText, mixedScanned);
    const stack = await startBenchStack({ CLERK_OCR_CONCURRENCY: String(nproc) });
    removeAtExit(stack.root);
    defer(() => stack.close());
    const redis = await startThrowawayRedis();
    defer(() => redis.stop());
    const deps = { db: stack.db, store: stack.store, config: stack.config };
    const peerWorkers = await startPeerWorkers({ deps, redisUrl: redis.url, prefix: 'peer' });
    defer(() => peerWorkers.close());

    let sites = 0;
    /**
     * A fresh site of one corpus: every run reads everything, as a first run does. Its PDFs are
     * copies made distinct by a comment after the end of file; otherwise clerk's activities would
     * reuse the OCR text of the same bytes read for an earlier site, and nothing would be OCRed.
     */
    const freshSite = async (side: Side, corpus: 'mixed' | 'text'): Promise<string> => {
      const subdomain = `${side}-${corpus}-${++sites}.peer-bench`;
      const siteDir = path.join(mixedDir, '..', `${path.basename(mixedDir)}-${subdomain}`);
      removeAtExit(siteDir);
      await copyWithDistinctPdfs(corpus === 'mixed' ? mixedDir : textOnly.dir, siteDir, subdomain);
      const server = await serveDirectory(siteDir);
      defer(async () => {
        await server.close();
        await fs.rm(siteDir, { recursive: true, force: true });
      });
      const settings = { lookback_days: String(Math.max(DEFAULT_LOOKBACK_DAYS, oldestDaysBack + 7)) };
      await saveSite(stack.db, { subdomain, name: `Benchmark ${corpus} site`, fetcher: 'http-index', sourceUrl: `${server.url}/index.html`, ...(corpus === 'mixed' ? { settings } : {}) });
      return subdomain;
    };
    const clerkFailures: string[] = [];
    const peerFindings: string[] = [];
    /** The timed mixed runs' phases, per side (the warm-up's are left out). */
    const mixedPhases: Record<Side, RunPhases[]> = { clerk: [], bullmq: [] };
    const timeRun = async (side: Side, corpus: 'mixed' | 'text', totalPages: number, options: { phases?: RunPhases[] } = {}): Promise<number> => {
      const subdomain = await freshSite(side, corpus);
      let seconds: number;
      let startedAt: Date;
      if (side === 'clerk') {
        const run = await runSite(stack, subdomain);
        seconds = run.wallSeconds;
        startedAt = run.startedAt;
        if (run.status.stage !== 'completed') clerkFailures.push(`clerk ${subdomain} ended ${run.status.stage}: ${run.status.error ?? ''}`);
        if (run.status.pages.done !== totalPages) clerkFailures.push(`clerk's status for ${subdomain} counted ${run.status.pages.done} of ${totalPages} pages done`);
      } else {
        const run = await runPeerSites({ deps, redisUrl: redis.url, prefix: 'peer', subdomains: [subdomain], startWorkers: false });
        seconds = run.wallSeconds;
        startedAt = run.startedAt;
        const [site] = run.sites;
        if (!site?.ok) peerFindings.push(`BullMQ ${subdomain} failed: ${site?.error ?? 'no result'}`);
        else if (site.status?.pages.done !== totalPages) peerFindings.push(`BullMQ's result for ${subdomain} counted ${site.status?.pages.done} of ${totalPages} pages done`);
      }
      options.phases?.push(await runPhases(stack.db, subdomain, startedAt, seconds));
      const counts = await siteCounts(stack.db, subdomain);
      const problems = countProblems(counts, totalPages).map((problem) => `${side} ${subdomain}: ${problem}`);
      (side === 'clerk' ? clerkFailures : peerFindings).push(...problems);
      log(`peer: ${side} ${corpus} ${seconds.toFixed(2)} s${problems.length ? ` (${problems.join('; ')})` : ''}`);
      return seconds;
    };

    // Untimed (still checked): the first run of each side starts its text-layer and OCR
    // subprocesses and extraction threads, and clerk's first workflow tasks load the bundle.
    log('peer: warm-up, one mixed run each');
    for (const side of ['clerk', 'bullmq'] as const) await timeRun(side, 'mixed', mixedPages);
    const timings: Record<'mixed' | 'text', Record<Side, number[]>> = { mixed: { clerk: [], bullmq: [] }, text: { clerk: [], bullmq: [] } };
    for (const [corpus, totalPages] of [['mixed', mixedPages], ['text', textOnly.totalPages]] as const) {
      for (const side of ['clerk', 'bullmq', 'bullmq', 'clerk'] as const) {
        timings[corpus][side].push(await timeRun(side, corpus, totalPages, corpus === 'mixed' ? { phases: mixedPhases[side] } : {}));
      }
    }
    const ratioOf = (corpus: 'mixed' | 'text') => mean(timings[corpus].clerk) / mean(timings[corpus].bullmq);

    log('peer: failure case, clerk (OCR worker process SIGKILLed mid-OCR, restarted)');
    const killAt: KillPoint = { ocrSlots: nproc + Math.ceil(nproc / 2), scannedPages: mixedScanned.totalPages };
    const clerkKill = await killedClerkRun(stack, await freshSite('clerk', 'mixed'), nproc, killAt, log);
    log('peer: failure case, BullMQ (OCR queue worker process SIGKILLed mid-OCR, restarted)');
    const peerKill = await killedPeerRun(stack, redis.url, await freshSite('bullmq', 'mixed'), nproc, killAt, log);
    for (const [side, outcome] of [['clerk', clerkKill], ['bullmq', peerKill]] as const) {
      const problems = killProblems(outcome, mixedPages).map((problem) => `${side} after the kill: ${problem}`);
      (side === 'clerk' ? clerkFailures : peerFindings).push(...problems);
    }

    const mixedRatio = ratioOf('mixed');
    const killMetrics = (side: Side, outcome: KilledRun) => ({
      [`kill.${side}.finished`]: outcome.finished,
      [`kill.${side}.seconds`]: round(outcome.seconds),
      [`kill.${side}.pagesDone`]: outcome.counts.pagesDone,
      [`kill.${side}.pagesTotal`]: mixedPages,
      [`kill.${side}.progressPagesDone`]: outcome.counts.progressDone,
      [`kill.${side}.progressOverCount`]: outcome.counts.progressDone - outcome.counts.pagesDone,
      [`kill.${side}.ocrPageRuns`]: outcome.ocrPageRuns,
      [`kill.${side}.ocrAttemptsLost`]: outcome.ocrAttemptsLost,
      [`kill.${side}.jobRowsLeftRunning`]: outcome.jobRowsLeftRunning,
    });
    return {
      benchmark: 'peer',
      sizes: {
        mixedPages,
        mixedTextPages: mixedText.totalPages,
        mixedScannedPages: mixedScanned.totalPages,
        textOnlyPages: textOnly.totalPages,
        runsPerSide: 2,
        parallelism: nproc,
      },
      metrics: {
        'mixed.clerkSeconds': round(mean(timings.mixed.clerk)),
        'mixed.bullmqSeconds': round(mean(timings.mixed.bullmq)),
        'mixed.ratio': round(mixedRatio, 3),
        'text.clerkSeconds': round(mean(timings.text.clerk)),
        'text.bullmqSeconds': round(mean(timings.text.bullmq)),
        'text.ratio': round(ratioOf('text'), 3),
        'mixed.clerkRuns': timings.mixed.clerk.map((s) => round(s)).join(' '),
        'mixed.bullmqRuns': timings.mixed.bullmq.map((s) => round(s)).join(' '),
        'text.clerkRuns': timings.text.clerk.map((s) => round(s)).join(' '),
        'text.bullmqRuns': timings.text.bullmq.map((s) => round(s)).join(' '),
        ...phaseMetrics('clerk', mixedPhases.clerk),
        ...phaseMetrics('bullmq', mixedPhases.bullmq),
        ...killMetrics('clerk', clerkKill),
        ...killMetrics('bullmq', peerKill),
        'kill.countsExact.clerk': killProblems(clerkKill, mixedPages).length === 0,
        'kill.countsExact.bullmq': killProblems(peerKill, mixedPages).length === 0,
      },
      ratio: {
        value: round(mixedRatio, 3),
        target: `<= ${TARGET_RATIO}`,
        meets: mixedRatio <= TARGET_RATIO,
        definition: 'clerk wall time / BullMQ wall time on the mixed corpus, each enqueue (flow add) -> site result, mean of 2 runs each, order clerk, BullMQ, BullMQ, clerk',
      },
      ok: clerkFailures.length === 0,
      notes: [
        'BullMQ peer: one parent job per site, a child per document and a grandchild per page to OCR (FlowProducer, moveToWaitingChildren), extraction and deploy as the parent\'s last step; every step calls clerk\'s own activities; OCR queue concurrency = clerk\'s OCR worker (engines x 1.5), other queues 20',
        'kill: the process running OCR (clerk: `clerk worker ocr`; BullMQ: the worker of the ocr queue) is SIGKILLed once OCR is under way (pages running, and some done already when the site has more scanned pages than run at once), and restarted at once; BullMQ keeps its default stalled-job settings (30 s lock, 30 s check, maxStalledCount 1)',
        'mixed.X.phases (seconds from the enqueue or flow add, mean of the timed runs, from job_tracking): untilFirstOcr = until the first OCR page starts (fetch, listing, text-layer reads); ocrStage = first OCR page started to last one done; afterOcr = last OCR page done to the site\'s result (the document\'s end, the archive check, extraction and deploy)',
        `kill.X.ocrPageRuns: ocrPage executions recorded in job_tracking (the site has ${mixedScanned.totalPages} scanned pages); ocrAttemptsLost: those the kill cut short (or whose result was lost) and that ran again; jobRowsLeftRunning: rows still "running" after the run, which nothing closed`,
        ...clerkFailures.map((failure) => `clerk check failed: ${failure}`),
        ...peerFindings.map((finding) => `BullMQ finding: ${finding}`),
      ],
    };
  });
}

/**
 * Where a mixed run's time went, from its job_tracking rows: until the first OCR page started, the
 * OCR stage (first page started to last page done), and after it (the document's end, the archive
 * check, extraction and deploy, and the result reaching the caller). The sides share the activities
 * and their rows, so the phases compare the orchestration around the same work.
 */
interface RunPhases {
  untilFirstOcr: number;
  ocrStage: number;
  afterOcr: number;
}

async function runPhases(db: Db, subdomain: string, startedAt: Date, wallSeconds: number): Promise<RunPhases> {
  const ocr = await db
    .selectFrom('job_tracking')
    .select([sql<Date | null>`min(started_at)`.as('first_start'), sql<Date | null>`max(finished_at)`.as('last_finish')])
    .where('subdomain', '=', subdomain)
    .where('job_type', '=', 'ocrPage')
    .executeTakeFirstOrThrow();
  const since = (at: Date | null) => (at ? (at.getTime() - startedAt.getTime()) / 1000 : Number.NaN);
  const firstOcr = since(ocr.first_start);
  const lastOcr = since(ocr.last_finish);
  return { untilFirstOcr: firstOcr, ocrStage: lastOcr - firstOcr, afterOcr: wallSeconds - lastOcr };
}

function phaseMetrics(side: Side, runs: readonly RunPhases[]): Record<string, number> {
  const meanOf = (phase: keyof RunPhases) => round(mean(runs.map((run) => run[phase])), 3);
  return {
    [`mixed.${side}.phases.untilFirstOcr`]: meanOf('untilFirstOcr'),
    [`mixed.${side}.phases.ocrStage`]: meanOf('ocrStage'),
    [`mixed.${side}.phases.afterOcr`]: meanOf('afterOcr'),
  };
}

/** Copies a site folder; each PDF gets `% <marker>` after its end, so its bytes (and sha256) are the site's own. */
async function copyWithDistinctPdfs(from: string, to: string, marker: string): Promise<void> {
  await fs.cp(from, to, { recursive: true });
  for (const entry of await fs.readdir(to, { recursive: true })) {
    if (entry.endsWith('.pdf')) await fs.appendFile(path.join(to, entry), `\n% ${marker}\n`);
  }
}

interface SiteCounts {
  pagesTotal: number;
  pagesDone: number;
  pagesFailed: number;
  pagesPending: number;
  progressTotal: number;
  progressDone: number;
  progressFailed: number;
  documentsTotal: number;
  progressDocumentsTotal: number;
  stage: string | null;
}

/** The pages table counted, next to the site_progress row the pipeline keeps by deltas. */
async function siteCounts(db: Db, subdomain: string): Promise<SiteCounts> {
  const pages = await db
    .selectFrom('pages')
    .select([
      sql<number>`count(*)::int`.as('total'),
      sql<number>`(count(*) filter (where status = 'done'))::int`.as('done'),
      sql<number>`(count(*) filter (where status = 'failed'))::int`.as('failed'),
      sql<number>`(count(*) filter (where status = 'pending'))::int`.as('pending'),
    ])
    .where('subdomain', '=', subdomain)
    .executeTakeFirstOrThrow();
  const documents = await db.selectFrom('documents').select(sql<number>`count(*)::int`.as('total')).where('subdomain', '=', subdomain).executeTakeFirstOrThrow();
  const progress = await db.selectFrom('site_progress').selectAll().where('subdomain', '=', subdomain).executeTakeFirst();
  return {
    pagesTotal: pages.total,
    pagesDone: pages.done,
    pagesFailed: pages.failed,
    pagesPending: pages.pending,
    progressTotal: progress?.pages_total ?? 0,
    progressDone: progress?.pages_done ?? 0,
    progressFailed: progress?.pages_failed ?? 0,
    documentsTotal: documents.total,
    progressDocumentsTotal: progress?.documents_total ?? 0,
    stage: progress?.current_stage ?? null,
  };
}

function countProblems(counts: SiteCounts, totalPages: number): string[] {
  const problems: string[] = [];
  if (counts.pagesTotal !== totalPages || counts.pagesDone !== totalPages) problems.push(`pages table has ${counts.pagesDone} done of ${counts.pagesTotal}; the corpus has ${totalPages}`);
  if (counts.progressTotal !== counts.pagesTotal || counts.progressDone !== counts.pagesDone || counts.progressFailed !== counts.pagesFailed) {
    problems.push(`site_progress says ${counts.progressDone} done / ${counts.progressFailed} failed of ${counts.progressTotal}; the pages table ${counts.pagesDone} / ${counts.pagesFailed} of ${counts.pagesTotal}`);
  }
  if (counts.progressDocumentsTotal !== counts.documentsTotal) problems.push(`site_progress counts ${counts.progressDocumentsTotal} documents; the table has ${counts.documentsTotal}`);
  if (counts.stage !== 'completed') problems.push(`site_progress stage is ${counts.stage}`);
  return problems;
}

interface KilledRun {
  finished: boolean;
  seconds: number;
  counts: SiteCounts;
  /** ocrPage executions recorded (job_tracking rows), against the scanned pages. */
  ocrPageRuns: number;
  /** Of those, attempts cut short by the kill (or whose result was lost) and run again. */
  ocrAttemptsLost: number;
  jobRowsLeftRunning: number;
}

function killProblems(outcome: KilledRun, totalPages: number): string[] {
  const problems = outcome.finished ? countProblems(outcome.counts, totalPages) : [`the run did not finish within ${KILLED_RUN_CAP_MS / 1000} s of the kill`, ...countProblems(outcome.counts, totalPages)];
  if (outcome.jobRowsLeftRunning > 0) problems.push(`${outcome.jobRowsLeftRunning} job_tracking rows left "running"`);
  return problems;
}

/**
 * clerk's side of the failure case, as the chaos suite runs it: in-process workers for every queue
 * but OCR, and OCR as a real `clerk worker ocr` process, on task queues of their own.
 */
async function killedClerkRun(stack: BenchStack, subdomain: string, nproc: number, killAt: KillPoint, log: Log): Promise<KilledRun> {
  const env = {
    CLERK_DATA_DIR: stack.root,
    DATABASE_URL: stack.config.databaseUrl!,
    TEMPORAL_ADDRESS: stack.config.temporal.address,
    CLERK_TASK_QUEUE_PREFIX: 'peer-kill-',
    CLERK_OCR_CONCURRENCY: String(nproc),
  };
  const config: ClerkConfig = loadConfig(env, stack.root);
  const connection = await NativeConnection.connect({ address: config.temporal.address });
  const running = await createWorkers({ config, connection, deps: { db: stack.db, store: stack.store, config }, types: ['workflows', 'fetch', 'extraction', 'deploy'] });
  const workersDone = runWorkers(running);
  const ocrProcess = await startWorkerProcess('ocr', env);
  try {
    const started = performance.now();
    const run = await enqueueSite(stack.client, config, subdomain);
    const handle = stack.client.workflow.getHandle<typeof siteWorkflow>(run.workflowId, run.runId);
    await killMidOcr(stack.db, subdomain, killAt, () => ocrProcess.kill(), () => ocrProcess.restart(), log);
    // Polled rather than awaited with result(), whose long poll would outlive a run that never ends.
    const finished = await closesWithin(handle, KILLED_RUN_CAP_MS);
    const seconds = (performance.now() - started) / 1000;
    return { finished, seconds, ...(await afterTheKill(stack.db, subdomain)) };
  } finally {
    await ocrProcess.stop();
    for (const worker of running.workers) if (worker.getState() === 'RUNNING') worker.shutdown();
    await workersDone;
    await connection.close();
  }
}

/** BullMQ's side: the site queue in this process, the OCR queue in a worker process of its own. */
async function killedPeerRun(stack: BenchStack, redisUrl: string, subdomain: string, nproc: number, killAt: KillPoint, log: Log): Promise<KilledRun> {
  const prefix = 'peer-kill';
  const deps = { db: stack.db, store: stack.store, config: stack.config };
  const siteWorkers = await startPeerWorkers({ deps, redisUrl, prefix, roles: ['site'] });
  const ocrProcess = await startPeerWorkerProcess(['ocr'], {
    CLERK_DATA_DIR: stack.root,
    DATABASE_URL: stack.config.databaseUrl!,
    CLERK_OCR_CONCURRENCY: String(nproc),
    CLERK_PEER_REDIS_URL: redisUrl,
    CLERK_PEER_PREFIX: prefix,
  });
  const giveUp = new AbortController();
  try {
    const run = runPeerSites({ deps, redisUrl, prefix, subdomains: [subdomain], startWorkers: false, signal: giveUp.signal });
    await killMidOcr(stack.db, subdomain, killAt, () => ocrProcess.kill(), () => ocrProcess.restart(), log);
    const timer = setTimeout(() => giveUp.abort(), KILLED_RUN_CAP_MS);
    const result = await run;
    clearTimeout(timer);
    const site = result.sites[0];
    if (site && !site.ok) log(`peer: BullMQ's killed run: ${site.error}`);
    return { finished: site?.ok === true, seconds: result.wallSeconds, ...(await afterTheKill(stack.db, subdomain)) };
  } finally {
    await ocrProcess.stop();
    await siteWorkers.close();
  }
}

interface KillPoint {
  /** OCR pages that run at once (clerk's OCR worker activities; the peer's OCR queue concurrency). */
  ocrSlots: number;
  scannedPages: number;
}

/**
 * Waits until OCR is under way on the site (pages running, and some done already when there are
 * more pages than run at once), then kills the OCR process and starts another.
 */
async function killMidOcr(db: Db, subdomain: string, killAt: KillPoint, kill: () => Promise<void>, restart: () => Promise<void>, log: Log): Promise<void> {
  for (;;) {
    const rows = await db
      .selectFrom('job_tracking')
      .select(['status', sql<number>`count(*)::int`.as('n')])
      .where('subdomain', '=', subdomain)
      .where('job_type', '=', 'ocrPage')
      .groupBy('status')
      .execute();
    const count = (status: string) => rows.find((row) => row.status === status)?.n ?? 0;
    if (count('running') > 0 && (count('succeeded') > 0 || killAt.scannedPages <= killAt.ocrSlots)) {
      log(`peer: SIGKILL with ${count('succeeded')} OCR pages done and ${count('running')} running`);
      break;
    }
    const progress = await db.selectFrom('site_progress').select('current_stage').where('subdomain', '=', subdomain).executeTakeFirst();
    if (progress && ['extraction', 'deploy', 'completed', 'failed'].includes(progress.current_stage ?? '')) {
      throw new Error(`${subdomain}: OCR was over (stage ${progress.current_stage}) before the kill could hit it`);
    }
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
  await kill();
  await restart();
}

async function afterTheKill(db: Db, subdomain: string): Promise<Omit<KilledRun, 'finished' | 'seconds'>> {
  const rows = await db
    .selectFrom('job_tracking')
    .select(['job_type', 'status', sql<number>`count(*)::int`.as('n')])
    .where('subdomain', '=', subdomain)
    .groupBy(['job_type', 'status'])
    .execute();
  const count = (where: (row: { job_type: string; status: string }) => boolean) => rows.filter(where).reduce((n, row) => n + row.n, 0);
  return {
    counts: await siteCounts(db, subdomain),
    ocrPageRuns: count((row) => row.job_type === 'ocrPage'),
    ocrAttemptsLost: count((row) => row.job_type === 'ocrPage' && row.status === 'lost'),
    jobRowsLeftRunning: count((row) => row.status === 'running'),
  };
}

/** Whether the workflow run completes within `ms`. */
async function closesWithin(handle: { describe(): Promise<{ status: { name: string } }> }, ms: number): Promise<boolean> {
  const deadline = Date.now() + ms;
  while (Date.now() < deadline) {
    const { status } = await handle.describe();
    if (status.name !== 'RUNNING') return status.name === 'COMPLETED';
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  return false;
}
