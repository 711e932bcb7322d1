import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createOcrEngine, type OcrEngine } from '../../src/ocr/engine.js';
import { OcrLanguageUnavailableError, parseOcrLanguages } from '../../src/ocr/languages.js';
import { encodePgm, inkShare, isBlankPage, parsePgm, readPgm, rotatePgm } from '../../src/ocr/page-image.js';
import { MIN_SCAN_PPI, ocrResolution } from '../../src/ocr/resolution.js';
import { readTesseractTsv } from '../../src/ocr/tsv.js';
import { renderPageToPgm } from '../../src/pdf/render.js';
import { makeScannedPdf } from '../../src/samples/pdf-builder.js';

const hasNativeTesseract = spawnSync('tesseract', ['--version']).status === 0;

const firstPage = ['The City Council met in regular session on Tuesday evening.', 'Councilmember Ortiz moved to fund the QUETZAL aviary.', 'The motion carried five to two.'];
const secondPage = ['Public comment was received from three residents.', 'The PANGOLIN crossing study was continued to May.'];

let dir: string;
let firstPgm: string;
let secondPgm: string;

beforeAll(async () => {
  dir = await fs.promises.mkdtemp(path.join(os.tmpdir(), 'clerk-ocr-test-'));
  const pdfPath = path.join(dir, 'scanned.pdf');
  await fs.promises.writeFile(pdfPath, await makeScannedPdf([firstPage, secondPage]));
  firstPgm = path.join(dir, 'page-1.pgm');
  secondPgm = path.join(dir, 'page-2.pgm');
  await renderPageToPgm(pdfPath, 1, { dpi: 200, timeoutMs: 60_000, outPath: firstPgm });
  await renderPageToPgm(pdfPath, 2, { dpi: 200, timeoutMs: 60_000, outPath: secondPgm });
});

afterAll(async () => {
  await fs.promises.rm(dir, { recursive: true, force: true });
});

describe.each([
  { kind: 'tesseract' as const, skip: !hasNativeTesseract },
  { kind: 'tesseract.js' as const, skip: false },
])('the $kind OCR engine', ({ kind, skip }) => {
  let engine: OcrEngine;

  beforeAll(async () => {
    if (!skip) engine = await createOcrEngine(kind);
  });

  afterAll(async () => {
    await engine?.close();
  });

  it.skipIf(skip)('reads the words of a scanned page, with their mean confidence', async () => {
    const { text, confidence, words } = await engine.recognize(firstPgm, { dpi: 200 });

    expect(engine.name).toBe(kind);
    expect(text).toContain('QUETZAL');
    expect(text).toMatch(/City Council/);
    expect(text.split('\n')).toHaveLength(firstPage.length);
    expect(words).toBe(firstPage.join(' ').split(' ').length);
    expect(confidence).toBeGreaterThan(80);
    expect(confidence).toBeLessThanOrEqual(100);
  });

  it.skipIf(skip)('answers overlapping calls, each with its own page', async () => {
    const [first, second] = await Promise.all([engine.recognize(firstPgm), engine.recognize(secondPgm)]);

    expect(first.text).toContain('QUETZAL');
    expect(second.text).toContain('PANGOLIN');
  });

  it.skipIf(skip)('reads with the languages it is given', async () => {
    const { text } = await engine.recognize(firstPgm, { languages: ['eng', 'fra'] });

    expect(text).toContain('QUETZAL');
  });

  it.skipIf(skip)('refuses a language it has no model for, saying what to install', async () => {
    const reading = engine.recognize(firstPgm, { languages: ['eng', 'xxq'] });

    await expect(reading).rejects.toBeInstanceOf(OcrLanguageUnavailableError);
    await expect(reading).rejects.toThrow(kind === 'tesseract' ? /apt-get install tesseract-ocr-xxq/ : /native tesseract/);
  });

  it.skipIf(skip)('stops when its signal aborts, rejects with the reason, and still works afterwards', async () => {
    const controller = new AbortController();
    const reading = engine.recognize(firstPgm, { signal: controller.signal });
    const reason = new Error('activity cancelled');
    // Long enough for the engine to be busy with the page, far shorter than reading it takes.
    setTimeout(() => controller.abort(reason), 20);

    await expect(reading).rejects.toBe(reason);
    expect((await engine.recognize(secondPgm)).text).toContain('PANGOLIN');
  });

  it.skipIf(skip)('does not start work for a signal that has already aborted', async () => {
    const reason = new Error('too late');

    await expect(engine.recognize(firstPgm, { signal: AbortSignal.abort(reason) })).rejects.toBe(reason);
  });

  it.skipIf(skip)('rejects a file that is not an image with an Error that says why', async () => {
    const notAnImage = path.join(dir, 'not-an-image.pgm');
    await fs.promises.writeFile(notAnImage, 'this is not a picture');

    await expect(engine.recognize(notAnImage)).rejects.toThrow(/tesseract/);
  });
});

