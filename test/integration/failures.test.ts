import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { meetingSlug } from '../../src/fetchers/meeting.js';
import type { FailureGroup, FailureReport } from '../../src/progress/failures.js';
import { writeBadCorpusSite, type BadCorpusManifest } from '../../src/samples/bad-corpus.js';
import { serveDirectory } from '../../src/samples/static-server.js';
import { saveSite } from '../../src/sites/repository.js';
import { enqueueSite } from '../../src/temporal/site-runs.js';
import type { siteWorkflow } from '../../src/workflows/site.js';
import { expectExactAccounting } from '../support/accounting.js';
import { runBrokenSite } from '../support/broken-site.js';
import { runClerk, type CliResult } from '../support/cli.js';
import { createHarness, type Harness } from '../support/harness.js';

const SITE = 'badcorpus.ca';
const BROKEN = 'broken.ca';

let harness: Harness;

/** The real `clerk` CLI in a child process, pointed at this test's database and Temporal server. */
function clerk(...args: string[]): Promise<CliResult> {
  return runClerk(args, harness.env);
}

type Group = FailureGroup & { examples: (FailureGroup['examples'][number] & { webUi: string | null; documentWebUi: string | null })[] };

async function failures(...args: string[]): Promise<{ groups: Group[]; totals: FailureReport['totals'] }> {
  const result = await clerk('failures', '--json', ...args);
  expect(result.code, result.stderr).toBe(0);
  return JSON.parse(result.stdout) as { groups: Group[]; totals: FailureReport['totals'] };
}

/** `kind stage reason` -> count: what the grouping must come to. */
function countsOf(groups: Group[]): Record<string, number> {
  return Object.fromEntries(groups.map((g) => [`${g.kind} ${g.stage} ${g.reason}`, g.count]));
}

async function countJobs(jobType: string): Promise<number> {
  const row = await harness.db
    .selectFrom('job_tracking')
    .select((eb) => eb.fn.countAll<number>().as('n'))
    .where('subdomain', '=', SITE)
    .where('job_type', '=', jobType)
    .executeTakeFirstOrThrow();
  return Number(row.n);
}

async function siteRows() {
  return {
    documents: await harness.db.selectFrom('documents').selectAll().where('subdomain', '=', SITE).orderBy('id').execute(),
    pages: await harness.db.selectFrom('pages').selectAll().where('subdomain', '=', SITE).orderBy('document_id').orderBy('page_number').execute(),
    progress: await harness.db.selectFrom('site_progress').selectAll().orderBy('subdomain').execute(),
    jobs: Number((await harness.db.selectFrom('job_tracking').select((eb) => eb.fn.countAll<number>().as('n')).executeTakeFirstOrThrow()).n),
  };
}

