import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import Database from 'better-sqlite3';
import { describe, expect, it } from 'vitest';
import { compileArchive, pageRowId, personMentions, searchArchive, type ArchivePage } from '../../src/archive/compile.js';

async function* pagesOf(pages: ArchivePage[]): AsyncGenerator<ArchivePage> {
  yield* pages;
}

const sample: ArchivePage[] = [
  { kind: 'minutes', meeting: 'CityCouncil', date: '2026-01-05', page: 1, text: 'The council approved the bicycle lanes on Park Street.', entities: { persons: ['Ortiz'] }, votes: [] },
  { kind: 'minutes', meeting: 'CityCouncil', date: '2026-01-05', page: 2, text: 'Public comment on the ferry terminal.' },
  { kind: 'agenda', meeting: 'PlanningBoard', date: '2026-01-12', page: 1, text: 'Item 4: ferry terminal parking study.' },
];

describe('compileArchive', () => {
  it('writes minutes and agendas tables with the original columns and full-text search', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'archive-'));
    const result = await compileArchive(path.join(dir, 'meetings.db'), pagesOf(sample));
    expect(result).toMatchObject({ minutesRows: 2, agendaRows: 1 });

    const db = new Database(result.path, { readonly: true });
    const columns = db.prepare("SELECT name FROM pragma_table_info('minutes')").all().map((r) => (r as { name: string }).name);
    // the original's eight columns first and in order, so its tools keep working; serve's after
    expect(columns.slice(0, 8)).toEqual(['id', 'meeting', 'date', 'page', 'text', 'page_image', 'entities_json', 'votes_json']);
    expect(columns.slice(8)).toEqual(['document_id', 'source_url', 'ocr_confidence']);
    const first = db.prepare('SELECT * FROM minutes WHERE page = 1').get() as Record<string, unknown>;
    expect(first.id).toBe(pageRowId(sample[0]!));
    expect(JSON.parse(first.entities_json as string)).toEqual({ persons: ['Ortiz'] });
    db.close();

    expect(searchArchive(result.path, 'ferry').map((h) => h.table).sort()).toEqual(['agendas', 'minutes']);
    expect(searchArchive(result.path, 'bicycles')).toMatchObject([{ table: 'minutes', page: 1 }]);
    expect(searchArchive(result.path, 'NEAR( "x" OR')).toEqual([]);
    expect(fs.readdirSync(dir)).toEqual(['meetings.db']);
  });

  it('ids a page by 12 hex characters of sha256 over kind, meeting, date, page and text', () => {
    expect(pageRowId(sample[0]!)).toMatch(/^[0-9a-f]{12}$/);
    expect(pageRowId(sample[0]!)).not.toBe(pageRowId({ ...sample[0]!, text: 'changed' }));
  });

  it('keeps each page\'s document, source, OCR confidence, and a documents table for meeting lists and feeds', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'archive-'));
    const scanned = { kind: 'minutes', meeting: 'CityCouncil', date: '2026-01-05', documentId: 'doc-1', sourceUrl: 'https://example.org/m.pdf', publishedAt: new Date('2026-01-07T09:00:00Z') } as const;
    const result = await compileArchive(
      path.join(dir, 'meetings.db'),
      pagesOf([
        { ...scanned, page: 1, text: 'Roll call.', ocrConfidence: null },
        { ...scanned, page: 2, text: 'A scanned page.', ocrConfidence: 41.5 },
        { kind: 'agenda', meeting: 'PlanningBoard', date: '2026-01-12', page: 1, text: 'Item 4.' },
      ]),
      { subdomain: 'alameda.ca', siteName: 'City of Alameda', variant: 'full' },
    );
    const db = new Database(result.path, { readonly: true });
    expect(db.prepare('SELECT page, document_id, source_url, ocr_confidence FROM minutes ORDER BY page').all()).toEqual([
      { page: 1, document_id: 'doc-1', source_url: 'https://example.org/m.pdf', ocr_confidence: null },
      { page: 2, document_id: 'doc-1', source_url: 'https://example.org/m.pdf', ocr_confidence: 41.5 },
    ]);
    const meta = Object.fromEntries(db.prepare('SELECT key, value FROM archive_meta').all().map((r) => [(r as { key: string }).key, (r as { value: string }).value]));
    expect(meta).toMatchObject({ subdomain: 'alameda.ca', site_name: 'City of Alameda', variant: 'full' });
    expect(Date.parse(meta.compiled_at!)).not.toBeNaN();
    expect(db.prepare('SELECT * FROM documents ORDER BY id').all()).toEqual([
      // a page without a document id belongs to the one document of its kind, meeting and date
      { id: 'agenda/PlanningBoard/2026-01-12', kind: 'agenda', meeting: 'PlanningBoard', date: '2026-01-12', source_url: null, page_count: 1, published_at: meta.compiled_at },
      { id: 'doc-1', kind: 'minutes', meeting: 'CityCouncil', date: '2026-01-05', source_url: 'https://example.org/m.pdf', page_count: 2, published_at: '2026-01-07T09:00:00.000Z' },
    ]);
    db.close();
  });

  it('indexes every person named on a page or taking part in a vote, once per page and part', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'archive-'));
    const vote = {
      motion: 'to approve the bicycle lanes',
      motion_by: 'Maria Ortiz',
      seconded_by: 'John Chen',
      result: 'passed',
      tally: { ayes: 2, nays: 1, abstain: 0, absent: 0 },
      individual_votes: [
        { name: 'Maria Ortiz', vote: 'aye' },
        { name: 'John Chen', vote: 'aye' },
        { name: 'Ana Vasquez', vote: 'nay' },
      ],
      page: 1,
    };
    const page: ArchivePage = { kind: 'minutes', meeting: 'CityCouncil', date: '2026-01-05', page: 1, text: 'Motion by Ortiz.', entities: { persons: ['Maria Ortiz', 'maria ortiz', 'Pat Lee'], orgs: [], locations: [] }, votes: [vote] };
    // the same page twice (one row, as the original dedupes) and a page of another meeting
    const other: ArchivePage = { ...page, date: '2026-02-02', text: 'Ortiz again.', entities: { persons: ['Maria Ortiz'], orgs: [], locations: [] }, votes: [] };
    const result = await compileArchive(path.join(dir, 'meetings.db'), pagesOf([page, page, other]));
    const db = new Database(result.path, { readonly: true });
    const parts = db.prepare("SELECT role, choice, vote_index, motion, result, date FROM person_mentions WHERE name = 'MARIA ORTIZ' ORDER BY date, role").all();
    expect(parts).toEqual([
      { role: 'mentioned', choice: null, vote_index: null, motion: null, result: null, date: '2026-01-05' },
      { role: 'moved', choice: null, vote_index: 0, motion: 'to approve the bicycle lanes', result: 'passed', date: '2026-01-05' },
      { role: 'voted', choice: 'aye', vote_index: 0, motion: 'to approve the bicycle lanes', result: 'passed', date: '2026-01-05' },
      { role: 'mentioned', choice: null, vote_index: null, motion: null, result: null, date: '2026-02-02' },
    ]);
    expect(db.prepare('SELECT name, pages, meetings, votes FROM persons ORDER BY name').all()).toEqual([
      { name: 'Ana Vasquez', pages: 1, meetings: 1, votes: 1 },
      { name: 'John Chen', pages: 1, meetings: 1, votes: 1 },
      { name: 'Maria Ortiz', pages: 2, meetings: 2, votes: 1 },
      { name: 'Pat Lee', pages: 1, meetings: 1, votes: 0 },
    ]);
    db.close();
  });

  it('reads stored entities and votes of any shape without failing', () => {
    expect(personMentions(null, null)).toEqual([]);
    expect(personMentions({ persons: 'Ortiz' }, { motion_by: 'Ortiz' })).toEqual([]);
    expect(personMentions({ persons: [7, ' Ortiz ', ''] }, [null, { motion_by: 3, individual_votes: [{ name: 'Chen' }, 'x'] }])).toEqual([
      { name: 'Ortiz', role: 'mentioned', choice: null, vote_index: null, motion: null, result: null },
      { name: 'Chen', role: 'voted', choice: null, vote_index: 1, motion: null, result: null },
    ]);
  });

  it('leaves the full-text index in step with the page tables it points into', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'archive-'));
    // duplicates are skipped by INSERT OR IGNORE: the index must still name the right rows after VACUUM
    const result = await compileArchive(path.join(dir, 'meetings.db'), pagesOf([...sample, sample[0]!, ...sample]));
    const db = new Database(result.path);
    // rank 1: compare the index with the content table's text too, not only with itself
    for (const table of ['minutes_fts', 'agendas_fts']) expect(() => db.prepare(`INSERT INTO ${table} (${table}, rank) VALUES ('integrity-check', 1)`).run()).not.toThrow();
    db.close();
  });
});
