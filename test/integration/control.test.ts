import { execFile, execFileSync } from 'node:child_process';
import fs from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { CancelledFailure } from '@temporalio/common';
import { MockActivityEnvironment } from '@temporalio/testing';
import { DefaultLogger } from '@temporalio/worker';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createOcrActivities } from '../../src/activities/ocr.js';
import { pageTextKey, pdfKey } from '../../src/archive/layout.js';
import { OcrEnginePool } from '../../src/ocr/pool.js';
import { getDocument, recordDocumentPages, recordFetchedDocument } from '../../src/progress/documents.js';
import { makeScannedPdf } from '../../src/samples/pdf-builder.js';
import { siteDeployDir } from '../../src/deploy/layout.js';
import { serveDirectory } from '../../src/samples/static-server.js';
import { saveSite } from '../../src/sites/repository.js';
import { collectHistories, type WorkflowHistory } from '../../src/temporal/histories.js';
import { siteRunsWaitingOn } from '../../src/temporal/control.js';
import { enqueueSite } from '../../src/temporal/site-runs.js';
import type { siteWorkflow } from '../../src/workflows/site.js';
import { siteWorkflowId, taskQueuesWithPrefix } from '../../src/workflows/types.js';
import { expectExactAccounting } from '../support/accounting.js';
import { clerkBin, runClerk, type CliResult } from '../support/cli.js';
import { createHarness, type Harness } from '../support/harness.js';
import { waitFor } from '../support/ocr-run.js';
import { writeScannedSite } from '../support/scanned-site.js';
import { startWorkerProcess, type WorkerProcess } from '../support/worker-process.js';

const SCANNED = 'scanville.ca';
const SCANNED_SHAPE = { documents: 3, pagesPerDocument: 4 };
const RUNNING = 'midrun.ca';
const RUNNING_SHAPE = { documents: 3, pagesPerDocument: 6 };
const IN_OCR = 'inocr.ca';
const IN_FETCH = 'infetch.ca';

let harness: Harness;
let ocrWorker: WorkerProcess;
/** The OCR worker's temporary folder: its page images and tesseract's command lines name it. */
let ocrTmpDir: string;
const closers: (() => Promise<void>)[] = [];

function clerk(...args: string[]): Promise<CliResult> {
  return runClerk(args, harness.env);
}

function json<T>(result: CliResult): T {
  expect(result.code, result.stderr).toBe(0);
  return JSON.parse(result.stdout) as T;
}

/** Writes a scanned site into its own folder of the data folder, serves it and registers it. */
async function serveSite(subdomain: string, shape: { documents: number; pagesPerDocument: number }): Promise<void> {
  const siteDir = path.join(harness.dataDir, `site-${subdomain}`);
  await writeScannedSite(siteDir, shape);
  const server = await serveDirectory(siteDir);
  closers.push(server.close);
  await saveSite(harness.db, { subdomain, name: subdomain, fetcher: 'http-index', sourceUrl: `${server.url}/index.html` });
}

async function pageRows(subdomain: string) {
  return harness.db.selectFrom('pages').selectAll().where('subdomain', '=', subdomain).orderBy('document_id').orderBy('page_number').execute();
}

async function documentRows(subdomain: string) {
  return harness.db.selectFrom('documents').selectAll().where('subdomain', '=', subdomain).orderBy('id').execute();
}

async function progressRow(subdomain: string) {
  return harness.db.selectFrom('site_progress').selectAll().where('subdomain', '=', subdomain).executeTakeFirst();
}

async function rowCounts(subdomain: string): Promise<Record<string, number>> {
  const counts: Record<string, number> = {};
  for (const table of ['pages', 'documents', 'site_progress', 'job_tracking', 'listing_rejections', 'deployments'] as const) {
    const row = await harness.db.selectFrom(table).select((eb) => eb.fn.countAll<string>().as('n')).where('subdomain', '=', subdomain).executeTakeFirstOrThrow();
    counts[table] = Number(row.n);
  }
  return counts;
}

/** Files (and links) under a folder, relative to it; none when it does not exist. */
function filesUnder(folder: string): string[] {
  if (!fs.existsSync(folder)) return [];
  return fs
    .readdirSync(folder, { recursive: true, withFileTypes: true })
    .filter((entry) => !entry.isDirectory())
    .map((entry) => path.relative(folder, path.join(entry.parentPath, entry.name)))
    .sort();
}

