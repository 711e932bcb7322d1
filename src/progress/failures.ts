import { sql } from 'kysely';
import type { Db } from '../db/connect.js';
import { documentChildWorkflowId, documentReadActivityId, siteWorkflowId } from '../workflows/types.js';
import { sendBackUnfinishedDocuments, updatePages } from './documents.js';
import { changeSiteContent, settledCounts, type SettledCounts } from './site-progress.js';

/**
 * The dead-letter view behind `clerk failures` and `clerk retry`: what failed, grouped by reason,
 * and sending exactly that back to be read again. Everything is read from the pages, documents,
 * listing_rejections, site_progress and job_tracking tables; nothing here knows Temporal.
 */

/** What failed: one page, one document's reading, one download, one listing entry, one site run. */
export type FailureKind = 'page' | 'document' | 'download' | 'listing' | 'run';
export type FailureStage = 'fetch' | 'ocr' | 'extraction' | 'deploy';
export const failureStages: readonly FailureStage[] = ['fetch', 'ocr', 'extraction', 'deploy'];

export interface FailureFilter {
  subdomain?: string;
  stage?: FailureStage;
  /** Only failures recorded at or after this instant. */
  since?: Date;
  /** Examples kept per group (default 3). */
  examples?: number;
}

/** One failed thing. Every key is always present (null when it does not apply), so `--json` is stable. */
export interface FailureExample {
  site: string;
  documentId: string | null;
  page: number | null;
  /** Where the document or listing entry came from. */
  url: string | null;
  /** The first line of the recorded error. */
  error: string;
  /** When the failure was recorded (ISO 8601). */
  at: string;
  /** Attempts of the failing activity, when job_tracking can tell them apart; null otherwise. */
  attempts: number | null;
  /** Set for runs: the site's workflow, for the Web UI. */
  workflowId: string | null;
  /**
   * Set for a document whose reading failed: the workflow run whose history holds the failed
   * text-layer read (the site run; in runs started before document-reads-in-site-run, the
   * document's child), for the Web UI. Null when job_tracking has no record of the read.
   */
  readRun: { workflowId: string; runId: string } | null;
}

export interface FailureGroup {
  kind: FailureKind;
  stage: FailureStage;
  reason: string;
  count: number;
  examples: FailureExample[];
}

export interface FailureTotals {
  pages: number;
  documents: number;
  downloads: number;
  listings: number;
  runs: number;
}

export interface FailureReport {
  groups: FailureGroup[];
  totals: FailureTotals;
}

const DEFAULT_EXAMPLES = 3;

export async function listFailures(db: Db, filter: FailureFilter = {}): Promise<FailureReport> {
  const wants = (stage: FailureStage) => filter.stage === undefined || filter.stage === stage;
  const groups: FailureGroup[] = [];
  if (wants('ocr')) groups.push(...(await failedPageGroups(db, filter)), ...(await failedDocumentGroups(db, filter, 'document')));
  if (wants('fetch')) groups.push(...(await failedDocumentGroups(db, filter, 'download')), ...(await listingRejectionGroups(db, filter)));
  groups.push(...(await failedRunGroups(db, filter)).filter((g) => wants(g.stage)));
  groups.sort((a, b) => b.count - a.count || a.kind.localeCompare(b.kind) || a.reason.localeCompare(b.reason));
  const total = (kind: FailureKind) => groups.filter((g) => g.kind === kind).reduce((sum, g) => sum + g.count, 0);
  return {
    groups,
    totals: { pages: total('page'), documents: total('document'), downloads: total('download'), listings: total('listing'), runs: total('run') },
  };
}

