import type { Insertable, SelectQueryBuilder, Updateable } from 'kysely';
import type { Db } from '../db/connect.js';
import type { Database, DocumentKind, DocumentRow, DocumentStatus, DocumentsTable, PageSource, PageStatus, PagesTable } from '../db/schema.js';
import type { PageSizePoints } from '../pdf/render-budget.js';
import { changeSiteContent, type StatusChange, type Trx } from './site-progress.js';

export interface FetchedDocument {
  id: string;
  subdomain: string;
  kind: DocumentKind;
  meeting: string;
  meetingSlug: string;
  date: string;
  sourceUrl: string;
  storageKey: string;
  contentSha256: string;
  byteSize: number;
  /** '' unless a second document of the same kind, meeting and date needs keeping apart. */
  part?: string;
  etag?: string | null;
  lastModified?: string | null;
  listedVersion?: string | null;
}

function documentColumns(doc: FetchedDocument) {
  return {
    subdomain: doc.subdomain,
    kind: doc.kind,
    meeting: doc.meeting,
    meeting_slug: doc.meetingSlug,
    meeting_date: doc.date,
    part: doc.part ?? '',
    source_url: doc.sourceUrl,
    storage_key: doc.storageKey,
    content_sha256: doc.contentSha256,
    byte_size: doc.byteSize,
    etag: doc.etag ?? null,
    last_modified: doc.lastModified ?? null,
    listed_version: doc.listedVersion ?? null,
    updated_at: new Date(),
  };
}

export type FetchOutcome = 'new' | 'changed' | 'unchanged';

/**
 * Records a downloaded document. A changed PDF drops its old pages, so they are read again; the
 * same bytes keep every page (failed ones are sent back by requeueUnfinishedDocuments).
 */
export async function recordFetchedDocument(db: Db, doc: FetchedDocument): Promise<FetchOutcome> {
  return changeSiteContent(db, doc.subdomain, async (trx, counters) => {
    const values = documentColumns(doc);
    const existing = await lockOrInsertDocument(trx, { id: doc.id, ...values, status: 'fetched' });
    if (!existing) {
      counters.document(null, 'fetched');
      return 'new';
    }
    if (existing.content_sha256 === doc.contentSha256 && existing.status !== 'failed') {
      await trx.updateTable('documents').set({ etag: values.etag, last_modified: values.last_modified, listed_version: values.listed_version, source_url: values.source_url }).where('id', '=', doc.id).execute();
      return 'unchanged';
    }
    counters.pageChanges(await deleteReplacedPages(trx, doc.id, doc.contentSha256));
    await trx
      .updateTable('documents')
      .set({ ...values, status: 'fetched', page_count: null, failure_reason: null, error: null })
      .where('id', '=', doc.id)
      .execute();
    counters.document(existing.status, 'fetched');
    return 'changed';
  });
}

/**
 * A known document the platform says is unchanged (same version stamp, or a 304): nothing is
 * downloaded and its pages stay as they are. (Failed pages and failed reads get another chance
 * through requeueUnfinishedDocuments, at the end of every fetch.)
 */
export async function recordUnchangedDocument(db: Db, documentId: string, listedVersion: string | null): Promise<void> {
  await db.updateTable('documents').set({ updated_at: new Date(), error: null, listed_version: listedVersion }).where('id', '=', documentId).execute();
}

/**
 * Sends back to be read every document of the site that clerk has a copy of but did not finish
 * reading: failed pages (an outage, a crash) and failed reads get another chance on every run,
 * whether or not the platform listed the document again. Returns how many were sent back.
 */
export async function requeueUnfinishedDocuments(db: Db, subdomain: string): Promise<number> {
  return changeSiteContent(db, subdomain, async (trx, counters) => {
    const changes = await sendBackUnfinishedDocuments(trx, subdomain, { failure_reason: null, updated_at: new Date() });
    counters.documentChanges(changes);
    return changes.length;
  });
}

/**
 * Sets back to `fetched` (to be read) the site's documents clerk has a copy of whose reading failed
 * or that have failed pages, with `values` besides; returns their status changes.
 */
export async function sendBackUnfinishedDocuments(trx: Trx, subdomain: string, values: Updateable<DocumentsTable>): Promise<StatusChange<DocumentStatus>[]> {
  const withFailedPages = trx.selectFrom('pages').select('document_id').where('subdomain', '=', subdomain).where('status', '=', 'failed');
  return updateDocuments(
    trx,
    (documents) =>
      documents
        .where('subdomain', '=', subdomain)
        .where('content_sha256', '!=', '')
        .where((eb) => eb.or([eb('status', '=', 'failed'), eb.and([eb('status', '=', 'done'), eb('id', 'in', withFailedPages)])])),
    { ...values, status: 'fetched' },
  );
}

