import { createHash, randomUUID } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import Database from 'better-sqlite3';
import type { DocumentKind } from '../db/schema.js';

export interface ArchivePage {
  kind: DocumentKind;
  meeting: string;
  date: string;
  page: number;
  text: string;
  pageImage?: string | null;
  entities?: unknown;
  votes?: unknown;
  /** The document the page belongs to; pages without one are grouped by kind, meeting and date. */
  documentId?: string | null;
  /** Where the PDF was downloaded from, for a link to the page in the source. */
  sourceUrl?: string | null;
  /** OCR's mean word confidence, 0-100; null or absent for a page read from its text layer. */
  ocrConfidence?: number | null;
  /** When clerk first fetched the document (ISO 8601): the Atom feed's "published". */
  publishedAt?: string | Date | null;
}

/** What the archive says about itself, for the server's site list. */
export interface ArchiveSiteMeta {
  subdomain?: string;
  siteName?: string;
  variant?: string;
}

export interface CompiledArchive {
  path: string;
  minutesRows: number;
  agendaRows: number;
}

/** The page tables, by document kind. Table names in SQL come only from here. */
export const PAGE_TABLES = { minutes: 'minutes', agenda: 'agendas' } as const;
export type PageTable = (typeof PAGE_TABLES)[DocumentKind];

/** The original clerk's row id: 12 hex characters of sha256 over kind/meeting/date/page/text. */
export function pageRowId(page: Pick<ArchivePage, 'kind' | 'meeting' | 'date' | 'page' | 'text'>): string {
  return createHash('sha256').update(`${page.kind}/${page.meeting}/${page.date}/${page.page}/${page.text}`).digest('hex').slice(0, 12);
}

/** A page without a document id belongs to the one document of its kind, meeting and date. */
export function impliedDocumentId(page: Pick<ArchivePage, 'kind' | 'meeting' | 'date'>): string {
  return `${page.kind}/${page.meeting}/${page.date}`;
}

/** The roles a person index row records: named on the page, or a part in one of its votes. */
export type PersonRole = 'mentioned' | 'moved' | 'seconded' | 'voted';

/**
 * Compiles a site's meetings.db: `minutes` and `agendas` tables with the original's eight columns
 * first (so the original's tools and queries keep working), then the document, source URL and OCR
 * confidence; an FTS5 index on the text; a `documents` table (for meeting lists and feeds), an
 * `archive_meta` table, and a person index (`person_mentions`, `persons`) read from the entities
 * and votes once here, so a person's page never scans JSON at query time. Built beside the target
 * and renamed into place, so a reader never sees half a database.
 */
