import type Database from 'better-sqlite3';
import type { DocumentKind } from '../db/schema.js';

/** OCR confidence (0-100, tesseract's mean word confidence) under which a page is flagged for a look. */
export const LOW_CONFIDENCE = 60;

/**
 * Private-use characters FTS5's snippet() puts around matches. They cannot be HTML, so the snippet
 * can be escaped first and the markers turned into <mark> after (views.ts).
 */
export const MATCH_OPEN = '\uE000';
export const MATCH_CLOSE = '\uE001';

export const KINDS: readonly DocumentKind[] = ['minutes', 'agenda'];

/**
 * Every table name SQL here uses, per kind: the archive's page table, its FTS5 index, and the
 * per-connection view over the page table (see createViews). Nothing else ever names a table.
 */
const TABLES = {
  minutes: { base: 'minutes', fts: 'minutes_fts', pages: 'minutes_pages' },
  agenda: { base: 'agendas', fts: 'agendas_fts', pages: 'agendas_pages' },
} as const satisfies Record<DocumentKind, { base: string; fts: string; pages: string }>;

export interface SearchFilters {
  /** An FTS5 query: words, "phrases", OR, NOT, prefix*. */
  q: string;
  /** A meeting body, exactly as the archive names it ("CityCouncil"). */
  body: string | null;
  /** Inclusive meeting-date bounds, YYYY-MM-DD. */
  from: string | null;
  to: string | null;
  kind: DocumentKind | null;
}

/** A match found by ranking: enough to fetch its snippet later, and to merge with other sites. */
export interface RankedMatch {
  kind: DocumentKind;
  rowid: number;
  /** bm25: lower is better. */
  rank: number;
}

export interface SearchMatch {
  kind: DocumentKind;
  id: string;
  meeting: string;
  date: string;
  page: number;
  documentId: string;
  /** Page text around the matches, each match between MATCH_OPEN and MATCH_CLOSE. */
  snippet: string;
  rank: number;
  publishedAt: string;
}

/** An FTS5 query SQLite could not parse; its message says why. */
export class QuerySyntaxError extends Error {
  override name = 'QuerySyntaxError';
}

export interface PageRecord {
  kind: DocumentKind;
  id: string;
  meeting: string;
  date: string;
  page: number;
  text: string;
  documentId: string;
  sourceUrl: string | null;
  ocrConfidence: number | null;
  entities: { persons: string[]; orgs: string[]; locations: string[] };
  votes: StoredVote[];
  /** Null when the archive was compiled without entities (the fast path's search-only archive). */
  extracted: boolean;
}

/** A vote as extraction stores it (src/extract/document.ts), with every field checked on the way out. */
export interface StoredVote {
  motion: string | null;
  motion_by: string | null;
  seconded_by: string | null;
  result: string;
  tally: { ayes: number; nays: number; abstain: number; absent: number } | null;
  individual_votes: { name: string; vote: string }[];
  page: number | null;
}

export interface PageLink {
  id: string;
  page: number;
}

export interface MeetingDocument {
  id: string;
  kind: DocumentKind;
  sourceUrl: string | null;
  pageCount: number;
  publishedAt: string;
  pages: { id: string; page: number; excerpt: string; ocrConfidence: number | null }[];
}

export interface SiteStats {
  pages: number;
  minutesPages: number;
  agendaPages: number;
  documents: number;
  meetings: number;
  firstMeeting: string | null;
  lastMeeting: string | null;
  persons: number;
  lowConfidencePages: number;
}

export interface PersonMentionRow {
  name: string;
  kind: DocumentKind;
  pageId: string;
  meeting: string;
  date: string;
  page: number;
  role: 'mentioned' | 'moved' | 'seconded' | 'voted';
  choice: string | null;
  voteIndex: number | null;
  motion: string | null;
  result: string | null;
}

/**
 * The read-only queries the server runs on one archive. Every value comes in as a parameter;
 * table names come only from TABLES. An archive is immutable once deployed, so statements and
 * the site's counts are prepared once per connection.
 */
export class SiteQueries {
  /** Compiled before serve existed: no documents, sources, OCR confidence or person index. */
  readonly legacy: boolean;
  private readonly statements = new Map<string, Database.Statement>();
  private cachedStats: SiteStats | undefined;
  private cachedMeta: Record<string, string> | undefined;

  constructor(private readonly db: Database.Database) {
    this.legacy = db.prepare("SELECT 1 FROM sqlite_schema WHERE type = 'table' AND name = 'archive_meta'").get() === undefined;
    createViews(db, this.legacy);
  }

  close(): void {
    this.db.close();
  }