/**
 * A document downloaded before whose re-download failed (a 500, a timeout): the copy clerk has
 * stays as it is, and the error is noted on the row for operators.
 */
export async function noteRefetchFailure(db: Db, documentId: string, error: string): Promise<void> {
  await db.updateTable('documents').set({ error: `re-fetch failed, the earlier copy is kept: ${error}`, updated_at: new Date() }).where('id', '=', documentId).execute();
}

export interface DocumentFailure {
  reason: string;
  error: string;
}

/** A listed document that could not be downloaded still gets a row, so the failure is visible. */
export async function recordUndownloadableDocument(
  db: Db,
  doc: Omit<FetchedDocument, 'contentSha256' | 'byteSize'>,
  failure: DocumentFailure,
): Promise<void> {
  await changeSiteContent(db, doc.subdomain, async (trx, counters) => {
    const values = {
      ...documentColumns({ ...doc, contentSha256: '', byteSize: 0 }),
      status: 'failed' as const,
      failure_reason: failure.reason,
      error: failure.error,
    };
    const existing = await lockOrInsertDocument(trx, { id: doc.id, ...values });
    if (existing) await trx.updateTable('documents').set(values).where('id', '=', doc.id).execute();
    counters.document(existing?.status ?? null, 'failed');
  });
}

/** Documents fetched but not yet read, in id order so a workflow can page through them. */
export async function listPendingDocumentIds(db: Db, subdomain: string, afterId: string | null, limit: number): Promise<string[]> {
  let query = db.selectFrom('documents').select('id').where('subdomain', '=', subdomain).where('status', '=', 'fetched');
  if (afterId !== null) query = query.where('id', '>', afterId);
  const rows = await query.orderBy('id').limit(limit).execute();
  return rows.map((r) => r.id);
}

export async function getDocument(db: Db, documentId: string): Promise<DocumentRow> {
  const row = await db.selectFrom('documents').selectAll().where('id', '=', documentId).executeTakeFirst();
  if (!row) throw new Error(`document ${documentId} does not exist`);
  return row;
}

export interface PageReading {
  page: number;
  /** Set when the page's text is known (from its text layer); unset pages go to OCR. */
  text?: { key: string; sha256: string; chars: number; source: PageSource };
  size?: PageSizePoints;
  /** Set when the page is one full-page scan: its resolution in pixels per inch. */
  scanPpi?: number;
}

/**
 * Registers every page of a document after its text layer was read. Pages already done for the
 * same content are left as they are. Returns the pages still needing OCR.
 */
export async function recordDocumentPages(db: Db, doc: DocumentRow, pageCount: number, readings: PageReading[]): Promise<number[]> {
  return changeSiteContent(db, doc.subdomain, async (trx, counters) => {
    // Only this function inserts pages, under the document's lock: no page row can appear unseen.
    await lockDocument(trx, doc.id);
    counters.pageChanges(await deleteReplacedPages(trx, doc.id, doc.content_sha256));
    const existing = new Map(
      (
        await trx.selectFrom('pages').select(['page_number', 'status']).where('document_id', '=', doc.id).orderBy('page_number').forUpdate().execute()
      ).map((r) => [r.page_number, r.status]),
    );
    const fresh = readings.filter((r) => existing.get(r.page) !== 'done').sort((a, b) => a.page - b.page);
    for (const r of fresh) counters.page(existing.get(r.page) ?? null, r.text ? 'done' : 'pending');
    for (const batch of chunks(fresh, 500)) {
      const rows = batch.map((r) => ({
        document_id: doc.id,
        page_number: r.page,
        subdomain: doc.subdomain,
        content_sha256: doc.content_sha256,
        status: r.text ? ('done' as const) : ('pending' as const),
        source: r.text?.source ?? null,
        text_key: r.text?.key ?? null,
        text_sha256: r.text?.sha256 ?? null,
        char_count: r.text?.chars ?? null,
        width_pt: r.size?.width ?? null,
        height_pt: r.size?.height ?? null,
        scan_ppi: r.scanPpi ?? null,
        failure_reason: null,
        error: null,
        updated_at: new Date(),
      }));
      await trx
        .insertInto('pages')
        .values(rows)
        .onConflict((oc) =>
          oc.columns(['document_id', 'page_number']).doUpdateSet((eb) => ({
            status: eb.ref('excluded.status'),
            source: eb.ref('excluded.source'),
            text_key: eb.ref('excluded.text_key'),
            text_sha256: eb.ref('excluded.text_sha256'),
            char_count: eb.ref('excluded.char_count'),
            width_pt: eb.ref('excluded.width_pt'),
            height_pt: eb.ref('excluded.height_pt'),
            scan_ppi: eb.ref('excluded.scan_ppi'),
            failure_reason: null,
            error: null,
            updated_at: new Date(),
          })),
        )
        .execute();
    }
    await trx.updateTable('documents').set({ page_count: pageCount, updated_at: new Date() }).where('id', '=', doc.id).execute();
    return fresh.filter((r) => !r.text).map((r) => r.page);
  });
}

