/**
 * Records real workflow histories and writes a small, representative set of them as replay
 * fixtures (test/fixtures/histories/*.json), which test/integration/replay.test.ts replays against
 * the current workflow code on every test run. Re-record only for an intended workflow change; see
 * docs/WORKFLOW-CHANGES.md.
 *
 *   npx tsx scripts/record-histories.ts [outDir]
 *
 * Each scenario runs on its own throwaway stack (startBenchStack: embedded Postgres, in-memory
 * Temporal dev server, in-process workers), because OCR text is reused across documents with the
 * same PDF bytes: a second run of the sample site in the same database would OCR nothing.
 *
 *   sample-site   the sample site, default limits: site run, documents with and without OCR pages
 *   bad-corpus    corrupt, encrypted, empty and odd PDFs: documents that fail (markDocumentFailed)
 *   tight-limits  the sample site with tiny limits: the site run continues as new, a document
 *                 with more OCR pages than a batch starts pageBatchWorkflow children, and every
 *                 OCRed page is reported to the site run (progressBatchPages 1)
 *   cancelled-mid-ocr
 *                 the sample site cancelled once a page is OCRed (`clerk cancel`): a site run and a
 *                 document child that let their work in flight stop, then end cancelled
 *   fleet-refresh three sites (whose listings are gone, so their runs fail at once) refreshed by
 *                 fleetRefreshWorkflow one per batch over a short spread: batches with timers between
 *   unchanged-rerun
 *                 the sample site run twice: the second run keeps the live archive (no extraction,
 *                 no deploy)
 *   fleet-refresh-bounded
 *                 the same three sites refreshed with maxSitesInFlight 1: each batch waits for the
 *                 last site run to close
 *
 *   npx tsx scripts/record-histories.ts --only fleet-refresh     records only the named scenario(s)
 *
 * Only this script's own file names are (over)written; other fixtures in outDir are left alone, so
 * histories of an older workflow version can be kept beside the new ones while its runs are open.
 */
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { historyToJSON } from '@temporalio/common/lib/proto-utils.js';
import { startBenchStack, type BenchStack } from '../bench/support/bench-stack.js';
import { writeBadCorpusSite } from '../src/samples/bad-corpus.js';
import { writeSampleSite } from '../src/samples/sample-site.js';
import { serveDirectory } from '../src/samples/static-server.js';
import { saveSite } from '../src/sites/repository.js';
import { collectHistories, type WorkflowHistory } from '../src/temporal/histories.js';
import { enqueueSite } from '../src/temporal/site-runs.js';
import { fleetRefreshWorkflow } from '../src/workflows/fleet.js';
import type { siteWorkflow } from '../src/workflows/site.js';
import { taskQueuesWithPrefix } from '../src/workflows/types.js';
import type { FanOutLimits } from '../src/workflows/types.js';
import type { HistoryFixture } from '../test/support/history-fixture.js';

const defaultOutDir = fileURLToPath(new URL('../test/fixtures/histories/', import.meta.url));


interface Scenario {
  name: string;
  subdomain: string;
  writeSite(dir: string, subdomain: string): Promise<unknown>;
  limits?: Partial<FanOutLimits>;
  /** Picks the histories to keep: fixture suffix -> history. */
  pick(histories: WorkflowHistory[]): Record<string, WorkflowHistory | undefined>;
  /** Suffixes that must be found; a missing one fails the recording. */
  required: string[];
  /** Runs the scenario's workflow and returns the run to collect (default: enqueue the site and wait). */
  run?(stack: BenchStack, siteUrl: string): Promise<{ workflowId: string; runId: string }>;
}

