import os from 'node:os';
import { NativeConnection } from '@temporalio/worker';
import type { ClerkConfig } from '../src/config/index.js';
import type { Db } from '../src/db/connect.js';
import { describeRun, enqueueSite, querySiteStatus } from '../src/temporal/site-runs.js';
import { describeTaskQueues } from '../src/temporal/task-queues.js';
import { createWorkers, runWorkers } from '../src/workers/create.js';
import { defaultFanOutLimits, siteWorkflowId, taskQueuesWithPrefix, type SiteStatus } from '../src/workflows/types.js';
import type { BenchOutcome, Log } from './run.js';
import { startBenchStack, type BenchStack } from './support/bench-stack.js';
import { cachedCorpus, removeAtExit, serveCorpusSite, shapeOfPages, withCleanup } from './support/corpus.js';
import { percentiles, round, type Percentiles } from './support/metrics.js';
import { clerkBin, cliBuildEnv, ensureCliBuilt, timed } from './status.js';

const BUSY_SITE = 'status-query-busy.bench';
const IDLE_SITE = 'status-query-idle.bench';
/** The idle run's task queues: served by a workflows and a fetch worker only, so it waits in OCR for good. */
const IDLE_QUEUE_PREFIX = 'status-query-idle-';
/** Pages per scanned document: 1,000 pages are 20 documents, whose children all run at once. */
const PAGES_PER_DOCUMENT = 50;
/** Sequential samples of each query, one round every SAMPLE_GAP_MS. */
const QUERY_SAMPLES = 300;
const SAMPLE_GAP_MS = 20;
/** Timed rounds of the CLI commands under load, after one warm-up round. */
const CLI_ROUNDS = 20;
/** Issue 17, item 2: the status query answers within this at the 99th percentile with ~1,000 pages in flight. */
const QUERY_P99_TARGET_MS = 50;
/** How long a run may take to reach the state it is sampled in. */
const READY_TIMEOUT_MS = 10 * 60_000;

/**
 * (i) Status latency with pages in flight (issue 17, item 2). A site of `pages` scanned pages
 * (documents of 50 pages) runs on a bench stack with OCR at full concurrency: every document's
 * child workflow runs, its page activities are scheduled (most waiting in the OCR queue), and the
 * children's progress signals reach the site workflow while it is sampled. Measured then,
 * sequentially: (a) the `status` query through the client's workflow handle, as `clerk status`
 * asks it (querySiteStatus), with a DescribeWorkflowExecution of the same run and the same query
 * of an idle run after each; (b) `clerk status <site> --json`, the compiled CLI end to end, in
 * interleaved rounds with `node -e 0` and `clerk --help`.
 * The idle run is a small site's run open in the OCR stage with nothing in flight: its OCR queue
 * has no worker (its workflows run on workers of their own in this process). It is sampled before
 * the load too. The busy run is then terminated unfinished: the OCR itself is not what this measures.
 */