async function failedPageGroups(db: Db, filter: FailureFilter): Promise<FailureGroup[]> {
  const base = () => {
    let query = db.selectFrom('pages').innerJoin('documents', 'documents.id', 'pages.document_id').where('pages.status', '=', 'failed');
    if (filter.subdomain !== undefined) query = query.where('pages.subdomain', '=', filter.subdomain);
    if (filter.since !== undefined) query = query.where('pages.updated_at', '>=', filter.since);
    return query;
  };
  const reasons = await base()
    .select([sql<string>`coalesce(pages.failure_reason, 'unknown')`.as('reason'), (eb) => eb.fn.countAll<number>().as('count')])
    .groupBy(sql`coalesce(pages.failure_reason, 'unknown')`)
    .execute();
  return groupsByReason(
    reasons,
    { kind: 'page', stage: 'ocr' },
    (reason) =>
      base()
        .select(['pages.subdomain', 'pages.document_id', 'pages.page_number', 'pages.error', 'pages.updated_at', 'documents.source_url'])
        .where(sql<string>`coalesce(pages.failure_reason, 'unknown')`, '=', reason)
        .orderBy('pages.updated_at', 'desc')
        .orderBy('pages.document_id')
        .orderBy('pages.page_number')
        .limit(filter.examples ?? DEFAULT_EXAMPLES)
        .execute(),
    async (row) => ({
      site: row.subdomain,
      documentId: row.document_id,
      page: row.page_number,
      url: row.source_url,
      error: firstLine(row.error),
      at: row.updated_at.toISOString(),
      attempts: await pageAttempts(db, row.subdomain, row.document_id),
      workflowId: null,
      readRun: null,
    }),
  );
}

/**
 * Documents that failed: `document` is a download clerk has whose reading failed (OCR stage);
 * `download` is a listed document clerk never got a copy of (fetch stage, no content hash).
 */
async function failedDocumentGroups(db: Db, filter: FailureFilter, kind: 'document' | 'download'): Promise<FailureGroup[]> {
  const base = () => {
    let query = db
      .selectFrom('documents')
      .where('status', '=', 'failed')
      .where('content_sha256', kind === 'download' ? '=' : '!=', '');
    if (filter.subdomain !== undefined) query = query.where('subdomain', '=', filter.subdomain);
    if (filter.since !== undefined) query = query.where('updated_at', '>=', filter.since);
    return query;
  };
  const reasons = await base()
    .select([sql<string>`coalesce(failure_reason, 'unknown')`.as('reason'), (eb) => eb.fn.countAll<number>().as('count')])
    .groupBy(sql`coalesce(failure_reason, 'unknown')`)
    .execute();
  return groupsByReason(
    reasons,
    { kind, stage: kind === 'download' ? 'fetch' : 'ocr' },
    (reason) =>
      base()
        .select(['id', 'subdomain', 'source_url', 'error', 'updated_at'])
        .where(sql<string>`coalesce(failure_reason, 'unknown')`, '=', reason)
        .orderBy('updated_at', 'desc')
        .orderBy('id')
        .limit(filter.examples ?? DEFAULT_EXAMPLES)
        .execute(),
    async (row) => {
      // A download is one step inside fetchSite, not an activity of its own: no attempts to count.
      const read = kind === 'document' ? await documentRead(db, row.subdomain, row.id) : undefined;
      return {
        site: row.subdomain,
        documentId: row.id,
        page: null,
        url: row.source_url,
        error: firstLine(row.error),
        at: row.updated_at.toISOString(),
        attempts: read?.attempts ?? null,
        workflowId: null,
        readRun: read ? { workflowId: read.workflowId, runId: read.runId } : null,
      };
    },
  );
}

/**
 * One group per reason, with a few of its newest examples: `examplesOf` reads the rows of one
 * reason, `exampleOf` turns each into an example.
 */
async function groupsByReason<Row>(
  reasons: { reason: string; count: number | string | bigint }[],
  group: Pick<FailureGroup, 'kind' | 'stage'>,
  examplesOf: (reason: string) => Promise<Row[]>,
  exampleOf: (row: Row) => Promise<FailureExample>,
): Promise<FailureGroup[]> {
  const groups: FailureGroup[] = [];
  for (const { reason, count } of reasons) {
    const examples: FailureExample[] = [];
    for (const row of await examplesOf(reason)) examples.push(await exampleOf(row));
    groups.push({ ...group, reason, count: Number(count), examples });
  }
  return groups;
}