export async function compileArchive(outPath: string, pages: AsyncIterable<ArchivePage>, site: ArchiveSiteMeta = {}): Promise<CompiledArchive> {
  fs.mkdirSync(path.dirname(outPath), { recursive: true });
  const buildPath = `${outPath}.${randomUUID()}.building`;
  const db = new Database(buildPath);
  const counts = { minutes: 0, agenda: 0 };
  try {
    db.pragma('journal_mode = OFF');
    db.pragma('synchronous = OFF');
    createSchema(db);
    const insertPage = {
      minutes: db.prepare(insertPageSql(PAGE_TABLES.minutes)),
      agenda: db.prepare(insertPageSql(PAGE_TABLES.agenda)),
    };
    const insertMention = db.prepare(
      `INSERT INTO person_mentions (name, kind, page_id, meeting, date, page, role, choice, vote_index, motion, result)
       VALUES (@name, @kind, @page_id, @meeting, @date, @page, @role, @choice, @vote_index, @motion, @result)`,
    );
    // Documents are few next to pages (a few per meeting): kept in memory until the end.
    const documents = new Map<string, { kind: DocumentKind; meeting: string; date: string; sourceUrl: string | null; publishedAt: string | null; pages: number }>();
    const insertBatch = db.transaction((batch: ArchivePage[]) => {
      for (const page of batch) {
        const id = pageRowId(page);
        const documentId = page.documentId ?? impliedDocumentId(page);
        const result = insertPage[page.kind].run({
          id,
          meeting: page.meeting,
          date: page.date,
          page: page.page,
          text: page.text,
          page_image: page.pageImage ?? null,
          entities_json: page.entities === undefined ? null : JSON.stringify(page.entities),
          votes_json: page.votes === undefined ? null : JSON.stringify(page.votes),
          document_id: documentId,
          source_url: page.sourceUrl ?? null,
          ocr_confidence: page.ocrConfidence ?? null,
        });
        counts[page.kind] += result.changes;
        // An identical page (same id) was already indexed, with the same names.
        if (result.changes === 0) continue;
        const document = documents.get(documentId) ?? { kind: page.kind, meeting: page.meeting, date: page.date, sourceUrl: null, publishedAt: null, pages: 0 };
        document.pages += 1;
        document.sourceUrl ??= page.sourceUrl ?? null;
        document.publishedAt ??= page.publishedAt ? new Date(page.publishedAt).toISOString() : null;
        documents.set(documentId, document);
        for (const mention of personMentions(page.entities, page.votes)) {
          insertMention.run({ ...mention, kind: page.kind, page_id: id, meeting: page.meeting, date: page.date, page: page.page });
        }
      }
    });
    let batch: ArchivePage[] = [];
    for await (const page of pages) {
      batch.push(page);
      if (batch.length >= 500) {
        insertBatch(batch);
        batch = [];
      }
    }
    insertBatch(batch);

    const compiledAt = new Date().toISOString();
    const insertDocument = db.prepare(
      `INSERT INTO documents (id, kind, meeting, date, source_url, page_count, published_at)
       VALUES (@id, @kind, @meeting, @date, @source_url, @page_count, @published_at)`,
    );
    db.transaction(() => {
      for (const [id, d] of documents) {
        // A document clerk did not date (an old archive's pages) counts as published now.
        insertDocument.run({ id, kind: d.kind, meeting: d.meeting, date: d.date, source_url: d.sourceUrl, page_count: d.pages, published_at: d.publishedAt ?? compiledAt });
      }
      const insertMeta = db.prepare('INSERT INTO archive_meta (key, value) VALUES (?, ?)');
      const meta: Record<string, string | undefined> = { subdomain: site.subdomain, site_name: site.siteName, variant: site.variant, compiled_at: compiledAt };
      for (const [key, value] of Object.entries(meta)) if (value !== undefined) insertMeta.run(key, value);
    })();
    db.exec(`
      INSERT INTO persons (name, pages, meetings, votes)
      SELECT name, count(DISTINCT kind || page_id), count(DISTINCT meeting || '/' || date), count(DISTINCT CASE WHEN role != 'mentioned' THEN kind || page_id || '/' || vote_index END)
      FROM person_mentions GROUP BY name COLLATE NOCASE;
    `);
    for (const table of Object.values(PAGE_TABLES)) {
      db.exec(`INSERT INTO ${table}_fts (rowid, text) SELECT rowid, text FROM ${table}`);
    }
    db.exec('ANALYZE');
    db.exec('VACUUM');
  } catch (error) {
    db.close();
    fs.rmSync(buildPath, { force: true });
    throw error;
  }
  db.close();
  fs.renameSync(buildPath, outPath);
  return { path: outPath, minutesRows: counts.minutes, agendaRows: counts.agenda };
}

function createSchema(db: Database.Database): void {
  for (const table of Object.values(PAGE_TABLES)) {
    db.exec(`
      CREATE TABLE ${table} (
        id TEXT PRIMARY KEY, meeting TEXT NOT NULL, date TEXT NOT NULL, page INTEGER NOT NULL,
        text TEXT NOT NULL, page_image TEXT, entities_json TEXT, votes_json TEXT,
        document_id TEXT NOT NULL, source_url TEXT, ocr_confidence REAL
      );
      CREATE INDEX ${table}_meeting_date ON ${table} (meeting, date);
      CREATE INDEX ${table}_document_page ON ${table} (document_id, page);
      CREATE INDEX ${table}_ocr_confidence ON ${table} (ocr_confidence) WHERE ocr_confidence IS NOT NULL;
      CREATE VIRTUAL TABLE ${table}_fts USING fts5(text, content='${table}', content_rowid='rowid', tokenize='porter unicode61');
    `);
  }
  db.exec(`
    CREATE TABLE documents (
      id TEXT PRIMARY KEY, kind TEXT NOT NULL, meeting TEXT NOT NULL, date TEXT NOT NULL,
      source_url TEXT, page_count INTEGER NOT NULL, published_at TEXT NOT NULL
    );
    CREATE INDEX documents_meeting_date ON documents (meeting, date);
    CREATE INDEX documents_published_at ON documents (published_at);
    CREATE TABLE archive_meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
    -- One row per person per page they are named on, and per part they play in a vote there.
    CREATE TABLE person_mentions (
      name TEXT NOT NULL COLLATE NOCASE, kind TEXT NOT NULL, page_id TEXT NOT NULL,
      meeting TEXT NOT NULL, date TEXT NOT NULL, page INTEGER NOT NULL,
      role TEXT NOT NULL, choice TEXT, vote_index INTEGER, motion TEXT, result TEXT
    );
    CREATE INDEX person_mentions_name ON person_mentions (name, date);
    CREATE TABLE persons (name TEXT PRIMARY KEY COLLATE NOCASE, pages INTEGER NOT NULL, meetings INTEGER NOT NULL, votes INTEGER NOT NULL);
  `);
}

