import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { inject } from 'vitest';
import { ensureDatabase } from '../../src/db/admin.js';
import { connectDatabase, type Db } from '../../src/db/connect.js';
import { migrateToLatest } from '../../src/db/migrate.js';
import {
  completeOcrPage,
  failDocument,
  failPage,
  finishDocument,
  getDocument,
  recordDocumentPages,
  recordFetchedDocument,
  recordUndownloadableDocument,
  requeueUnfinishedDocuments,
  type FetchedDocument,
  type PageText,
} from '../../src/progress/documents.js';
import { sendBackFailedWork } from '../../src/progress/failures.js';
import { checkSiteCounters, enterStage, finishRun, recountSiteProgress, startRun } from '../../src/progress/site-progress.js';

/**
 * site_progress moves by delta with every page and document change. These specifications check,
 * on the rows themselves, that the counters always equal a count of the pages and documents
 * tables: under concurrent writers, retries, duplicate deliveries, re-fetches and cancels.
 */

let db: Db;

beforeAll(async () => {
  const adminUrl = new URL(inject('postgresAdminUrl'));
  const database = `clerk_site_counters_${randomBytes(3).toString('hex')}`;
  await ensureDatabase(adminUrl.href, database);
  db = connectDatabase(Object.assign(new URL(adminUrl.href), { pathname: `/${database}` }).href, { maxConnections: 20 });
  await migrateToLatest(db);
});

afterAll(async () => {
  await db?.destroy();
});

let siteNumber = 0;

/** A registered site in a run, in the OCR stage, with one fetched document of `pages` pages all pending. */
async function siteWithPendingPages(pages: number, documents = 1): Promise<{ subdomain: string; documentIds: string[] }> {
  const subdomain = `counters${++siteNumber}.test`;
  await db.insertInto('sites').values({ subdomain, name: subdomain, fetcher: 'http-index', source_url: 'http://127.0.0.1/', settings: '{}', allowed_hosts: '[]' }).execute();
  await startRun(db, { subdomain, workflowId: `site/${subdomain}`, runId: 'run-1' });
  const documentIds: string[] = [];
  for (let d = 0; d < documents; d++) {
    const fetched = fetchedDocument(subdomain, d, 'a'.repeat(64));
    expect(await recordFetchedDocument(db, fetched)).toBe('new');
    documentIds.push(fetched.id);
  }
  await enterStage(db, subdomain, 'ocr');
  for (const id of documentIds) await registerPages(id, pages);
  return { subdomain, documentIds };
}

function fetchedDocument(subdomain: string, n: number, contentSha256: string): FetchedDocument {
  return {
    id: `${subdomain}/doc${n}`,
    subdomain,
    kind: 'minutes',
    meeting: 'City Council',
    meetingSlug: 'CityCouncil',
    date: `2026-01-${String(n + 1).padStart(2, '0')}`,
    sourceUrl: `http://127.0.0.1/doc${n}.pdf`,
    storageKey: `${subdomain}/doc${n}.pdf`,
    contentSha256,
    byteSize: 1000,
  };
}

async function registerPages(documentId: string, pages: number): Promise<number[]> {
  const doc = await getDocument(db, documentId);
  return recordDocumentPages(db, doc, pages, Array.from({ length: pages }, (_, i) => ({ page: i + 1 })));
}

const ocrText = (page: number): PageText => ({ key: `text/${page}.txt`, sha256: 'b'.repeat(64), chars: 10, engine: 'tesseract', ocr: { dpi: 300, confidence: 90 } });

/** The counters as stored, beside a count of the rows made here in the test. */
async function expectCountersExact(subdomain: string): Promise<void> {
  const pages = await db.selectFrom('pages').select('status').where('subdomain', '=', subdomain).execute();
  const documents = await db.selectFrom('documents').select('status').where('subdomain', '=', subdomain).execute();
  const progress = await db.selectFrom('site_progress').selectAll().where('subdomain', '=', subdomain).executeTakeFirstOrThrow();
  const count = (rows: { status: string }[]) => ({
    total: rows.length,
    done: rows.filter((r) => r.status === 'done').length,
    failed: rows.filter((r) => r.status === 'failed').length,
  });
  expect({ total: progress.pages_total, done: progress.pages_done, failed: progress.pages_failed }).toEqual(count(pages));
  expect({ total: progress.documents_total, done: progress.documents_done, failed: progress.documents_failed }).toEqual(count(documents));
  if (progress.current_stage === 'ocr') {
    expect({ total: progress.stage_total, completed: progress.stage_completed }).toEqual({ total: pages.length, completed: count(pages).done + count(pages).failed });
  }
  expect((await checkSiteCounters(db, subdomain)).matches).toBe(true);
}