const scenarios: Scenario[] = [
  {
    name: 'sample-site',
    subdomain: 'alameda.ca',
    writeSite: (dir, subdomain) => writeSampleSite(dir, { subdomain }),
    pick: (histories) => ({
      siteWorkflow: only(histories, 'siteWorkflow'),
      'documentWorkflow-ocr': smallest(histories, 'documentWorkflow', (h) => schedules(h, 'ocrPage')),
      // Site runs since document-reads-in-site-run start no child for a text-layer document; the
      // fixture recorded before them stays, for the children of older runs.
      'documentWorkflow-text-layer': smallest(histories, 'documentWorkflow', (h) => !schedules(h, 'ocrPage')),
    }),
    required: ['siteWorkflow', 'documentWorkflow-ocr'],
  },
  {
    name: 'bad-corpus',
    subdomain: 'badcorpus.ca',
    // A short "many pages" document keeps the run fast; the failure paths do not depend on it.
    writeSite: (dir, subdomain) => writeBadCorpusSite(dir, { subdomain, largePageCount: 40 }),
    pick: (histories) => ({
      siteWorkflow: only(histories, 'siteWorkflow'),
      // Site runs since document-reads-in-site-run read (and fail) documents themselves; a child
      // that records a failed read is one of an older run's, and its fixture stays.
      'documentWorkflow-failed': smallest(histories, 'documentWorkflow', (h) => calls(h, 'markDocumentFailed')),
      'documentWorkflow-page-failed': smallest(histories, 'documentWorkflow', (h) => calls(h, 'markPageFailed')),
    }),
    required: ['siteWorkflow', 'documentWorkflow-page-failed'],
  },
  {
    name: 'tight-limits',
    subdomain: 'tight-limits.ca',
    writeSite: (dir, subdomain) => writeSampleSite(dir, { subdomain }),
    limits: { continueAsNewAfterEvents: 30, documentsInFlight: 2, pagesPerBatch: 1, progressBatchPages: 1 },
    pick: (histories) => {
      const siteRuns = histories.filter((h) => h.workflowType === 'siteWorkflow');
      return {
        // The first run (no resume) ends in continue-as-new; the last one resumes and completes.
        'siteWorkflow-continued-as-new': siteRuns.length > 1 ? siteRuns[0] : undefined,
        'siteWorkflow-resumed': siteRuns.length > 1 ? siteRuns.at(-1) : undefined,
        'documentWorkflow-page-batches': smallest(histories, 'documentWorkflow', (h) => startsChildren(h)),
        pageBatchWorkflow: smallest(histories, 'pageBatchWorkflow', (h) => schedules(h, 'ocrPage')),
      };
    },
    required: ['siteWorkflow-continued-as-new', 'siteWorkflow-resumed', 'documentWorkflow-page-batches', 'pageBatchWorkflow'],
  },
  {
    name: 'cancelled-mid-ocr',
    subdomain: 'cancelled.ca',
    writeSite: (dir, subdomain) => writeSampleSite(dir, { subdomain }),
    limits: { documentsInFlight: 1, pagesInFlight: 1 },
    // `clerk cancel` once a page has been OCRed: the site run and the document child in flight end
    // cancelled, after the OCR page in flight has stopped.
    run: async (stack) => {
      const run = await enqueueSite(stack.client, stack.config, 'cancelled.ca', { limits: { documentsInFlight: 1, pagesInFlight: 1 } });
      for (;;) {
        const ocred = await stack.db.selectFrom('job_tracking').select('id').where('subdomain', '=', 'cancelled.ca').where('job_type', '=', 'ocrPage').where('status', '=', 'succeeded').executeTakeFirst();
        if (ocred) break;
        await new Promise((resolve) => setTimeout(resolve, 100));
      }
      const handle = stack.client.workflow.getHandle(run.workflowId, run.runId);
      await handle.cancel();
      await handle.result().catch(() => {});
      const closed = (await handle.describe()).status.name;
      if (closed !== 'CANCELLED') throw new Error(`cancelled-mid-ocr: the site run closed ${closed}, not cancelled`);
      return run;
    },
    pick: (histories) => ({
      siteWorkflow: only(histories, 'siteWorkflow'),
      'documentWorkflow-cancelled': smallest(histories, 'documentWorkflow', (h) => endsCancelled(h) && schedules(h, 'ocrPage')),
    }),
    required: ['siteWorkflow', 'documentWorkflow-cancelled'],
  },
  {
    name: 'fleet-refresh',
    subdomain: 'fleet-a.ca',
    // No index.html: each site's listing is a 404, so its run fails at once; only the enqueues matter.
    writeSite: async (dir) => fs.promises.mkdir(dir, { recursive: true }),
    run: async (stack, siteUrl) => {
      for (const subdomain of ['fleet-b.ca', 'fleet-c.ca']) {
        await saveSite(stack.db, { subdomain, name: subdomain, fetcher: 'http-index', sourceUrl: `${siteUrl}/index.html` });
      }
      const queues = taskQueuesWithPrefix(stack.config.temporal.taskQueuePrefix);
      const handle = await stack.client.workflow.start(fleetRefreshWorkflow, {
        workflowId: 'fleet/record',
        taskQueue: queues.workflows,
        args: [{ queues, spreadMs: 600, batchSize: 1 }],
      });
      const counts = await handle.result();
      if (counts.started !== 3) throw new Error(`fleet-refresh: expected 3 site runs started, got ${JSON.stringify(counts)}`);
      // Let the site runs end before the stack stops.
      for (const subdomain of ['fleet-a.ca', 'fleet-b.ca', 'fleet-c.ca']) await stack.client.workflow.getHandle(`site/${subdomain}`).result().catch(() => {});
      return { workflowId: handle.workflowId, runId: handle.firstExecutionRunId };
    },
    pick: (histories) => ({ fleetRefreshWorkflow: only(histories, 'fleetRefreshWorkflow') }),
    required: ['fleetRefreshWorkflow'],
  },
  {
    name: 'unchanged-rerun',
    subdomain: 'unchanged.ca',
    writeSite: (dir, subdomain) => writeSampleSite(dir, { subdomain }),
    // The site run twice: the second run reads nothing new and keeps the live archive
    // (archiveIsCurrent), with no extraction or deploy.
    run: async (stack) => {
      await runSite(stack, { name: 'unchanged-rerun', subdomain: 'unchanged.ca' } as Scenario);
      const rerun = await runSite(stack, { name: 'unchanged-rerun', subdomain: 'unchanged.ca' } as Scenario);
      const status = await stack.client.workflow.getHandle<typeof siteWorkflow>(rerun.workflowId, rerun.runId).result();
      if (!status.archiveKept) throw new Error('unchanged-rerun: the re-run did not keep the live archive');
      return rerun;
    },
    pick: (histories) => ({ siteWorkflow: only(histories, 'siteWorkflow') }),
    required: ['siteWorkflow'],
  },
  {
    name: 'fleet-refresh-bounded',
    subdomain: 'bounded-a.ca',
    // As fleet-refresh, with maxSitesInFlight 1 (`clerk enqueue --all`, schedules since): each batch
    // waits for the previous site run to close (sitesStillRunning between timers), and the refresh
    // ends with its last site run.
    writeSite: async (dir) => fs.promises.mkdir(dir, { recursive: true }),
    run: async (stack, siteUrl) => {
      for (const subdomain of ['bounded-b.ca', 'bounded-c.ca']) {
        await saveSite(stack.db, { subdomain, name: subdomain, fetcher: 'http-index', sourceUrl: `${siteUrl}/index.html` });
      }
      const queues = taskQueuesWithPrefix(stack.config.temporal.taskQueuePrefix);
      const handle = await stack.client.workflow.start(fleetRefreshWorkflow, {
        workflowId: 'fleet/record-bounded',
        taskQueue: queues.workflows,
        args: [{ queues, spreadMs: 0, maxSitesInFlight: 1 }],
      });
      const counts = await handle.result();
      if (counts.started !== 3) throw new Error(`fleet-refresh-bounded: expected 3 site runs started, got ${JSON.stringify(counts)}`);
      return { workflowId: handle.workflowId, runId: handle.firstExecutionRunId };
    },
    pick: (histories) => ({ fleetRefreshWorkflow: only(histories, 'fleetRefreshWorkflow') }),
    required: ['fleetRefreshWorkflow'],
  },
];

