import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { completeOcrPage, getDocument, lowConfidencePages, recordDocumentPages, recordFetchedDocument } from '../../src/progress/documents.js';
import { saveSite } from '../../src/sites/repository.js';
import { createHarness, type Harness } from '../support/harness.js';

const SITE = 'ocr-progress.example';
let harness: Harness;

beforeAll(async () => {
  harness = await createHarness('ocrprogress');
  await saveSite(harness.db, { subdomain: SITE, name: 'OCR progress', fetcher: 'http-index', sourceUrl: 'http://127.0.0.1:9/index.html' });
  await recordFetchedDocument(harness.db, {
    id: 'doc-1',
    subdomain: SITE,
    kind: 'minutes',
    meeting: 'City Council',
    meetingSlug: 'CityCouncil',
    date: '2025-01-06',
    sourceUrl: 'http://127.0.0.1:9/minutes/CityCouncil/2025-01-06.pdf',
    storageKey: 'ocr-progress/doc-1.pdf',
    contentSha256: 'a'.repeat(64),
    byteSize: 1000,
  });
});

afterAll(async () => {
  await harness?.close();
});

describe('OCR details on pages', () => {
  it("keep each scan's resolution from the text-layer pass, and how OCR read each page", async () => {
    const doc = await getDocument(harness.db, 'doc-1');
    const letter = { width: 612, height: 792 };
    const pending = await recordDocumentPages(harness.db, doc, 3, [
      { page: 1, size: letter, scanPpi: 300 },
      { page: 2, size: letter, scanPpi: 240 },
      { page: 3, size: letter },
    ]);
    expect(pending).toEqual([1, 2, 3]);

    const text = (page: number) => ({ key: `t/${page}`, sha256: String(page).repeat(64).slice(0, 64), chars: 10 });
    await completeOcrPage(harness.db, SITE, 'doc-1', 1, { ...text(1), engine: 'tesseract', ocr: { dpi: 300, confidence: 91.5, rotation: 0 } });
    await completeOcrPage(harness.db, SITE, 'doc-1', 2, { ...text(2), engine: 'tesseract', ocr: { dpi: 240, confidence: 41.2, rotation: 180 } });
    await completeOcrPage(harness.db, SITE, 'doc-1', 3, { ...text(3), chars: 0, engine: null, ocr: { dpi: 300, blank: true } });

    const rows = await harness.db
      .selectFrom('pages')
      .select(['page_number', 'status', 'scan_ppi', 'ocr_dpi', 'ocr_confidence', 'ocr_rotation', 'blank', 'ocr_engine'])
      .where('document_id', '=', 'doc-1')
      .orderBy('page_number')
      .execute();
    expect(rows).toEqual([
      { page_number: 1, status: 'done', scan_ppi: 300, ocr_dpi: 300, ocr_confidence: 91.5, ocr_rotation: 0, blank: false, ocr_engine: 'tesseract' },
      { page_number: 2, status: 'done', scan_ppi: 240, ocr_dpi: 240, ocr_confidence: expect.closeTo(41.2, 3), ocr_rotation: 180, blank: false, ocr_engine: 'tesseract' },
      { page_number: 3, status: 'done', scan_ppi: null, ocr_dpi: 300, ocr_confidence: null, ocr_rotation: null, blank: true, ocr_engine: null },
    ]);
  });

  it('list the low-confidence pages of a site, lowest first, leaving blank pages out', async () => {
    expect(await lowConfidencePages(harness.db, SITE)).toEqual({ threshold: 60, count: 1, examples: [{ documentId: 'doc-1', page: 2, confidence: 41.2 }] });
    expect((await lowConfidencePages(harness.db, SITE, 95)).examples.map((e) => e.page)).toEqual([2, 1]);
    expect((await lowConfidencePages(harness.db, 'other.example')).count).toBe(0);
  });
});
