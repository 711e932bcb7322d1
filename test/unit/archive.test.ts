import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import Database from 'better-sqlite3';
import { describe, expect, it } from 'vitest';
import { compileArchive, pageRowId, searchArchive, type ArchivePage } from '../../src/archive/compile.js';
import { publishArchive } from '../../src/deploy/publish.js';

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
    expect(columns).toEqual(['id', 'meeting', 'date', 'page', 'text', 'page_image', 'entities_json', 'votes_json']);
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
});

describe('publishArchive', () => {
  it('replaces the deployed meetings.db in one rename and reports its hash', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'deploy-'));
    const source = path.join(dir, 'built.db');
    fs.writeFileSync(source, 'first');
    const deployDir = path.join(dir, 'deploy');
    await publishArchive(source, deployDir, 'alameda.ca');
    fs.writeFileSync(source, 'second');
    const published = await publishArchive(source, deployDir, 'alameda.ca');
    expect(fs.readFileSync(published.path, 'utf8')).toBe('second');
    expect(published.sha256).toBe('16367aacb67a4a017c8da8ab95682ccb390863780f7114dda0a0e0c55644c7c4');
    expect(fs.readdirSync(path.join(deployDir, 'alameda.ca'))).toEqual(['meetings.db']);
  });
});