/** tesseract processes reading images in `tmpDir` (this test's OCR worker's, by default): their command lines name it. */
function tesseractProcesses(tmpDir = ocrTmpDir): string[] {
  try {
    return execFileSync('pgrep', ['-a', '-f', `^tesseract ${tmpDir}`], { encoding: 'utf8' }).trim().split('\n');
  } catch {
    return [];
  }
}

/** For each page, how many ocrPage activities of these histories read it (a page already done is skipped, not read). */
function pageReadings(histories: WorkflowHistory[]): Map<string, number> {
  const readings = new Map<string, number>();
  for (const { history } of histories) {
    const events = history.events ?? [];
    const inputs = new Map<string, { documentId: string; page: number }>();
    for (const event of events) {
      const scheduled = event.activityTaskScheduledEventAttributes;
      if (scheduled?.activityType?.name === 'ocrPage') inputs.set(String(event.eventId), decode(scheduled.input!.payloads![0]!));
      const completed = event.activityTaskCompletedEventAttributes;
      if (!completed) continue;
      const input = inputs.get(String(completed.scheduledEventId));
      if (!input) continue;
      const result = decode<{ skipped: boolean }>(completed.result!.payloads![0]!);
      if (result.skipped) continue;
      const key = `${input.documentId}#${input.page}`;
      readings.set(key, (readings.get(key) ?? 0) + 1);
    }
  }
  return readings;
}

async function runningOcrPages(subdomain: string): Promise<number> {
  const rows = await harness.db.selectFrom('job_tracking').select('job_id').where('subdomain', '=', subdomain).where('job_type', '=', 'ocrPage').where('status', '=', 'running').execute();
  return rows.length;
}

async function cancelRequested(workflowId: string, runId: string): Promise<boolean> {
  const history = await harness.client.workflow.getHandle(workflowId, runId).fetchHistory();
  return (history.events ?? []).some((event) => event.workflowExecutionCancelRequestedEventAttributes);
}

function decode<T>(payload: { data?: Uint8Array | null }): T {
  return JSON.parse(Buffer.from(payload.data!).toString('utf8')) as T;
}

beforeAll(async () => {
  harness = await createHarness('control');
  ocrTmpDir = path.join(harness.dataDir, 'ocr-tmp');
  fs.mkdirSync(ocrTmpDir);
  await harness.startWorkers(['workflows', 'fetch', 'extraction', 'deploy']);
  ocrWorker = await startWorkerProcess('ocr', { ...harness.env, CLERK_OCR_CONCURRENCY: '2', TMPDIR: ocrTmpDir });
});

afterAll(async () => {
  await ocrWorker?.stop();
  for (const close of closers) await close();
  await harness?.close();
});