export interface PageText {
  key: string;
  sha256: string;
  chars: number;
  /** The OCR engine that read the page; null for a blank page, which no engine read. */
  engine: string | null;
  /** How OCR read the page; unset fields are stored as null. */
  ocr?: PageOcrDetails;
}

export interface PageOcrDetails {
  /** The resolution of the image OCR read. */
  dpi?: number | null;
  /** Mean word confidence, 0-100. */
  confidence?: number | null;
  /** Clockwise degrees the page was turned to be read upright. */
  rotation?: number | null;
  /** No ink: recorded without running OCR. */
  blank?: boolean;
}

/**
 * Marks an OCR'd page done. Safe to repeat: a retried activity lands on the same row, which is
 * already done, so the counters do not move.
 */
export async function completeOcrPage(db: Db, subdomain: string, documentId: string, page: number, text: PageText): Promise<void> {
  await changeSiteContent(db, subdomain, async (trx, counters) => counters.pageChanges(await markOcrPageDone(trx, documentId, page, text)));
}

/** The page write of completeOcrPage, inside a transaction of the caller's (the counters benchmark times it both ways). */
export async function markOcrPageDone(trx: Trx, documentId: string, page: number, text: PageText): Promise<StatusChange<PageStatus>[]> {
  return updatePages(
    trx,
    (pages) => pages.where('document_id', '=', documentId).where('page_number', '=', page),
    {
      status: 'done',
      source: 'ocr',
      text_key: text.key,
      text_sha256: text.sha256,
      char_count: text.chars,
      ocr_engine: text.engine,
      ocr_dpi: text.ocr?.dpi ?? null,
      ocr_confidence: text.ocr?.confidence ?? null,
      ocr_rotation: text.ocr?.rotation ?? null,
      blank: text.ocr?.blank ?? false,
      failure_reason: null,
      error: null,
      updated_at: new Date(),
    },
  );
}

/** A page that could not be read is failed with its reason; a page already done stays done. */
export async function failPage(db: Db, subdomain: string, documentId: string, page: number, failure: DocumentFailure): Promise<void> {
  await changeSiteContent(db, subdomain, async (trx, counters) => {
    const changes = await updatePages(
      trx,
      (pages) => pages.where('document_id', '=', documentId).where('page_number', '=', page).where('status', '!=', 'done'),
      { status: 'failed', failure_reason: failure.reason, error: failure.error, updated_at: new Date() },
    );
    counters.pageChanges(changes);
  });
}

export async function failDocument(db: Db, subdomain: string, documentId: string, failure: DocumentFailure): Promise<void> {
  await changeSiteContent(db, subdomain, async (trx, counters) => {
    const failed = { status: 'failed' as const, failure_reason: failure.reason, error: failure.error, updated_at: new Date() };
    counters.documentChanges(await updateDocuments(trx, (documents) => documents.where('id', '=', documentId), failed));
    counters.pageChanges(await updatePages(trx, (pages) => pages.where('document_id', '=', documentId).where('status', '=', 'pending'), failed));
  });
}

export interface DocumentOutcome {
  documentId: string;
  status: 'done' | 'failed';
  pages: number;
  pagesDone: number;
  pagesFailed: number;
}

/**
 * Closes a document once all its pages are settled, and reports its page counts from the pages
 * table itself, so the workflow's totals are the database's.
 */
export async function finishDocument(db: Db, subdomain: string, documentId: string): Promise<DocumentOutcome> {
  return changeSiteContent(db, subdomain, async (trx, counters) => {
    const doc = await lockDocument(trx, documentId);
    if (!doc) throw new Error(`document ${documentId} does not exist`);
    const unsettled = await updatePages(
      trx,
      (pages) => pages.where('document_id', '=', documentId).where('status', '=', 'pending'),
      { status: 'failed', failure_reason: 'unsettled', error: 'the page was never read or OCR\'d', updated_at: new Date() },
    );
    counters.pageChanges(unsettled);
    const status = doc.status === 'failed' ? 'failed' : 'done';
    if (status === 'done') {
      await trx.updateTable('documents').set({ status: 'done', updated_at: new Date() }).where('id', '=', documentId).execute();
      counters.document(doc.status, 'done');
    }
    const counts = await trx
      .selectFrom('pages')
      .select(['status', (eb) => eb.fn.countAll<number>().as('count')])
      .where('document_id', '=', documentId)
      .groupBy('status')
      .execute();
    const count = (s: string) => Number(counts.find((c) => c.status === s)?.count ?? 0);
    return {
      documentId,
      status,
      pages: count('done') + count('failed') + count('pending'),
      pagesDone: count('done'),
      pagesFailed: count('failed'),
    };
  });
}