  /** archive_meta: subdomain, site_name, variant, compiled_at. */
  meta(): Record<string, string> {
    this.cachedMeta ??= Object.fromEntries((this.all('SELECT key, value FROM archive_meta') as { key: string; value: string }[]).map((r) => [r.key, r.value]));
    return this.cachedMeta;
  }

  stats(): SiteStats {
    if (this.cachedStats) return this.cachedStats;
    const row = this.get(
      `SELECT (SELECT count(*) FROM main.minutes) AS minutesPages, (SELECT count(*) FROM main.agendas) AS agendaPages,
              (SELECT count(*) FROM documents) AS documents,
              (SELECT count(*) FROM (SELECT DISTINCT meeting, date FROM documents)) AS meetings,
              (SELECT min(date) FROM documents) AS firstMeeting, (SELECT max(date) FROM documents) AS lastMeeting,
              (SELECT count(*) FROM persons) AS persons,
              (SELECT count(*) FROM minutes_pages WHERE ocr_confidence < @threshold) + (SELECT count(*) FROM agendas_pages WHERE ocr_confidence < @threshold) AS lowConfidencePages`,
      { threshold: LOW_CONFIDENCE },
    ) as Omit<SiteStats, 'pages'>;
    this.cachedStats = { pages: row.minutesPages + row.agendaPages, ...row };
    return this.cachedStats;
  }

  /** The meeting bodies (City Council, Planning Board...), with how many meetings each has. */
  bodies(): { meeting: string; meetings: number; lastDate: string }[] {
    return this.all('SELECT meeting, count(DISTINCT date) AS meetings, max(date) AS lastDate FROM documents GROUP BY meeting ORDER BY meeting') as {
      meeting: string;
      meetings: number;
      lastDate: string;
    }[];
  }

  recentMeetings(limit: number): { meeting: string; date: string; kinds: DocumentKind[]; pages: number }[] {
    const rows = this.all(
      `SELECT meeting, date, group_concat(DISTINCT kind) AS kinds, sum(page_count) AS pages
       FROM documents GROUP BY meeting, date ORDER BY date DESC, meeting LIMIT @limit`,
      { limit },
    ) as { meeting: string; date: string; kinds: string; pages: number }[];
    return rows.map((r) => ({ ...r, kinds: r.kinds.split(',').sort() as DocumentKind[] }));
  }

  /** The documents clerk fetched most recently first: the site's Atom feed. */
  recentDocuments(limit: number): { id: string; kind: DocumentKind; meeting: string; date: string; pageCount: number; publishedAt: string; sourceUrl: string | null }[] {
    return this.all(
      `SELECT id, kind, meeting, date, page_count AS pageCount, published_at AS publishedAt, source_url AS sourceUrl
       FROM documents ORDER BY published_at DESC, date DESC, id LIMIT @limit`,
      { limit },
    ) as ReturnType<SiteQueries['recentDocuments']>;
  }

  /** The persons named on the most pages. */
  topPeople(limit: number): { name: string; pages: number; meetings: number; votes: number }[] {
    return this.all('SELECT name, pages, meetings, votes FROM persons ORDER BY pages DESC, name LIMIT @limit', { limit }) as ReturnType<SiteQueries['topPeople']>;
  }

  /**
   * The best `limit` matches after `offset` (bm25, best first), or the most recently published
   * first for a saved search's feed. Snippets are left for matchDetails, which makes them for the
   * shown page of results only.
   */
  rankMatches(filters: SearchFilters, options: { limit: number; offset: number; order: 'rank' | 'newest' }): RankedMatch[] {
    // Without filters or a date order, the index alone ranks: no page row is read for a match
    // that does not make the page (a common word matches most of a site).
    const indexOnly = options.order === 'rank' && !hasPageFilters(filters);
    // Documents are joined only to order by publication: joining them for every match of a common
    // word costs a read of each matching page row (measured: a body filter 51 ms instead of 24).
    const byNewest = options.order === 'newest';
    const arms = kindsOf(filters).map((kind) => {
      const { fts, pages } = TABLES[kind];
      if (indexOnly) return `SELECT '${kind}' AS kind, rowid, bm25(${fts}) AS rank, NULL AS publishedAt FROM ${fts} WHERE ${fts} MATCH @q`;
      return byNewest
        ? `SELECT '${kind}' AS kind, p.rid AS rowid, bm25(${fts}) AS rank, coalesce(d.published_at, p.date) AS publishedAt
           FROM ${fts} JOIN ${pages} p ON p.rid = ${fts}.rowid LEFT JOIN documents d ON d.id = p.document_id
           WHERE ${fts} MATCH @q ${FILTER_SQL}`
        : `SELECT '${kind}' AS kind, p.rid AS rowid, bm25(${fts}) AS rank, NULL AS publishedAt
           FROM ${fts} JOIN ${pages} p ON p.rid = ${fts}.rowid
           WHERE ${fts} MATCH @q ${FILTER_SQL}`;
    });
    const order = options.order === 'rank' ? 'rank, kind, rowid' : 'publishedAt DESC, rank, kind, rowid';
    const sql = `SELECT kind, rowid, rank FROM (${arms.join(' UNION ALL ')}) ORDER BY ${order} LIMIT @limit OFFSET @offset`;
    const params = indexOnly ? { q: filters.q } : filterParams(filters);
    return this.matching(() => this.all(sql, { ...params, limit: options.limit, offset: options.offset }) as RankedMatch[]);
  }