describe('clerk cancel in the middle of OCR', () => {
  let firstRunId: string;
  let cancelled: CliResult;
  let doneAtCancel: number;
  let inFlightAtCancel: number;

  beforeAll(async () => {
    await serveSite(SCANNED, SCANNED_SHAPE);
    const run = await enqueueSite(harness.client, harness.config, SCANNED);
    firstRunId = run.runId;
    // Some pages read, some being read: the middle of OCR.
    await waitFor(async () => (await pageRows(SCANNED)).filter((p) => p.status === 'done').length >= 2 && (await runningOcrPages(SCANNED)) > 0, 'OCR half done');
    // The OCR worker is frozen (SIGSTOP) until the cancellation is recorded, so that it lands in the
    // middle of OCR however long the CLI takes to start; its pages in flight then see it on resuming.
    process.kill(ocrWorker.pid!, 'SIGSTOP');
    try {
      doneAtCancel = (await pageRows(SCANNED)).filter((p) => p.status === 'done').length;
      inFlightAtCancel = await runningOcrPages(SCANNED);
      const cancelling = clerk('cancel', SCANNED, '--json');
      await waitFor(() => cancelRequested(run.workflowId, run.runId), 'the cancellation recorded');
      process.kill(ocrWorker.pid!, 'SIGCONT');
      cancelled = await cancelling;
    } finally {
      process.kill(ocrWorker.pid!, 'SIGCONT');
    }
  });

  it('waits until the run has closed as cancelled, and reports what was left', async () => {
    const { cancellations } = json<{ cancellations: { subdomain: string; outcome: string; runId: string; workflowStatus: string; stage: string; pages: { total: number; done: number; failed: number; pending: number } }[] }>(cancelled);
    expect(cancellations).toHaveLength(1);
    const [cancellation] = cancellations;
    expect(cancellation).toMatchObject({ subdomain: SCANNED, outcome: 'cancelled', runId: firstRunId, stage: 'cancelled' });
    expect(['CANCELLED', 'CANCELED']).toContain(cancellation!.workflowStatus);
    const description = await harness.client.workflow.getHandle(siteWorkflowId(SCANNED), firstRunId).describe();
    expect(['CANCELLED', 'CANCELED']).toContain(description.status.name);
    const pages = await pageRows(SCANNED);
    expect(cancellation!.pages).toEqual({
      total: pages.length,
      done: pages.filter((p) => p.status === 'done').length,
      failed: 0,
      pending: pages.filter((p) => p.status === 'pending').length,
    });
  });

  it('records the end as stage cancelled, with counts equal to a recount of the pages and documents tables', async () => {
    const progress = await progressRow(SCANNED);
    const pages = await pageRows(SCANNED);
    const documents = await documentRows(SCANNED);
    expect(progress?.current_stage).toBe('cancelled');
    expect(progress?.finished_at).not.toBeNull();
    expect({ total: progress?.pages_total, done: progress?.pages_done, failed: progress?.pages_failed }).toEqual({
      total: pages.length,
      done: pages.filter((p) => p.status === 'done').length,
      failed: pages.filter((p) => p.status === 'failed').length,
    });
    expect({ total: progress?.documents_total, done: progress?.documents_done, failed: progress?.documents_failed }).toEqual({
      total: documents.length,
      done: documents.filter((d) => d.status === 'done').length,
      failed: documents.filter((d) => d.status === 'failed').length,
    });
  });

  it('leaves every page either done with its text stored or pending with nothing written, and none failed', async () => {
    const pages = await pageRows(SCANNED);
    expect(pages.filter((p) => p.status === 'failed')).toEqual([]);
    const done = pages.filter((p) => p.status === 'done');
    const pending = pages.filter((p) => p.status === 'pending');
    expect(done.length).toBeGreaterThanOrEqual(doneAtCancel);
    expect(pending.length).toBeGreaterThan(0);
    for (const page of done) {
      expect(page.text_key).not.toBeNull();
      expect((await harness.store.getText(page.text_key!)).length).toBe(page.char_count);
      expect(page.char_count).toBeGreaterThan(0);
    }
    for (const page of pending) expect({ text_key: page.text_key, char_count: page.char_count, ocr_engine: page.ocr_engine }).toEqual({ text_key: null, char_count: null, ocr_engine: null });
    // A document is closed only when all its pages are read; one with a page left stays to be read (fetched).
    const documents = await documentRows(SCANNED);
    expect(documents.filter((d) => d.status === 'failed')).toEqual([]);
    for (const doc of documents) {
      const own = pages.filter((p) => p.document_id === doc.id);
      if (doc.status === 'done') expect(own.every((p) => p.status === 'done'), doc.id).toBe(true);
      if (own.some((p) => p.status === 'pending')) expect(doc.status, doc.id).toBe('fetched');
    }
  });

  it('closes the run only after every OCR activity has stopped, its tesseract processes included', async () => {
    expect(inFlightAtCancel).toBeGreaterThan(0);
    const running = await harness.db.selectFrom('job_tracking').select(['job_type', 'job_id']).where('subdomain', '=', SCANNED).where('status', '=', 'running').execute();
    expect(running).toEqual([]);
    expect(tesseractProcesses()).toEqual([]);
    expect(fs.readdirSync(ocrTmpDir).filter((name) => name.endsWith('.pgm'))).toEqual([]);
  });

  it('says so, without an error, for a site with no run in progress, and refuses an unknown site', async () => {
    const again = await clerk('cancel', SCANNED);
    expect(again.code, again.stderr).toBe(0);
    expect(again.stdout).toContain(`${SCANNED}: no run in progress; nothing to cancel`);
    const unknown = await clerk('cancel', 'nosuchsite.ca');
    expect(unknown.code).toBe(2);
    expect(unknown.stderr).toContain('nosuchsite.ca');
  });

  it('kills the tesseract process of a page cancelled while it is read, and writes nothing for it', async () => {
    // The OCR activity itself, on one dense page of its own site, cancelled once tesseract is seen running.
    const probeSite = 'probe.ca';
    await saveSite(harness.db, { subdomain: probeSite, name: probeSite, fetcher: 'http-index', sourceUrl: 'http://127.0.0.1:9/index.html' });
    const lines = Array.from({ length: 45 }, (_, i) => `Item ${i + 1}: motion by Council Member Ortiz to approve the minutes, seconded by Chen.`);
    const pdf = await makeScannedPdf([lines], 'Probe', 300);
    const identity = { subdomain: probeSite, kind: 'minutes' as const, meetingSlug: 'CityCouncil', date: '2025-01-01', part: '' };
    const storageKey = pdfKey(identity);
    await harness.store.put(storageKey, pdf);
    const documentId = `${probeSite}:minutes:CityCouncil:2025-01-01`;
    await recordFetchedDocument(harness.db, {
      id: documentId, subdomain: probeSite, kind: 'minutes', meeting: 'City Council', meetingSlug: 'CityCouncil', date: '2025-01-01',
      sourceUrl: 'http://example.invalid/probe.pdf', storageKey, contentSha256: 'probe', byteSize: pdf.byteLength,
    });
    await recordDocumentPages(harness.db, await getDocument(harness.db, documentId), 1, [{ page: 1 }]);
    const pageBefore = await harness.db.selectFrom('pages').selectAll().where('document_id', '=', documentId).executeTakeFirstOrThrow();

    const activityTmpDir = path.join(harness.dataDir, 'probe-tmp');
    fs.mkdirSync(activityTmpDir);
    const previousTmpDir = process.env.TMPDIR;
    process.env.TMPDIR = activityTmpDir;
    const engines = new OcrEnginePool('tesseract', 1);
    const { ocrPage } = createOcrActivities({ db: harness.db, store: harness.store, config: { ...harness.config, ocr: { ...harness.config.ocr, dpi: 400 } }, ocrEngines: engines });
    const activity = new MockActivityEnvironment({ activityType: 'ocrPage', workflowExecution: { workflowId: 'cancel-probe', runId: 'probe' } }, { logger: new DefaultLogger('ERROR') });
    let seenRunning: string[] = [];
    let outcome: unknown;
    try {
      let settled = false;
      const reading = activity.run(ocrPage, { subdomain: probeSite, documentId, page: 1 }).then(
        () => 'finished',
        (error: unknown) => error,
      ).finally(() => (settled = true));
      while (!settled && seenRunning.length === 0) {
        seenRunning = tesseractProcesses(activityTmpDir);
        await new Promise((resolve) => setTimeout(resolve, 10));
      }
      activity.cancel();
      outcome = await reading;
    } finally {
      // Assigning undefined to process.env would set the string "undefined".
      if (previousTmpDir === undefined) delete process.env.TMPDIR;
      else process.env.TMPDIR = previousTmpDir;
      await engines.close();
    }
    expect(seenRunning).toHaveLength(1);
    expect(outcome).toBeInstanceOf(CancelledFailure);
    expect(tesseractProcesses(activityTmpDir)).toEqual([]);
    expect(fs.readdirSync(activityTmpDir)).toEqual([]);
    expect(await harness.db.selectFrom('pages').selectAll().where('document_id', '=', documentId).executeTakeFirstOrThrow()).toEqual(pageBefore);
    expect(await harness.store.exists(pageTextKey(identity, 1))).toBe(false);
    // Its job_tracking row says the attempt was cancelled, not that it failed.
    const attempts = await harness.db.selectFrom('job_tracking').select(['status', 'error']).where('workflow_id', '=', 'cancel-probe').execute();
    expect(attempts.map((a) => a.status)).toEqual(['cancelled']);
  });

  it("records the run's activities that the cancellation stopped as cancelled in job_tracking, none as failed", async () => {
    // Every attempt of the site so far is the first run's (its document children's included): the next test runs it again.
    const attempts = await harness.db.selectFrom('job_tracking').select(['job_type', 'status', 'error']).where('subdomain', '=', SCANNED).execute();
    expect(attempts.length).toBeGreaterThan(0);
    expect(attempts.filter((a) => a.status === 'failed')).toEqual([]);
    expect(attempts.filter((a) => !['succeeded', 'cancelled'].includes(a.status))).toEqual([]);
  });

  it('lets a later enqueue read the rest, each page exactly once, with exact final counts', async () => {
    const second = await enqueueSite(harness.client, harness.config, SCANNED);
    const status = await harness.client.workflow.getHandle<typeof siteWorkflow>(second.workflowId, second.runId).result();
    const totalPages = SCANNED_SHAPE.documents * SCANNED_SHAPE.pagesPerDocument;
    expect(status.stage).toBe('completed');
    expect(status.pages).toEqual({ total: totalPages, done: totalPages, failed: 0 });
    expect(status.documents).toEqual({ total: SCANNED_SHAPE.documents, done: SCANNED_SHAPE.documents, failed: 0 });
    await expectExactAccounting(harness.db, harness.client, SCANNED, status, second.runId);

    const readings = pageReadings([
      ...(await collectHistories(harness.client, siteWorkflowId(SCANNED), firstRunId)),
      ...(await collectHistories(harness.client, siteWorkflowId(SCANNED), second.runId)),
    ]);
    const pages = await pageRows(SCANNED);
    expect(pages).toHaveLength(totalPages);
    expect(pages.map((p) => readings.get(`${p.document_id}#${p.page_number}`) ?? 0)).toEqual(pages.map(() => 1));
    expect((await progressRow(SCANNED))?.current_stage).toBe('completed');
  });
});