export async function statusQueryLatency(options: { pages: number; log: Log }): Promise<BenchOutcome> {
  const { log } = options;
  const nproc = os.availableParallelism();
  ensureCliBuilt(log);
  const shape = shapeOfPages(options.pages, PAGES_PER_DOCUMENT);
  const corpus = await cachedCorpus('scanned', shape, log);
  const idleCorpus = await cachedCorpus('scanned', { documents: 1, pagesPerDocument: 2 }, log);
  log(`status-query: ${corpus.totalPages} scanned pages (${shape.documents} x ${shape.pagesPerDocument}), OCR concurrency ${nproc}`);
  const problems: string[] = [];

  return withCleanup(async (defer) => {
    const stack = await startBenchStack({ CLERK_OCR_CONCURRENCY: String(nproc) });
    removeAtExit(stack.root);
    defer(() => stack.close());
    const idleSite = await serveCorpusSite(stack, idleCorpus, IDLE_SITE);
    defer(() => idleSite.server.close());
    const busySite = await serveCorpusSite(stack, corpus, BUSY_SITE);
    defer(() => busySite.server.close());
    const cliEnv = {
      ...cliBuildEnv,
      CLERK_DATA_DIR: stack.root,
      DATABASE_URL: stack.config.databaseUrl!,
      TEMPORAL_ADDRESS: stack.config.temporal.address,
      CLERK_TASK_QUEUE_PREFIX: stack.config.temporal.taskQueuePrefix,
      CLERK_CLI_TRACE: '1',
    };

    // The baseline: a run open in the OCR stage with nothing in flight, so nothing changes it.
    const idleConfig: ClerkConfig = { ...stack.config, temporal: { ...stack.config.temporal, taskQueuePrefix: IDLE_QUEUE_PREFIX } };
    const idleConnection = await NativeConnection.connect({ address: stack.config.temporal.address });
    const idleWorkers = await createWorkers({ config: idleConfig, connection: idleConnection, deps: { db: stack.db, store: stack.store, config: idleConfig }, types: ['workflows', 'fetch'] });
    const idleWorkersDone = runWorkers(idleWorkers);
    defer(async () => {
      for (const worker of idleWorkers.workers) if (worker.getState() === 'RUNNING') worker.shutdown();
      await idleWorkersDone;
      await idleConnection.close();
    });
    log('status-query: starting the idle run');
    await enqueueSite(stack.client, idleConfig, IDLE_SITE);
    await waitForStatus(stack, IDLE_SITE, 'the idle run to wait in OCR', (status) => status.stage === 'ocr');
    log(`status-query: sampling the idle run's status query before the load (${QUERY_SAMPLES} samples)`);
    const beforeLoad = await sampleQueries(stack, { sites: [IDLE_SITE], samples: QUERY_SAMPLES });

    log('status-query: enqueueing the busy site');
    const enqueuedAt = performance.now();
    // Terminated at the end whatever happens, so closing the stack does not wait on its pages.
    defer(async () => {
      const run = await describeRun(stack.client, siteWorkflowId(BUSY_SITE));
      if (run?.status === 'RUNNING') await stack.client.workflow.getHandle(siteWorkflowId(BUSY_SITE)).terminate('status-query benchmark: measured, not needed to finish');
    });
    await enqueueSite(stack.client, stack.config, BUSY_SITE);
    const ready = await waitForStatus(stack, BUSY_SITE, `the busy run to count its ${corpus.totalPages} pages`, (status) => {
      if (status.stage !== 'fetch' && status.stage !== 'queued' && status.stage !== 'ocr') throw new Error(`the busy run reached stage ${status.stage} before its pages were counted: ${status.error ?? ''}`);
      return status.stage === 'ocr' && status.pages.total >= corpus.totalPages;
    });
    log(`status-query: ${ready.pages.total} pages counted, ${inFlight(ready)} in flight, ${((performance.now() - enqueuedAt) / 1000).toFixed(1)} s after enqueue; sampling the status queries (${QUERY_SAMPLES} rounds)`);

    const ocrBacklogAtStart = await ocrBacklog(stack);
    const ocrPagesBefore = await ocrPagesFinished(stack.db);
    const underLoad = await sampleQueries(stack, { sites: [BUSY_SITE, IDLE_SITE], describe: BUSY_SITE, samples: QUERY_SAMPLES });

    log(`status-query: timing the CLI (${CLI_ROUNDS} rounds after a warm-up)`);
    const commands = {
      nodeStart: [process.execPath, ['-e', '0']],
      help: [process.execPath, [clerkBin, '--help']],
      busyStatus: [process.execPath, [clerkBin, 'status', BUSY_SITE, '--json']],
    } as const;
    type Command = keyof typeof commands;
    const cliTimings: Record<Command, number[]> = { nodeStart: [], help: [], busyStatus: [] };
    const cliReports: SiteStatus[] = [];
    // Interleaved rounds: a load spike hits every command alike, not one command's runs.
    for (let round_ = 0; round_ <= CLI_ROUNDS; round_++) {
      for (const [name, [file, args]] of Object.entries(commands) as [Command, (typeof commands)[Command]][]) {
        const run = await timed(file, [...args], cliEnv);
        if (run.code !== 0) problems.push(`${name}: exit code ${run.code}: ${run.stderr.slice(0, 300)}`);
        if (name !== 'nodeStart' && !/running the compiled CLI/.test(run.stderr)) problems.push(`${name}: did not run the compiled CLI (${run.stderr.split('\n')[0]})`);
        // The first round warms the file cache and is not counted.
        if (round_ > 0) cliTimings[name].push(run.ms);
        if (name === 'busyStatus' && run.code === 0) {
          const report = JSON.parse(run.stdout) as { workflowStatus: string; query: SiteStatus | null };
          if (report.workflowStatus !== 'RUNNING' || !report.query) problems.push(`clerk status (${name}): workflow ${report.workflowStatus}, ${report.query ? 'query answered' : 'no worker answered the status query'}`);
          else cliReports.push(report.query);
        }
      }
      if (round_ > 0) log(`status-query: CLI round ${round_}: ${Object.entries(cliTimings).map(([name, ms]) => `${name} ${Math.round(ms.at(-1)!)} ms`).join(', ')}`);
    }
    const busyStatuses = underLoad.statuses.get(BUSY_SITE)!;
    const last = (await querySiteStatus(stack.client, BUSY_SITE)) ?? busyStatuses.at(-1)!;
    const ocrPagesDuring = (await ocrPagesFinished(stack.db)) - ocrPagesBefore;
    const ocrBacklogAtEnd = await ocrBacklog(stack);
    log(`status-query: done sampling, ${inFlight(last)} pages still in flight; terminating the busy run`);

    // What was sampled must be the load the issue names: the busy run in OCR, its pages in flight, OCR running.
    const sampled = [...busyStatuses, ...cliReports];
    const inFlightCounts = sampled.map(inFlight);
    const minInFlight = Math.min(...inFlightCounts);
    const maxInFlight = Math.max(...inFlightCounts);
    if (sampled.some((status) => status.stage !== 'ocr')) problems.push(`the busy run left the OCR stage while it was sampled (${[...new Set(sampled.map((s) => s.stage))].join(', ')}): use more pages`);
    if (sampled.some((status) => status.pages.total !== corpus.totalPages)) problems.push(`the status query counted ${[...new Set(sampled.map((s) => s.pages.total))].join(', ')} pages; the site has ${corpus.totalPages}`);
    if (minInFlight < corpus.totalPages / 2) problems.push(`only ${minInFlight} of ${corpus.totalPages} pages were still in flight at the end of sampling`);
    if (ocrPagesDuring === 0) problems.push('no OCR page activity finished while the run was sampled: the OCR workers were not busy');
    for (const [label, run] of [['before the load', beforeLoad], ['under load', underLoad]] as const) {
      for (const [site, failures] of run.failures) if (failures > 0) problems.push(`${failures} of ${QUERY_SAMPLES} status queries of ${site} got no answer ${label}`);
    }

    const busy = percentiles(underLoad.queryMs.get(BUSY_SITE)!);
    const idle = percentiles(underLoad.queryMs.get(IDLE_SITE)!);
    const idleBefore = percentiles(beforeLoad.queryMs.get(IDLE_SITE)!);
    const describe = percentiles(underLoad.describeMs);
    const cli = Object.fromEntries(Object.entries(cliTimings).map(([name, ms]) => [name, percentiles(ms)])) as Record<Command, Percentiles>;
    const ratio = busy.p99 / idle.p99;
    const firstReported = busyStatuses[0] ? busyStatuses[0].pages.done + busyStatuses[0].pages.failed : 0;
    return {
      benchmark: 'status-query',
      sizes: { pages: corpus.totalPages, documents: shape.documents, pagesPerDocument: shape.pagesPerDocument, ocrConcurrency: nproc, querySamples: QUERY_SAMPLES, cliRuns: CLI_ROUNDS },
      metrics: {
        pagesTotal: last.pages.total,
        pagesInFlightMax: maxInFlight,
        pagesInFlightMin: minInFlight,
        ocrQueueBacklogAtStart: ocrBacklogAtStart,
        ocrQueueBacklogAtEnd: ocrBacklogAtEnd,
        ocrPagesFinishedWhileSampling: ocrPagesDuring,
        pagesReportedWhileSampling: last.pages.done + last.pages.failed - firstReported,
        ...latencyMetrics('query', busy, underLoad.queryMs.get(BUSY_SITE)!.length),
        queryWithinTarget: busy.p99 <= QUERY_P99_TARGET_MS,
        ...latencyMetrics('idleQuery', idle, underLoad.queryMs.get(IDLE_SITE)!.length),
        ...latencyMetrics('idleQueryBeforeLoad', idleBefore, beforeLoad.queryMs.get(IDLE_SITE)!.length),
        ...latencyMetrics('describe', describe, underLoad.describeMs.length),
        queryP50OverIdle: round(busy.p50 / idle.p50, 2),
        queryP99OverIdle: round(ratio, 2),
        queryP99OverIdleBeforeLoad: round(busy.p99 / idleBefore.p99, 2),
        queryP99OverDescribe: round(busy.p99 / describe.p99, 2),
        ...latencyMetrics('cliStatus', cli.busyStatus, cliTimings.busyStatus.length),
        ...latencyMetrics('cliHelp', cli.help, cliTimings.help.length),
        ...latencyMetrics('nodeStart', cli.nodeStart, cliTimings.nodeStart.length),
        cliStatusP50OverHelp: round(cli.busyStatus.p50 / cli.help.p50, 2),
        cliStatusP99OverHelp: round(cli.busyStatus.p99 / cli.help.p99, 2),
      },
      ratio: {
        value: round(ratio, 3),
        target: `query p99 <= ${QUERY_P99_TARGET_MS} ms (was ${round(busy.p99, 1)} ms)`,
        meets: busy.p99 <= QUERY_P99_TARGET_MS,
        definition:
          `p99 of the status query of the busy run (${corpus.totalPages} pages, ${minInFlight}-${maxInFlight} in flight) / p99 of the same query of the idle run, ` +
          `asked right after it in each of ${QUERY_SAMPLES} sequential rounds (a ${SAMPLE_GAP_MS} ms pause between rounds); the target is issue 17's absolute p99`,
      },
      ok: problems.length === 0,
      notes: [
        `busy run: ${shape.documents} document children at once (documentsInFlight ${defaultFanOutLimits.documentsInFlight}), each with its page activities scheduled (pagesInFlight ${defaultFanOutLimits.pagesInFlight}), OCR on ${nproc} lanes in this process; in flight = pages.total - done - failed from the status query; pagesReportedWhileSampling: pages the children's progress signals added to done+failed during sampling (a report every ${defaultFanOutLimits.progressBatchPages} pages per document)`,
        `idle run: a 2-page scanned site open in the OCR stage on task queues ${IDLE_QUEUE_PREFIX}* (workflows and fetch workers in this process, no OCR worker), sampled alone before the load (idleQueryBeforeLoad) and after each busy query under load (idleQuery)`,
        "query: querySiteStatus (what `clerk status` calls) through the bench process's client; describe: DescribeWorkflowExecution of the busy run after each query",
        `cli: compiled \`clerk status <site> --json\` from spawn to exit (Postgres, Temporal, query), interleaved with \`node -e 0\` and \`clerk --help\`, after the query samples; first round not counted`,
        ...problems.map((p) => `PROBLEM: ${p}`),
      ],
    };
  });
}