describe('clerk failures and clerk retry, through the real CLI', () => {
  let manifest: BadCorpusManifest;
  let server: { url: string; close(): Promise<void> };
  let giantDocumentId: string;
  let markedPage: { document_id: string; page_number: number };
  /** Failed documents clerk has a copy of (the rest failed to download). */
  let readDocuments: number;
  let workers: { stop(): Promise<void> };
  let siteRunId: string;

  beforeAll(async () => {
    harness = await createHarness('failures');
    const siteDir = path.join(harness.dataDir, 'site');
    manifest = await writeBadCorpusSite(siteDir, { subdomain: SITE, largePageCount: 2, hugeImageSize: 400 });
    server = await serveDirectory(siteDir);
    await saveSite(harness.db, { subdomain: SITE, name: 'Bad corpus', fetcher: 'http-index', sourceUrl: `${server.url}/index.html` });
    workers = await harness.startWorkers();

    const run = await enqueueSite(harness.client, harness.config, SITE);
    siteRunId = run.runId;
    await harness.client.workflow.getHandle<typeof siteWorkflow>(run.workflowId, run.runId).result();
    // A site whose run fails in the fetch stage, with a listed document that could not be downloaded.
    await runBrokenSite(harness, BROKEN, server.url);

    const giant = manifest.documents.find((d) => d.defect === 'giant-page')!;
    giantDocumentId = (
      await harness.db
        .selectFrom('documents')
        .select('id')
        .where('subdomain', '=', SITE)
        .where('kind', '=', giant.kind)
        .where('meeting_slug', '=', meetingSlug(giant.meeting))
        .where('meeting_date', '=', giant.date)
        .executeTakeFirstOrThrow()
    ).id;
    // An OCR'd page that "timed out in an earlier run", as site-pipeline.test.ts provokes it.
    markedPage = await harness.db.selectFrom('pages').select(['document_id', 'page_number']).where('subdomain', '=', SITE).where('source', '=', 'ocr').executeTakeFirstOrThrow();
    await harness.db
      .updateTable('pages')
      .set({ status: 'failed', failure_reason: 'timeout', error: 'OCR timed out after 5 minutes\n    at a stack line', updated_at: new Date() })
      .where('document_id', '=', markedPage.document_id)
      .where('page_number', '=', markedPage.page_number)
      .execute();
  });

  afterAll(async () => {
    await server?.close();
    await harness?.close();
  });

  it('groups every failed page, document, download and run by reason, with the right counts', async () => {
    const report = await failures();
    // A bad file the download refused (an HTML page) has no copy: a failed download, in the fetch
    // stage; one clerk stored and could not read is a failed document, in the OCR stage.
    const rows = await harness.db.selectFrom('documents').select(['kind', 'meeting_slug', 'meeting_date', 'content_sha256']).where('subdomain', '=', SITE).execute();
    const expected: Record<string, number> = { 'page ocr too-large': 1, 'page ocr timeout': 1, 'download fetch http-error': 1, 'run fetch fetchSite': 1 };
    for (const doc of manifest.documents.filter((d) => d.expected === 'failed')) {
      const row = rows.find((r) => r.kind === doc.kind && r.meeting_slug === meetingSlug(doc.meeting) && r.meeting_date === doc.date)!;
      const key = `${row.content_sha256 === '' ? 'download fetch' : 'document ocr'} ${doc.expectedReason}`;
      expected[key] = (expected[key] ?? 0) + 1;
    }
    expect(countsOf(report.groups)).toEqual(expected);
    readDocuments = rows.filter((r) => r.content_sha256 !== '').length - manifest.okDocuments;
    expect(report.totals).toEqual({ pages: 2, documents: readDocuments, downloads: manifest.failedDocuments - readDocuments + 1, listings: 0, runs: 1 });
    // Biggest groups first.
    expect(report.groups.map((g) => g.count)).toEqual([...report.groups.map((g) => g.count)].sort((a, b) => b - a));

    const tooLarge = report.groups.find((g) => g.reason === 'too-large')!;
    // The render was refused before it started: one attempt, not a retry loop.
    expect(tooLarge.examples).toEqual([
      expect.objectContaining({ site: SITE, documentId: giantDocumentId, page: 2, attempts: 1, workflowId: null, webUi: null }),
    ]);
    expect(tooLarge.examples[0]!.error).toMatch(/megapixel render limit/);
    const timeout = report.groups.find((g) => g.reason === 'timeout')!;
    expect(timeout.examples).toEqual([expect.objectContaining({ documentId: markedPage.document_id, page: markedPage.page_number, error: 'OCR timed out after 5 minutes' })]);
    for (const group of report.groups.filter((g) => g.kind === 'document')) {
      for (const example of group.examples) {
        // The site run read the document itself: the link is to that run's history, which holds the failed read.
        expect(example).toMatchObject({ site: SITE, page: null, attempts: 1, readRun: { workflowId: `site/${SITE}`, runId: siteRunId } });
        expect(example.documentWebUi).toMatch(new RegExp(`/namespaces/default/workflows/site%2Fbadcorpus\\.ca/${siteRunId}/history$`));
      }
    }
    const run = report.groups.find((g) => g.kind === 'run')!;
    expect(run.examples).toEqual([expect.objectContaining({ site: BROKEN, workflowId: `site/${BROKEN}`, attempts: 1 })]);
    expect(run.examples[0]!.webUi).toMatch(/\/namespaces\/default\/workflows\/site%2Fbroken\.ca$/);
    expect(run.examples[0]!.error).toMatch(/404/);
  });

  it('filters by site, stage and day, keeps --limit examples, and prints a readable summary', async () => {
    expect(countsOf((await failures('--site', BROKEN)).groups)).toEqual({ 'download fetch http-error': 1, 'run fetch fetchSite': 1 });
    const all = await failures();
    const ocr = await failures('--stage', 'ocr');
    expect(new Set(ocr.groups.map((g) => g.kind))).toEqual(new Set(['page', 'document']));
    expect(ocr.totals).toEqual({ pages: 2, documents: readDocuments, downloads: 0, listings: 0, runs: 0 });
    const fetchStage = await failures('--stage', 'fetch', '--site', SITE);
    expect(fetchStage.groups.every((g) => g.kind === 'download' && g.examples.every((e) => e.site === SITE))).toBe(true);
    expect(fetchStage.totals.downloads).toBe(all.totals.downloads - 1);
    expect(countsOf((await failures('--stage', 'deploy')).groups)).toEqual({});

    const today = new Date().toISOString().slice(0, 10);
    const tomorrow = new Date(Date.now() + 86_400_000).toISOString().slice(0, 10);
    expect((await failures('--since', today)).totals).toEqual(all.totals);
    expect((await failures('--since', tomorrow)).groups).toEqual([]);

    const limited = await failures('--limit', '1');
    expect(limited.groups.every((g) => g.examples.length === Math.min(1, g.count))).toBe(true);

    const human = await clerk('failures');
    expect(human.code).toBe(0);
    expect(human.stdout).toContain('ocr page too-large: 1');
    expect(human.stdout).toContain(`  ${giantDocumentId} p.2 (1 attempt): The file 2026-02-09.pdf is too large`);
    expect(human.stdout).toContain(`  ${BROKEN} (1 attempt): http-index listing of ${BROKEN}`);
    expect(human.stdout).toContain('Web UI: http://');
    expect(human.stdout).toContain(`total: pages 2, documents ${readDocuments}, downloads ${all.totals.downloads}, listings 0, runs 1`);

    expect((await clerk('failures', '--since', '2026-13-01')).code).toBe(2);
    expect((await clerk('failures', '--stage', 'typo')).code).toBe(2);
    expect((await clerk('failures', '--site', 'nosuch.ca')).code).toBe(2);
  });

  it('retry --dry-run prints exactly the failed pages and documents and changes no row', async () => {
    const before = await siteRows();
    const result = await clerk('retry', SITE, '--failed-only', '--dry-run', '--json');
    expect(result.code, result.stderr).toBe(0);
    const plan = JSON.parse(result.stdout) as {
      dryRun: boolean;
      sites: { subdomain: string; running: boolean; pages: { documentId: string; page: number; reason: string }[]; documents: { documentId: string; reason: string }[] }[];
    };
    expect(plan.dryRun).toBe(true);
    const site = plan.sites[0]!;
    expect(site.running).toBe(false);
    expect(site.pages).toEqual(
      [
        { documentId: giantDocumentId, page: 2, reason: 'too-large' },
        { documentId: markedPage.document_id, page: markedPage.page_number, reason: 'timeout' },
      ].sort((a, b) => a.documentId.localeCompare(b.documentId)),
    );
    const failedDocs = before.documents.filter((d) => d.status === 'failed' && d.content_sha256 !== '').map((d) => ({ documentId: d.id, reason: d.failure_reason }));
    const withFailedPages = [giantDocumentId, markedPage.document_id].map((id) => ({ documentId: id, reason: 'failed-pages' }));
    expect(site.documents).toEqual([...failedDocs, ...withFailedPages].sort((a, b) => a.documentId.localeCompare(b.documentId)));

    const human = await clerk('retry', SITE, '--failed-only', '--dry-run');
    expect(human.stdout).toContain(`page ${giantDocumentId} p.2 (too-large)`);
    expect(human.stdout).toContain('(dry run: nothing was changed)');
    // Without --failed-only a retry is a normal run, which also tries the failed downloads again.
    const normal = await clerk('retry', BROKEN, '--dry-run');
    expect(normal.stdout).toContain(`${BROKEN}: would start a normal run`);
    expect(normal.stdout).toContain('1 failed download(s), downloaded again if the listing still has them');
    expect(normal.stdout).toContain('the last run failed in fetch');
    expect(await siteRows()).toEqual(before);
  });

  it('retry --failed-only re-OCRs exactly the failed pages, re-reads the failed documents, and fetches nothing', async () => {
    const ocrBefore = await countJobs('ocrPage');
    const fetchBefore = await countJobs('fetchSite');
    const readBefore = await countJobs('readTextLayer');
    const documentsBefore = await harness.db.selectFrom('documents').selectAll().where('subdomain', '=', SITE).execute();
    const sentBack = readDocuments + 2;

    const result = await clerk('retry', SITE, '--failed-only', '--wait', '--json');
    expect(result.code, result.stderr).toBe(0);
    const output = JSON.parse(result.stdout) as { runs: { outcome: string; workflowId: string; runId: string; pages: number; documents: number }[]; reports: { workflowStatus: string }[] };
    expect(output.runs).toEqual([expect.objectContaining({ outcome: 'started', pages: 2, documents: sentBack })]);
    expect(output.reports).toEqual([expect.objectContaining({ workflowStatus: 'COMPLETED' })]);

    // One OCR call per failed page (the giant one is refused again, the timed-out one is read), no listing fetched.
    expect(await countJobs('ocrPage')).toBe(ocrBefore + 2);
    expect(await countJobs('fetchSite')).toBe(fetchBefore);
    expect(await countJobs('readTextLayer')).toBe(readBefore + sentBack);

    const marked = await harness.db.selectFrom('pages').selectAll().where('document_id', '=', markedPage.document_id).where('page_number', '=', markedPage.page_number).executeTakeFirstOrThrow();
    expect(marked).toMatchObject({ status: 'done', source: 'ocr', failure_reason: null });
    const giantPages = await harness.db.selectFrom('pages').select(['page_number', 'status', 'failure_reason']).where('document_id', '=', giantDocumentId).orderBy('page_number').execute();
    expect(giantPages).toEqual([
      { page_number: 1, status: 'done', failure_reason: null },
      { page_number: 2, status: 'failed', failure_reason: 'too-large' },
      { page_number: 3, status: 'done', failure_reason: null },
    ]);
    // The bad PDFs are still bad: failed again with the same reasons; done documents were not touched.
    const documentsAfter = await harness.db.selectFrom('documents').selectAll().where('subdomain', '=', SITE).execute();
    const statusOf = (rows: typeof documentsAfter) => Object.fromEntries(rows.map((d) => [d.id, [d.status, d.failure_reason]]));
    expect(statusOf(documentsAfter)).toEqual(statusOf(documentsBefore));
    const untouched = documentsBefore.filter((d) => d.status === 'done' && d.id !== giantDocumentId && d.id !== markedPage.document_id);
    for (const doc of untouched) expect(documentsAfter.find((d) => d.id === doc.id)!.updated_at).toEqual(doc.updated_at);

    const run = output.runs[0]!;
    const status = await harness.client.workflow.getHandle<typeof siteWorkflow>(run.workflowId, run.runId).result();
    expect(status.stage).toBe('completed');
    await expectExactAccounting(harness.db, harness.client, SITE, status, run.runId);
    expect(countsOf((await failures('--site', SITE)).groups)).toMatchObject({ 'page ocr too-large': 1 });
    expect(countsOf((await failures('--site', SITE)).groups)['page ocr timeout']).toBeUndefined();
  });

  it('refuses an unknown site with exit code 2 and starts nothing', async () => {
    const result = await clerk('retry', SITE, 'nosuch.ca', '--failed-only');
    expect(result.code).toBe(2);
    expect(result.stderr).toContain('nosuch.ca');
  });

  it('returns a run already in progress instead of starting a second one, and sends nothing back', async () => {
    // With no worker polling, a run stays open: exactly the case of a site already running.
    await workers.stop();
    const open = await enqueueSite(harness.client, harness.config, SITE);
    const before = await siteRows();
    const result = await clerk('retry', SITE, '--failed-only', '--json');
    expect(result.code, result.stderr).toBe(0);
    expect((JSON.parse(result.stdout) as { runs: unknown[] }).runs).toEqual([expect.objectContaining({ outcome: 'running', runId: open.runId })]);
    expect(await siteRows()).toEqual(before);
    await harness.client.workflow.getHandle(open.workflowId, open.runId).terminate('test over');
  });
});
