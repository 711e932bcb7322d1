import { sql, type Transaction } from 'kysely';
import type { Db } from '../db/connect.js';
import type { Database, DocumentStatus, PageStatus, SiteProgressRow, Stage } from '../db/schema.js';

export type Trx = Transaction<Database>;

/** The site_progress counters one kind of row (pages, or documents) feeds. */
export interface StatusCounts {
  total: number;
  done: number;
  failed: number;
}

/**
 * The one place that says which counters a page or document status counts in: every row counts in
 * the total, done and failed ones in their own counter too (pending pages and fetched documents
 * only in the total). `null` is a row that does not exist: inserted from nothing, or deleted.
 */
function countsOf(status: PageStatus | DocumentStatus | null, rows = 1): StatusCounts {
  if (status === null) return { total: 0, done: 0, failed: 0 };
  return { total: rows, done: status === 'done' ? rows : 0, failed: status === 'failed' ? rows : 0 };
}

function addCounts(into: StatusCounts, from: StatusCounts, sign: 1 | -1 = 1): void {
  into.total += sign * from.total;
  into.done += sign * from.done;
  into.failed += sign * from.failed;
}

/** A row's status before and after a change; null where the row did not, or no longer does, exist. */
export interface StatusChange<S> {
  from: S | null;
  to: S | null;
}

/**
 * What one transaction moved between statuses, as counter deltas. Every write to pages or
 * documents reports here the statuses it read (under the row's lock) and wrote, so a write that
 * changes nothing (a retry, a duplicate delivery) adds nothing.
 */
export class CounterChanges {
  readonly pages: StatusCounts = { total: 0, done: 0, failed: 0 };
  readonly documents: StatusCounts = { total: 0, done: 0, failed: 0 };

  page(from: PageStatus | null, to: PageStatus | null): void {
    addCounts(this.pages, countsOf(to));
    addCounts(this.pages, countsOf(from), -1);
  }

  document(from: DocumentStatus | null, to: DocumentStatus | null): void {
    addCounts(this.documents, countsOf(to));
    addCounts(this.documents, countsOf(from), -1);
  }

  pageChanges(changes: readonly StatusChange<PageStatus>[]): void {
    for (const change of changes) this.page(change.from, change.to);
  }

  documentChanges(changes: readonly StatusChange<DocumentStatus>[]): void {
    for (const change of changes) this.document(change.from, change.to);
  }

  isEmpty(): boolean {
    return [this.pages, this.documents].every((c) => c.total === 0 && c.done === 0 && c.failed === 0);
  }
}

/**
 * Runs `change` in a transaction, then adds what it moved between statuses to the site's
 * counters in the same transaction. Lock order, everywhere: document rows, then page rows, then
 * the site_progress row last, with one short UPDATE. So changes to different pages of a site run
 * side by side and queue only for that one statement (and the commit), and no two writers can
 * wait on each other in a cycle.
 */
export async function changeSiteContent<T>(db: Db, subdomain: string, change: (trx: Trx, counters: CounterChanges) => Promise<T>): Promise<T> {
  return db.transaction().execute(async (trx) => {
    const counters = new CounterChanges();
    const result = await change(trx, counters);
    await applyCounterChanges(trx, subdomain, counters);
    return result;
  });
}

async function applyCounterChanges(trx: Trx, subdomain: string, counters: CounterChanges): Promise<void> {
  if (counters.isEmpty()) return;
  if (await addToCounters(trx, subdomain, counters)) return;
  // No row yet: the one created now is counted from the tables, this transaction's change included.
  if (await createProgressRow(trx, subdomain)) return;
  await addToCounters(trx, subdomain, counters);
}

async function addToCounters(trx: Trx, subdomain: string, { pages, documents }: CounterChanges): Promise<boolean> {
  const result = await trx
    .updateTable('site_progress')
    .set((eb) => ({
      pages_total: eb('pages_total', '+', pages.total),
      pages_done: eb('pages_done', '+', pages.done),
      pages_failed: eb('pages_failed', '+', pages.failed),
      documents_total: eb('documents_total', '+', documents.total),
      documents_done: eb('documents_done', '+', documents.done),
      documents_failed: eb('documents_failed', '+', documents.failed),
      // During OCR the original's stage counters are pages; other stages set their own.
      stage_total: sql<number>`case when current_stage = 'ocr' then pages_total + ${pages.total} else stage_total end`,
      stage_completed: sql<number>`case when current_stage = 'ocr' then pages_done + pages_failed + ${pages.done + pages.failed} else stage_completed end`,
      updated_at: new Date(),
    }))
    .where('subdomain', '=', subdomain)
    .executeTakeFirst();
  return Number(result.numUpdatedRows) > 0;
}

/**
 * Creates the site's progress row if it has none, counted from the tables; returns whether it did.
 * Another transaction creating it at the same moment waits on this one's insert, then finds it.
 */
