/**
 * The BullMQ peer (issue 17): clerk's site pipeline as a BullMQ flow on Redis, for the benchmarks
 * that measure clerk against its best-known Node peer in the same run.
 *
 * The shape is BullMQ's documented fan-out/fan-in: one parent job per site on the `site` queue;
 * one child job per document and one grandchild job per page to OCR on the `ocr` queue, added
 * with a FlowProducer under their parent; a parent runs again once its children are done
 * (`moveToWaitingChildren`, the "process step jobs" pattern, because the documents are known only
 * after the fetch and the pages to OCR only after the text layer is read). The site's last step
 * is the two extraction branches (fast compile and publish; entities then full compile) and the
 * deploy, as in src/workflows/site.ts.
 *
 * The work is clerk's own: each job step calls the same activity implementations the Temporal
 * workers host (src/activities/*), over the same db, store and config, so the domain functions,
 * the Postgres progress rows (site_progress, documents, pages, job_tracking) and the OCR engine
 * pool are identical; only the orchestration differs. Activities read `Context.current()`
 * (heartbeats, and their ids for job_tracking rows): a MockActivityEnvironment from
 * @temporalio/testing gives them one, with `bullmq/<site>` as the "workflow" id so the peer's
 * job_tracking rows are told apart from clerk's.
 *
 * Concurrency per stage is clerk's worker settings (src/workers/create.ts): the `ocr` queue runs
 * OCR concurrency x 1.5 jobs at once over a pool of OCR-concurrency engines, as clerk's OCR worker
 * runs that many activities; the `site` queue runs 20 at once, clerk's default for its other
 * queues. Retries follow clerk's activity retry policies in attempts and backoff. Stalled jobs (a
 * worker that died) are left to BullMQ's defaults: a 30 s lock, checked every 30 s, one recovery.
 */
import { createHash, randomUUID } from 'node:crypto';
import { ApplicationFailure, type Info } from '@temporalio/activity';
import { MockActivityEnvironment } from '@temporalio/testing';
import { FlowProducer, QueueEvents, UnrecoverableError, WaitingChildrenError, Worker, type ConnectionOptions, type FlowJob, type Job } from 'bullmq';
import { createBookkeepingActivities } from '../../src/activities/bookkeeping.js';
import { createDeployActivities } from '../../src/activities/deploy.js';
import type { ActivityDeps } from '../../src/activities/deps.js';
import { createExtractionActivities } from '../../src/activities/extraction.js';
import { createFetchActivities } from '../../src/activities/fetch.js';
import { createOcrActivities } from '../../src/activities/ocr.js';
import { ExtractionThreads } from '../../src/extract/threads.js';
import { OcrEnginePool } from '../../src/ocr/pool.js';
import type { DocumentOutcome } from '../../src/progress/documents.js';
import { describeFailure } from '../../src/workflows/failures.js';
import type { Counts } from '../../src/workflows/types.js';
import { quietLogger } from '../support/quiet-logger.js';

/** Site jobs on one queue; document and page jobs share another, as clerk's text-layer and OCR activities share its OCR queue. */
const QUEUES = { site: 'site', ocr: 'ocr' } as const;
/** clerk's concurrency for the activities of every queue but OCR (createWorkers' default). */
const SITE_QUEUE_CONCURRENCY = 20;
/** As many documents as clerk's site workflow lists at a time. */
const DOCUMENTS_PER_LISTING = 200;

/** Attempts and backoff of clerk's retry policies (src/workflows/activities.ts), per job kind. */
const RETRIES = {
  site: { attempts: 5, backoff: { type: 'exponential', delay: 5_000 } },
  document: { attempts: 5, backoff: { type: 'exponential', delay: 2_000 } },
  page: { attempts: 10, backoff: { type: 'exponential', delay: 2_000 } },
} as const;

export type PeerRole = 'site' | 'ocr';

export interface PeerOptions {
  deps: ActivityDeps;
  redisUrl: string;
  /** BullMQ's key prefix: keeps the peer's queues apart from anything else on the same Redis. */
  prefix?: string;
}