describe('clerk purge', () => {
  it('with --dry-run lists the rows and files it would delete, and changes nothing', async () => {
    const rowsBefore = await rowCounts(SCANNED);
    const storedBefore = filesUnder(path.join(harness.config.storageDir, SCANNED));
    const deployedBefore = filesUnder(siteDeployDir(harness.config.deployDir, SCANNED));
    const siteBefore = await harness.db.selectFrom('sites').selectAll().where('subdomain', '=', SCANNED).executeTakeFirstOrThrow();
    expect(rowsBefore.deployments).toBeGreaterThan(0);
    expect(deployedBefore).toContain('meetings.db');

    const plan = json<{ dryRun: boolean; plan: { workflows: unknown[]; rows: Record<string, number>; files: { storage: { folder: string; files: number }; deploy: { folder: string; files: number } } } }>(
      await clerk('purge', SCANNED, '--files', '--dry-run', '--json'),
    );
    expect(plan.dryRun).toBe(true);
    expect(plan.plan.workflows).toEqual([]);
    expect(plan.plan.rows).toEqual(rowsBefore);
    expect(plan.plan.files).toEqual({
      storage: { folder: path.join(harness.config.storageDir, SCANNED), files: storedBefore.length },
      deploy: { folder: siteDeployDir(harness.config.deployDir, SCANNED), files: deployedBefore.length },
    });
    // Without --files the deployed archive is still served, so its deployment records stay too.
    const rowsOnly = json<{ plan: { rows: Record<string, number>; files: unknown } }>(await clerk('purge', SCANNED, '--dry-run', '--json'));
    const { deployments: _kept, ...trackingRows } = rowsBefore;
    expect(rowsOnly.plan.rows).toEqual(trackingRows);
    expect(rowsOnly.plan.files).toBeNull();
    const human = await clerk('purge', SCANNED, '--files', '--dry-run');
    expect(human.code, human.stderr).toBe(0);
    expect(human.stdout).toContain(`would delete rows: pages ${rowsBefore.pages}, documents ${rowsBefore.documents}`);
    expect(human.stdout).toContain('(dry run: nothing was changed)');

    expect(await rowCounts(SCANNED)).toEqual(rowsBefore);
    expect(filesUnder(path.join(harness.config.storageDir, SCANNED))).toEqual(storedBefore);
    expect(filesUnder(siteDeployDir(harness.config.deployDir, SCANNED))).toEqual(deployedBefore);
    expect(await harness.db.selectFrom('sites').selectAll().where('subdomain', '=', SCANNED).executeTakeFirstOrThrow()).toEqual(siteBefore);
  });

  it('refuses without --yes when there is no terminal to ask on', async () => {
    const refused = await clerk('purge', SCANNED, '--files');
    expect(refused.code).toBe(2);
    expect(refused.stderr).toContain('Refusing without --yes');
    expect((await rowCounts(SCANNED)).pages).toBeGreaterThan(0);
  });

  it('with --yes --files deletes a finished site\'s rows, stored files and deployed archive, and keeps it registered', async () => {
    const purged = json<{ purged: { terminated: unknown; rows: Record<string, number>; files: { storage: number; deploy: number } } }>(await clerk('purge', SCANNED, '--files', '--yes', '--json'));
    expect(purged.purged.terminated).toBeNull();
    expect(purged.purged.files.storage).toBeGreaterThan(0);
    expect(purged.purged.files.deploy).toBeGreaterThan(0);
    expect(await rowCounts(SCANNED)).toEqual({ pages: 0, documents: 0, site_progress: 0, job_tracking: 0, listing_rejections: 0, deployments: 0 });
    expect(fs.existsSync(path.join(harness.config.storageDir, SCANNED))).toBe(false);
    expect(fs.existsSync(siteDeployDir(harness.config.deployDir, SCANNED))).toBe(false);
    const site = await harness.db.selectFrom('sites').selectAll().where('subdomain', '=', SCANNED).executeTakeFirstOrThrow();
    expect(site.fetcher).toBe('http-index');
    expect(site.last_fetched_at).toBeNull();
  });

  it('terminates a running site and its children, deletes what it wrote, and lets it run again from scratch', async () => {
    await serveSite(RUNNING, RUNNING_SHAPE);
    const run = await enqueueSite(harness.client, harness.config, RUNNING);
    await waitFor(async () => (await pageRows(RUNNING)).some((p) => p.status === 'done'), 'OCR under way');
    // With the OCR worker stopped (its pages in flight finished), the run waits in the middle of OCR.
    await ocrWorker.stop();
    const children = (await harness.db.selectFrom('job_tracking').select('workflow_id').distinct().where('subdomain', '=', RUNNING).where('job_type', '=', 'ocrPage').execute()).map((r) => r.workflow_id);
    expect(children.length).toBeGreaterThan(0);

    const dryRun = json<{ plan: { workflows: { workflowId: string; type: string }[] } }>(await clerk('purge', RUNNING, '--files', '--dry-run', '--json'));
    expect(dryRun.plan.workflows[0]).toMatchObject({ workflowId: run.workflowId, type: 'siteWorkflow' });
    expect(dryRun.plan.workflows.filter((w) => w.type === 'documentWorkflow').length).toBeGreaterThan(0);

    // An attempt whose worker died mid-activity stays marked running for ever: purge must not wait on it.
    const deadSince = new Date(Date.now() - 10 * 60_000);
    await harness.db
      .insertInto('job_tracking')
      .values({
        job_id: `${run.workflowId}/dead-worker/1#1`, subdomain: RUNNING, job_type: 'ocrPage', stage: 'ocr', workflow_id: children[0]!, run_id: 'a-run-of-a-dead-worker',
        activity_id: '1', attempt: 1, task_queue: 'ocr', host: 'gone', status: 'running', started_at: deadSince, created_at: deadSince,
      })
      .execute();

    const purged = json<{ plan: { workflows: { workflowId: string; type: string }[] }; purged: { terminated: { workflowId: string; runId: string }; activitiesStillRunning: number; activitiesAbandoned: number } }>(
      await clerk('purge', RUNNING, '--files', '--yes', '--json'),
    );
    expect(purged.purged.terminated).toMatchObject({ workflowId: run.workflowId, runId: run.runId });
    expect(purged.purged.activitiesStillRunning).toBe(0);
    expect(purged.purged.activitiesAbandoned).toBe(1);
    expect((await harness.client.workflow.getHandle(run.workflowId, run.runId).describe()).status.name).toBe('TERMINATED');
    // The children still open when the site run was terminated closed with it (parent close policy TERMINATE).
    const openChildren = purged.plan.workflows.filter((w) => w.type === 'documentWorkflow').map((w) => w.workflowId);
    expect(openChildren.length).toBeGreaterThan(0);
    for (const child of openChildren) expect((await harness.client.workflow.getHandle(child).describe()).status.name, child).toBe('TERMINATED');
    for (const child of children) expect(['COMPLETED', 'TERMINATED'], child).toContain((await harness.client.workflow.getHandle(child).describe()).status.name);
    expect(await rowCounts(RUNNING)).toEqual({ pages: 0, documents: 0, site_progress: 0, job_tracking: 0, listing_rejections: 0, deployments: 0 });
    expect(filesUnder(path.join(harness.config.storageDir, RUNNING))).toEqual([]);

    await ocrWorker.restart();
    const again = await enqueueSite(harness.client, harness.config, RUNNING);
    expect(again.started).toBe(true);
    const status = await harness.client.workflow.getHandle<typeof siteWorkflow>(again.workflowId, again.runId).result();
    const totalPages = RUNNING_SHAPE.documents * RUNNING_SHAPE.pagesPerDocument;
    expect(status.stage).toBe('completed');
    expect(status.pages).toEqual({ total: totalPages, done: totalPages, failed: 0 });
    await expectExactAccounting(harness.db, harness.client, RUNNING, status, again.runId);
  });
});