async function createProgressRow(trx: Trx, subdomain: string): Promise<boolean> {
  const created = await trx
    .insertInto('site_progress')
    .values({ subdomain, current_stage: 'queued' })
    .onConflict((oc) => oc.column('subdomain').doNothing())
    .returning('subdomain')
    .executeTakeFirst();
  if (created) await recount(trx, subdomain);
  return created !== undefined;
}

async function lockProgressRow(trx: Trx, subdomain: string): Promise<void> {
  await createProgressRow(trx, subdomain);
  await trx.selectFrom('site_progress').select('subdomain').where('subdomain', '=', subdomain).forUpdate().executeTakeFirstOrThrow();
}

/**
 * Sets the site's counters to a full count of its pages and documents: the repair for counters
 * that drifted (a hand-edited table), and the baseline the counters benchmark measures. The row
 * is locked before counting, so a change committed meanwhile is either counted or adds its delta
 * after this one.
 */
export async function recountSiteProgress(db: Db, subdomain: string): Promise<void> {
  await changeSiteContentByRecount(db, subdomain, async () => {});
}

/**
 * How clerk counted before the counters moved by delta: the site's row is locked first, `change`
 * runs, and the whole site is recounted with a GROUP BY under the lock, so every change to the
 * site waits for the previous one's recount. Kept for repair and as the benchmark's baseline.
 */
export async function changeSiteContentByRecount<T>(db: Db, subdomain: string, change: (trx: Trx) => Promise<T>): Promise<T> {
  return db.transaction().execute(async (trx) => {
    await lockProgressRow(trx, subdomain);
    const result = await change(trx);
    await recount(trx, subdomain);
    return result;
  });
}

/** The site's pages and documents counted by status from their tables. */
export async function countSiteContent(db: Db | Trx, subdomain: string): Promise<{ pages: StatusCounts; documents: StatusCounts }> {
  const pages = await db
    .selectFrom('pages')
    .select(['status', (eb) => eb.fn.countAll<number>().as('count')])
    .where('subdomain', '=', subdomain)
    .groupBy('status')
    .execute();
  const documents = await db
    .selectFrom('documents')
    .select(['status', (eb) => eb.fn.countAll<number>().as('count')])
    .where('subdomain', '=', subdomain)
    .groupBy('status')
    .execute();
  return { pages: tally(pages), documents: tally(documents) };
}

async function recount(trx: Trx, subdomain: string): Promise<void> {
  const { pages: pageCount, documents: documentCount } = await countSiteContent(trx, subdomain);
  await trx
    .updateTable('site_progress')
    .set({
      pages_total: pageCount.total,
      pages_done: pageCount.done,
      pages_failed: pageCount.failed,
      documents_total: documentCount.total,
      documents_done: documentCount.done,
      documents_failed: documentCount.failed,
      stage_total: sql<number>`case when current_stage = 'ocr' then ${pageCount.total} else stage_total end`,
      stage_completed: sql<number>`case when current_stage = 'ocr' then ${pageCount.done + pageCount.failed} else stage_completed end`,
      updated_at: new Date(),
    })
    .where('subdomain', '=', subdomain)
    .execute();
}

function tally(rows: { status: PageStatus | DocumentStatus; count: number | string | bigint }[]): StatusCounts {
  const counts: StatusCounts = { total: 0, done: 0, failed: 0 };
  for (const row of rows) addCounts(counts, countsOf(row.status, Number(row.count)));
  return counts;
}

export interface CounterCheck {
  /** The stored counters equal a full count of the tables (and, during OCR, so do the stage counters). */
  matches: boolean;
  stored: { pages: StatusCounts; documents: StatusCounts } | null;
  counted: { pages: StatusCounts; documents: StatusCounts };
}

/**
 * Compares the site's stored counters with a full count of its pages and documents: how drift
 * would show (a write outside these functions, a bug). Read without locks: on a site with writes
 * in flight it can differ for a moment; at rest it must match.
 */
export async function checkSiteCounters(db: Db, subdomain: string): Promise<CounterCheck> {
  return db.transaction().setIsolationLevel('repeatable read').execute(async (trx) => {
    const row = await trx.selectFrom('site_progress').selectAll().where('subdomain', '=', subdomain).executeTakeFirst();
    const counted = await countSiteContent(trx, subdomain);
    if (!row) return { matches: counted.pages.total === 0 && counted.documents.total === 0, stored: null, counted };
    const stored = {
      pages: { total: row.pages_total, done: row.pages_done, failed: row.pages_failed },
      documents: { total: row.documents_total, done: row.documents_done, failed: row.documents_failed },
    };
    const same = (a: StatusCounts, b: StatusCounts) => a.total === b.total && a.done === b.done && a.failed === b.failed;
    const stageMatches = row.current_stage !== 'ocr' || (row.stage_total === counted.pages.total && row.stage_completed === counted.pages.done + counted.pages.failed);
    return { matches: same(stored.pages, counted.pages) && same(stored.documents, counted.documents) && stageMatches, stored, counted };
  });
}