  /** How many pages match, for "N results" and paging. */
  countMatches(filters: SearchFilters): number {
    const filtered = hasPageFilters(filters);
    const counts = kindsOf(filters).map((kind) => {
      const { fts, pages } = TABLES[kind];
      return filtered
        ? `(SELECT count(*) FROM ${fts} JOIN ${pages} p ON p.rid = ${fts}.rowid WHERE ${fts} MATCH @q ${FILTER_SQL})`
        : `(SELECT count(*) FROM ${fts} WHERE ${fts} MATCH @q)`;
    });
    const params = filtered ? filterParams(filters) : { q: filters.q };
    return this.matching(() => (this.get(`SELECT ${counts.join(' + ')} AS n`, params) as { n: number }).n);
  }

  /** The pages behind ranked matches, with a snippet around the query's matches, in the given order. */
  matchDetails(q: string, matches: readonly RankedMatch[]): SearchMatch[] {
    return this.matching(() =>
      matches.map((match) => {
        const { fts, pages } = TABLES[match.kind];
        // better-sqlite3 binds a JS number as REAL, and FTS5 ignores a rowid constraint that is not an
        // INTEGER (it returns every match): hence the CAST.
        const row = this.get(
          `SELECT p.id, p.meeting, p.date, p.page, p.document_id AS documentId, coalesce(d.published_at, p.date) AS publishedAt,
                  snippet(${fts}, 0, @open, @close, '…', 24) AS snippet
           FROM ${fts} JOIN ${pages} p ON p.rid = ${fts}.rowid LEFT JOIN documents d ON d.id = p.document_id
           WHERE ${fts} MATCH @q AND ${fts}.rowid = CAST(@rowid AS INTEGER)`,
          { q, open: MATCH_OPEN, close: MATCH_CLOSE, rowid: match.rowid },
        ) as Omit<SearchMatch, 'kind' | 'rank'>;
        return { kind: match.kind, ...row, rank: match.rank };
      }),
    );
  }

  page(id: string): PageRecord | undefined {
    for (const kind of KINDS) {
      const row = this.get(
        `SELECT id, meeting, date, page, text, entities_json, votes_json, document_id, source_url, ocr_confidence FROM ${TABLES[kind].pages} WHERE id = @id`,
        { id },
      ) as
        | { id: string; meeting: string; date: string; page: number; text: string; entities_json: string | null; votes_json: string | null; document_id: string; source_url: string | null; ocr_confidence: number | null }
        | undefined;
      if (!row) continue;
      return {
        kind,
        id: row.id,
        meeting: row.meeting,
        date: row.date,
        page: row.page,
        text: row.text,
        documentId: row.document_id,
        sourceUrl: row.source_url,
        ocrConfidence: row.ocr_confidence,
        entities: readEntities(row.entities_json),
        votes: readVotes(row.votes_json),
        extracted: row.entities_json !== null,
      };
    }
    return undefined;
  }

  /** The pages before and after one page in its document. */
  neighbours(page: Pick<PageRecord, 'kind' | 'documentId' | 'page'>): { prev: PageLink | null; next: PageLink | null } {
    const { pages } = TABLES[page.kind];
    const params = { document: page.documentId, page: page.page };
    const prev = this.get(`SELECT id, page FROM ${pages} WHERE document_id = @document AND page < @page ORDER BY page DESC LIMIT 1`, params) as PageLink | undefined;
    const next = this.get(`SELECT id, page FROM ${pages} WHERE document_id = @document AND page > @page ORDER BY page LIMIT 1`, params) as PageLink | undefined;
    return { prev: prev ?? null, next: next ?? null };
  }