describe('clerk purge-queue', () => {
  let inOcrRunId: string;
  let inFetchRunId: string;
  let hangingListing: http.Server;

  beforeAll(async () => {
    // A listing that never answers holds its site's run in the fetch stage.
    hangingListing = http.createServer(() => {});
    await new Promise<void>((resolve) => hangingListing.listen(0, '127.0.0.1', resolve));
    closers.push(async () => {
      hangingListing.closeAllConnections();
      await new Promise((resolve) => hangingListing.close(resolve));
    });
    const port = (hangingListing.address() as AddressInfo).port;
    await saveSite(harness.db, { subdomain: IN_FETCH, name: IN_FETCH, fetcher: 'http-index', sourceUrl: `http://127.0.0.1:${port}/index.html` });
    inFetchRunId = (await enqueueSite(harness.client, harness.config, IN_FETCH)).runId;

    // With no OCR worker, the other run waits in the OCR stage with its work on the ocr queue.
    await ocrWorker.stop();
    await serveSite(IN_OCR, { documents: 4, pagesPerDocument: 6 });
    inOcrRunId = (await enqueueSite(harness.client, harness.config, IN_OCR)).runId;
    const queues = taskQueuesWithPrefix(harness.config.temporal.taskQueuePrefix);
    // Visibility is updated a moment after each stage change.
    await waitFor(async () => {
      const stages = new Map((await siteRunsWaitingOn(harness.client, queues, 'workflows')).map((r) => [r.subdomain, r.stage]));
      return stages.get(IN_OCR) === 'ocr' && stages.get(IN_FETCH) === 'fetch';
    }, 'one run in OCR and one in fetch');
  });

  it('with --dry-run lists only the runs in the OCR stage, and changes nothing', async () => {
    const dryRun = json<{ queue: string; stage: string; dryRun: boolean; runs: { subdomain: string; stage: string; runId: string }[]; cancellations: null }>(
      await clerk('purge-queue', 'ocr', '--dry-run', '--json'),
    );
    expect(dryRun).toMatchObject({ queue: 'ocr', stage: 'ocr', dryRun: true, cancellations: null });
    expect(dryRun.runs.map((r) => ({ subdomain: r.subdomain, stage: r.stage, runId: r.runId }))).toEqual([{ subdomain: IN_OCR, stage: 'ocr', runId: inOcrRunId }]);
    const every = json<{ runs: { subdomain: string }[] }>(await clerk('purge-queue', 'workflows', '--dry-run', '--json'));
    expect(every.runs.map((r) => r.subdomain)).toEqual([IN_FETCH, IN_OCR]);
    expect((await harness.client.workflow.getHandle(siteWorkflowId(IN_OCR)).describe()).status.name).toBe('RUNNING');
  });

  it('with --yes cancels the OCR stage\'s runs gracefully and leaves the others running', async () => {
    const result = json<{ cancellations: { subdomain: string; outcome: string }[] }>(await clerk('purge-queue', 'ocr', '--yes', '--json'));
    expect(result.cancellations.map((c) => ({ subdomain: c.subdomain, outcome: c.outcome }))).toEqual([{ subdomain: IN_OCR, outcome: 'cancelled' }]);
    expect((await progressRow(IN_OCR))?.current_stage).toBe('cancelled');
    expect((await pageRows(IN_OCR)).filter((p) => p.status === 'failed')).toEqual([]);
    const fetching = await harness.client.workflow.getHandle(siteWorkflowId(IN_FETCH), inFetchRunId).describe();
    expect(fetching.status.name).toBe('RUNNING');
  });

  it('`clerk cancel --dry-run` names the running run and changes nothing', async () => {
    const { dryRun, cancellations } = json<{ dryRun: boolean; cancellations: { subdomain: string; outcome: string; runId: string }[] }>(await clerk('cancel', IN_FETCH, '--dry-run', '--json'));
    expect(dryRun).toBe(true);
    expect(cancellations).toMatchObject([{ subdomain: IN_FETCH, outcome: 'would-cancel', runId: inFetchRunId }]);
    expect(await cancelRequested(siteWorkflowId(IN_FETCH), inFetchRunId)).toBe(false);
    expect((await harness.client.workflow.getHandle(siteWorkflowId(IN_FETCH), inFetchRunId).describe()).status.name).toBe('RUNNING');
  });

  it('leaves the run in the fetch stage to `clerk cancel --no-wait`, which only asks: the fetch stops at its next heartbeat and the run ends cancelled', async () => {
    const { cancellations } = json<{ cancellations: { subdomain: string; outcome: string; runId: string; workflowStatus: string | null }[] }>(await clerk('cancel', IN_FETCH, '--no-wait', '--json'));
    expect(cancellations).toMatchObject([{ subdomain: IN_FETCH, outcome: 'requested', runId: inFetchRunId, workflowStatus: null }]);
    expect(await cancelRequested(siteWorkflowId(IN_FETCH), inFetchRunId)).toBe(true);
    const handle = harness.client.workflow.getHandle(siteWorkflowId(IN_FETCH), inFetchRunId);
    await handle.result().catch(() => undefined);
    expect(['CANCELLED', 'CANCELED']).toContain((await handle.describe()).status.name);
    expect((await progressRow(IN_FETCH))?.current_stage).toBe('cancelled');
    const jobs = await harness.db.selectFrom('job_tracking').select(['job_type', 'status']).where('subdomain', '=', IN_FETCH).execute();
    expect(jobs.filter((j) => j.status === 'running')).toEqual([]);
    // The fetch the cancellation stopped is recorded as cancelled, not failed.
    expect(jobs.filter((j) => j.job_type === 'fetchSite').map((j) => j.status)).toEqual(['cancelled']);
  });

  it('`clerk cancel` in a terminal shows a bar of the in-flight activities stopping while it waits, then what it cancelled', async () => {
    const again = await enqueueSite(harness.client, harness.config, IN_FETCH);
    // The run's listing check gives up on the hanging listing after LISTING_CHECK_DEADLINE_MS, and
    // leaves it to fetchSite, which waits on it as an activity.
    await waitFor(
      async () => (await harness.db.selectFrom('job_tracking').select('job_id').where('run_id', '=', again.runId).where('job_type', '=', 'fetchSite').where('status', '=', 'running').execute()).length > 0,
      'the fetch running',
    );
    // `script` gives the CLI a terminal (a pseudo-terminal), as an operator's shell would.
    const shown = await new Promise<{ code: number; output: string }>((resolve) => {
      execFile('script', ['-qfec', `${JSON.stringify(process.execPath)} ${JSON.stringify(clerkBin)} cancel ${IN_FETCH}`, '/dev/null'], { env: { ...process.env, ...harness.env } }, (error, stdout) =>
        resolve({ code: error ? Number((error as { code?: number }).code ?? 1) : 0, output: stdout }),
      );
    });
    expect(shown.code, shown.output).toBe(0);
    expect(shown.output).toMatch(new RegExp(`${IN_FETCH.replace('.', '\\.')} \\[[^\\]]*\\] 0/1 activities stopped \\| fetch`));
    expect(shown.output).toMatch(new RegExp(`${IN_FETCH.replace('.', '\\.')} \\[[^\\]]*\\] 1/1 activities stopped`));
    expect(shown.output).toContain(`${IN_FETCH}: cancelled (run ${again.runId})`);
    expect((await harness.db.selectFrom('job_tracking').select('status').where('run_id', '=', again.runId).where('job_type', '=', 'fetchSite').execute()).map((j) => j.status)).toEqual(['cancelled']);
  });

  afterAll(async () => {
    // The run held in fetch goes the quick way, if it is still there.
    await clerk('purge', IN_FETCH, '--yes');
  });
});