async function listingRejectionGroups(db: Db, filter: FailureFilter): Promise<FailureGroup[]> {
  const base = () => {
    let query = db.selectFrom('listing_rejections');
    if (filter.subdomain !== undefined) query = query.where('subdomain', '=', filter.subdomain);
    if (filter.since !== undefined) query = query.where('last_seen_at', '>=', filter.since);
    return query;
  };
  const reasons = await base()
    .select(['reason', (eb) => eb.fn.countAll<number>().as('count')])
    .groupBy('reason')
    .execute();
  const groups: FailureGroup[] = [];
  for (const { reason, count } of reasons) {
    const rows = await base()
      .select(['subdomain', 'url', 'reason', 'last_seen_at'])
      .where('reason', '=', reason)
      .orderBy('last_seen_at', 'desc')
      .orderBy('url')
      .limit(filter.examples ?? DEFAULT_EXAMPLES)
      .execute();
    const examples = rows.map((row) => ({
      site: row.subdomain,
      documentId: null,
      page: null,
      url: row.url,
      error: firstLine(row.reason),
      at: row.last_seen_at.toISOString(),
      attempts: null,
      workflowId: null,
      readRun: null,
    }));
    groups.push({ kind: 'listing', stage: 'fetch', reason: firstLine(reason), count: Number(count), examples });
  }
  return groups;
}

/**
 * Sites whose latest run ended failed. The reason is the activity that failed last in that run
 * (`fetchSite`, `deployArchive`...), or `workflow` when the run failed without a failed activity.
 */
async function failedRunGroups(db: Db, filter: FailureFilter): Promise<FailureGroup[]> {
  let query = db
    .selectFrom('site_progress')
    .innerJoin('sites', 'sites.subdomain', 'site_progress.subdomain')
    .select([
      'site_progress.subdomain',
      'site_progress.workflow_id',
      'site_progress.started_at',
      'site_progress.finished_at',
      'sites.last_error_stage',
      'sites.last_error_message',
      'sites.last_error_at',
    ])
    .where('site_progress.current_stage', '=', 'failed')
    .orderBy('site_progress.finished_at', 'desc')
    .orderBy('site_progress.subdomain');
  if (filter.subdomain !== undefined) query = query.where('site_progress.subdomain', '=', filter.subdomain);
  if (filter.since !== undefined) query = query.where('site_progress.finished_at', '>=', filter.since);
  const runs = await query.execute();
  const groups = new Map<string, FailureGroup>();
  for (const run of runs) {
    const failedJob = run.workflow_id && run.started_at ? await lastFailedJob(db, run.workflow_id, run.started_at) : undefined;
    const stage = runStage(run.last_error_stage);
    const reason = failedJob?.jobType ?? 'workflow';
    const key = `${stage}\n${reason}`;
    const group = groups.get(key) ?? { kind: 'run' as const, stage, reason, count: 0, examples: [] };
    group.count++;
    if (group.examples.length < (filter.examples ?? DEFAULT_EXAMPLES)) {
      group.examples.push({
        site: run.subdomain,
        documentId: null,
        page: null,
        url: null,
        error: firstLine(run.last_error_message ?? failedJob?.error ?? null),
        at: (run.finished_at ?? run.last_error_at ?? new Date(0)).toISOString(),
        attempts: failedJob?.attempts ?? null,
        workflowId: run.workflow_id,
        readRun: null,
      });
    }
    groups.set(key, group);
  }
  return [...groups.values()];
}

/** The stage a run failed in, as the filter names it; a run that failed before fetching counts as fetch. */
function runStage(stage: string | null): FailureStage {
  return failureStages.find((s) => s === stage) ?? 'fetch';
}

/**
 * The site workflow's activity that failed last in the run started at `startedAt` (continue-as-new
 * runs included: they share the workflow id), with how many attempts it had.
 */
async function lastFailedJob(db: Db, workflowId: string, startedAt: Date): Promise<{ jobType: string; attempts: number; error: string | null } | undefined> {
  const failed = await db
    .selectFrom('job_tracking')
    .select(['job_type', 'run_id', 'activity_id', 'error'])
    .where('workflow_id', '=', workflowId)
    .where('started_at', '>=', startedAt)
    .where('status', '=', 'failed')
    .orderBy('started_at', 'desc')
    .orderBy('id', 'desc')
    .limit(1)
    .executeTakeFirst();
  if (!failed) return undefined;
  const { attempts } = await db
    .selectFrom('job_tracking')
    .select((eb) => eb.fn.max<number>('attempt').as('attempts'))
    .where('workflow_id', '=', workflowId)
    .where('run_id', '=', failed.run_id)
    .where('activity_id', '=', failed.activity_id)
    .executeTakeFirstOrThrow();
  return { jobType: failed.job_type, attempts: Number(attempts), error: failed.error };
}