  /** A meeting's documents (agenda first, then minutes) and each one's pages in order; empty when there is no such meeting. */
  meeting(meeting: string, date: string): MeetingDocument[] {
    const documents = this.all(
      `SELECT id, kind, source_url AS sourceUrl, page_count AS pageCount, published_at AS publishedAt FROM documents
       WHERE meeting = @meeting AND date = @date ORDER BY CASE kind WHEN 'agenda' THEN 0 ELSE 1 END, id`,
      { meeting, date },
    ) as Omit<MeetingDocument, 'pages'>[];
    return documents.map((document) => ({
      ...document,
      pages: this.all(
        `SELECT id, page, substr(text, 1, 400) AS excerpt, ocr_confidence AS ocrConfidence FROM ${TABLES[document.kind].pages}
         WHERE document_id = @document ORDER BY page`,
        { document: document.id },
      ) as MeetingDocument['pages'],
    }));
  }

  /** A person's entry in the person index (any letter case), or undefined when no page names them. */
  person(name: string): { name: string; pages: number; meetings: number; votes: number } | undefined {
    return this.get('SELECT name, pages, meetings, votes FROM persons WHERE name = @name', { name }) as ReturnType<SiteQueries['person']>;
  }

  /**
   * Every page naming the person and every part they played in a vote, in `limit` of their
   * meetings after `offset`, newest meeting first: a long-serving member is on thousands of pages.
   */
  personMentions(name: string, options: { limit: number; offset: number }): PersonMentionRow[] {
    return this.all(
      `WITH shown AS (
         SELECT DISTINCT date, meeting FROM person_mentions WHERE name = @name ORDER BY date DESC, meeting LIMIT @limit OFFSET @offset
       )
       SELECT m.name, m.kind, m.page_id AS pageId, m.meeting, m.date, m.page, m.role, m.choice, m.vote_index AS voteIndex, m.motion, m.result
       FROM person_mentions m JOIN shown USING (date, meeting)
       WHERE m.name = @name ORDER BY m.date DESC, m.meeting, m.kind, m.page, m.vote_index, m.role`,
      { name, ...options },
    ) as PersonMentionRow[];
  }

  lowConfidencePages(options: { limit: number; offset: number }): {
    total: number;
    pages: { kind: DocumentKind; id: string; meeting: string; date: string; page: number; ocrConfidence: number }[];
  } {
    const arm = (kind: DocumentKind) =>
      `SELECT '${kind}' AS kind, id, meeting, date, page, ocr_confidence AS ocrConfidence FROM ${TABLES[kind].pages} WHERE ocr_confidence < @threshold`;
    const pages = this.all(`SELECT * FROM (${KINDS.map(arm).join(' UNION ALL ')}) ORDER BY ocrConfidence, date DESC, meeting, page LIMIT @limit OFFSET @offset`, {
      threshold: LOW_CONFIDENCE,
      ...options,
    }) as ReturnType<SiteQueries['lowConfidencePages']>['pages'];
    return { total: this.stats().lowConfidencePages, pages };
  }

  private statement(sql: string): Database.Statement {
    let statement = this.statements.get(sql);
    if (!statement) {
      statement = this.db.prepare(sql);
      this.statements.set(sql, statement);
    }
    return statement;
  }

  private all(sql: string, params: Record<string, unknown> = {}): unknown[] {
    return this.statement(sql).all(params);
  }

  private get(sql: string, params: Record<string, unknown> = {}): unknown {
    return this.statement(sql).get(params);
  }

  /**
   * Runs a statement whose MATCH takes the user's query. SQLite parses an FTS5 query only when
   * the statement runs, so its complaints (syntax, an unknown column filter, an open quote) come
   * out here, and become a QuerySyntaxError the server answers with 400.
   */
  private matching<T>(run: () => T): T {
    try {
      return run();
    } catch (error) {
      const message = error instanceof Error ? error.message : String(error);
      if (isFtsQueryError(message)) throw new QuerySyntaxError(explainFtsError(message));
      throw error;
    }
  }
}

const FILTER_SQL = 'AND (@body IS NULL OR p.meeting = @body) AND (@from IS NULL OR p.date >= @from) AND (@to IS NULL OR p.date <= @to)';

function hasPageFilters(filters: SearchFilters): boolean {
  return filters.body !== null || filters.from !== null || filters.to !== null;
}

function filterParams(filters: SearchFilters): Record<string, unknown> {
  return { q: filters.q, body: filters.body, from: filters.from, to: filters.to };
}

function kindsOf(filters: SearchFilters): readonly DocumentKind[] {
  return filters.kind ? [filters.kind] : KINDS;
}

function isFtsQueryError(message: string): boolean {
  return /^fts5:|^no such column:|^unterminated string|^unknown special query|^fts5 expression tree is too large/.test(message);
}

