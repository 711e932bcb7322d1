import { randomUUID } from 'node:crypto';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { Context } from '@temporalio/activity';
import type { ExpressionBuilder } from 'kysely';
import type { Database } from '../db/schema.js';
import { archiveKey, type ArchiveVariant } from '../archive/layout.js';
import { compileArchive, type ArchivePage } from '../archive/compile.js';
import type { PageExtraction } from '../extract/index.js';
import type { ExtractionThreads } from '../extract/threads.js';
import type { ActivityDeps } from './deps.js';
import { withHeartbeats } from './heartbeat.js';
import { tracked } from './tracking.js';

const PAGES_PER_QUERY = 200;

export function createExtractionActivities(deps: ActivityDeps & { extractionThreads: ExtractionThreads }) {
  const { db, store, extractionThreads } = deps;

  /**
   * Extracts entities and votes for every done page whose text changed since its last
   * extraction, on worker threads. Progress lives in the pages table, so a retried attempt
   * resumes where it stopped.
   */
  async function extractEntities(input: { subdomain: string }): Promise<{ pages: number }> {
    const context = Context.current();
    let processed = 0;
    let current = await pagesToExtract(input.subdomain, null);
    let extracting = settleLater(extract(current));
    // Double-buffered: the threads work on the next batch while this one's rows are written.
    while (current.length > 0) {
      const results = await extracting;
      const next = await pagesToExtract(input.subdomain, current.at(-1)!);
      extracting = settleLater(extract(next));
      await saveExtractions(current, results);
      processed += current.length;
      context.heartbeat({ processed });
      current = next;
    }
    return { pages: processed };
  }

  type PageToExtract = { document_id: string; page_number: number; text_key: string | null; text_sha256: string | null };

  async function pagesToExtract(subdomain: string, after: PageToExtract | null): Promise<PageToExtract[]> {
    let query = db
      .selectFrom('pages')
      .select(['document_id', 'page_number', 'text_key', 'text_sha256'])
      .where('subdomain', '=', subdomain)
      .where('status', '=', 'done')
      .where((eb) => eb.or([eb('extracted_text_sha256', 'is', null), eb('extracted_text_sha256', '!=', eb.ref('text_sha256'))]));
    if (after) query = query.where(afterPage(after.document_id, after.page_number));
    return query.orderBy('document_id').orderBy('page_number').limit(PAGES_PER_QUERY).execute();
  }

  async function extract(pages: PageToExtract[]): Promise<PageExtraction[]> {
    if (pages.length === 0) return [];
    const texts = await Promise.all(pages.map((page) => (page.text_key ? store.getText(page.text_key) : '')));
    return extractionThreads.extract(texts);
  }

  async function saveExtractions(pages: PageToExtract[], results: PageExtraction[]): Promise<void> {
    await db.transaction().execute(async (trx) => {
      for (const [i, page] of pages.entries()) {
        const { entities, votes } = results[i]!;
        await trx
          .updateTable('pages')
          .set({ entities: JSON.stringify(entities), votes: JSON.stringify(votes), extracted_text_sha256: page.text_sha256 ?? '' })
          .where('document_id', '=', page.document_id)
          .where('page_number', '=', page.page_number)
          .execute();
      }
    });
  }

  /** Compiles the site's meetings.db (with entities for `full`) and stores it. */
  async function compileSiteArchive(input: { subdomain: string; variant: ArchiveVariant }): Promise<{ key: string; minutesRows: number; agendaRows: number }> {
    const context = Context.current();
    const buildPath = path.join(os.tmpdir(), `clerk-archive-${randomUUID()}.db`);
    try {
      const compiled = await compileArchive(buildPath, archivePages(input.subdomain, input.variant === 'full', () => context.heartbeat()));
      const key = archiveKey(input.subdomain, input.variant);
      await store.put(key, await fs.readFile(buildPath));
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
        .select(['pages.document_id', 'pages.page_number', 'pages.text_key', 'pages.entities', 'pages.votes', 'documents.kind', 'documents.meeting', 'documents.meeting_date'])
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