async function progressOf(subdomain: string) {
  return db.selectFrom('site_progress').selectAll().where('subdomain', '=', subdomain).executeTakeFirstOrThrow();
}

describe('site_progress counters move by delta and stay exact', () => {
  it('counts 8 concurrent writers completing and failing pages, each page delivered twice', async () => {
    const { subdomain, documentIds } = await siteWithPendingPages(120, 4);
    await expectCountersExact(subdomain);
    expect((await progressOf(subdomain)).pages_total).toBe(480);
    const work = documentIds.flatMap((documentId) => Array.from({ length: 120 }, (_, i) => ({ documentId, page: i + 1 })));
    // Every page goes to two writers (a duplicate delivery); every tenth page fails instead, once before and once after.
    const deliveries = [...work, ...work.slice().reverse()];
    let next = 0;
    await Promise.all(
      Array.from({ length: 8 }, async () => {
        while (next < deliveries.length) {
          const { documentId, page } = deliveries[next++]!;
          if (page % 10 === 0) await failPage(db, subdomain, documentId, page, { reason: 'ocr-error', error: 'tesseract crashed' });
          else await completeOcrPage(db, subdomain, documentId, page, ocrText(page));
        }
      }),
    );
    await expectCountersExact(subdomain);
    const progress = await progressOf(subdomain);
    expect({ total: progress.pages_total, done: progress.pages_done, failed: progress.pages_failed }).toEqual({ total: 480, done: 432, failed: 48 });
    expect({ total: progress.stage_total, completed: progress.stage_completed }).toEqual({ total: 480, completed: 480 });
  });

  it('adds nothing for the same page completed twice (a retried activity)', async () => {
    const { subdomain, documentIds } = await siteWithPendingPages(3);
    await completeOcrPage(db, subdomain, documentIds[0]!, 1, ocrText(1));
    const once = await progressOf(subdomain);
    await completeOcrPage(db, subdomain, documentIds[0]!, 1, ocrText(1));
    const twice = await progressOf(subdomain);
    expect({ done: twice.pages_done, total: twice.pages_total, completed: twice.stage_completed }).toEqual({ done: 1, total: 3, completed: 1 });
    expect({ done: twice.pages_done, completed: twice.stage_completed }).toEqual({ done: once.pages_done, completed: once.stage_completed });
    // A page already done stays done when a stale attempt fails it.
    await failPage(db, subdomain, documentIds[0]!, 1, { reason: 'timeout', error: 'late failure' });
    expect((await progressOf(subdomain)).pages_failed).toBe(0);
    await expectCountersExact(subdomain);
  });

  it('moves a page failed then retried done from failed to done', async () => {
    const { subdomain, documentIds } = await siteWithPendingPages(2);
    await failPage(db, subdomain, documentIds[0]!, 2, { reason: 'timeout', error: 'too slow' });
    expect((await progressOf(subdomain)).pages_failed).toBe(1);
    await expectCountersExact(subdomain);
    await completeOcrPage(db, subdomain, documentIds[0]!, 2, ocrText(2));
    const progress = await progressOf(subdomain);
    expect({ done: progress.pages_done, failed: progress.pages_failed }).toEqual({ done: 1, failed: 0 });
    await expectCountersExact(subdomain);
  });

  it('takes a re-fetched document\'s pages back to pending, and its changed pages away', async () => {
    const { subdomain, documentIds } = await siteWithPendingPages(4);
    const documentId = documentIds[0]!;
    for (const page of [1, 2]) await completeOcrPage(db, subdomain, documentId, page, ocrText(page));
    await failPage(db, subdomain, documentId, 3, { reason: 'timeout', error: 'too slow' });
    await finishDocument(db, subdomain, documentId);
    expect((await progressOf(subdomain)).documents_done).toBe(1);
    await expectCountersExact(subdomain);

    // Same bytes again: the document is read again; done pages stay, the failed and unsettled ones go back to pending.
    expect(await requeueUnfinishedDocuments(db, subdomain)).toBe(1);
    await expectCountersExact(subdomain);
    expect(await registerPages(documentId, 4)).toEqual([3, 4]);
    let progress = await progressOf(subdomain);
    expect({ total: progress.pages_total, done: progress.pages_done, failed: progress.pages_failed, documentsDone: progress.documents_done }).toEqual({ total: 4, done: 2, failed: 0, documentsDone: 0 });
    await expectCountersExact(subdomain);

    // New bytes: the old pages are dropped and the new PDF's pages start pending.
    expect(await recordFetchedDocument(db, fetchedDocument(subdomain, 0, 'c'.repeat(64)))).toBe('changed');
    expect((await progressOf(subdomain)).pages_total).toBe(0);
    await expectCountersExact(subdomain);
    expect(await registerPages(documentId, 5)).toEqual([1, 2, 3, 4, 5]);
    progress = await progressOf(subdomain);
    expect({ total: progress.pages_total, done: progress.pages_done, stage: progress.stage_total }).toEqual({ total: 5, done: 0, stage: 5 });
    await expectCountersExact(subdomain);
  });

  it('keeps a cancelled run\'s unread pages pending, and counts the next run sending back failed work', async () => {
    const { subdomain, documentIds } = await siteWithPendingPages(6, 2);
    await completeOcrPage(db, subdomain, documentIds[0]!, 1, ocrText(1));
    await failPage(db, subdomain, documentIds[0]!, 2, { reason: 'timeout', error: 'too slow' });
    await finishRun(db, subdomain, { stage: 'cancelled' });
    let progress = await progressOf(subdomain);
    expect({ stage: progress.current_stage, total: progress.pages_total, done: progress.pages_done, failed: progress.pages_failed }).toEqual({
      stage: 'cancelled',
      total: 12,
      done: 1,
      failed: 1,
    });
    await expectCountersExact(subdomain);

    // `clerk retry --failed-only`: the failed page is pending again, the rest untouched.
    const sent = await sendBackFailedWork(db, subdomain);
    expect(sent.pages).toBe(1);
    progress = await progressOf(subdomain);
    expect({ total: progress.pages_total, done: progress.pages_done, failed: progress.pages_failed }).toEqual({ total: 12, done: 1, failed: 0 });
    await expectCountersExact(subdomain);

    // The next run re-reads, then a document fails and the other is closed with its unsettled pages failed.
    await startRun(db, { subdomain, workflowId: `site/${subdomain}`, runId: 'run-2' });
    await enterStage(db, subdomain, 'ocr');
    await registerPages(documentIds[0]!, 6);
    await failDocument(db, subdomain, documentIds[1]!, { reason: 'unreadable', error: 'not a PDF' });
    const outcome = await finishDocument(db, subdomain, documentIds[0]!);
    expect(outcome).toMatchObject({ status: 'done', pages: 6, pagesDone: 1, pagesFailed: 5 });
    progress = await progressOf(subdomain);
    expect({ done: progress.pages_done, failed: progress.pages_failed, documentsDone: progress.documents_done, documentsFailed: progress.documents_failed }).toEqual({
      done: 1,
      failed: 11,
      documentsDone: 1,
      documentsFailed: 1,
    });
    await expectCountersExact(subdomain);
  });

  it('counts documents that could not be downloaded, and a site whose first change creates its row', async () => {
    const subdomain = `counters${++siteNumber}.test`;
    await db.insertInto('sites').values({ subdomain, name: subdomain, fetcher: 'http-index', source_url: 'http://127.0.0.1/', settings: '{}', allowed_hosts: '[]' }).execute();
    // No run started: concurrent first changes create the site_progress row between them.
    await Promise.all(
      Array.from({ length: 8 }, (_, n) => {
        const { contentSha256: _sha, byteSize: _size, ...doc } = fetchedDocument(subdomain, n, '');
        return n % 2 === 0 ? recordUndownloadableDocument(db, doc, { reason: 'http-500', error: 'server error' }) : recordFetchedDocument(db, fetchedDocument(subdomain, n, 'd'.repeat(64)));
      }),
    );
    const progress = await progressOf(subdomain);
    expect({ total: progress.documents_total, failed: progress.documents_failed }).toEqual({ total: 8, failed: 4 });
    await expectCountersExact(subdomain);
    // The same failure recorded again (a retried fetch) adds nothing.
    const { contentSha256: _sha, byteSize: _size, ...first } = fetchedDocument(subdomain, 0, '');
    await recordUndownloadableDocument(db, first, { reason: 'http-500', error: 'server error' });
    expect((await progressOf(subdomain)).documents_failed).toBe(4);
    await expectCountersExact(subdomain);
  });

  it('shows drift made outside clerk, and the recount repairs it', async () => {
    const { subdomain, documentIds } = await siteWithPendingPages(3);
    await db.updateTable('pages').set({ status: 'done' }).where('document_id', '=', documentIds[0]!).where('page_number', '=', 1).execute();
    const drifted = await checkSiteCounters(db, subdomain);
    expect(drifted.matches).toBe(false);
    expect(drifted.stored?.pages).toEqual({ total: 3, done: 0, failed: 0 });
    expect(drifted.counted.pages).toEqual({ total: 3, done: 1, failed: 0 });
    await recountSiteProgress(db, subdomain);
    await expectCountersExact(subdomain);
  });
});