/** The latest reading of a document's text layer: where it ran and its attempts. */
async function documentRead(db: Db, subdomain: string, documentId: string): Promise<{ attempts: number; workflowId: string; runId: string } | undefined> {
  const latest = await latestDocumentRead(db, subdomain, documentId);
  if (!latest) return undefined;
  const { attempts } = await db
    .selectFrom('job_tracking')
    .select((eb) => eb.fn.max<number>('attempt').as('attempts'))
    .where('workflow_id', '=', latest.workflow_id)
    .where('run_id', '=', latest.run_id)
    .where('activity_id', '=', latest.activity_id)
    .executeTakeFirstOrThrow();
  return { attempts: Number(attempts), workflowId: latest.workflow_id, runId: latest.run_id };
}

async function latestDocumentRead(db: Db, subdomain: string, documentId: string) {
  return db
    .selectFrom('job_tracking')
    .select(['workflow_id', 'run_id', 'activity_id', 'started_at'])
    .where('job_type', '=', 'readTextLayer')
    // The site run reads the document itself under an activity id naming it; runs started before
    // document-reads-in-site-run read it in the document's child (documentChildWorkflowId).
    .where((eb) =>
      eb.or([
        eb.and([eb('workflow_id', '=', siteWorkflowId(subdomain)), eb('activity_id', '=', documentReadActivityId(documentId))]),
        eb('workflow_id', '=', documentChildWorkflowId(subdomain, documentId)),
      ]),
    )
    .orderBy('started_at', 'desc')
    .orderBy('id', 'desc')
    .limit(1)
    .executeTakeFirst();
}

/**
 * Attempts of a failed page's OCR. job_tracking does not record which page an ocrPage activity
 * read, so this is known only when it is unambiguous: every ocrPage activity of the document's
 * latest reading that never succeeded (the failed pages) had the same number of attempts.
 */
async function pageAttempts(db: Db, subdomain: string, documentId: string): Promise<number | null> {
  const latest = await latestDocumentRead(db, subdomain, documentId);
  if (!latest) return null;
  const child = documentChildWorkflowId(subdomain, documentId);
  const rows = await db
    .selectFrom('job_tracking')
    .select([
      'workflow_id',
      'run_id',
      'activity_id',
      (eb) => eb.fn.max<number>('attempt').as('attempts'),
      sql<number>`count(*) filter (where status = 'succeeded')`.as('succeeded'),
    ])
    .where('job_type', '=', 'ocrPage')
    .where('started_at', '>=', latest.started_at)
    // The document's child and its page-batch children (`<document workflow>/pages/<first page>`).
    .where((eb) => eb.or([eb('workflow_id', '=', child), eb(sql<boolean>`starts_with(workflow_id, ${`${child}/pages/`})`, '=', true)]))
    .groupBy(['workflow_id', 'run_id', 'activity_id'])
    .execute();
  const failed = new Set(rows.filter((r) => Number(r.succeeded) === 0).map((r) => Number(r.attempts)));
  return failed.size === 1 ? [...failed][0]! : null;
}

function firstLine(text: string | null): string {
  return (text ?? '').split('\n', 1)[0]!.trim();
}

/** What `clerk retry --failed-only` sends back for one site, and what it cannot. */
export interface RetryPlan {
  subdomain: string;
  /** Failed pages of documents clerk has a copy of: set pending and read again. */
  pages: { documentId: string; page: number; reason: string }[];
  /** Documents read again: failed readings, documents with failed pages, and ones never finished. */
  documents: { documentId: string; reason: string }[];
  /** Listed documents never downloaded: only a run that reads the listing (`clerk retry` without --failed-only) retries them. */
  downloads: { documentId: string; url: string; reason: string }[];
  /** The site's latest run ended failed: a retry runs extraction and deploy again even with nothing to read. */
  lastRun: { stage: string | null; error: string | null } | null;
}

