import { randomUUID } from 'node:crypto';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { Context } from '@temporalio/activity';
import type { ExpressionBuilder } from 'kysely';
import type { Database } from '../db/schema.js';
import { archiveKey, type ArchiveVariant } from '../archive/layout.js';
import { compileArchive, type ArchivePage } from '../archive/compile.js';
import { metrics } from '../metrics/index.js';
import type { PageExtraction } from '../extract/index.js';
import type { ExtractionThreads } from '../extract/threads.js';
import type { ActivityDeps } from './deps.js';
import { withHeartbeats } from './heartbeat.js';
import { tracked } from './tracking.js';

const PAGES_PER_QUERY = 200;
/**
 * Documents extracted per batch. Each is read whole (votes and names are read per document), so a
 * batch holds the text of its documents' pages: 16 documents of a few hundred pages is a few MB.
 */
const DOCUMENTS_PER_BATCH = 16;

export function createExtractionActivities(deps: ActivityDeps & { extractionThreads: ExtractionThreads }) {
  const { db, store, extractionThreads } = deps;

  /**
   * Extracts entities and votes for every document with a done page whose text changed since its
   * last extraction, on worker threads. A document is read whole, so all its done pages are
   * extracted again and saved together; a document whose text did not change is skipped. Progress
   * lives in the pages table, so a retried attempt resumes where it stopped.
   */
  async function extractEntities(input: { subdomain: string }): Promise<{ pages: number }> {
    const context = Context.current();
    let processed = 0;
    let current = await documentsToExtract(input.subdomain, null);
    let extracting = settleLater(extract(current));
    // Double-buffered: the threads work on the next batch while this one's rows are written.
    while (current.length > 0) {
      const results = await extracting;
      const next = await documentsToExtract(input.subdomain, current.at(-1)!.documentId);
      extracting = settleLater(extract(next));
      await saveExtractions(current, results);
      const pages = current.reduce((n, doc) => n + doc.pages.length, 0);
      metrics.extractedPages(pages);
      processed += pages;
      context.heartbeat({ processed });
      current = next;
    }
    return { pages: processed };
  }

  type PageToExtract = { document_id: string; page_number: number; text_key: string | null; text_sha256: string | null };
  type DocumentToExtract = { documentId: string; pages: PageToExtract[] };

  /** The next documents (by id, after `after`) with a done page whose text is not extracted yet, with all their done pages. */
  async function documentsToExtract(subdomain: string, after: string | null): Promise<DocumentToExtract[]> {
    let changed = db
      .selectFrom('pages')
      .select('document_id')
      .distinct()
      .where('subdomain', '=', subdomain)
      .where('status', '=', 'done')
      .where((eb) => eb.or([eb('extracted_text_sha256', 'is', null), eb('extracted_text_sha256', '!=', eb.ref('text_sha256'))]));
    if (after !== null) changed = changed.where('document_id', '>', after);
    const ids = (await changed.orderBy('document_id').limit(DOCUMENTS_PER_BATCH).execute()).map((r) => r.document_id);
    if (ids.length === 0) return [];
    const documents = new Map<string, PageToExtract[]>(ids.map((id) => [id, []]));
    for (let from = 0; ; from += PAGES_PER_QUERY) {
      const rows = await db
        .selectFrom('pages')
        .select(['document_id', 'page_number', 'text_key', 'text_sha256'])
        .where('document_id', 'in', ids)
        .where('status', '=', 'done')
        .orderBy('document_id')
        .orderBy('page_number')
        .limit(PAGES_PER_QUERY)
        .offset(from)
        .execute();
      for (const row of rows) documents.get(row.document_id)!.push(row);
      if (rows.length < PAGES_PER_QUERY) break;
    }
    return ids.map((documentId) => ({ documentId, pages: documents.get(documentId)! }));
  }

  async function extract(documents: DocumentToExtract[]): Promise<PageExtraction[][]> {
    if (documents.length === 0) return [];
    const texts = await Promise.all(
      documents.map(async (doc) => ({
        pages: await Promise.all(doc.pages.map((page) => (page.text_key ? store.getText(page.text_key) : ''))),
        pageNumbers: doc.pages.map((page) => page.page_number),
      })),
    );
    return extractionThreads.extractDocuments(texts);
  }

  async function saveExtractions(documents: DocumentToExtract[], results: PageExtraction[][]): Promise<void> {
    await db.transaction().execute(async (trx) => {
      for (const [d, doc] of documents.entries()) {
        for (const [i, page] of doc.pages.entries()) {
          const { entities, votes } = results[d]![i]!;
          await trx
            .updateTable('pages')
            .set({ entities: JSON.stringify(entities), votes: JSON.stringify(votes), extracted_text_sha256: page.text_sha256 ?? '' })
            .where('document_id', '=', page.document_id)
            .where('page_number', '=', page.page_number)
            .execute();
        }
      }
    });
  }

  /**
   * Compiles the site's meetings.db (with entities for `full`) and moves the built file into the
   * store: a large site's database is gigabytes, so it is never read into memory.
   */
  async function compileSiteArchive(input: { subdomain: string; variant: ArchiveVariant }): Promise<{ key: string; minutesRows: number; agendaRows: number }> {
    const context = Context.current();
    const buildPath = path.join(os.tmpdir(), `clerk-archive-${randomUUID()}.db`);
    try {
      const site = await db.selectFrom('sites').select('name').where('subdomain', '=', input.subdomain).executeTakeFirst();
      const compiled = await compileArchive(buildPath, archivePages(input.subdomain, input.variant === 'full', () => context.heartbeat()), {
        subdomain: input.subdomain,
        siteName: site?.name,
        variant: input.variant,
      });
      const key = archiveKey(input.subdomain, input.variant);
      await store.putFile(key, buildPath);
      return { key, minutesRows: compiled.minutesRows, agendaRows: compiled.agendaRows };
    } finally {
      await fs.rm(buildPath, { force: true });
    }
  }

  async function* archivePages(subdomain: string, withEntities: boolean, onBatch: () => void): AsyncGenerator<ArchivePage> {
    let after: { documentId: string; page: number } | null = null;
    for (;;) {
      let query = db
        .selectFrom('pages')
        .innerJoin('documents', 'documents.id', 'pages.document_id')
        .select([
          'pages.document_id',
          'pages.page_number',
          'pages.text_key',
          'pages.entities',
          'pages.votes',
          'pages.ocr_confidence',
          'documents.kind',
          'documents.meeting',
          'documents.meeting_date',
          'documents.source_url',
          'documents.fetched_at',
        ])
        .where('pages.subdomain', '=', subdomain)
        .where('pages.status', '=', 'done');
      if (after) query = query.where(afterPage(after.documentId, after.page));
      const rows = await query.orderBy('pages.document_id').orderBy('pages.page_number').limit(PAGES_PER_QUERY).execute();
      if (rows.length === 0) return;
      for (const row of rows) {
        yield {
          kind: row.kind,
          meeting: row.meeting,
          date: row.meeting_date,
          page: row.page_number,
          text: row.text_key ? await store.getText(row.text_key) : '',
          documentId: row.document_id,
          sourceUrl: row.source_url,
          ocrConfidence: row.ocr_confidence,
          publishedAt: row.fetched_at,
          ...(withEntities ? { entities: row.entities, votes: row.votes } : {}),
        };
      }
      const last = rows.at(-1)!;
      after = { documentId: last.document_id, page: last.page_number };
      onBatch();
    }
  }

  return {
    extractEntities: tracked(deps, 'extraction', (input: { subdomain: string }) => withHeartbeats(() => extractEntities(input))),
    compileArchive: tracked(deps, 'extraction', (input: { subdomain: string; variant: ArchiveVariant }) => withHeartbeats(() => compileSiteArchive(input))),
  };
}

export type ExtractionActivities = ReturnType<typeof createExtractionActivities>;

/** Keyset paging over pages in (document_id, page_number) order: pages after the given one. */
function afterPage(documentId: string, page: number) {
  return (eb: ExpressionBuilder<Database, 'pages'>) =>
    eb.or([eb('pages.document_id', '>', documentId), eb.and([eb('pages.document_id', '=', documentId), eb('pages.page_number', '>', page)])]);
}

/** A promise awaited later: marked handled now, so a failure meanwhile is not an unhandled rejection. */
function settleLater<T>(promise: Promise<T>): Promise<T> {
  promise.catch(() => {});
  return promise;
}
