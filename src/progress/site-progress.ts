import { sql, type Transaction } from 'kysely';
import type { Db } from '../db/connect.js';
import type { Database, SiteProgressRow, Stage } from '../db/schema.js';

export type Trx = Transaction<Database>;

/**
 * Runs `change` in a transaction holding the site's progress row lock, then recounts the site's
 * documents and pages from their tables. Counters are therefore never incremented by hand: they
 * are the pages table's truth, recounted under a lock, so retries and killed workers cannot
 * make them drift.
 */
export async function changeSiteContent<T>(db: Db, subdomain: string, change: (trx: Trx) => Promise<T>): Promise<T> {
  return db.transaction().execute(async (trx) => {
    await lockProgressRow(trx, subdomain);
    const result = await change(trx);
    await recount(trx, subdomain);
    return result;
  });
}

async function lockProgressRow(trx: Trx, subdomain: string): Promise<void> {
  await trx
    .insertInto('site_progress')
    .values({ subdomain, current_stage: 'queued' })
    .onConflict((oc) => oc.column('subdomain').doNothing())
    .execute();
  await trx.selectFrom('site_progress').select('subdomain').where('subdomain', '=', subdomain).forUpdate().executeTakeFirstOrThrow();
}

async function recount(trx: Trx, subdomain: string): Promise<void> {
  const pages = await trx
    .selectFrom('pages')
    .select(['status', (eb) => eb.fn.countAll<number>().as('count')])
    .where('subdomain', '=', subdomain)
    .groupBy('status')
    .execute();
  const documents = await trx
    .selectFrom('documents')
    .select(['status', (eb) => eb.fn.countAll<number>().as('count')])
    .where('subdomain', '=', subdomain)
    .groupBy('status')
    .execute();
  const pageCount = tally(pages);
  const documentCount = tally(documents);
  await trx
    .updateTable('site_progress')
    .set({
      pages_total: pageCount.total,
      pages_done: pageCount.done,
      pages_failed: pageCount.failed,
      documents_total: documentCount.total,
      documents_done: documentCount.done,
      documents_failed: documentCount.failed,
      // During OCR the original's stage counters are pages; other stages set their own.
      stage_total: sql<number>`case when current_stage = 'ocr' then ${pageCount.total} else stage_total end`,
      stage_completed: sql<number>`case when current_stage = 'ocr' then ${pageCount.done + pageCount.failed} else stage_completed end`,
      updated_at: new Date(),
    })
    .where('subdomain', '=', subdomain)
    .execute();
}

function tally(rows: { status: string; count: number | string | bigint }[]): { total: number; done: number; failed: number } {
  let total = 0;
  let done = 0;
  let failed = 0;
  for (const row of rows) {
    const count = Number(row.count);
    total += count;
    if (row.status === 'done') done += count;
    if (row.status === 'failed') failed += count;
  }
  return { total, done, failed };
}

export async function startRun(db: Db, run: { subdomain: string; workflowId: string; runId: string }): Promise<void> {
  await changeSiteContent(db, run.subdomain, async (trx) => {
    await trx
      .updateTable('site_progress')
      .set({
        workflow_id: run.workflowId,
        run_id: run.runId,
        current_stage: 'fetch',
        stage_total: 1,
        stage_completed: 0,
        started_at: new Date(),
        finished_at: null,
      })
      .where('subdomain', '=', run.subdomain)
      .execute();
  });
}

/** Moves the site to `stage`; OCR counts pages, the other stages count their steps. */
export async function enterStage(db: Db, subdomain: string, stage: Stage, steps = 1): Promise<void> {
  await changeSiteContent(db, subdomain, async (trx) => {
    await trx
      .updateTable('site_progress')
      .set({ current_stage: stage, stage_total: steps, stage_completed: 0 })
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
 * Records the end of a run, with the counts recounted from the pages and documents tables. A
 * cancelled run's unread pages are pending and its unread documents fetched, so the next run
 * reads exactly those.
 */
export async function finishRun(db: Db, subdomain: string, outcome: { stage: RunEnd; error?: string; errorStage?: string }): Promise<void> {
  await changeSiteContent(db, subdomain, async (trx) => {
    await trx
      .updateTable('site_progress')
      .set({
        current_stage: outcome.stage,
        finished_at: new Date(),
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
