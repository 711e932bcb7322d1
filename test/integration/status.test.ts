import { spawn } from 'node:child_process';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { FleetReport } from '../../src/cli/site-report.js';
import type { SiteProgressRow } from '../../src/db/schema.js';
import type { SiteStatusReport } from '../../src/cli/commands/status.js';
import { writeSampleSite } from '../../src/samples/sample-site.js';
import { serveDirectory } from '../../src/samples/static-server.js';
import { saveSite } from '../../src/sites/repository.js';
import { enqueueSite } from '../../src/temporal/site-runs.js';
import { runBrokenSite } from '../support/broken-site.js';
import { clerkBin, runClerk, type CliResult } from '../support/cli.js';
import { createHarness, type Harness } from '../support/harness.js';

const SITE = 'statusville.ca';
/** A site whose listing is gone (404, a permanent error): its run fails in the fetch stage. */
const BROKEN = 'broken-status.ca';

let harness: Harness;

/** The real `clerk` CLI in a child process, pointed at this test's database and Temporal server. */
function clerk(...args: string[]): Promise<CliResult> {
  return runClerk(args, harness.env);
}

async function json<T>(...args: string[]): Promise<T> {
  const result = await clerk(...args, '--json');
  expect(result.code, result.stderr).toBe(0);
  return JSON.parse(result.stdout) as T;
}

/**
 * Starts `clerk` and resolves `started` at its first line of output, so a test can act while the
 * command runs; `done` resolves when it exits.
 */
function startClerk(...args: string[]): { started: Promise<void>; done: Promise<CliResult> } {
  const child = spawn(process.execPath, [clerkBin, ...args], { env: { ...process.env, ...harness.env } });
  let stdout = '';
  let stderr = '';
  let firstLine: () => void;
  const started = new Promise<void>((resolve) => (firstLine = resolve));
  child.stdout.on('data', (chunk: Buffer) => {
    stdout += chunk.toString();
    if (stdout.includes('\n')) firstLine();
  });
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  const done = new Promise<CliResult>((resolve) => child.on('close', (code) => {
    firstLine();
    resolve({ code: code ?? 1, stdout, stderr });
  }));
  return { started, done };
}