function explainFtsError(message: string): string {
  const column = /^no such column: (.*)$/.exec(message);
  if (column) {
    return `"${column[1]}" is read as a column name: a hyphen or a colon in a word has a meaning in the query language, so put such words in double quotes ("park-street")`;
  }
  if (/^unterminated string/.test(message)) return 'a double quote is not closed';
  if (/^unknown special query/.test(message)) return 'it has no words to search for';
  const near = /^fts5: syntax error near "(.*)"$/.exec(message);
  if (near) return near[1] === '' ? 'it ends too early (an operator with nothing after it?)' : `unexpected "${near[1]}": check the quotes, brackets and operators (AND, OR, NOT, NEAR)`;
  return message.replace(/^fts5: /, '');
}

/**
 * A view per page table, so every query reads one shape whatever compiled the archive. An archive
 * compiled before serve existed has only the original eight columns: its views fill in what it
 * can (a page's document is its kind, meeting and date) and leave the rest empty. TEMP objects
 * live in this connection only: the archive file is never written.
 */
function createViews(db: Database.Database, legacy: boolean): void {
  for (const kind of KINDS) {
    const { base, pages } = TABLES[kind];
    const extra = legacy ? `'${kind}/' || meeting || '/' || date AS document_id, NULL AS source_url, NULL AS ocr_confidence` : 'document_id, source_url, ocr_confidence';
    db.exec(`CREATE TEMP VIEW ${pages} AS SELECT rowid AS rid, id, meeting, date, page, text, entities_json, votes_json, ${extra} FROM main.${base}`);
  }
  if (!legacy) return;
  db.exec(`
    CREATE TEMP VIEW documents AS
      SELECT document_id AS id, 'minutes' AS kind, meeting, date, NULL AS source_url, count(*) AS page_count, date || 'T00:00:00.000Z' AS published_at
      FROM minutes_pages GROUP BY meeting, date
      UNION ALL
      SELECT document_id AS id, 'agenda' AS kind, meeting, date, NULL AS source_url, count(*) AS page_count, date || 'T00:00:00.000Z' AS published_at
      FROM agendas_pages GROUP BY meeting, date;
    CREATE TEMP VIEW archive_meta AS SELECT NULL AS key, NULL AS value WHERE 0;
    CREATE TEMP VIEW persons AS SELECT NULL AS name, 0 AS pages, 0 AS meetings, 0 AS votes WHERE 0;
    CREATE TEMP VIEW person_mentions AS
      SELECT NULL AS name, NULL AS kind, NULL AS page_id, NULL AS meeting, NULL AS date, NULL AS page, NULL AS role,
             NULL AS choice, NULL AS vote_index, NULL AS motion, NULL AS result WHERE 0;
  `);
}

function readEntities(json: string | null): PageRecord['entities'] {
  const value = parseJson(json);
  const strings = (v: unknown) => (Array.isArray(v) ? v.filter((s): s is string => typeof s === 'string') : []);
  const record = typeof value === 'object' && value !== null ? (value as Record<string, unknown>) : {};
  return { persons: strings(record.persons), orgs: strings(record.orgs), locations: strings(record.locations) };
}

function readVotes(json: string | null): StoredVote[] {
  const value = parseJson(json);
  if (!Array.isArray(value)) return [];
  const text = (v: unknown) => (typeof v === 'string' ? v : null);
  const count = (v: unknown) => (typeof v === 'number' && Number.isFinite(v) ? v : 0);
  return value
    .filter((v): v is Record<string, unknown> => typeof v === 'object' && v !== null)
    .map((v) => {
      const tally = typeof v.tally === 'object' && v.tally !== null ? (v.tally as Record<string, unknown>) : null;
      return {
        motion: text(v.motion),
        motion_by: text(v.motion_by),
        seconded_by: text(v.seconded_by),
        result: text(v.result) ?? 'unknown',
        tally: tally && { ayes: count(tally.ayes), nays: count(tally.nays), abstain: count(tally.abstain), absent: count(tally.absent) },
        individual_votes: (Array.isArray(v.individual_votes) ? v.individual_votes : [])
          .filter((m): m is Record<string, unknown> => typeof m === 'object' && m !== null && typeof m.name === 'string')
          .map((m) => ({ name: m.name as string, vote: text(m.vote) ?? 'unknown' })),
        page: typeof v.page === 'number' ? v.page : null,
      };
    });
}

function parseJson(json: string | null): unknown {
  if (json === null) return null;
  try {
    return JSON.parse(json);
  } catch {
    return null;
  }
}