export interface PeerWorkerOptions extends PeerOptions {
  /** Which queues this process works: a separate OCR process can be killed on its own. Default both. */
  roles?: readonly PeerRole[];
  /** OCR engines (and 1.5 x as many OCR jobs at once); default the config's OCR concurrency, like clerk. */
  ocrConcurrency?: number;
  /** Site job steps (fetch; extraction and deploy) run at once; default 20, like clerk's other queues. */
  siteConcurrency?: number;
}

export interface PeerWorkers {
  /** Waits for the jobs in hand to finish, then stops (BullMQ's graceful close). */
  close(): Promise<void>;
}

export interface PeerSiteResult {
  subdomain: string;
  ok: boolean;
  error?: string;
  status?: PeerSiteStatus;
}

export interface PeerRunResult {
  /** From adding the first flow to the last parent completed or failed. */
  wallSeconds: number;
  /** When the first flow was added (the clock job_tracking's times are read against). */
  startedAt: Date;
  sites: PeerSiteResult[];
}

/** What a site's parent job returns: the counts of its documents' outcomes, as clerk's status query has them. */
export interface PeerSiteStatus {
  stage: 'completed';
  documents: Counts;
  pages: Counts;
  branches: { fast: 'done' | 'skipped'; full: 'done' | 'skipped' };
  deployed: 'full' | 'fast' | null;
  /** The live full archive already held every document and page: extraction and deploy were skipped. */
  archiveWasCurrent: boolean;
}

interface SiteJobData {
  subdomain: string;
  full: boolean;
  /** The "workflow run" id of this run's job_tracking and deployment rows. */
  runId: string;
  step: 'fetch' | 'extract';
  /** The documents and pages the fetch found already settled (not read again), as clerk's status starts from. */
  settled?: { documents: Counts; pages: Counts };
}

interface DocumentJobData {
  subdomain: string;
  documentId: string;
  runId: string;
  step: 'read' | 'finish';
}

interface PageJobData {
  subdomain: string;
  documentId: string;
  page: number;
  runId: string;
}

/**
 * Runs one flow per site through the peer and waits until every site's parent job has completed
 * or failed (for good, after its retries). By default it also starts workers for both queues in
 * this process and closes them at the end; with `startWorkers: false` the caller runs them (the
 * kill benchmark runs the OCR queue in a process of its own: see ./worker-process.ts).
 * Several calls may share one Redis when they pass different prefixes. The sites must be
 * registered in Postgres, as for `clerk enqueue`.
 */
export async function runPeerSites(
  options: PeerWorkerOptions & {
    subdomains: readonly string[];
    full?: boolean;
    startWorkers?: boolean;
    /** Stops waiting: the sites not finished by then are reported not ok (the jobs stay in Redis). */
    signal?: AbortSignal;
  },
): Promise<PeerRunResult> {
  const prefix = options.prefix ?? 'clerk-peer';
  const connection = connectionFor(options.redisUrl);
  const workers = options.startWorkers === false ? undefined : await startPeerWorkers(options);
  const producer = new FlowProducer({ connection, prefix });
  const siteEvents = new QueueEvents(QUEUES.site, { connection, prefix });
  const flowsToAdd = options.subdomains.map((subdomain) => siteFlow(subdomain, options.full ?? false));
  const siteJobs = new SiteJobEnds(siteEvents, flowsToAdd.map((flow) => flow.opts!.jobId!));
  try {
    // Listening before anything is added, so no completion can be missed.
    await siteEvents.waitUntilReady();
    const givenUp = new Promise<never>((_, reject) => {
      const giveUp = () => reject(new Error('not finished when the caller stopped waiting'));
      if (options.signal?.aborted) giveUp();
      options.signal?.addEventListener('abort', giveUp, { once: true });
    });
    givenUp.catch(() => {});
    const startedAt = new Date();
    const started = performance.now();
    const flows = await producer.addBulk(flowsToAdd);
    const sites = await Promise.all(
      flows.map(async ({ job }, i): Promise<PeerSiteResult> => {
        const subdomain = options.subdomains[i]!;
        try {
          const status = (await Promise.race([siteJobs.end(job.id!), givenUp])) as PeerSiteStatus;
          return { subdomain, ok: true, status };
        } catch (error) {
          return { subdomain, ok: false, error: error instanceof Error ? error.message : String(error) };
        }
      }),
    );
    return { wallSeconds: (performance.now() - started) / 1000, startedAt, sites };
  } finally {
    siteJobs.stopListening();
    await siteEvents.close();
    await producer.close();
    await workers?.close();
  }
}