/** Creates the site's progress row when it has none (counted from the tables) and locks it. */
async function progressRowFor(db: Db, subdomain: string, change: (trx: Trx) => Promise<void>): Promise<void> {
  await db.transaction().execute(async (trx) => {
    await lockProgressRow(trx, subdomain);
    await change(trx);
  });
}

/**
 * Records the start of a run. The counters are recounted here, once a run: a cheap repair for any
 * drift left by writes outside clerk (a hand-edited table) before the run's changes move them.
 */
export async function startRun(db: Db, run: { subdomain: string; workflowId: string; runId: string; startedAt?: Date }): Promise<void> {
  const startedAt = run.startedAt ?? new Date();
  await progressRowFor(db, run.subdomain, async (trx) => {
    await trx
      .updateTable('site_progress')
      .set((eb) => ({
        workflow_id: run.workflowId,
        run_id: run.runId,
        current_stage: 'fetch',
        stage_total: 1,
        stage_completed: 0,
        // A start recorded again for the same run (a site run's fetch after its listing check, a
        // retried fetch) keeps the first.
        started_at: eb
          .case()
          .when('run_id', '=', run.runId)
          .then(eb.fn<Date>('least', ['started_at', eb.val(startedAt)]))
          .else(eb.val(startedAt))
          .end(),
        finished_at: null,
        updated_at: new Date(),
      }))
      .where('subdomain', '=', run.subdomain)
      .execute();
    await recount(trx, run.subdomain);
  });
}

/** Moves the site to `stage`; OCR counts pages (from the page counters), the other stages count their steps. */
export async function enterStage(db: Db, subdomain: string, stage: Stage, steps = 1): Promise<void> {
  await progressRowFor(db, subdomain, async (trx) => {
    await trx
      .updateTable('site_progress')
      .set(
        stage === 'ocr'
          ? { current_stage: stage, stage_total: sql<number>`pages_total`, stage_completed: sql<number>`pages_done + pages_failed`, updated_at: new Date() }
          : { current_stage: stage, stage_total: steps, stage_completed: 0, updated_at: new Date() },
      )
      .where('subdomain', '=', subdomain)
      .execute();
  });
}

export async function completeStageStep(db: Db, subdomain: string): Promise<void> {
  await db
    .updateTable('site_progress')
    .set((eb) => ({ stage_completed: eb('stage_completed', '+', 1), updated_at: new Date() }))
    .where('subdomain', '=', subdomain)
    .execute();
}

/** How a run ended. A cancelled one is not an error: nothing is noted on the site. */
export type RunEnd = 'completed' | 'failed' | 'cancelled';

/**
 * Records the end of a run; the counters are already exact (every page and document change moved
 * them). A cancelled run's unread pages are pending and its unread documents fetched, so the next
 * run reads exactly those.
 */
export async function finishRun(db: Db, subdomain: string, outcome: { stage: RunEnd; error?: string; errorStage?: string }): Promise<void> {
  await progressRowFor(db, subdomain, async (trx) => {
    await trx
      .updateTable('site_progress')
      .set({
        current_stage: outcome.stage,
        finished_at: new Date(),
        updated_at: new Date(),
        ...(outcome.stage === 'completed' ? { stage_completed: sql<number>`stage_total` } : {}),
      })
      .where('subdomain', '=', subdomain)
      .execute();
    if (outcome.error) {
      await trx
        .updateTable('sites')
        .set({ last_error_stage: outcome.errorStage ?? null, last_error_message: outcome.error, last_error_at: new Date() })
        .where('subdomain', '=', subdomain)
        .execute();
    }
  });
}

export async function readProgress(db: Db, subdomain: string): Promise<SiteProgressRow | undefined> {
  return db.selectFrom('site_progress').selectAll().where('subdomain', '=', subdomain).executeTakeFirst();
}

export interface SettledCounts {
  documents: { total: number; done: number; failed: number };
  /** Pages of documents already settled: the ones a run will not read again. */
  pages: { total: number; done: number; failed: number };
}

export async function settledCounts(db: Db, subdomain: string): Promise<SettledCounts> {
  const documents = await db
    .selectFrom('documents')
    .select(['status', (eb) => eb.fn.countAll<number>().as('count')])
    .where('subdomain', '=', subdomain)
    .groupBy('status')
    .execute();
  const pages = await db
    .selectFrom('pages')
    .innerJoin('documents', 'documents.id', 'pages.document_id')
    .select(['pages.status', (eb) => eb.fn.countAll<number>().as('count')])
    .where('pages.subdomain', '=', subdomain)
    .where('documents.status', '!=', 'fetched')
    .groupBy('pages.status')
    .execute();
  return { documents: tally(documents), pages: tally(pages) };
}