interface QuerySamples {
  /** Per site, the times of its answered queries. */
  queryMs: Map<string, number[]>;
  describeMs: number[];
  /** Per site, its answers in order. */
  statuses: Map<string, SiteStatus[]>;
  failures: Map<string, number>;
}

/**
 * `samples` rounds, one after another with a short pause: in each, the status query of every site
 * in turn, then a DescribeWorkflowExecution of `describe`'s run if given.
 */
async function sampleQueries(stack: BenchStack, options: { sites: string[]; describe?: string; samples: number }): Promise<QuerySamples> {
  const result: QuerySamples = { queryMs: new Map(), describeMs: [], statuses: new Map(), failures: new Map() };
  for (const site of options.sites) {
    result.queryMs.set(site, []);
    result.statuses.set(site, []);
    result.failures.set(site, 0);
  }
  for (let i = 0; i < options.samples; i++) {
    for (const site of options.sites) {
      const started = performance.now();
      const status = await querySiteStatus(stack.client, site);
      if (status) {
        result.queryMs.get(site)!.push(performance.now() - started);
        result.statuses.get(site)!.push(status);
      } else result.failures.set(site, result.failures.get(site)! + 1);
    }
    if (options.describe) {
      const started = performance.now();
      await describeRun(stack.client, siteWorkflowId(options.describe));
      result.describeMs.push(performance.now() - started);
    }
    await new Promise((resolve) => setTimeout(resolve, SAMPLE_GAP_MS));
  }
  for (const site of options.sites) if (result.statuses.get(site)!.length === 0) throw new Error(`no status query of ${site} was answered`);
  return result;
}