/**
 * Each site job's end (its result, or its failure for good), from one pair of listeners on the
 * queue's events. BullMQ's `job.waitUntilFinished` adds listeners per job, one of them to an
 * emitter every job of the flow producer shares: a fleet's thousand sites set off Node's
 * MaxListenersExceededWarning.
 */
class SiteJobEnds {
  private readonly ends = new Map<string, { promise: Promise<unknown>; resolve: (value: unknown) => void; reject: (error: Error) => void }>();
  private readonly onCompleted = ({ jobId, returnvalue }: { jobId: string; returnvalue: unknown }) => this.ends.get(jobId)?.resolve(returnvalue);
  private readonly onFailed = ({ jobId, failedReason }: { jobId: string; failedReason: string }) => this.ends.get(jobId)?.reject(new Error(failedReason));

  constructor(
    private readonly events: QueueEvents,
    jobIds: readonly string[],
  ) {
    for (const jobId of jobIds) {
      let resolve!: (value: unknown) => void;
      let reject!: (error: Error) => void;
      const promise = new Promise<unknown>((res, rej) => ((resolve = res), (reject = rej)));
      promise.catch(() => {});
      this.ends.set(jobId, { promise, resolve, reject });
    }
    events.on('completed', this.onCompleted);
    events.on('failed', this.onFailed);
  }

  end(jobId: string): Promise<unknown> {
    const end = this.ends.get(jobId);
    if (!end) throw new Error(`no site job ${jobId} was added`);
    return end.promise;
  }

  stopListening(): void {
    this.events.off('completed', this.onCompleted);
    this.events.off('failed', this.onFailed);
  }
}

/** The parent job of one site run; its documents and pages are added by its own steps. */
function siteFlow(subdomain: string, full: boolean): FlowJob {
  const runId = randomUUID();
  const data: SiteJobData = { subdomain, full, runId, step: 'fetch' };
  return { name: 'site', queueName: QUEUES.site, data, opts: { jobId: `${subdomain}.${runId}`, ...RETRIES.site } };
}

/**
 * Starts BullMQ workers for the given roles over clerk's activities. Close them to stop: the OCR
 * engines and extraction threads they own are closed with them.
 */
export async function startPeerWorkers(options: PeerWorkerOptions): Promise<PeerWorkers> {
  const { deps } = options;
  const prefix = options.prefix ?? 'clerk-peer';
  const roles = options.roles ?? ['site', 'ocr'];
  const connection = connectionFor(options.redisUrl);
  const ocrConcurrency = options.ocrConcurrency ?? deps.config.ocr.concurrency;
  const producer = new FlowProducer({ connection, prefix });
  const closers: (() => Promise<void>)[] = [() => producer.close()];
  const bookkeeping = createBookkeepingActivities(deps);

  if (roles.includes('ocr')) {
    const ocrEngines = new OcrEnginePool(deps.config.ocr.engine, ocrConcurrency);
    const ocr = createOcrActivities({ ...deps, ocrEngines });
    const worker = new Worker<DocumentJobData | PageJobData>(
      QUEUES.ocr,
      async (job, token) =>
        job.name === 'document'
          ? processDocument(job as Job<DocumentJobData>, token!, { bookkeeping, ocr, producer })
          : processPage(job as Job<PageJobData>, { bookkeeping, ocr }),
      // As many OCR jobs at once as clerk's OCR worker runs activities (see createWorkers).
      { connection, prefix, concurrency: ocrConcurrency + Math.ceil(ocrConcurrency / 2) },
    );
    await worker.waitUntilReady();
    closers.push(async () => {
      await worker.close();
      await ocrEngines.close();
    });
  }
  if (roles.includes('site')) {
    const extractionThreads = new ExtractionThreads(deps.config.extractionThreads);
    const activities = {
      bookkeeping,
      fetch: createFetchActivities(deps),
      extraction: createExtractionActivities({ ...deps, extractionThreads }),
      deploy: createDeployActivities(deps),
      producer,
    };
    const worker = new Worker<SiteJobData>(QUEUES.site, async (job, token) => processSite(job, token!, activities), {
      connection,
      prefix,
      concurrency: options.siteConcurrency ?? SITE_QUEUE_CONCURRENCY,
    });
    await worker.waitUntilReady();
    closers.push(async () => {
      await worker.close();
      await extractionThreads.close();
    });
  }
  return {
    async close() {
      for (const close of closers.reverse()) await close();
    },
  };
}