function insertPageSql(table: PageTable): string {
  // Identical pages (same id) are one row: the original dedupes the same way.
  return `INSERT OR IGNORE INTO ${table} (id, meeting, date, page, text, page_image, entities_json, votes_json, document_id, source_url, ocr_confidence)
          VALUES (@id, @meeting, @date, @page, @text, @page_image, @entities_json, @votes_json, @document_id, @source_url, @ocr_confidence)`;
}

interface PersonMention {
  name: string;
  role: PersonRole;
  choice: string | null;
  vote_index: number | null;
  motion: string | null;
  result: string | null;
}

/**
 * The person index rows of one page: each person its entities name, and each mover, seconder and
 * member voting in its votes. Entities and votes come from stored JSON of any age, so every field
 * is checked rather than trusted.
 */
export function personMentions(entities: unknown, votes: unknown): PersonMention[] {
  const rows: PersonMention[] = [];
  const seen = new Set<string>();
  const add = (row: PersonMention) => {
    const name = row.name.trim();
    const key = `${name.toLowerCase()}|${row.role}|${row.vote_index}`;
    if (name === '' || seen.has(key)) return;
    seen.add(key);
    rows.push({ ...row, name });
  };
  const persons = isRecord(entities) && Array.isArray(entities.persons) ? entities.persons : [];
  for (const person of persons) {
    if (typeof person === 'string') add({ name: person, role: 'mentioned', choice: null, vote_index: null, motion: null, result: null });
  }
  for (const [index, vote] of (Array.isArray(votes) ? votes : []).entries()) {
    if (!isRecord(vote)) continue;
    const about = { vote_index: index, motion: stringOrNull(vote.motion), result: stringOrNull(vote.result) };
    const mover = stringOrNull(vote.motion_by);
    const seconder = stringOrNull(vote.seconded_by);
    if (mover) add({ name: mover, role: 'moved', choice: null, ...about });
    if (seconder) add({ name: seconder, role: 'seconded', choice: null, ...about });
    for (const member of Array.isArray(vote.individual_votes) ? vote.individual_votes : []) {
      if (isRecord(member) && typeof member.name === 'string') add({ name: member.name, role: 'voted', choice: stringOrNull(member.vote), ...about });
    }
  }
  return rows;
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function stringOrNull(value: unknown): string | null {
  return typeof value === 'string' ? value : null;
}

export interface SearchHit {
  table: 'minutes' | 'agendas';
  meeting: string;
  date: string;
  page: number;
  snippet: string;
}

/** Full-text search over a compiled archive, best matches first. */
export function searchArchive(dbPath: string, query: string, limit = 20): SearchHit[] {
  const db = new Database(dbPath, { readonly: true, fileMustExist: true });
  try {
    const hits: (SearchHit & { rank: number })[] = [];
    for (const table of ['minutes', 'agendas'] as const) {
      const rows = db
        .prepare(
          `SELECT t.meeting, t.date, t.page, snippet(${table}_fts, 0, '[', ']', '…', 12) AS snippet, bm25(${table}_fts) AS rank
           FROM ${table}_fts JOIN ${table} t ON t.rowid = ${table}_fts.rowid
           WHERE ${table}_fts MATCH ? ORDER BY rank LIMIT ?`,
        )
        .all(toFtsQuery(query), limit) as { meeting: string; date: string; page: number; snippet: string; rank: number }[];
      hits.push(...rows.map((row) => ({ table, ...row })));
    }
    return hits
      .sort((a, b) => a.rank - b.rank)
      .slice(0, limit)
      .map(({ rank: _rank, ...hit }) => hit);
  } finally {
    db.close();
  }
}

/** User words become quoted FTS5 terms, so punctuation in a query cannot become FTS syntax. */
function toFtsQuery(query: string): string {
  const terms = query.split(/\s+/).filter(Boolean).map((term) => `"${term.replace(/"/g, '""')}"`);
  return terms.length > 0 ? terms.join(' ') : '""';
}

export function countArchiveRows(dbPath: string): { minutesRows: number; agendaRows: number } {
  const db = new Database(dbPath, { readonly: true, fileMustExist: true });
  try {
    const count = (table: string) => (db.prepare(`SELECT count(*) AS n FROM ${table}`).get() as { n: number }).n;
    return { minutesRows: count('minutes'), agendaRows: count('agendas') };
  } finally {
    db.close();
  }
}