async function until<T>(what: string, read: () => Promise<T | undefined>): Promise<T> {
  for (let tries = 0; tries < 600; tries++) {
    const value = await read();
    if (value !== undefined) return value;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  throw new Error(`gave up waiting for ${what}`);
}

describe('clerk status, through the real CLI', () => {
  let server: { url: string; close(): Promise<void> };
  let waitingInOcr: FleetReport;
  let progressWhileWaiting: SiteProgressRow;
  let enqueued: { runs: { subdomain: string; workflowId: string; runId: string; webUi: string; webUiSiteWorkflows: string }[] };
  let watched: CliResult;
  let finished: FleetReport;

  beforeAll(async () => {
    harness = await createHarness('status');
    const siteDir = path.join(harness.dataDir, 'site');
    await writeSampleSite(siteDir, { subdomain: SITE });
    server = await serveDirectory(siteDir);
    await saveSite(harness.db, { subdomain: SITE, name: 'Statusville', fetcher: 'http-index', sourceUrl: `${server.url}/index.html` });

    // Every worker but OCR's: the run fetches its documents, then waits in the OCR stage.
    await harness.startWorkers(['workflows', 'fetch', 'extraction', 'deploy']);
    await runBrokenSite(harness, BROKEN, server.url);

    enqueued = await json('enqueue', SITE);
    await until('the run to wait in OCR', async () => {
      const row = await harness.db.selectFrom('site_progress').select('current_stage').where('subdomain', '=', SITE).executeTakeFirst();
      return row?.current_stage === 'ocr' ? row : undefined;
    });
    waitingInOcr = await json<FleetReport>('status');
    progressWhileWaiting = await harness.db.selectFrom('site_progress').selectAll().where('subdomain', '=', SITE).executeTakeFirstOrThrow();

    // The OCR worker arrives; `status --watch` follows the run until it closes.
    const watching = startClerk('status', SITE, '--watch', '--json', '--interval', '0.2');
    await watching.started;
    await harness.startWorkers(['ocr']);
    watched = await watching.done;
    finished = await json<FleetReport>('status');
  });

  afterAll(async () => {
    await server?.close();
    await harness?.close();
  });

  it('prints Web UI links for the run and for the site\'s whole tree of workflows when it enqueues', () => {
    const [run] = enqueued.runs;
    expect(run).toMatchObject({ subdomain: SITE, workflowId: `site/${SITE}` });
    expect(run!.webUi).toMatch(new RegExp(`/namespaces/default/workflows/site%2Fstatusville\\.ca/${run!.runId}/history$`));
    const url = new URL(run!.webUiSiteWorkflows);
    expect(url.pathname).toBe('/namespaces/default/workflows');
    expect(url.searchParams.get('query')).toMatch(/^ClerkSite="statusville\.ca"/);
  });

  it("links to a Web UI list that holds the site's run and every document child, and nothing of another site", async () => {
    const query = new URL(enqueued.runs[0]!.webUiSiteWorkflows).searchParams.get('query')!;
    const listed: string[] = [];
    for await (const execution of harness.client.workflow.list({ query })) listed.push(execution.workflowId);
    // The run reads every document itself; a document with pages to OCR has a child of its own.
    const ocred = await harness.db.selectFrom('pages').select('document_id').distinct().where('subdomain', '=', SITE).where('source', '=', 'ocr').execute();
    expect(ocred.length).toBeGreaterThan(0);
    expect(new Set(listed)).toEqual(new Set([`site/${SITE}`, ...ocred.map((d) => `site/${SITE}/doc/${d.document_id}`)]));
  });

  it('lists each of the five task queues, the active site with its stage and progress, and the failed run', async () => {
    const prefix = harness.env.CLERK_TASK_QUEUE_PREFIX!;
    expect(waitingInOcr.temporal).toEqual({ reachable: true, error: null });
    expect(waitingInOcr.taskQueues.map((q) => [q.role, q.name, Object.keys(q.kinds).sort()])).toEqual([
      ['workflows', `${prefix}workflows`, ['activity', 'workflow']],
      ['fetch', `${prefix}fetch`, ['activity']],
      ['ocr', `${prefix}ocr`, ['activity']],
      ['extraction', `${prefix}extraction`, ['activity']],
      ['deploy', `${prefix}deploy`, ['activity']],
    ]);
    const pollers = (report: FleetReport) => Object.fromEntries(report.taskQueues.map((q) => [q.role, Math.min(...Object.values(q.kinds).map((k) => k.pollers))]));
    // No OCR worker yet: nobody polls the OCR queue, and the run's reading waits there.
    expect(pollers(waitingInOcr)).toEqual({ workflows: expect.any(Number), fetch: expect.any(Number), ocr: 0, extraction: expect.any(Number), deploy: expect.any(Number) });
    for (const role of ['workflows', 'fetch', 'extraction', 'deploy']) expect(pollers(waitingInOcr)[role], role).toBeGreaterThan(0);

    const progress = progressWhileWaiting;
    const active = waitingInOcr.active.find((site) => site.subdomain === SITE)!;
    expect(active).toMatchObject({ stage: 'ocr', workflowId: `site/${SITE}`, runId: enqueued.runs[0]!.runId });
    // Fetched, not yet read: the documents are counted, their pages wait for the OCR worker.
    expect(active.documents.total).toBe(progress.documents_total);
    expect(active.documents.total).toBeGreaterThan(0);
    expect(active.pages).toEqual({ total: progress.pages_total, done: progress.pages_done, failed: progress.pages_failed });
    expect(active.line).toBe(`${SITE}: ocr (${active.stageCompleted}/${active.stageTotal}, ${active.percent.toFixed(1)}%)`);
    expect(waitingInOcr.sites).toEqual({ registered: 2, byStage: { ocr: 1, failed: 1 } });

    expect(waitingInOcr.lastFailed).toEqual([expect.objectContaining({ subdomain: BROKEN, stage: 'failed', errorStage: 'fetch', workflowId: `site/${BROKEN}` })]);
    expect(waitingInOcr.lastFailed[0]!.error).toMatch(/404/);
    expect(waitingInOcr.lastFailed[0]!.webUi).toMatch(/\/workflows\/site%2Fbroken-status\.ca\/[^/]+\/history$/);
  });

  it('shows every queue polled once all workers run, and the completed run among the last finished', () => {
    for (const queue of finished.taskQueues) {
      for (const [kind, stats] of Object.entries(queue.kinds)) expect(stats.pollers, `${queue.role} ${kind}`).toBeGreaterThan(0);
    }
    expect(finished.active).toEqual([]);
    expect(finished.lastCompleted).toEqual([expect.objectContaining({ subdomain: SITE, stage: 'completed', runId: enqueued.runs[0]!.runId, error: null })]);
    expect(finished.lastFailed.map((run) => run.subdomain)).toEqual([BROKEN]);
    expect(Date.parse(finished.lastCompleted[0]!.finishedAt!)).toBeGreaterThan(Date.parse(finished.lastFailed[0]!.finishedAt!));
  });

  it('--watch on a site follows the run until it closes, then exits 0 because it completed', async () => {
    expect(watched.code, watched.stderr).toBe(0);
    const reports = watched.stdout.trim().split('\n').map((line) => JSON.parse(line) as SiteStatusReport);
    expect(reports.length).toBeGreaterThan(1);
    expect(reports[0]!.workflowStatus).toBe('RUNNING');
    expect(reports.at(-1)!).toMatchObject({ subdomain: SITE, workflowStatus: 'COMPLETED', stage: 'completed' });
    const progress = await harness.db.selectFrom('site_progress').selectAll().where('subdomain', '=', SITE).executeTakeFirstOrThrow();
    expect(reports.at(-1)!.pages).toEqual({ total: progress.pages_total, done: progress.pages_done, failed: progress.pages_failed });
  });

  it('--watch on the fleet ends once no site is in a run, and the screen lists the queues and the last runs', async () => {
    const watchedFleet = await clerk('status', '--watch', '--json');
    expect(watchedFleet.code, watchedFleet.stderr).toBe(0);
    const [only, ...more] = watchedFleet.stdout.trim().split('\n').map((line) => JSON.parse(line) as FleetReport);
    expect(more).toEqual([]);
    expect(only!.active).toEqual([]);

    const human = await clerk('status');
    expect(human.code, human.stderr).toBe(0);
    const prefix = harness.env.CLERK_TASK_QUEUE_PREFIX!;
    for (const role of ['workflows', 'fetch', 'ocr', 'extraction', 'deploy']) expect(human.stdout).toMatch(new RegExp(`^  ${prefix}${role} +activity  backlog \\d+`, 'm'));
    expect(human.stdout).toContain('sites: 2 registered (completed 1, failed 1)');
    expect(human.stdout).toContain('no site is in a run');
    expect(human.stdout).toMatch(new RegExp(`^last failed or cancelled:\n  ${BROKEN.replace('.', '\\.')} \\S+: fetch: .*404`, 'm'));
  });

  it('--watch on a run that failed exits 1 at once', async () => {
    const result = await clerk('status', BROKEN, '--watch');
    expect(result.code).toBe(1);
    expect(result.stdout).toMatch(/workflow FAILED/);
  });

  it('reports a site with its failures grouped by reason and the Web UI links', async () => {
    const report = await json<SiteStatusReport>('status', BROKEN);
    expect(report).toMatchObject({ subdomain: BROKEN, workflowStatus: 'FAILED', stage: 'failed' });
    const groups = Object.fromEntries(report.failures.groups.map((g) => [`${g.kind} ${g.stage} ${g.reason}`, g.count]));
    expect(groups).toEqual({ 'download fetch http-error': 1, 'run fetch fetchSite': 1 });
    expect(report.failures.totals).toEqual({ pages: 0, documents: 0, downloads: 1, listings: 0, runs: 1 });
    const run = report.failures.groups.find((g) => g.kind === 'run')!;
    expect(run.examples[0]!.webUi).toMatch(/\/namespaces\/default\/workflows\/site%2Fbroken-status\.ca$/);
    expect(report.webUi).toMatch(/\/namespaces\/default\/workflows\/site%2Fbroken-status\.ca$/);
    expect(report.webUiRun).toBe(`${report.webUi}/${report.runId}/history`);
    expect(new URL(report.webUiSiteWorkflows).searchParams.get('query')).toBe(`ClerkSite="${BROKEN}" OR WorkflowId STARTS_WITH "site/${BROKEN}/"`);

    const human = await clerk('status', BROKEN);
    expect(human.code).toBe(0);
    expect(human.stdout).toContain('fetch run fetchSite: 1');
    expect(human.stdout).toContain(report.webUiSiteWorkflows);
  });

  it("links a failed page to its document's own workflow, in `clerk failures` and in the site's status", async () => {
    // An OCRed page that "timed out in an earlier run", as failures.test.ts provokes it.
    const page = await harness.db
      .selectFrom('pages')
      .select(['document_id', 'page_number'])
      .where('subdomain', '=', SITE)
      .where('source', '=', 'ocr')
      .orderBy('document_id')
      .orderBy('page_number')
      .executeTakeFirstOrThrow();
    await harness.db
      .updateTable('pages')
      .set({ status: 'failed', failure_reason: 'timeout', error: 'OCR timed out after 5 minutes', updated_at: new Date() })
      .where('document_id', '=', page.document_id)
      .where('page_number', '=', page.page_number)
      .execute();

    const failures = await json<{ groups: { kind: string; reason: string; examples: { documentId: string; webUi: string | null; documentWebUi: string | null }[] }[] }>('failures', '--site', SITE);
    const [example] = failures.groups.find((g) => g.kind === 'page' && g.reason === 'timeout')!.examples;
    expect(example).toMatchObject({ documentId: page.document_id, webUi: null });
    const workflowId = decodeURIComponent(new URL(example!.documentWebUi!).pathname.split('/workflows/')[1]!);
    expect(workflowId).toBe(`site/${SITE}/doc/${page.document_id}`);
    // The link names a workflow the server has: the document's reading, completed.
    expect((await harness.client.workflow.getHandle(workflowId).describe()).status.name).toBe('COMPLETED');

    const status = await json<SiteStatusReport>('status', SITE);
    expect(status.failures.groups.find((g) => g.kind === 'page')).toMatchObject({ reason: 'timeout', count: 1 });
    expect(status.failures.groups.find((g) => g.kind === 'page')!.examples[0]!.documentWebUi).toBe(example!.documentWebUi);
  });

  it('answers for an unregistered site with a usage error', async () => {
    const result = await clerk('status', 'nowhere.ca');
    expect(result.code).toBe(2);
    expect(result.stderr).toMatch(/site "nowhere\.ca" is not registered/);
  });
});