describe.skipIf(!hasNativeTesseract)('the tesseract engine on a page scanned upside down', () => {
  it('turns it upright (OSD), reads it, and says by how much it turned it', async () => {
    const upsideDown = path.join(dir, 'upside-down.pgm');
    await fs.promises.writeFile(upsideDown, encodePgm(rotatePgm(await readPgm(firstPgm), 180)));
    const engine = await createOcrEngine('tesseract');
    try {
      const { text, rotation } = await engine.recognize(upsideDown, { dpi: 200 });

      expect(rotation).toBe(180);
      expect(text).toContain('QUETZAL');
      expect(text).toMatch(/City Council/);
    } finally {
      await engine.close();
    }
  });

  it('reads an upright page once and records no rotation', async () => {
    const engine = await createOcrEngine('tesseract');
    try {
      expect((await engine.recognize(firstPgm, { dpi: 200 })).rotation).toBe(0);
    } finally {
      await engine.close();
    }
  });
});

describe('page images', () => {
  const image = { width: 3, height: 2, pixels: Uint8Array.from([1, 2, 3, 4, 5, 6]) };

  it('turn clockwise by quarter and half turns', () => {
    expect(rotatePgm(image, 90)).toEqual({ width: 2, height: 3, pixels: Uint8Array.from([4, 1, 5, 2, 6, 3]) });
    expect(rotatePgm(image, 180)).toEqual({ width: 3, height: 2, pixels: Uint8Array.from([6, 5, 4, 3, 2, 1]) });
    expect(rotatePgm(image, 270)).toEqual({ width: 2, height: 3, pixels: Uint8Array.from([3, 6, 2, 5, 1, 4]) });
    expect(rotatePgm(rotatePgm(image, 90), 270)).toEqual(image);
  });

  it('round-trip through PGM bytes, comments in the header included', () => {
    expect(parsePgm(encodePgm(image))).toEqual(image);
    expect(parsePgm(Buffer.concat([Buffer.from('P5\n# scanner\n3 2\n255\n'), image.pixels]))).toEqual(image);
    expect(() => parsePgm(Buffer.from('P6\n3 2\n255\n'))).toThrow(/not a binary PGM/);
  });

  it('find no ink on a white sheet with a few specks and a dark scanner edge, and ink on a page of text', async () => {
    const width = 2550;
    const height = 3300;
    const sheet = new Uint8Array(width * height).fill(235);
    for (let y = 0; y < height; y++) for (let x = 0; x < 40; x++) sheet[y * width + x] = 0;
    for (const [cx, cy] of [[400, 500], [1800, 2900], [1200, 1600]] as const) {
      for (let y = cy; y < cy + 5; y++) for (let x = cx; x < cx + 5; x++) sheet[y * width + x] = 20;
    }
    expect(isBlankPage({ width, height, pixels: sheet })).toBe(true);

    const page = await readPgm(firstPgm);
    expect(inkShare(page)).toBeGreaterThan(0.001);
    expect(isBlankPage(page)).toBe(false);
  });
});

describe('OCR settings', () => {
  it('reads a site\'s ocr_languages setting, English by default', () => {
    expect(parseOcrLanguages(undefined)).toEqual(['eng']);
    expect(parseOcrLanguages('')).toEqual(['eng']);
    expect(parseOcrLanguages('eng+spa')).toEqual(['eng', 'spa']);
    expect(() => parseOcrLanguages('eng+../x')).toThrow(RangeError);
  });

  it('OCRs a scan at its own resolution, within bounds, and other pages at the default', () => {
    expect(ocrResolution(240, 300, 600)).toBe(240);
    expect(ocrResolution(150, 300, 600)).toBe(150);
    expect(ocrResolution(1200, 300, 600)).toBe(600);
    expect(ocrResolution(MIN_SCAN_PPI - 1, 300, 600)).toBe(300);
    expect(ocrResolution(null, 300, 600)).toBe(300);
  });

  it('summarises tesseract TSV: words, mean confidence, and words standing on end', () => {
    const header = 'level\tpage_num\tblock_num\tpar_num\tline_num\tword_num\tleft\ttop\twidth\theight\tconf\ttext';
    const rows = [
      '1\t1\t0\t0\t0\t0\t0\t0\t100\t100\t-1\t',
      '5\t1\t1\t1\t1\t1\t0\t0\t60\t20\t90\tCouncil',
      '5\t1\t1\t1\t1\t2\t0\t0\t20\t60\t70\tvoted',
      '5\t1\t1\t1\t1\t3\t0\t0\t10\t10\t95\t',
    ];
    expect(readTesseractTsv([header, ...rows].join('\n'))).toEqual({ words: 2, confidence: 80, tallShare: 0.5 });
    expect(readTesseractTsv(header)).toEqual({ words: 0, confidence: null, tallShare: 0 });
  });
});

describe('createOcrEngine', () => {
  it("picks the native engine for 'auto' when tesseract is installed, else tesseract.js", async () => {
    const engine = await createOcrEngine('auto');
    try {
      expect(engine.name).toBe(hasNativeTesseract ? 'tesseract' : 'tesseract.js');
    } finally {
      await engine.close();
    }
  });
});