/** Asks the run's status until `isReady` says it is: the state it is to be sampled in. */
async function waitForStatus(stack: BenchStack, site: string, what: string, isReady: (status: SiteStatus) => boolean): Promise<SiteStatus> {
  const started = Date.now();
  for (;;) {
    const status = await querySiteStatus(stack.client, site);
    if (status && isReady(status)) return status;
    if (Date.now() - started > READY_TIMEOUT_MS) throw new Error(`waited ${READY_TIMEOUT_MS / 60_000} minutes for ${what}; last status: ${JSON.stringify(status?.pages ?? null)} in ${status?.stage ?? 'no answer'}`);
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
}

/** OCR page activities of the busy run that have finished, from job_tracking. */
async function ocrPagesFinished(db: Db): Promise<number> {
  const { finished } = await db
    .selectFrom('job_tracking')
    .select((eb) => eb.fn.countAll<string>().as('finished'))
    .where('subdomain', '=', BUSY_SITE)
    .where('job_type', '=', 'ocrPage')
    .where('finished_at', 'is not', null)
    .executeTakeFirstOrThrow();
  return Number(finished);
}

/** The OCR queue's activity tasks waiting for a worker, as the server estimates them. */
async function ocrBacklog(stack: BenchStack): Promise<number> {
  const queues = await describeTaskQueues(stack.client, taskQueuesWithPrefix(stack.config.temporal.taskQueuePrefix));
  return queues.find((queue) => queue.role === 'ocr')?.kinds.activity?.backlog ?? 0;
}

function inFlight(status: SiteStatus): number {
  return status.pages.total - status.pages.done - status.pages.failed;
}

function latencyMetrics(prefix: string, p: Percentiles, samples: number): Record<string, number> {
  return { [`${prefix}P50Ms`]: round(p.p50, 1), [`${prefix}P90Ms`]: round(p.p90, 1), [`${prefix}P99Ms`]: round(p.p99, 1), [`${prefix}MaxMs`]: round(p.max, 1), [`${prefix}Samples`]: samples };
}