// ---------------------------------------------------------------------------------------------
// The processors: one per job kind, each a small state machine over its job's `step`.

type BookkeepingActivities = ReturnType<typeof createBookkeepingActivities>;
type OcrActivities = ReturnType<typeof createOcrActivities>;

interface SiteActivities {
  bookkeeping: BookkeepingActivities;
  fetch: ReturnType<typeof createFetchActivities>;
  extraction: ReturnType<typeof createExtractionActivities>;
  deploy: ReturnType<typeof createDeployActivities>;
  producer: FlowProducer;
}

/**
 * A site run, as src/workflows/site.ts orders it. Step `fetch`: start the run, fetch, and add one
 * child per pending document; then wait for the children. Step `extract` (BullMQ runs the parent
 * again when the last child is done): skip if the live archive is current, else both extraction
 * branches, the deploy, and the end of the run. A failure on the last attempt records the run's end.
 */
async function processSite(job: Job<SiteJobData>, token: string, activities: SiteActivities): Promise<PeerSiteStatus> {
  const { bookkeeping, fetch, extraction, deploy, producer } = activities;
  const { subdomain, runId } = job.data;
  const call = activityCaller(job, `bullmq/${subdomain}`, runId);
  const enterStage = (stage: 'ocr' | 'extraction' | 'deploy') => call(bookkeeping, 'enterStage', { subdomain, stage });
  let stage: string = job.data.step === 'fetch' ? 'fetch' : 'extraction';
  try {
    if (job.data.step === 'fetch') {
      // As clerk's site run does: the fetch records the run's start (and with it the fetch stage).
      const snapshot = await call(fetch, 'fetchSite', { subdomain, ...(job.data.full ? { full: true } : {}), startsRun: { workflowId: `bullmq/${subdomain}`, runId } });
      stage = 'ocr';
      await enterStage('ocr');
      for (let after: string | null = null; ; ) {
        const documentIds: string[] = await call(bookkeeping, 'listPendingDocuments', { subdomain, afterDocumentId: after, limit: DOCUMENTS_PER_LISTING });
        if (documentIds.length === 0) break;
        await producer.addBulk(documentIds.map((documentId) => documentFlow(job, documentId)));
        after = documentIds.at(-1)!;
      }
      await job.updateData({ ...job.data, step: 'extract', settled: { documents: snapshot.documents, pages: snapshot.pages } });
      // False when every child is already done (or there were none): carry on at once.
      if (await job.moveToWaitingChildren(token)) throw new WaitingChildrenError();
    }

    stage = 'extraction';
    const outcomes = Object.values(await job.getChildrenValues<DocumentOutcome>());
    const counts = countOutcomes(job.data.settled ?? { documents: zeroCounts(), pages: zeroCounts() }, outcomes);
    if (!job.data.full) {
      // Records the run's end too when the archive is current, as clerk's site run does.
      const freshness = await call(deploy, 'keepArchiveIfCurrent', { subdomain });
      if (freshness.current) {
        return { stage: 'completed', ...counts, branches: { fast: 'skipped', full: 'skipped' }, deployed: null, archiveWasCurrent: true };
      }
    }
    await enterStage('extraction');
    await Promise.all([
      (async () => {
        await call(extraction, 'compileArchive', { subdomain, variant: 'fast' });
        // The fast path publishes early, as clerk's does, so the site is searchable sooner.
        await call(deploy, 'deployArchive', { subdomain, variant: 'fast' });
      })(),
      (async () => {
        await call(extraction, 'extractEntities', { subdomain });
        await call(extraction, 'compileArchive', { subdomain, variant: 'full' });
      })(),
    ]);
    stage = 'deploy';
    await enterStage('deploy');
    await call(deploy, 'deployArchive', { subdomain, variant: 'full' });
    await call(bookkeeping, 'finishRun', { subdomain, stage: 'completed' });
    return { stage: 'completed', ...counts, branches: { fast: 'done', full: 'done' }, deployed: 'full', archiveWasCurrent: false };
  } catch (error) {
    if (error instanceof WaitingChildrenError || !isLastAttempt(job, error)) throw error;
    const { error: message } = describeFailure(error);
    await call(bookkeeping, 'finishRun', { subdomain, stage: 'failed', error: message, errorStage: stage }).catch(() => {});
    // A failure clerk would not retry (an unknown site, say) is not retried here either.
    throw new UnrecoverableError(message);
  }
}