type PageSelection = SelectQueryBuilder<Database, 'pages', { document_id: string; page_number: number; status: PageStatus }>;
type DocumentSelection = SelectQueryBuilder<Database, 'documents', { id: string; status: DocumentStatus }>;

/**
 * Updates the pages `which` picks and returns each one's status before and after. The pages are
 * locked (in key order, so two writers of overlapping sets cannot deadlock) and read in the
 * statement that changes them: the status before is the one this change moved the page from,
 * even when another writer changed it a moment earlier.
 */
export async function updatePages(trx: Trx, which: (pages: PageSelection) => PageSelection, values: Updateable<PagesTable>): Promise<StatusChange<PageStatus>[]> {
  return trx
    .with('before', (db) => which(db.selectFrom('pages').select(['document_id', 'page_number', 'status'])).orderBy('document_id').orderBy('page_number').forUpdate())
    .updateTable('pages')
    .from('before')
    .set(values)
    .whereRef('pages.document_id', '=', 'before.document_id')
    .whereRef('pages.page_number', '=', 'before.page_number')
    .returning(['before.status as from', 'pages.status as to'])
    .execute();
}

/** The same for documents: updates the ones `which` picks and returns their statuses before and after. */
export async function updateDocuments(
  trx: Trx,
  which: (documents: DocumentSelection) => DocumentSelection,
  values: Updateable<DocumentsTable>,
): Promise<StatusChange<DocumentStatus>[]> {
  return trx
    .with('before', (db) => which(db.selectFrom('documents').select(['id', 'status'])).orderBy('id').forUpdate())
    .updateTable('documents')
    .from('before')
    .set(values)
    .whereRef('documents.id', '=', 'before.id')
    .returning(['before.status as from', 'documents.status as to'])
    .execute();
}

/** Deletes the document's pages of other content than `contentSha256` (a changed PDF's old pages), with their statuses. */
async function deleteReplacedPages(trx: Trx, documentId: string, contentSha256: string): Promise<StatusChange<PageStatus>[]> {
  const deleted = await trx.deleteFrom('pages').where('document_id', '=', documentId).where('content_sha256', '!=', contentSha256).returning('status').execute();
  return deleted.map((row) => ({ from: row.status, to: null }));
}

/** Locks a document's row (the first lock a change to the document takes) and reads its state. */
async function lockDocument(trx: Trx, documentId: string): Promise<{ status: DocumentStatus; content_sha256: string } | undefined> {
  return trx.selectFrom('documents').select(['status', 'content_sha256']).where('id', '=', documentId).forUpdate().executeTakeFirst();
}

/**
 * Inserts the document, or locks and reads the row already there (undefined when inserted). A
 * fetch racing this one for the same new document waits on the insert, then finds the row.
 */
async function lockOrInsertDocument(trx: Trx, row: Insertable<DocumentsTable>): Promise<{ status: DocumentStatus; content_sha256: string } | undefined> {
  for (;;) {
    const existing = await lockDocument(trx, row.id);
    if (existing) return existing;
    const inserted = await trx.insertInto('documents').values(row).onConflict((oc) => oc.column('id').doNothing()).returning('id').executeTakeFirst();
    if (inserted) return undefined;
  }
}

function chunks<T>(items: T[], size: number): T[][] {
  const result: T[][] = [];
  for (let i = 0; i < items.length; i += size) result.push(items.slice(i, i + size));
  return result;
}

export interface LowConfidencePages {
  /** Mean word confidence under which a page counts as low. */
  threshold: number;
  count: number;
  /** Up to `limit` of them, lowest confidence first: where a reader should look. */
  examples: { documentId: string; page: number; confidence: number }[];
}

/** OCR'd pages of a site whose mean word confidence is under `threshold` (blank pages are not counted). */
export async function lowConfidencePages(db: Db, subdomain: string, threshold = 60, limit = 5): Promise<LowConfidencePages> {
  const base = db.selectFrom('pages').where('subdomain', '=', subdomain).where('status', '=', 'done').where('ocr_confidence', '<', threshold);
  const { count } = await base.select((eb) => eb.fn.countAll<string>().as('count')).executeTakeFirstOrThrow();
  const rows = await base.select(['document_id', 'page_number', 'ocr_confidence']).orderBy('ocr_confidence').orderBy('document_id').orderBy('page_number').limit(limit).execute();
  return {
    threshold,
    count: Number(count),
    examples: rows.map((r) => ({ documentId: r.document_id, page: r.page_number, confidence: Math.round((r.ocr_confidence ?? 0) * 10) / 10 })),
  };
}