export function planHasWork(plan: RetryPlan): boolean {
  return plan.documents.length > 0 || plan.lastRun !== null;
}

export async function planRetry(db: Db, subdomain: string): Promise<RetryPlan> {
  const pages = await db
    .selectFrom('pages')
    .innerJoin('documents', 'documents.id', 'pages.document_id')
    .select(['pages.document_id', 'pages.page_number', 'pages.failure_reason'])
    .where('pages.subdomain', '=', subdomain)
    .where('pages.status', '=', 'failed')
    .where('documents.content_sha256', '!=', '')
    .orderBy('pages.document_id')
    .orderBy('pages.page_number')
    .execute();
  const documents = await sendBackQuery(db, subdomain)
    .select(['id', 'status', 'failure_reason'])
    .orderBy('id')
    .execute();
  const downloads = await db
    .selectFrom('documents')
    .select(['id', 'source_url', 'failure_reason'])
    .where('subdomain', '=', subdomain)
    .where('status', '=', 'failed')
    .where('content_sha256', '=', '')
    .orderBy('id')
    .execute();
  const run = await db
    .selectFrom('site_progress')
    .innerJoin('sites', 'sites.subdomain', 'site_progress.subdomain')
    .select(['sites.last_error_stage', 'sites.last_error_message'])
    .where('site_progress.subdomain', '=', subdomain)
    .where('site_progress.current_stage', '=', 'failed')
    .executeTakeFirst();
  return {
    subdomain,
    pages: pages.map((p) => ({ documentId: p.document_id, page: p.page_number, reason: p.failure_reason ?? 'unknown' })),
    documents: documents.map((d) => ({
      documentId: d.id,
      reason: d.status === 'failed' ? (d.failure_reason ?? 'unknown') : d.status === 'fetched' ? 'unfinished' : 'failed-pages',
    })),
    downloads: downloads.map((d) => ({ documentId: d.id, url: d.source_url, reason: d.failure_reason ?? 'unknown' })),
    lastRun: run ? { stage: run.last_error_stage, error: firstLine(run.last_error_message) || null } : null,
  };
}

/**
 * The documents a failed-only retry reads again: the same choice as requeueUnfinishedDocuments
 * (failed readings of a copy clerk has, and done documents with failed pages), plus documents a
 * run fetched and never got to (status fetched), which the run's OCR stage lists anyway.
 */
function sendBackQuery(db: Db, subdomain: string) {
  const withFailedPages = db.selectFrom('pages').select('document_id').where('subdomain', '=', subdomain).where('status', '=', 'failed');
  return db
    .selectFrom('documents')
    .where('subdomain', '=', subdomain)
    .where('content_sha256', '!=', '')
    .where((eb) => eb.or([eb('status', 'in', ['failed', 'fetched']), eb.and([eb('status', '=', 'done'), eb('id', 'in', withFailedPages)])]));
}

export interface SentBack {
  documents: number;
  pages: number;
  /** The counts of what stays as it is: the run's starting point. */
  settled: SettledCounts;
}

/**
 * Sends the site's failed work back to be read: its failed pages are pending again and their
 * documents (and failed readings) are fetched again, so the OCR stage lists them; nothing else is
 * touched. Safe to repeat. Returns what it sent back and the counts of the rest.
 */
export async function sendBackFailedWork(db: Db, subdomain: string): Promise<SentBack> {
  const sent = await changeSiteContent(db, subdomain, async (trx, counters) => {
    const documents = await sendBackUnfinishedDocuments(trx, subdomain, { failure_reason: null, error: null, updated_at: new Date() });
    const pages = await updatePages(
      trx,
      (rows) =>
        rows
          .where('subdomain', '=', subdomain)
          .where('status', '=', 'failed')
          .where('document_id', 'in', (eb) => eb.selectFrom('documents').select('id').where('subdomain', '=', subdomain).where('status', '=', 'fetched')),
      { status: 'pending', failure_reason: null, error: null, updated_at: new Date() },
    );
    counters.documentChanges(documents);
    counters.pageChanges(pages);
    return { documents: documents.length, pages: pages.length };
  });
  return { ...sent, settled: await settledCounts(db, subdomain) };
}