async function recordScenario(scenario: Scenario): Promise<Record<string, HistoryFixture>> {
  const stack = await startBenchStack();
  let server: { url: string; close(): Promise<void> } | undefined;
  try {
    const siteDir = path.join(stack.root, 'site');
    await scenario.writeSite(siteDir, scenario.subdomain);
    server = await serveDirectory(siteDir);
    await saveSite(stack.db, { subdomain: scenario.subdomain, name: scenario.name, fetcher: 'http-index', sourceUrl: `${server.url}/index.html` });
    const run = scenario.run ? await scenario.run(stack, server.url) : await runSite(stack, scenario);
    const histories = await collectHistories(stack.client, run.workflowId, run.runId);
    const summary = countBy(histories.map((h) => h.workflowType));
    console.log(`  ${scenario.name}: ${histories.length} histories (${Object.entries(summary).map(([t, n]) => `${n} ${t}`).join(', ')})`);

    const picked = scenario.pick(histories);
    const missing = scenario.required.filter((suffix) => !picked[suffix]);
    if (missing.length > 0) throw new Error(`${scenario.name}: no history found for ${missing.join(', ')}`);
    const fixtures: Record<string, HistoryFixture> = {};
    for (const [suffix, h] of Object.entries(picked)) {
      if (!h) {
        console.log(`  ${scenario.name}: no ${suffix} history in this run; skipped`);
        continue;
      }
      fixtures[`${scenario.name}.${suffix}.json`] = {
        scenario: scenario.name,
        workflowType: h.workflowType,
        workflowId: h.workflowId,
        runId: h.runId,
        events: h.history.events?.length ?? 0,
        history: JSON.parse(historyToJSON(h.history)) as unknown,
      };
    }
    return fixtures;
  } finally {
    await server?.close();
    await stack.close();
  }
}

