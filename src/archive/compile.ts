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
}

export interface CompiledArchive {
  path: string;
  minutesRows: number;
  agendaRows: number;
}

const TABLES = { minutes: 'minutes', agenda: 'agendas' } as const;

/** The original clerk's row id: 12 hex characters of sha256 over kind/meeting/date/page/text. */
export function pageRowId(page: Pick<ArchivePage, 'kind' | 'meeting' | 'date' | 'page' | 'text'>): string {
  return createHash('sha256').update(`${page.kind}/${page.meeting}/${page.date}/${page.page}/${page.text}`).digest('hex').slice(0, 12);
}

/**
 * Compiles a site's meetings.db: `minutes` and `agendas` tables with the original's columns and
 * an FTS5 index on the text. Built beside the target and renamed into place, so a reader never
 * sees half a database.
 */
export async function compileArchive(outPath: string, pages: AsyncIterable<ArchivePage>): Promise<CompiledArchive> {
  fs.mkdirSync(path.dirname(outPath), { recursive: true });
  const buildPath = `${outPath}.${randomUUID()}.building`;
  const db = new Database(buildPath);
  const counts = { minutes: 0, agenda: 0 };
  try {
    db.pragma('journal_mode = OFF');
    db.pragma('synchronous = OFF');
    for (const table of Object.values(TABLES)) {
      db.exec(`
        CREATE TABLE ${table} (
          id TEXT PRIMARY KEY, meeting TEXT NOT NULL, date TEXT NOT NULL, page INTEGER NOT NULL,
          text TEXT NOT NULL, page_image TEXT, entities_json TEXT, votes_json TEXT
        );
        CREATE INDEX ${table}_meeting_date ON ${table} (meeting, date);
        CREATE VIRTUAL TABLE ${table}_fts USING fts5(text, content='${table}', content_rowid='rowid', tokenize='porter unicode61');
      `);
    }
    const insert = {
      minutes: db.prepare(insertSql(TABLES.minutes)),
      agenda: db.prepare(insertSql(TABLES.agenda)),
    };
    const insertBatch = db.transaction((batch: ArchivePage[]) => {
      for (const page of batch) {
        const result = insert[page.kind].run({
          id: pageRowId(page),
          meeting: page.meeting,
          date: page.date,
          page: page.page,
          text: page.text,
          page_image: page.pageImage ?? null,
          entities_json: page.entities === undefined ? null : JSON.stringify(page.entities),
          votes_json: page.votes === undefined ? null : JSON.stringify(page.votes),
        });
        counts[page.kind] += result.changes;
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
    for (const table of Object.values(TABLES)) {
      db.exec(`INSERT INTO ${table}_fts (rowid, text) SELECT rowid, text FROM ${table}`);
    }
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

function insertSql(table: string): string {
  // Identical pages (same id) are one row: the original dedupes the same way.
  return `INSERT OR IGNORE INTO ${table} (id, meeting, date, page, text, page_image, entities_json, votes_json)
          VALUES (@id, @meeting, @date, @page, @text, @page_image, @entities_json, @votes_json)`;
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