/** A document's child job under its site's job, with an id derived from the parent's, so a re-run step adds no duplicate. */
function documentFlow(site: Job<SiteJobData>, documentId: string): FlowJob {
  const { subdomain, runId } = site.data;
  const data: DocumentJobData = { subdomain, documentId, runId, step: 'read' };
  return {
    name: 'document',
    queueName: QUEUES.ocr,
    data,
    opts: { jobId: `${site.id}.doc.${jobIdPart(documentId)}`, parent: { id: site.id!, queue: site.queueQualifiedName }, ...RETRIES.document },
  };
}

/**
 * One document, as src/workflows/document.ts reads it. Step `read`: the text layer, then one
 * grandchild job per page that needs OCR; then wait for them. Step `finish`: settle the document.
 * A document whose text layer cannot be read is recorded failed, and the site goes on.
 */
async function processDocument(job: Job<DocumentJobData>, token: string, activities: { bookkeeping: BookkeepingActivities; ocr: OcrActivities; producer: FlowProducer }): Promise<DocumentOutcome> {
  const { bookkeeping, ocr, producer } = activities;
  const { subdomain, documentId, runId } = job.data;
  const call = activityCaller(job, `bullmq/${subdomain}/doc/${documentId}`, runId);
  if (job.data.step === 'read') {
    let pagesToOcr: number[];
    try {
      ({ pagesToOcr } = await call(ocr, 'readTextLayer', { subdomain, documentId }));
    } catch (error) {
      if (!isLastAttempt(job, error)) throw error;
      await call(bookkeeping, 'markDocumentFailed', { subdomain, documentId, ...describeFailure(error) });
      return call(bookkeeping, 'finishDocument', { subdomain, documentId });
    }
    await producer.addBulk(
      pagesToOcr.map((page): FlowJob => {
        const data: PageJobData = { subdomain, documentId, page, runId };
        return { name: 'page', queueName: QUEUES.ocr, data, opts: { jobId: `${job.id}.p${page}`, parent: { id: job.id!, queue: job.queueQualifiedName }, ...RETRIES.page } };
      }),
    );
    await job.updateData({ ...job.data, step: 'finish' });
    if (await job.moveToWaitingChildren(token)) throw new WaitingChildrenError();
  }
  return call(bookkeeping, 'finishDocument', { subdomain, documentId });
}