async function runSite(stack: BenchStack, scenario: Scenario): Promise<{ workflowId: string; runId: string }> {
  const run = await enqueueSite(stack.client, stack.config, scenario.subdomain, scenario.limits ? { limits: scenario.limits } : {});
  // result() follows continue-as-new to the last run.
  const status = await stack.client.workflow.getHandle<typeof siteWorkflow>(run.workflowId, run.runId).result();
  if (status.stage !== 'completed') throw new Error(`${scenario.name}: the site run ended ${status.stage}: ${status.error}`);
  return run;
}

function only(histories: WorkflowHistory[], type: string): WorkflowHistory | undefined {
  const matching = histories.filter((h) => h.workflowType === type);
  return matching.length === 1 ? matching[0] : undefined;
}

/** The shortest history of a type that satisfies `filter`, so fixtures stay small. */
function smallest(histories: WorkflowHistory[], type: string, filter: (h: WorkflowHistory) => boolean): WorkflowHistory | undefined {
  return histories
    .filter((h) => h.workflowType === type && filter(h))
    .sort((a, b) => (a.history.events?.length ?? 0) - (b.history.events?.length ?? 0))[0];
}

function schedules(h: WorkflowHistory, activityType: string): boolean {
  return (h.history.events ?? []).some((e) => e.activityTaskScheduledEventAttributes?.activityType?.name === activityType);
}

/** Whether the history runs the activity, scheduled or local (a `core_local_activity` marker names its type in its data). */
function calls(h: WorkflowHistory, activityType: string): boolean {
  if (schedules(h, activityType)) return true;
  return (h.history.events ?? []).some((e) => {
    const marker = e.markerRecordedEventAttributes;
    if (marker?.markerName !== 'core_local_activity') return false;
    const data = marker.details?.['data']?.payloads?.[0]?.data;
    if (!data) return false;
    return (JSON.parse(Buffer.from(data).toString('utf8')) as { activity_type?: string }).activity_type === activityType;
  });
}

function endsCancelled(h: WorkflowHistory): boolean {
  return (h.history.events ?? []).some((e) => e.workflowExecutionCanceledEventAttributes);
}

function startsChildren(h: WorkflowHistory): boolean {
  return (h.history.events ?? []).some((e) => e.startChildWorkflowExecutionInitiatedEventAttributes);
}

function countBy(values: string[]): Record<string, number> {
  const counts: Record<string, number> = {};
  for (const value of values) counts[value] = (counts[value] ?? 0) + 1;
  return counts;
}

async function main(argv: string[]): Promise<void> {
  const onlyAt = argv.indexOf('--only');
  const only = onlyAt >= 0 ? (argv[onlyAt + 1] ?? '').split(',') : undefined;
  const rest = onlyAt >= 0 ? argv.filter((_, i) => i !== onlyAt && i !== onlyAt + 1) : argv;
  const unknown = only?.filter((name) => !scenarios.some((s) => s.name === name)) ?? [];
  if (unknown.length > 0) throw new Error(`no scenario named ${unknown.join(', ')}; scenarios: ${scenarios.map((s) => s.name).join(', ')}`);
  const outDir = path.resolve(rest[0] ?? defaultOutDir);
  const started = Date.now();
  const fixtures: Record<string, HistoryFixture> = {};
  for (const scenario of scenarios.filter((s) => !only || only.includes(s.name))) {
    const scenarioStarted = Date.now();
    console.log(`recording ${scenario.name} ...`);
    Object.assign(fixtures, await recordScenario(scenario));
    console.log(`  ${scenario.name}: ${((Date.now() - scenarioStarted) / 1000).toFixed(1)} s`);
  }

  fs.mkdirSync(outDir, { recursive: true });
  let totalBytes = 0;
  console.log(`\nwrote ${Object.keys(fixtures).length} fixtures to ${path.relative(process.cwd(), outDir) || '.'}:`);
  for (const [name, fixture] of Object.entries(fixtures)) {
    const text = JSON.stringify(fixture, null, 2) + '\n';
    fs.writeFileSync(path.join(outDir, name), text);
    totalBytes += Buffer.byteLength(text);
    console.log(`  ${name.padEnd(52)} ${String(fixture.events).padStart(4)} events ${kb(Buffer.byteLength(text)).padStart(9)}  ${fixture.workflowId}`);
  }
  console.log(`total ${kb(totalBytes)}, recorded in ${((Date.now() - started) / 1000).toFixed(1)} s`);
}

function kb(bytes: number): string {
  return `${(bytes / 1024).toFixed(1)} KB`;
}

main(process.argv.slice(2)).then(
  () => process.exit(0),
  (error: unknown) => {
    console.error(error);
    process.exit(1);
  },
);
