import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { searchArchive } from '../../src/archive/compile.js';
import { saveSite } from '../../src/sites/repository.js';
import { writeSampleSite, type SampleSiteManifest } from '../../src/samples/sample-site.js';
import { serveDirectory } from '../../src/samples/static-server.js';
import { enqueueSite, querySiteStatus } from '../../src/temporal/site-runs.js';
import { siteWorkflow } from '../../src/workflows/site.js';
import { siteSearchAttribute, stageSearchAttribute } from '../../src/workflows/search-attributes.js';
import type { SiteStatus } from '../../src/workflows/types.js';
import { collectHistories, scheduledActivities } from '../../src/temporal/histories.js';
import { createHarness, type Harness } from '../support/harness.js';

const SITE = 'alameda.ca';

describe('a sample site run end to end on a real Temporal server and real Postgres', () => {
  let harness: Harness;
  let manifest: SampleSiteManifest;
  let server: { url: string; close(): Promise<void> };
  let midRunStatus: SiteStatus | undefined;
  let finalStatus: SiteStatus;
  let runId: string;
  let secondEnqueue: { started: boolean; runId: string };

  beforeAll(async () => {
    harness = await createHarness('pipeline');
    const siteDir = path.join(harness.dataDir, 'sample-site');
    manifest = await writeSampleSite(siteDir);
    server = await serveDirectory(siteDir);
    await saveSite(harness.db, { subdomain: SITE, name: 'Alameda (sample)', fetcher: 'http-index', sourceUrl: `${server.url}/index.html` });
    await harness.startWorkers();

    const run = await enqueueSite(harness.client, harness.config, SITE);
    runId = run.runId;
    secondEnqueue = await enqueueSite(harness.client, harness.config, SITE);
    const handle = harness.client.workflow.getHandle(run.workflowId, run.runId);
    // Ask while the run is still going: the query must answer mid-run, not only at the end.
    while (!midRunStatus) {
      const description = await handle.describe();
      if (description.status.name !== 'RUNNING') break;
      const status = await querySiteStatus(harness.client, SITE);
      if (status && status.stage !== 'completed') midRunStatus = structuredClone(status);
      else await new Promise((resolve) => setTimeout(resolve, 100));
    }
    finalStatus = await harness.client.workflow.getHandle<typeof siteWorkflow>(run.workflowId, run.runId).result();
  });

  afterAll(async () => {
    await server?.close();
    await harness?.close();
  });

  it('returns the running workflow to a second enqueue instead of starting a duplicate', () => {
    expect(secondEnqueue).toMatchObject({ started: false, runId });
  });

  it('keeps the site and stage search attributes current for the Web UI', async () => {
    const description = await harness.client.workflow.getHandle(`site/${SITE}`, runId).describe();
    expect(description.typedSearchAttributes.get(siteSearchAttribute)).toBe(SITE);
    expect(description.typedSearchAttributes.get(stageSearchAttribute)).toBe('completed');
  });

  it('answers the status query mid-run with a stage and counts', () => {
    expect(midRunStatus).toBeDefined();
    expect(['queued', 'fetch', 'ocr', 'extraction', 'deploy']).toContain(midRunStatus!.stage);
    expect(midRunStatus!.subdomain).toBe(SITE);
  });

  it('finishes with every page done and the status query agreeing with the pages table', async () => {
    expect(finalStatus.stage).toBe('completed');
    expect(finalStatus.branches).toEqual({ fast: 'done', full: 'done' });
    expect(finalStatus.deployed).toBe('full');
    const pages = await harness.db.selectFrom('pages').selectAll().where('subdomain', '=', SITE).execute();
    expect(pages).toHaveLength(manifest.totalPages);
    expect(pages.every((p) => p.status === 'done')).toBe(true);
    expect(finalStatus.pages).toEqual({ total: manifest.totalPages, done: manifest.totalPages, failed: 0 });
    expect(finalStatus.documents).toEqual({ total: manifest.documents.length, done: manifest.documents.length, failed: 0 });
    expect(await querySiteStatus(harness.client, SITE)).toEqual(finalStatus);
  });

  it('shows the site completed in site_progress, with exact counts', async () => {
    const progress = await harness.db.selectFrom('site_progress').selectAll().where('subdomain', '=', SITE).executeTakeFirstOrThrow();
    expect(progress).toMatchObject({
      current_stage: 'completed',
      pages_total: manifest.totalPages,
      pages_done: manifest.totalPages,
      pages_failed: 0,
      documents_total: manifest.documents.length,
      documents_done: manifest.documents.length,
      run_id: runId,
    });
    expect(progress.finished_at).not.toBeNull();
  });

  it('OCRs exactly the scanned pages and reads the rest from their text layer', async () => {
    const pages = await harness.db.selectFrom('pages').select(['source', 'ocr_engine']).where('subdomain', '=', SITE).execute();
    expect(pages.filter((p) => p.source === 'ocr')).toHaveLength(manifest.scannedPages);
    expect(pages.filter((p) => p.source === 'text-layer')).toHaveLength(manifest.totalPages - manifest.scannedPages);
  });

  it('reads every document in the site run itself and starts a child only for the scanned one, to OCR its pages', async () => {
    const documents = await harness.db.selectFrom('documents').select('id').where('subdomain', '=', SITE).execute();
    const reads = await harness.db
      .selectFrom('job_tracking')
      .select(['workflow_id', 'activity_id'])
      .where('subdomain', '=', SITE)
      .where('job_type', '=', 'readTextLayer')
      .where('run_id', '=', runId)
      .execute();
    expect(reads.map((read) => read.workflow_id)).toEqual(documents.map(() => `site/${SITE}`));
    expect(reads.map((read) => read.activity_id).sort()).toEqual(documents.map((d) => `read/${d.id}`).sort());
    const ocred = await harness.db.selectFrom('pages').select('document_id').distinct().where('subdomain', '=', SITE).where('source', '=', 'ocr').execute();
    expect(ocred).toHaveLength(manifest.documents.filter((d) => d.scanned).length);
    const children = (await collectHistories(harness.client, `site/${SITE}`, runId)).filter((h) => h.workflowType === 'documentWorkflow');
    expect(children.map((h) => h.workflowId).sort()).toEqual(ocred.map((d) => `site/${SITE}/doc/${d.document_id}`).sort());
  });

  it('keeps a job_tracking row for every activity the server scheduled', async () => {
    const histories = await collectHistories(harness.client, `site/${SITE}`, runId);
    const scheduled = scheduledActivities(histories);
    const jobs = await harness.db.selectFrom('job_tracking').selectAll().where('subdomain', '=', SITE).execute();
    const tracked = new Set(jobs.map((j) => `${j.workflow_id}|${j.run_id}|${j.activity_id}`));
    expect(scheduled.length).toBeGreaterThan(manifest.documents.length * 2);
    for (const activity of scheduled) expect(tracked).toContain(`${activity.workflowId}|${activity.runId}|${activity.activityId}`);
    expect(jobs.every((j) => j.status === 'succeeded')).toBe(true);
    expect(new Set(jobs.map((j) => j.job_type))).toEqual(
      // The listing check in the run's first task found documents to download, so fetchSite followed;
      // having read new pages, the run did not ask whether its archive was current.
      new Set(['fetchSiteIfNothingToDownload', 'enterStage', 'fetchSite', 'listPendingDocuments', 'readTextLayer', 'ocrPage', 'finishDocument', 'extractEntities', 'compileArchive', 'deployArchive', 'finishRun']),
    );
  });

  it('writes a text file for every page', async () => {
    const pages = await harness.db.selectFrom('pages').select(['text_key', 'char_count']).where('subdomain', '=', SITE).execute();
    for (const page of pages) {
      expect(page.text_key).not.toBeNull();
      expect(fs.readFileSync(harness.store.describe(page.text_key!), 'utf8')).toHaveLength(page.char_count!);
    }
  });

  it('finds a word that appears only on the scanned page in the deployed meetings.db', async () => {
    // Two publications: the fast path's early one, then the full path's, which is live.
    const deployments = await harness.db.selectFrom('deployments').selectAll().where('subdomain', '=', SITE).orderBy('version').execute();
    expect(deployments.map((d) => d.variant)).toEqual(['fast', 'full']);
    const deployment = deployments[1]!;
    expect(fs.existsSync(deployment.path)).toBe(true);
    const hits = searchArchive(deployment.path, manifest.ocrOnlyWord);
    expect(hits.length).toBeGreaterThan(0);
    const scanned = manifest.documents.find((d) => d.scanned)!;
    expect(hits[0]).toMatchObject({ table: 'minutes', date: scanned.date });
    expect(deployment.minutes_rows + deployment.agenda_rows).toBe(manifest.totalPages);
  });

  it('stores entities and votes for the pages', async () => {
    const pages = await harness.db.selectFrom('pages').select(['entities', 'votes']).where('subdomain', '=', SITE).execute();
    expect(pages.every((p) => p.entities !== null && p.votes !== null)).toBe(true);
    const persons = pages.flatMap((p) => p.entities!.persons);
    const orgs = pages.flatMap((p) => p.entities!.orgs);
    expect(persons.some((name) => name.includes('Ortiz'))).toBe(true);
    expect(orgs).toContain('Sierra Club');
    const votes = pages.flatMap((p) => p.votes as { motion_by: string | null }[]);
    expect(votes.some((vote) => vote.motion_by?.includes('Ortiz'))).toBe(true);
  });

  it('reads, extracts and publishes nothing when an unchanged site is enqueued again, and keeps the live archive', async () => {
    const work = ['ocrPage', 'readTextLayer', 'extractEntities', 'compileArchive', 'deployArchive'];
    const callsBefore = await Promise.all(work.map((jobType) => countJobs(harness, jobType)));
    const deploymentsBefore = await harness.db.selectFrom('deployments').select(['version', 'variant']).where('subdomain', '=', SITE).orderBy('version').execute();
    const rerun = await enqueueSite(harness.client, harness.config, SITE);
    expect(rerun.started).toBe(true);
    const status = await harness.client.workflow.getHandle<typeof siteWorkflow>(rerun.workflowId, rerun.runId).result();
    expect(status.stage).toBe('completed');
    expect(status.pages).toEqual({ total: manifest.totalPages, done: manifest.totalPages, failed: 0 });
    expect(await Promise.all(work.map((jobType) => countJobs(harness, jobType)))).toEqual(callsBefore);
    const live = deploymentsBefore.at(-1)!;
    expect(live.variant).toBe('full');
    expect(status.archiveKept).toEqual({ version: live.version, reason: expect.stringContaining(`version ${live.version}`) });
    expect(status.branches).toEqual({ fast: 'skipped', full: 'skipped' });
    expect(await harness.db.selectFrom('deployments').select(['version', 'variant']).where('subdomain', '=', SITE).orderBy('version').execute()).toEqual(deploymentsBefore);
    const progress = await harness.db.selectFrom('site_progress').selectAll().where('subdomain', '=', SITE).executeTakeFirstOrThrow();
    expect(progress).toMatchObject({ current_stage: 'completed', pages_total: manifest.totalPages, pages_done: manifest.totalPages, workflow_id: rerun.workflowId, run_id: rerun.runId });
    // Two steps, both local activities of the run's one workflow task: the listing check, which had
    // nothing to download and so did the fetch, recorded the run's start (from when it was
    // scheduled, so before its own job row), and keepArchiveIfCurrent its end.
    const jobs = await harness.db.selectFrom('job_tracking').select(['job_type', 'started_at']).where('run_id', '=', rerun.runId).orderBy('id').execute();
    expect(jobs.map((job) => job.job_type)).toEqual(['fetchSiteIfNothingToDownload', 'keepArchiveIfCurrent']);
    expect(progress.started_at!.getTime()).toBeLessThanOrEqual(jobs[0]!.started_at.getTime());
    expect(progress.finished_at!.getTime()).toBeGreaterThanOrEqual(jobs[1]!.started_at.getTime());
  });

  it('compiles and publishes again when a page changed since the live archive was compiled', async () => {
    const page = await harness.db.selectFrom('pages').select(['document_id', 'page_number']).where('subdomain', '=', SITE).where('source', '=', 'text-layer').executeTakeFirstOrThrow();
    // A re-extraction with a newer extractor, say: the page's entities are not what the archive holds.
    await harness.db.updateTable('pages').set({ entities: JSON.stringify({ persons: ['Someone New'], orgs: [], locations: [] }) })
      .where('document_id', '=', page.document_id).where('page_number', '=', page.page_number).execute();
    const highestBefore = await highestVersion(harness);
    const rerun = await enqueueSite(harness.client, harness.config, SITE);
    const status = await harness.client.workflow.getHandle<typeof siteWorkflow>(rerun.workflowId, rerun.runId).result();
    expect(status.archiveKept).toBeUndefined();
    expect(status.branches).toEqual({ fast: 'done', full: 'done' });
    expect(status.deployed).toBe('full');
    expect(await highestVersion(harness)).toBeGreaterThan(highestBefore);
  });

  it('gives pages that failed in an earlier run another chance, and only those', async () => {
    const scannedPage = await harness.db.selectFrom('pages').select(['document_id', 'page_number']).where('source', '=', 'ocr').executeTakeFirstOrThrow();
    await harness.db
      .updateTable('pages')
      .set({ status: 'failed', failure_reason: 'timeout', error: 'a page that timed out in an earlier run' })
      .where('document_id', '=', scannedPage.document_id)
      .where('page_number', '=', scannedPage.page_number)
      .execute();
    const ocrCallsBefore = await countJobs(harness, 'ocrPage');
    const rerun = await enqueueSite(harness.client, harness.config, SITE);
    const status = await harness.client.workflow.getHandle<typeof siteWorkflow>(rerun.workflowId, rerun.runId).result();
    expect(status.pages).toEqual({ total: manifest.totalPages, done: manifest.totalPages, failed: 0 });
    expect(await countJobs(harness, 'ocrPage')).toBe(ocrCallsBefore + 1);
  });
});

async function highestVersion(harness: Harness): Promise<number> {
  const row = await harness.db.selectFrom('deployments').select((eb) => eb.fn.max('version').as('v')).where('subdomain', '=', SITE).executeTakeFirstOrThrow();
  return Number(row.v);
}

async function countJobs(harness: Harness, jobType: string): Promise<number> {
  const row = await harness.db
    .selectFrom('job_tracking')
    .select((eb) => eb.fn.countAll<number>().as('n'))
    .where('job_type', '=', jobType)
    .executeTakeFirstOrThrow();
  return Number(row.n);
}