/** One page's OCR. A page that fails for good (or on its last attempt) is recorded failed, so its document still finishes. */
async function processPage(job: Job<PageJobData>, activities: { bookkeeping: BookkeepingActivities; ocr: OcrActivities }): Promise<{ page: number; outcome: 'done' | 'failed' }> {
  const { bookkeeping, ocr } = activities;
  const { subdomain, documentId, page, runId } = job.data;
  const call = activityCaller(job, `bullmq/${subdomain}/doc/${documentId}`, runId);
  try {
    await call(ocr, 'ocrPage', { subdomain, documentId, page });
    return { page, outcome: 'done' };
  } catch (error) {
    if (!isLastAttempt(job, error)) throw error;
    await call(bookkeeping, 'markPageFailed', { subdomain, documentId, page, ...describeFailure(error) });
    return { page, outcome: 'failed' };
  }
}

// ---------------------------------------------------------------------------------------------
// Helpers

/**
 * Calls clerk activities on behalf of one job: each call runs in an activity Context whose info
 * names the call (the job's id, the activity and its input), the job's attempt and queue, and the
 * peer's "workflow" (`workflowId`, `runId`), which is what job_tracking and the deploy records read.
 */
function activityCaller(job: Job, workflowId: string, runId: string) {
  return <Activities extends object, Name extends keyof Activities & string>(
    activities: Activities,
    name: Name,
    input: ActivityInput<Activities[Name]>,
  ): ActivityOutput<Activities[Name]> => {
    const info: Partial<Info> = {
      // One id per activity call of the job (a job calls several), the same when the job runs again.
      activityId: `${job.id}/${name}/${createHash('sha256').update(JSON.stringify(input)).digest('hex').slice(0, 8)}`,
      // job_tracking's job_type: the name clerk's worker registers the activity under.
      activityType: name,
      // Counts the runs after a stall too (attemptsMade does not), so a run cut short by a dead
      // worker keeps its own job_tracking row, marked lost by the next one, as under clerk.
      attempt: job.attemptsStarted,
      taskQueue: `bullmq/${job.queueName}`,
      workflowType: 'bullmq',
      workflowExecution: { workflowId, runId },
    };
    const activity = activities[name] as (input: ActivityInput<Activities[Name]>) => Promise<unknown>;
    return new MockActivityEnvironment(info, { logger: quietLogger }).run(activity, input) as ActivityOutput<Activities[Name]>;
  };
}

type ActivityInput<F> = F extends (input: infer Input) => Promise<unknown> ? Input : never;
type ActivityOutput<F> = F extends (input: never) => infer Output ? Output : never;

/** Whether BullMQ will not run this job again after `error`: its last attempt, or a failure marked non-retryable. */
function isLastAttempt(job: Job, error: unknown): boolean {
  if (error instanceof ApplicationFailure && error.nonRetryable) return true;
  return job.attemptsMade + 1 >= (job.opts.attempts ?? 1);
}

/** The settled counts plus this run's document outcomes, as clerk's site workflow adds them up. */
function countOutcomes(settled: { documents: Counts; pages: Counts }, outcomes: readonly DocumentOutcome[]): { documents: Counts; pages: Counts } {
  const documents: Counts = { ...settled.documents };
  const pages: Counts = { ...settled.pages };
  // The fetch's document total already holds the documents to read: their outcomes add done or failed.
  for (const outcome of outcomes) {
    documents[outcome.status]++;
    pages.total += outcome.pages;
    pages.done += outcome.pagesDone;
    pages.failed += outcome.pagesFailed;
  }
  return { documents, pages };
}

function zeroCounts(): Counts {
  return { total: 0, done: 0, failed: 0 };
}

/** BullMQ job ids may not contain ':', which clerk's document ids do. */
function jobIdPart(documentId: string): string {
  return documentId.replaceAll(':', '~');
}

/** BullMQ's connection options for a redis:// URL; its workers need `maxRetriesPerRequest: null`. */
function connectionFor(redisUrl: string): ConnectionOptions {
  const url = new URL(redisUrl);
  return { host: url.hostname, port: Number(url.port || 6379), maxRetriesPerRequest: null };
}
